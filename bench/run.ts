import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../sandbox/run-scenario.ts';
import type { Scenario } from '../sandbox/scenario/schema.ts';
import { measureBundles } from './bundles.ts';

/**
 * Shipline benchmark: cost (state transitions) against bake length, rollback reaction time, bundle size
 * and cold import per function, sandbox wall time. Prints a table and writes bench/results.json.
 */
const TARGETS = {
  stateTransitions: 40,
  rollbackReactionSeconds: 1,
  bundleKb: 350,
  coldImportMs: 60,
  sandboxWallMs: 2000,
} as const;

const example = (file: string) => loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));

const withBake = (scenario: Scenario, bake: string): Scenario => {
  const config = structuredClone(scenario.config);
  if (typeof config === 'string') throw new Error('bench scenarios use an inline config');
  const services = config.services as Record<string, { strategy: { bake: string } }>;
  for (const service of Object.values(services)) service.strategy.bake = bake;
  return { ...scenario, name: `${scenario.name} (bake ${bake})`, config };
};

const main = async () => {
  const healthy = example('healthy-canary.yml');
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const inlineConfig = parse(readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const base: Scenario = { ...healthy.scenario, config: inlineConfig };

  const transitions: Record<string, number> = {};
  const wall: number[] = [];
  for (const bake of ['1m', '10m', '60m']) {
    const result = await runScenario(withBake(base, bake), healthy.baseDir);
    if (result.outcome !== 'promoted')
      throw new Error(`bake ${bake}: expected promoted, got ${result.outcome}: ${result.reason}`);
    transitions[bake] = result.stateTransitions;
  }
  // Wall time of the full 30-minute canary (3 x 10-minute bakes), median of 5 warm runs.
  for (let i = 0; i < 5; i += 1)
    wall.push((await runScenario(withBake(base, '10m'), healthy.baseDir)).wallMs);
  wall.sort((a, b) => a - b);
  const wallMs = wall[Math.floor(wall.length / 2)] ?? 0;

  const regression = example('regression-at-25.yml');
  const rollback = await runScenario(regression.scenario, regression.baseDir);
  await stopLocalDynamoDb();

  const measured = await measureBundles([path.join(REPOSITORY_ROOT, 'bench/baseline-one-client.ts')]);
  const baseline = measured.find((b) => b.fn === 'baseline-one-client');
  const bundles = measured.filter((b) => b !== baseline);
  const results = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    targets: TARGETS,
    stateTransitions: transitions,
    rollbackAt25: {
      outcome: rollback.outcome,
      reason: rollback.reason,
      rollbackReactionSeconds: rollback.rollbackReactionSeconds,
    },
    sandboxWallMs: { median: wallMs, runs: wall },
    bundles,
    baselineOneSdkClient: baseline,
  };
  writeFileSync(path.join(REPOSITORY_ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  const rows: string[][] = [
    ['measure', 'value', 'target', ''],
    ...Object.entries(transitions).map(([bake, n]) => [
      `state transitions, 3-step canary, bake ${bake}`,
      String(n),
      `<= ${TARGETS.stateTransitions}`,
      ok(n <= TARGETS.stateTransitions),
    ]),
    [
      'rollback reaction at 25% (virtual s after ALARM)',
      String(rollback.rollbackReactionSeconds),
      `<= ${TARGETS.rollbackReactionSeconds}`,
      ok(
        rollback.rollbackReactionSeconds !== null &&
          rollback.rollbackReactionSeconds <= TARGETS.rollbackReactionSeconds,
      ),
    ],
    [
      'sandbox wall time, 30-minute canary (median of 5)',
      `${wallMs} ms`,
      `<= ${TARGETS.sandboxWallMs} ms`,
      ok(wallMs <= TARGETS.sandboxWallMs),
    ],
    ...bundles.map((b) => [
      `bundle ${b.fn} (minified, SDK bundled) / cold import`,
      `${(b.bytes / 1024).toFixed(0)} KB / ${b.coldImportMs.toFixed(1)} ms`,
      `<= ${TARGETS.bundleKb} KB / ${TARGETS.coldImportMs} ms`,
      ok(b.bytes / 1024 <= TARGETS.bundleKb && b.coldImportMs <= TARGETS.coldImportMs),
    ]),
    ...(baseline
      ? [
          [
            'baseline: one SDK client, nothing else (the floor here)',
            `${(baseline.bytes / 1024).toFixed(0)} KB / ${baseline.coldImportMs.toFixed(1)} ms`,
            '',
            '',
          ],
        ]
      : []),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  process.stdout.write('\nwrote bench/results.json\n');
};

await main();
