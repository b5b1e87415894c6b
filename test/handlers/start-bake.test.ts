import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import { cursorAt, deploymentFixture, fixedClock, TABLE, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const cloudwatch = mockClient(CloudWatchClient);
const sfn = mockClient(SFNClient);
const context = lambdaContext('shipline-start-bake');

const NOW = '2025-03-04T10:11:30.000Z';
const NOW_EPOCH = Date.parse(NOW) / 1000;
const deployment = deploymentFixture();
/** The 25% bake; its shift took effect at 10:10:10. */
const SHIFTS = [{ percent: 25, shiftedAt: '2025-03-04T10:10:10.000Z' }];
const cursor = cursorAt(5, { shifts: SHIFTS });
const event = { deployment, cursor, taskToken: 'token-bake-25' };

const metricAlarm = (name: string, state: StateValue, transitionedAt: string): MetricAlarm => ({
  AlarmName: name,
  StateValue: state,
  StateReason: 'Threshold Crossed',
  StateUpdatedTimestamp: new Date(transitionedAt),
  StateTransitionedTimestamp: new Date(transitionedAt),
});

const quietAlarms = {
  MetricAlarms: [
    metricAlarm('checkout-latency-p99', 'OK', '2025-03-01T00:00:00Z'),
    metricAlarm('checkout-green-5xx', 'OK', '2025-03-01T00:00:00Z'),
  ],
  CompositeAlarms: [],
};

let handler: typeof import('../../functions/start-bake.ts')['handler'];

describe('Handler: start-bake', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/start-bake.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    ddb.reset();
    cloudwatch.reset();
    sfn.reset();
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
  });

  it('registers the task token against every watched alarm and keeps waiting', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves(quietAlarms);

    const result = await handler(event, context);

    expect(result).toEqual({ watching: ['checkout-latency-p99', 'checkout-green-5xx'] });
    expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual(
      ['checkout-latency-p99', 'checkout-green-5xx'].map((alarmName) => ({
        TableName: TABLE,
        Item: {
          pk: `WAIT#ALARM#${alarmName}`,
          sk: `RELEASE#${V2_RELEASE_ID}`,
          waitRelease: `RELEASE#${V2_RELEASE_ID}`,
          waitOn: `bake#${alarmName}`,
          kind: 'bake',
          key: alarmName,
          releaseId: V2_RELEASE_ID,
          service: 'checkout',
          environment: 'default',
          taskToken: 'token-bake-25',
          data: { percent: 25, shifts: SHIFTS, watchFrom: deployment.startedAt },
          expiresAt: NOW_EPOCH + 600 + 3600,
        },
      })),
    );
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({
      AlarmNames: ['checkout-latency-p99', 'checkout-green-5xx'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('fails the bake at once when an alarm went to ALARM between steps', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        metricAlarm('checkout-latency-p99', 'OK', '2025-03-01T00:00:00Z'),
        metricAlarm('checkout-green-5xx', 'ALARM', '2025-03-04T10:11:10Z'),
      ],
    });

    const result = await handler(event, context);

    expect(result).toEqual({ watching: [], failedAtStart: 'checkout-green-5xx' });
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: 'WAIT#ALARM#checkout-latency-p99', sk: `RELEASE#${V2_RELEASE_ID}` },
        ReturnValues: 'ALL_OLD',
      },
      {
        TableName: TABLE,
        Key: { pk: 'WAIT#ALARM#checkout-green-5xx', sk: `RELEASE#${V2_RELEASE_ID}` },
        ReturnValues: 'ALL_OLD',
      },
    ]);
    const success = sfn.commandCalls(SendTaskSuccessCommand);
    expect(success).toHaveLength(1);
    expect(success[0]?.args[0].input).toEqual({ taskToken: 'token-bake-25', output: expect.any(String) });
    expect(JSON.parse(success[0]?.args[0].input.output ?? '')).toEqual({
      outcome: 'failed',
      reason: 'alarm checkout-green-5xx went to ALARM at 25%',
      alarm: 'checkout-green-5xx',
      alarmChangedAt: '2025-03-04T10:11:10.000Z',
    });
  });

  it('rejects a malformed payload, naming the field, and sends no command', async () => {
    const { seconds: _seconds, ...stepWithoutSeconds } = cursor.step as { seconds: number };

    const error = await rejection(
      handler({ ...event, cursor: { ...cursor, step: stepWithoutSeconds } }, context),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/^start-bake input is malformed: /);
    expect(error.message).toContain('cursor.step');
    expect(ddb.calls()).toHaveLength(0);
    expect(cloudwatch.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a payload without a task token', async () => {
    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('taskToken');
    expect(ddb.calls()).toHaveLength(0);
  });
});
