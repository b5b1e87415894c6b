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

// The promise: the same seed gives the same run, byte for byte, whatever ran before it in the
// process, whatever runs beside it, and whichever process runs it.
describe('Sandbox: several worlds in one process', () => {
  it('gives byte for byte the same JSON result alone and among other worlds, leaving process.env untouched', async () => {
    const runs = [
      // Two outcomes side by side.
      ['healthy-canary.yml', 1, 'promoted'],
      ['regression-at-25.yml', 2, 'rolled_back'],
      // The DORA example's operator commands print the release table's name.
      ['dora-release-history.yml', 3, 'promoted'],
      // Three services releasing at once in one world.
      ['three-services.yml', 4, 'promoted'],
      // The pause's notification tells the person the `shipline approve --table ...` to run.
      ['blue-green-approved.yml', 5, 'promoted'],
      // Alarm events delayed and duplicated (EventBridge's at-least-once, unordered delivery).
      ['alarm-event-late-duplicated-reordered.yml', 6, 'rolled_back'],
      // SDK throttling retries and the state's Retry with FULL jitter, on the virtual clock.
      ['rollback-retried-for-minutes.yml', 7, 'rolled_back'],
    ] as const;
    // Each alone run's bytes are taken as it ends: a result that shared state a later run changes (a cached
    // config, a module's table) would otherwise read the same in both lists and hide the difference.
    const alone: ScenarioResult[] = [];
    const aloneJson: string[] = [];
    for (const [file, seed] of runs) {
      const result = await run(file, seed);
      alone.push(result);
      aloneJson.push(json(result));
    }
    // Taken once the handler modules are loaded: Powertools sets AWS_SDK_UA_APP_ID when imported (a cold start).
    const envBefore = { ...process.env };
    const together = await Promise.all(runs.map(([file, seed]) => run(file, seed)));

    expect(together.map((result) => result.outcome)).toEqual(runs.map(([, , outcome]) => outcome));
    expect(together.map((result) => result.expectations?.failures)).toEqual(runs.map(() => []));
    expect(together.map(json)).toEqual(aloneJson);
    expect(alone.map(json)).toEqual(aloneJson);
    expect(observed(together[0] as ScenarioResult)).toEqual(observed(alone[0] as ScenarioResult));
    expect(process.env).toEqual(envBefore);
    // The table is named as one deployment names it, not after the process or the runs before it.
    expect(aloneJson[2]).toContain('in table shipline-sandbox-ReleaseTable (us-east-1)');
    for (const text of aloneJson) expect(text).not.toContain(`shipline-sandbox-${process.pid}`);
  }, 60_000);
});
