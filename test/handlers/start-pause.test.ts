import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
    ddb.on(UpdateCommand).resolves({});
  });

  it('records the task token on the release, so a person can resume it, until the timeout', async () => {
    const result = await handler({ deployment, cursor, taskToken: 'token-pause' }, context);

    expect(result).toEqual({ waiting: true, until: '2025-03-04T11:05:00.000Z' });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE,
      UpdateExpression: 'SET #f0 = :v0',
      ExpressionAttributeNames: { '#f0': 'pause' },
      ExpressionAttributeValues: {
        ':v0': {
          taskToken: 'token-pause',
          step: 1,
          label: 'Pause 1h for approval',
          until: '2025-03-04T11:05:00.000Z',
        },
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
