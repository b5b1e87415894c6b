import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { PlanStep } from '../../lib/domain/plan.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import { deploymentFixture, fixedClock, ROLLOUT, TABLE } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('shipline-start-pause');
const NOW = '2025-03-04T10:05:00.000Z';

const STEPS: PlanStep[] = [
  { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
  { kind: 'pause', index: 1, label: 'Pause 1h for approval', timeoutSeconds: 3600, onTimeout: 'fail' },
  { kind: 'retire', index: 2, label: 'Promote green', rollbackWindowSeconds: 900, warmAfterWindowSeconds: 0 },
];
const deployment = deploymentFixture({ plan: { strategy: 'blue-green', steps: STEPS, totalBakeSeconds: 0 } });
const cursor = { index: 1, step: STEPS[1] as PlanStep, shifts: [], rollout: ROLLOUT };

let handler: typeof import('../../functions/start-pause.ts')['handler'];

describe('Handler: start-pause', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/start-pause.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(PutCommand).resolves({});
  });

  it('registers the task token as a pause wait under the release, so a person can resume it, until the timeout', async () => {
    const result = await handler({ deployment, cursor, taskToken: 'token-pause' }, context);

    expect(result).toEqual({ waiting: true, until: '2025-03-04T11:05:00.000Z' });
    const calls = ddb.commandCalls(PutCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: `WAIT#RELEASE#${deployment.id}`,
        sk: `RELEASE#${deployment.id}`,
        waitRelease: `RELEASE#${deployment.id}`,
        waitOn: `pause#${deployment.id}`,
        kind: 'pause',
        key: deployment.id,
        releaseId: deployment.id,
        service: 'checkout',
        environment: 'default',
        taskToken: 'token-pause',
        // The step's hour, plus an hour before TTL removes a wait nobody claimed.
        expiresAt: Date.parse(NOW) / 1000 + 3600 + 3600,
      },
    });
  });

  it('rejects a payload without a task token and writes nothing', async () => {
    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('taskToken');
    expect(ddb.calls()).toHaveLength(0);
  });
});
