import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario, type ScenarioResult } from '../sandbox/run-scenario.ts';
import type { Scenario } from '../sandbox/scenario/schema.ts';
import { measureBundles } from './bundles.ts';
import { type FleetMeasure, measureInChild } from './fleet.ts';
import { healthyCanary, queuedPushes, withBake } from './scenarios.ts';
import {
  flatnessProblems,
  installUsageMeter,
  measureStrategies,
  PRICES_USD,
  strategyRows,
} from './strategies.ts';

/**
 * Shipline benchmark (`npm run bench`, never part of `npm test`): cost (state transitions) against bake
 * length, rollback reaction time, sandbox wall time and how it scales (bake length, queued pushes, a
 * fleet), bundle size and cold import per function, and per strategy (bench/strategies.ts) the state
 * transitions, Lambda, API calls and cost of one release at three bake lengths. Prints a table and writes
 * bench/results.json; exits non-zero when a strategy's transitions depend on its bake length.
 */
const TARGETS = {
  stateTransitions: 40,
  /** ALARM to traffic back on the stable slot, AWS's modeled latencies included (EventBridge, Lambda, API calls). */
  rollbackReactionSeconds: 3,
  bundleKb: 350,
  coldImportMs: 60,
  /** prepare-release and roll-back cold import over the one-client baseline of the same run. */
  coldImportOverBaseline: 1.5,
  /** Warm 30-minute canary (3 x 10-minute bakes), median. */
  sandboxWallMs: 100,
  /** Wall time of a 72-hour bake over a 10-minute bake, same healthy canary. */
  bakeWallRatio: 2,
  /** Wall time of 50 pushes queueing behind a release over the same scenario with one push. */
  queuedPushesWallRatio: 3,
  /** 1,000 concurrent releases in one world. */
  fleetWallMs: 60_000,
  fleetPeakRssMb: 1024,
} as const;

/** Runs per wall-time measure; the median is reported. BENCH_RUNS overrides (e.g. 1 for a quick look). */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Fleet sizes measured, each in its own process. */
const FLEET_SIZES = [1, 10, 100, 1000] as const;
/** Single-service releases run one after another (today's stand-in for the fleet). */
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 100);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Wall times of `runs` runs of a scenario that must end `promoted`. */
const wallTimes = async (scenario: Scenario, baseDir: string, runs: number): Promise<number[]> => {
  const walls: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const result = await runScenario(scenario, baseDir);
    if (result.outcome !== 'promoted')
      throw new Error(`${scenario.name}: expected promoted, got ${result.outcome}: ${result.reason}`);
    walls.push(result.wallMs);
  }
  return walls;
};

/** The AWS calls the pipeline's functions make in one run of `scenario`, which must end `promoted`. */
const awsCallsOf = async (scenario: Scenario, baseDir: string): Promise<number> => {
  const result = await runScenario(scenario, baseDir);
  if (result.outcome !== 'promoted')
    throw new Error(`${scenario.name}: expected promoted, got ${result.outcome}: ${result.reason}`);
  return Object.values(result.awsCalls).reduce((sum, n) => sum + n, 0);
};

/** Runs that are not measured before each scenario's measured runs: the first runs of a code path are slower. */
const WARM_UP_RUNS = 2;

/**
 * Wall times of `runs` runs of each scenario (each must end `promoted`), after WARM_UP_RUNS unmeasured runs of
 * each, taken in turns (one run of each scenario, then the next round).
 */
const wallTimesInTurns = async (
  scenarios: readonly Scenario[],
  baseDir: string,
  runs: number,
): Promise<number[][]> => {
  for (const scenario of scenarios) await wallTimes(scenario, baseDir, WARM_UP_RUNS);
  const walls = scenarios.map((): number[] => []);
  for (let round = 0; round < runs; round += 1)
    for (const [i, scenario] of scenarios.entries())
      walls[i]?.push(...(await wallTimes(scenario, baseDir, 1)));
  return walls;
};

interface Row {
  measure: string;
  value: string;
  target: string;
  /** undefined: informational, or not measurable yet. */
  pass?: boolean;
  /** Has a target but cannot be measured on this branch yet (the multi-service scenario format). */
  pending?: boolean;
}

const main = async () => {
  // Before any run: handler modules build their SDK clients when first loaded, and the meter must reach them.
  installUsageMeter();
  const { scenario: base, baseDir } = healthyCanary();
  const rows: Row[] = [];

  const transitions: Record<string, number> = {};
  for (const bake of ['1m', '10m', '60m']) {
    const result = await runScenario(withBake(base, bake), baseDir);
    if (result.outcome !== 'promoted')
      throw new Error(`bake ${bake}: expected promoted, got ${result.outcome}: ${result.reason}`);
    transitions[bake] = result.stateTransitions;
    rows.push({
      measure: `state transitions, 3-step canary, bake ${bake}`,
      value: String(result.stateTransitions),
      target: `<= ${TARGETS.stateTransitions}`,
      pass: result.stateTransitions <= TARGETS.stateTransitions,
    });
  }

  // Each strategy and target: one healthy release per bake length, metered (off for every other row).
  const strategies = await measureStrategies();
  rows.push(...strategyRows(strategies));
  const notFlat = flatnessProblems(strategies);

  // A rollback at 5% (v2 bad from its first request) and at 25% (v2 breaks only under 25% of the load):
  // detection (regression onset to ALARM), reaction (ALARM to traffic back) and requests exposed.
  const rollbacks: Record<string, ScenarioResult> = {};
  for (const [step, file] of [
    ['5%', 'bad-version-rolled-back.yml'],
    ['25%', 'regression-at-25.yml'],
  ] as const) {
    const loaded = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
    const result = await runScenario(loaded.scenario, loaded.baseDir);
    if (result.outcome !== 'rolled_back')
      throw new Error(`${file}: expected rolled_back, got ${result.outcome}: ${result.reason}`);
    rollbacks[step] = result;
    rows.push(
      {
        measure: `rollback at ${step}: detection (virtual s from regression onset to ALARM)`,
        value: String(result.detectionSeconds),
        target: '',
      },
      {
        measure: `rollback at ${step}: reaction (virtual s from ALARM to traffic back)`,
        value: String(result.rollbackReactionSeconds),
        target: `<= ${TARGETS.rollbackReactionSeconds}`,
        pass:
          result.rollbackReactionSeconds !== null &&
          result.rollbackReactionSeconds <= TARGETS.rollbackReactionSeconds,
      },
      {
        measure: `rollback at ${step}: requests the regressed version served`,
        value: String(result.exposedRequests),
        target: '',
      },
    );
  }
  const rollback = rollbacks['25%'] as ScenarioResult;

  // Warm: the handlers, the state machine and the local DynamoDB are loaded by the runs above.
  const warmRuns = await wallTimes(withBake(base, '10m'), baseDir, Math.max(5, RUNS));
  const wallMs = median(warmRuns);
  rows.push({
    measure: `sandbox wall time, warm 30-minute canary (median of ${warmRuns.length})`,
    value: `${wallMs} ms`,
    target: `<= ${TARGETS.sandboxWallMs} ms`,
    pass: wallMs <= TARGETS.sandboxWallMs,
  });

  // Only the bake changes: 3 x 72 h of virtual time against 3 x 10 min. Both warm (the long bake's minutes
  // run its own code paths thousands of times: two runs of each first) and in turns, as the queued pushes
  // below: a run measured alone after the other rows swung by a fifth from one bench to the next.
  const bakeRuns = Math.max(5, RUNS);
  const [shortBake = [], longBake = []] = await wallTimesInTurns(
    [withBake(base, '10m'), withBake(base, '72h', '240h')],
    baseDir,
    bakeRuns,
  );
  const bakeRatio = median(longBake) / median(shortBake);
  rows.push({
    measure: `wall time, 72-hour bake / 10-minute bake (warm, in turns, median of ${bakeRuns}: ${median(longBake)} / ${median(shortBake)} ms)`,
    value: `${bakeRatio.toFixed(2)}x`,
    target: `<= ${TARGETS.bakeWallRatio}x`,
    pass: bakeRatio <= TARGETS.bakeWallRatio,
  });

  // Both scenarios warm (the queue's code paths run for the first time here: two runs of each first), then
  // run in turns, so a slower stretch of the machine weighs on both alike.
  const pushRuns = Math.max(5, RUNS);
  const [onePush = [], fiftyPushes = []] = await wallTimesInTurns(
    [queuedPushes(base, 0), queuedPushes(base, 50)],
    baseDir,
    pushRuns,
  );
  const pushRatio = median(fiftyPushes) / median(onePush);
  rows.push({
    measure: `wall time, 50 queued pushes / one push (warm, in turns, median of ${pushRuns}: ${median(fiftyPushes)} / ${median(onePush)} ms)`,
    value: `${pushRatio.toFixed(2)}x`,
    target: `<= ${TARGETS.queuedPushesWallRatio}x`,
    pass: pushRatio <= TARGETS.queuedPushesWallRatio,
  });
  // What the wall ratio cannot go below while each call costs alike: the run with 50 queued pushes also
  // releases the newest of them once the first release ends (two releases), and each queued push reads the
  // lock, queues itself, reads the lock again (no lost wake-up), records and tells the push it replaced.
  // What one queued push costs on its own: the 50-push run less its two releases (each as the one-push run).
  const perPushMs = (median(fiftyPushes) - 2 * median(onePush)) / 50;
  rows.push({
    measure: 'wall time of one queued push: (50-push run - 2 x one-push run) / 50',
    value: `${perPushMs.toFixed(1)} ms`,
    target: '',
  });
  const oneCalls = await awsCallsOf(queuedPushes(base, 0), baseDir);
  const fiftyCalls = await awsCallsOf(queuedPushes(base, 50), baseDir);
  rows.push({
    measure: `AWS calls, 50 queued pushes / one push (${fiftyCalls} / ${oneCalls}: two releases and 50 queued pushes of ${((fiftyCalls - 2 * oneCalls) / 50).toFixed(1)} calls each)`,
    value: `${(fiftyCalls / oneCalls).toFixed(2)}x`,
    target: '',
  });
  await stopLocalDynamoDb();

  // Each fleet size in its own process: sizes share no heap, peak RSS is the size's own.
  const fleet: FleetMeasure[] = [];
  for (const size of FLEET_SIZES) fleet.push(await measureInChild(size, 'concurrent'));
  for (const measure of fleet) {
    const gated = measure.size === 1000;
    rows.push({
      measure: `fleet: ${measure.size} concurrent release(s) in one world, wall / peak RSS`,
      value: measure.error
        ? `not measurable yet (${measure.error.slice(0, 80)})`
        : `${(measure.wallMs / 1000).toFixed(1)} s / ${measure.peakRssMb} MB (${measure.promoted} promoted)`,
      target: gated ? `<= ${TARGETS.fleetWallMs / 1000} s / ${TARGETS.fleetPeakRssMb} MB` : '',
      ...(gated && measure.error ? { pending: true } : {}),
      ...(gated && !measure.error
        ? {
            pass:
              measure.promoted === measure.size &&
              measure.wallMs <= TARGETS.fleetWallMs &&
              measure.peakRssMb <= TARGETS.fleetPeakRssMb,
          }
        : {}),
    });
  }
  const sequential = SEQUENTIAL > 0 ? await measureInChild(SEQUENTIAL, 'sequential') : undefined;
  if (sequential)
    rows.push({
      measure: `stand-in: ${sequential.size} single-service canaries one after another, wall / peak RSS`,
      value: `${(sequential.wallMs / 1000).toFixed(1)} s / ${sequential.peakRssMb} MB (${(sequential.wallMs / sequential.size).toFixed(0)} ms each)`,
      target: '',
    });

  const measured = await measureBundles([path.join(REPOSITORY_ROOT, 'bench/baseline-one-client.ts')]);
  const baseline = measured.find((b) => b.fn === 'baseline-one-client');
  const bundles = measured.filter((b) => b !== baseline);
  for (const b of bundles)
    rows.push({
      measure: `bundle ${b.fn} (minified, SDK bundled) / cold import`,
      value: `${(b.bytes / 1024).toFixed(0)} KB / ${b.coldImportMs.toFixed(1)} ms`,
      target: `<= ${TARGETS.bundleKb} KB / ${TARGETS.coldImportMs} ms`,
      pass: b.bytes / 1024 <= TARGETS.bundleKb && b.coldImportMs <= TARGETS.coldImportMs,
    });
  if (baseline) {
    rows.push({
      measure: 'baseline: one SDK client, nothing else (the floor here)',
      value: `${(baseline.bytes / 1024).toFixed(0)} KB / ${baseline.coldImportMs.toFixed(1)} ms`,
      target: '',
    });
    for (const fn of ['prepare-release', 'roll-back']) {
      const bundle = bundles.find((b) => b.fn === fn);
      if (!bundle) continue;
      const ratio = bundle.coldImportMs / baseline.coldImportMs;
      const minRatio = bundle.coldImportMinMs / baseline.coldImportMinMs;
      rows.push({
        measure: `cold import ${fn} / baseline (same run, medians; fastest runs: ${minRatio.toFixed(2)}x)`,
        value: `${ratio.toFixed(2)}x`,
        target: `<= ${TARGETS.coldImportOverBaseline}x`,
        pass: ratio <= TARGETS.coldImportOverBaseline,
      });
    }
  }

  const results = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    targets: TARGETS,
    stateTransitions: transitions,
    strategies: { pricesUsd: PRICES_USD, freeTier: 'ignored', runs: strategies },
    rollbackAt25: {
      outcome: rollback.outcome,
      reason: rollback.reason,
      rollbackReactionSeconds: rollback.rollbackReactionSeconds,
    },
    rollbacks: Object.fromEntries(
      Object.entries(rollbacks).map(([step, r]) => [
        step,
        {
          detectionSeconds: r.detectionSeconds,
          rollbackReactionSeconds: r.rollbackReactionSeconds,
          exposedRequests: r.exposedRequests,
        },
      ]),
    ),
    sandboxWallMs: { median: wallMs, runs: warmRuns },
    bakeWall: { bake10mMs: shortBake, bake72hMs: longBake, ratio: bakeRatio },
    queuedPushesWall: {
      onePushMs: onePush,
      fiftyPushesMs: fiftyPushes,
      ratio: pushRatio,
      perQueuedPushMs: perPushMs,
    },
    fleet,
    sequential,
    bundles,
    baselineOneSdkClient: baseline,
    rows,
  };
  writeFileSync(path.join(REPOSITORY_ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const table = [
    ['measure', 'value', 'target', ''],
    ...rows.map((r) => [
      r.measure,
      r.value,
      r.target,
      r.pending ? 'PENDING' : r.pass === undefined ? '' : r.pass ? 'ok' : 'MISSED',
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of table)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  process.stdout.write('\nwrote bench/results.json\n');
  if (notFlat.length > 0) {
    process.stderr.write(
      `\nbench failed: transitions must be flat in bake length\n  ${notFlat.join('\n  ')}\n`,
    );
    process.exitCode = 1;
  }
};

await main();
