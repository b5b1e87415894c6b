import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

/** A run's result as `simulate --json` prints it: everything but the wall time it took. */
const runJson = async (file: string, seed: number): Promise<string> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  const { wallMs: _wallMs, ...result } = await runScenario(scenario, baseDir, { seed });
  return JSON.stringify(result, null, 2);
};

afterAll(async () => {
  await stopLocalDynamoDb();
});

// The promise: the same seed gives the same run, byte for byte, whatever ran before it in the
// process and whichever process runs it.
describe('Sandbox: the same seed gives the same run, byte for byte', () => {
  it.each([
    // The pause's notification tells the person the `shipline approve --table ...` to run.
    ['blue-green-approved.yml'],
    // Alarm events delayed and duplicated (EventBridge's at-least-once, unordered delivery).
    ['alarm-event-late-duplicated-reordered.yml'],
    // SDK throttling retries and the state's Retry with FULL jitter, on the virtual clock.
    ['rollback-retried-for-minutes.yml'],
    // Three services releasing at once in one world.
    ['three-services.yml'],
  ])('%s twice with the same seed: the same result; no process id in it', async (file) => {
    const first = await runJson(file, 3);
    const second = await runJson(file, 3);
    expect(second).toBe(first);
    expect(first).not.toMatch(new RegExp(`shipline-sandbox-${process.pid}\\b`));
  }, 60_000);
});
