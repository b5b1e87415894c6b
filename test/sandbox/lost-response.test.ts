import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

/** healthy-canary.yml with one fault more: a call the service applies, whose response is lost. */
const runWithLostResponse = async (command: string, times = 1) => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
  return runScenario(
    {
      ...scenario,
      expect: undefined,
      faults: [...scenario.faults, { command, responseLost: true, times }],
    } as typeof scenario,
    baseDir,
  );
};

describe('Sandbox: a call the service applied whose response is lost (responseLost)', () => {
  afterAll(async () => {
    await stopLocalDynamoDb();
  });

  it('StartExecution: the SDK retries it, and Step Functions answers the same name and input with the open execution', async () => {
    const result = await runWithLostResponse('StartExecution');
    expect(result.unusedFaults).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      'StartExecution: applied, then its response was lost (injected TimeoutError)',
    ]);
    expect(result.timeline.filter((e) => e.kind === 'retry').map((e) => e.text)).toEqual([
      expect.stringMatching(/^SFN SDK: TimeoutError, retry 1 of 2 in \d+ ms$/),
    ]);
    expect(result.executions).toHaveLength(1);
    expect(result.servingVersion).toBe('v2');
  });

  it('Publish: SNS delivered it, and the SDK sends it again: subscribers get it twice, as from SNS', async () => {
    const result = await runWithLostResponse('Publish');
    expect(result.unusedFaults).toEqual([]);
    const events = result.notifications.map((n) => n.message.event);
    expect(events).toEqual(['started', 'started', 'promoted']);
    expect(result.servingVersion).toBe('v2');
  });
});
