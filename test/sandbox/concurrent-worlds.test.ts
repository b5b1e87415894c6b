import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import {
  loadScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';

const run = async (file: string, seed?: number): Promise<ScenarioResult> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  return runScenario(scenario, baseDir, seed === undefined ? {} : { seed });
};

/** The whole JSON result but the wall-clock time it took. */
const json = (result: ScenarioResult): string => JSON.stringify({ ...result, wallMs: 0 });

/** What a user reads from a run: its outcome, notifications and timeline (without wall-clock figures). */
const observed = (result: ScenarioResult) => ({
  outcome: result.outcome,
  reason: result.reason,
  servingVersion: result.servingVersion,
  traffic: result.traffic,
  notifications: result.notifications.map((n) => [n.t, n.subject, n.message.event]),
  timeline: result.timeline.map((e) => `${e.time} ${e.kind} ${e.execution ?? ''} ${e.text}`),
});

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: several worlds in one process', () => {
  it('runs two scenarios concurrently with the same results as alone, leaving process.env untouched', async () => {
    const healthyAlone = await run('healthy-canary.yml');
    const regressionAlone = await run('regression-at-25.yml');
    // Taken once the handler modules are loaded: Powertools sets AWS_SDK_UA_APP_ID when imported (a cold start).
    const envBefore = { ...process.env };
    const [healthy, regression] = await Promise.all([run('healthy-canary.yml'), run('regression-at-25.yml')]);

    expect(healthy.outcome).toBe('promoted');
    expect(regression.outcome).toBe('rolled_back');
    expect(observed(healthy)).toEqual(observed(healthyAlone));
    expect(observed(regression)).toEqual(observed(regressionAlone));
    expect(healthy.expectations?.failures).toEqual([]);
    expect(regression.expectations?.failures).toEqual([]);
    expect(process.env).toEqual(envBefore);
  });

  it('gives byte for byte the same JSON result alone and among other worlds, in this process or any other', async () => {
    // Each with its own seed; the DORA example's operator commands print the release table's name.
    const runs = [
      ['dora-release-history.yml', 3],
      ['three-services.yml', 4],
      ['cli-history.yml', 5],
    ] as const;
    const alone: string[] = [];
    for (const [file, seed] of runs) alone.push(json(await run(file, seed)));
    const together = await Promise.all(runs.map(([file, seed]) => run(file, seed)));
    expect(together.map(json)).toEqual(alone);
    // The table is named as one deployment names it, not after the process or the runs before it.
    expect(alone[0]).toContain('in table shipline-sandbox-ReleaseTable (us-east-1)');
  });
});
