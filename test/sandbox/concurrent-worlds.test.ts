import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import {
  loadScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';

const run = async (file: string): Promise<ScenarioResult> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  return runScenario(scenario, baseDir);
};

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
});
