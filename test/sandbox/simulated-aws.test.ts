import '../../sandbox/polyfills.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricAlarm } from '../../sandbox/aws/cloudwatch.ts';
import { VersionCatalog } from '../../sandbox/aws/traffic.ts';
import { SimulatedWorld } from '../../sandbox/aws/world.ts';
import { LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import {
  createTable,
  startLocalDynamoDb,
  stopLocalDynamoDb,
  tableDefinition,
} from '../../sandbox/local-dynamodb.ts';
import { REPOSITORY_ROOT } from '../../sandbox/run-scenario.ts';
import { VirtualClock } from '../../sandbox/virtual-clock.ts';
import { makeWorld, metricAlarm, START } from './support.ts';

/** The suite's alarm: 2 of 3 one-minute periods over 10 errors. */
const alarm = (overrides: Partial<MetricAlarm> = {}) => metricAlarm({ EvaluationPeriods: 3, ...overrides });

const put = (world: SimulatedWorld, minute: number, value: number) =>
  world.cloudwatch.putDatapoint(
    'AWS/ApplicationELB',
    'HTTPCode_Target_5XX_Count',
    [{ Name: 'LoadBalancer', Value: 'app/lb/1' }],
    {
      at: START + minute * 60_000,
      sum: value,
      count: 1,
      min: value,
      max: value,
    },
  );

describe('Class: SimulatedCloudWatch', () => {
  describe('Method: evaluate', () => {
    it('goes to ALARM only when DatapointsToAlarm of the last EvaluationPeriods datapoints breach', () => {
      const { world } = makeWorld();
      world.cloudwatch.putAlarm(alarm());
      put(world, 0, 50);
      put(world, 1, 0);
      put(world, 2, 0);
      world.cloudwatch.evaluate(START + 3 * 60_000);
      expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('OK');
      put(world, 3, 20);
      world.cloudwatch.evaluate(START + 4 * 60_000);
      expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('OK');
      put(world, 4, 20);
      world.cloudwatch.evaluate(START + 5 * 60_000);
      expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('ALARM');
      expect(world.alarmTransitions).toEqual([{ at: START, alarm: 'errors', from: 'OK', state: 'ALARM' }]);
    });

    it('treats missing data as the alarm says: breaching, notBreaching, or INSUFFICIENT_DATA when missing', () => {
      const { world } = makeWorld();
      world.cloudwatch.putAlarm(alarm({ AlarmName: 'errors', TreatMissingData: 'breaching' }));
      world.cloudwatch.evaluate(START + 3 * 60_000);
      expect(world.cloudwatch.alarms.get('errors')?.StateValue).toBe('ALARM');
      const other = makeWorld().world;
      other.cloudwatch.putAlarm(alarm({ TreatMissingData: 'missing' }));
      other.cloudwatch.evaluate(START + 3 * 60_000);
      expect(other.cloudwatch.alarms.get('errors')?.StateValue).toBe('INSUFFICIENT_DATA');
    });

    it('emits the CloudWatch Alarm State Change event shape on a state change', () => {
      const { world } = makeWorld();
      const emitted: Array<Record<string, unknown>> = [];
      world.deliver = (event) => {
        emitted.push(event);
        return 1;
      };
      world.cloudwatch.putAlarm(alarm({ EvaluationPeriods: 1, DatapointsToAlarm: 1 }));
      put(world, 0, 11);
      world.cloudwatch.evaluate(START + 60_000);
      expect(emitted[0]).toMatchObject({
        version: '0',
        'detail-type': 'CloudWatch Alarm State Change',
        source: 'aws.cloudwatch',
        account: '123456789012',
        region: 'us-east-1',
        resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors'],
        detail: {
          alarmName: 'errors',
          state: { value: 'ALARM', timestamp: '2026-11-22T10:00:00.000+0000' },
          previousState: { value: 'OK' },
          configuration: {
            metrics: [
              {
                metricStat: {
                  metric: { name: 'HTTPCode_Target_5XX_Count', namespace: 'AWS/ApplicationELB' },
                  period: 60,
                  stat: 'Sum',
                },
              },
            ],
          },
        },
      });
    });
  });
});

describe('Class: SimulatedCloudWatch, DescribeAlarmHistory', () => {
  /** errors: OK -> ALARM at +1m, ALARM -> OK at +3m, OK -> ALARM at +5m; other: OK -> ALARM at +2m. */
  const withHistory = async () => {
    const { clock, world } = makeWorld();
    world.deliver = () => 0;
    world.cloudwatch.putAlarm(alarm());
    world.cloudwatch.putAlarm(alarm({ AlarmName: 'other' }));
    const at = (minute: number, name: string, state: 'OK' | 'ALARM') =>
      clock.schedule(START + minute * 60_000, () =>
        world.cloudwatch.handle('SetAlarmState', { AlarmName: name, StateValue: state, StateReason: 'test' }),
      );
    at(1, 'errors', 'ALARM');
    at(2, 'other', 'ALARM');
    at(3, 'errors', 'OK');
    at(5, 'errors', 'ALARM');
    await clock.run(() => false, START + 10 * 60_000);
    return world;
  };
  const times = (output: unknown) =>
    (output as { AlarmHistoryItems: Array<{ Timestamp: Date }> }).AlarmHistoryItems.map((item) =>
      item.Timestamp.toISOString().slice(11, 16),
    );

  it("answers one alarm's state updates in the window, newest first, with HistoryData JSON", async () => {
    const world = await withHistory();
    const output = world.cloudwatch.handle('DescribeAlarmHistory', {
      AlarmName: 'errors',
      HistoryItemType: 'StateUpdate',
      StartDate: new Date(START + 60_000),
      EndDate: new Date(START + 4 * 60_000),
    }) as { AlarmHistoryItems: Array<Record<string, unknown>>; NextToken?: string };
    expect(times(output)).toEqual(['10:03', '10:01']);
    expect(output.NextToken).toBeUndefined();
    expect(output.AlarmHistoryItems[1]).toMatchObject({
      AlarmName: 'errors',
      AlarmType: 'MetricAlarm',
      HistoryItemType: 'StateUpdate',
      HistorySummary: 'Alarm updated from OK to ALARM',
    });
    expect(JSON.parse(String(output.AlarmHistoryItems[1]?.HistoryData))).toMatchObject({
      oldState: { stateValue: 'OK' },
      newState: { stateValue: 'ALARM', stateReason: 'test' },
    });
  });

  it('pages by MaxRecords with a NextToken, oldest first with ScanBy TimestampAscending', async () => {
    const world = await withHistory();
    const first = world.cloudwatch.handle('DescribeAlarmHistory', {
      ScanBy: 'TimestampAscending',
      MaxRecords: 3,
    }) as { NextToken?: string };
    expect(times(first)).toEqual(['10:01', '10:02', '10:03']);
    const second = world.cloudwatch.handle('DescribeAlarmHistory', {
      ScanBy: 'TimestampAscending',
      MaxRecords: 3,
      NextToken: first.NextToken,
    }) as { NextToken?: string };
    expect(times(second)).toEqual(['10:05']);
    expect(second.NextToken).toBeUndefined();
  });

  it('refuses MaxRecords outside 1-100 and a NextToken it never issued', async () => {
    const world = await withHistory();
    expect(() => world.cloudwatch.handle('DescribeAlarmHistory', { MaxRecords: 101 })).toThrow(
      expect.objectContaining({ name: 'InvalidParameterValue' }),
    );
    expect(() => world.cloudwatch.handle('DescribeAlarmHistory', { NextToken: 'forged' })).toThrow(
      expect.objectContaining({ name: 'InvalidNextToken' }),
    );
  });
});

describe('Class: SimulatedWorld, dropped events', () => {
  it('loses the next event of a dropped detail-type, delivering it to no function, then delivers again', () => {
    const { world } = makeWorld();
    world.droppedEvents.push({ detailType: 'CloudWatch Alarm State Change', remaining: 1 });
    const event = { 'detail-type': 'CloudWatch Alarm State Change', source: 'aws.cloudwatch', detail: {} };
    expect(world.deliver(event)).toBe(0);
    expect(world.timeline.map((e) => e.text)).toEqual([
      'EventBridge lost a CloudWatch Alarm State Change event (delivered to no function)',
    ]);
    expect(world.droppedEvents[0]?.remaining).toBe(0);
  });
});

describe('Class: SimulatedCloudWatch, PutMetricData', () => {
  it('records a datapoint in a custom namespace, on the timeline', () => {
    const { world } = makeWorld();
    world.handle('CloudWatch', 'PutMetricDataCommand', {
      Namespace: 'Shipline',
      MetricData: [
        { MetricName: 'NotificationsLost', Dimensions: [{ Name: 'Service', Value: 'checkout' }], Value: 1 },
      ],
    });
    expect(world.cloudwatch.published).toEqual([
      {
        at: START,
        namespace: 'Shipline',
        metric: 'NotificationsLost',
        dimensions: { Service: 'checkout' },
        value: 1,
      },
    ]);
    expect(world.timeline.at(-1)).toMatchObject({
      kind: 'metric',
      text: 'Shipline/NotificationsLost Service=checkout +1',
    });
  });

  it('refuses the reserved AWS/ namespaces and a datum without a metric name, as CloudWatch does', () => {
    const { world } = makeWorld();
    expect(() =>
      world.handle('CloudWatch', 'PutMetricData', {
        Namespace: 'AWS/ApplicationELB',
        MetricData: [{ MetricName: 'x', Value: 1 }],
      }),
    ).toThrow(
      expect.objectContaining({ name: 'InvalidParameterValue', message: expect.stringContaining('AWS/') }),
    );
    expect(() =>
      world.handle('CloudWatch', 'PutMetricData', { Namespace: 'Shipline', MetricData: [{ Value: 1 }] }),
    ).toThrow(
      expect.objectContaining({ name: 'MissingParameter', message: expect.stringContaining('MetricName') }),
    );
    expect(world.cloudwatch.published).toEqual([]);
  });
});

describe('Class: SimulatedCloudWatch, PutMetricData datums', () => {
  const put = (world: SimulatedWorld, ...data: Array<Record<string, unknown>>) =>
    world.handle('CloudWatch', 'PutMetricData', {
      Namespace: 'Shipline',
      MetricData: data.map((datum) => ({ MetricName: 'Latency', ...datum })),
    });

  it('takes Values with Counts and StatisticValues, at their Timestamp, and answers percentiles from Values', () => {
    const { world } = makeWorld();
    world.cloudwatch.putAlarm(
      metricAlarm({
        AlarmName: 'latency',
        Namespace: 'Shipline',
        MetricName: 'Latency',
        Dimensions: [],
        Statistic: undefined,
        ExtendedStatistic: 'p50',
        Threshold: 5,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      }),
    );
    world.cloudwatch.putAlarm(
      metricAlarm({
        AlarmName: 'samples',
        Namespace: 'Shipline',
        MetricName: 'Latency',
        Dimensions: [],
        Statistic: 'SampleCount',
        Threshold: 12,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      }),
    );
    // 10 values of 8 and one of 1 at the start, then a statistic set stamped into the same minute.
    put(world, { Values: [8, 1], Counts: [10, 1] });
    put(world, {
      StatisticValues: { SampleCount: 2, Sum: 4, Minimum: 1, Maximum: 3 },
      Timestamp: new Date(START + 30_000),
    });
    world.cloudwatch.evaluate(START + 60_000);
    const state = (name: string) => world.cloudwatch.alarms.get(name)?.StateValue;
    expect(state('latency')).toBe('ALARM');
    expect(state('samples')).toBe('ALARM');
  });

  it('refuses a datum with none or several of Value, Values and StatisticValues, or Counts not matching Values, and publishes nothing', () => {
    const { world } = makeWorld();
    for (const [datum, error] of [
      [{}, 'InvalidParameterCombination'],
      [{ Value: 1, Values: [1] }, 'InvalidParameterCombination'],
      [{ Values: [1, 2], Counts: [1] }, 'InvalidParameterValue'],
      [{ Values: Array(151).fill(1) }, 'InvalidParameterValue'],
      [{ StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1 } }, 'MissingParameter'],
      [{ Value: 2 ** 361 }, 'InvalidParameterValue'],
      [{ Value: 1, Unit: 'Furlongs' }, 'InvalidParameterValue'],
      [{ Value: 1, Timestamp: new Date(START - 15 * 86_400_000) }, 'InvalidParameterValue'],
      [{ Value: 1, Timestamp: new Date(START + 3 * 3_600_000) }, 'InvalidParameterValue'],
    ] as const)
      expect(() => put(world, { Value: 1 }, datum), JSON.stringify(datum)).toThrow(
        expect.objectContaining({ name: error, message: expect.stringContaining('MetricData.member.2') }),
      );
    // The valid first datum of each refused request was not published either.
    expect(world.cloudwatch.published).toEqual([]);
  });
});

describe('Class: SimulatedStepFunctions', () => {
  describe('Method: handle', () => {
    it('applies the Step Functions execution name rules', () => {
      const { world } = makeWorld();
      world.sfn.createStateMachine('m', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
      const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';
      for (const name of ['has space', 'sha256:abc', 'a/b', 'x'.repeat(81)]) {
        expect(() => world.sfn.handle('StartExecution', { stateMachineArn: arn, name, input: '{}' })).toThrow(
          expect.objectContaining({ name: 'InvalidName' }),
        );
      }
    });

    const HOLD = {
      StartAt: 'Hold',
      States: { Hold: { Type: 'Wait', Seconds: 600, Next: 'Done' }, Done: { Type: 'Succeed' } },
    };
    const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';

    it('answers a start with the name and input of an open execution with that execution (idempotent)', () => {
      const { world } = makeWorld();
      world.sfn.createStateMachine('m', HOLD);
      const first = world.sfn.handle('StartExecution', {
        stateMachineArn: MACHINE,
        name: 'r1',
        input: '{"a":1}',
      });

      const again = world.sfn.handle('StartExecution', {
        stateMachineArn: MACHINE,
        name: 'r1',
        input: '{"a":1}',
      });

      expect(again).toEqual(first);
      expect(again).toEqual({
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:r1',
        startDate: new Date(START),
      });
      expect(world.sfn.executions.size).toBe(1);
    });

    it('refuses the name of an open execution with another input: ExecutionAlreadyExists', () => {
      const { world } = makeWorld();
      world.sfn.createStateMachine('m', HOLD);
      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{"a":1}' });

      expect(() =>
        world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{"a":2}' }),
      ).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    });

    it('refuses the name of a closed execution whatever the input: ExecutionAlreadyExists', async () => {
      const { clock, world } = makeWorld();
      world.sfn.createStateMachine('m', HOLD);
      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{"a":1}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);

      expect(() =>
        world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{"a":1}' }),
      ).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    });

    it('refuses an execution input over 256 KB (UTF-8 bytes) with ValidationException, starting nothing', () => {
      const { world } = makeWorld();
      world.sfn.createStateMachine('m', HOLD);
      // 131,072 two-byte characters: under the limit in characters, over it in bytes.
      const input = JSON.stringify({ note: 'é'.repeat(131_072) });

      expect(() =>
        world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'big', input }),
      ).toThrow(
        expect.objectContaining({
          name: 'ValidationException',
          message: expect.stringContaining("Value at 'input' failed to satisfy constraint"),
        }),
      );
      expect(world.sfn.executions.size).toBe(0);
    });

    it('refuses SendTaskSuccess output over 256 KB with ValidationException', () => {
      const { world } = makeWorld();
      const output = JSON.stringify({ note: 'x'.repeat(262_144) });

      expect(() => world.sfn.handle('SendTaskSuccess', { taskToken: 'any', output })).toThrow(
        expect.objectContaining({ name: 'ValidationException' }),
      );
    });

    it('fails the execution with States.DataLimitExceeded on a task result over 256 KB, past any Catch', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'shipline-big-'));
      const modulePath = path.join(dir, 'big.mjs');
      writeFileSync(modulePath, "export const handler = async () => ({ blob: 'x'.repeat(262144) });\n");
      const lambda = new LambdaRuntime([
        { key: 'big', modulePath, exportName: 'handler', eventPatterns: [] },
      ]);
      await lambda.load();
      const clock = new VirtualClock(new Date(START));
      const world = new SimulatedWorld({
        clock,
        lambda,
        region: 'us-east-1',
        account: '123456789012',
        versions: new VersionCatalog([]),
        requestsPerMinute: 0,
        ecsDeploySeconds: 60,
        loadBalancerDimension: 'app/lb/1',
      });
      world.sfn.createStateMachine('m', {
        StartAt: 'Produce',
        States: {
          Produce: {
            Type: 'Task',
            Resource: { 'Fn::GetAtt': ['big', 'Arn'] },
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Succeed' },
        },
      });

      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);

      const execution = world.sfn.executions.get(`${MACHINE}|r1`);
      expect(execution).toMatchObject({
        status: 'FAILED',
        error: 'States.DataLimitExceeded',
        cause:
          "The state/task 'arn:aws:lambda:us-east-1:123456789012:function:shipline-sandbox-big' returned a result with a size exceeding the maximum number of bytes service limit.",
      });
      expect(execution?.history.map((h) => h.state)).toEqual(['Produce']);
    });

    it('fails the execution with States.Runtime, past any Catch, when TimeoutSecondsPath is not a positive integer', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'shipline-timeout-'));
      const modulePath = path.join(dir, 'wait.mjs');
      writeFileSync(modulePath, 'export const handler = async () => ({ waiting: true });\n');
      const lambda = new LambdaRuntime([
        { key: 'wait', modulePath, exportName: 'handler', eventPatterns: [] },
      ]);
      await lambda.load();
      const clock = new VirtualClock(new Date(START));
      const world = new SimulatedWorld({
        clock,
        lambda,
        region: 'us-east-1',
        account: '123456789012',
        versions: new VersionCatalog([]),
        requestsPerMinute: 0,
        ecsDeploySeconds: 60,
        loadBalancerDimension: 'app/lb/1',
      });
      world.sfn.createStateMachine('m', {
        StartAt: 'Wait for a token',
        States: {
          'Wait for a token': {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: {
              FunctionName: { 'Fn::GetAtt': ['wait', 'Arn'] },
              Payload: { 'token.$': '$$.Task.Token' },
            },
            TimeoutSecondsPath: '$.seconds',
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Succeed' },
        },
      });

      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{"seconds":0}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);

      expect(world.sfn.executions.get(`${MACHINE}|r1`)).toMatchObject({
        status: 'FAILED',
        error: 'States.Runtime',
        cause: expect.stringContaining("TimeoutSecondsPath '$.seconds' resolved to 0"),
      });
    });

    it('fails the execution with States.DataLimitExceeded on a state output over 256 KB', async () => {
      const { clock, world } = makeWorld();
      world.sfn.createStateMachine('m', {
        StartAt: 'Inflate',
        States: {
          Inflate: {
            Type: 'Pass',
            Result: { blob: 'x'.repeat(262_144) },
            ResultPath: '$.blob',
            Next: 'Hold',
          },
          Hold: { Type: 'Wait', Seconds: 60, Next: 'Done' },
          Done: { Type: 'Succeed' },
        },
      });

      world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });
      await clock.run(() => world.sfn.open === 0, START + 3600_000);

      expect(world.sfn.executions.get(`${MACHINE}|r1`)).toMatchObject({
        status: 'FAILED',
        error: 'States.DataLimitExceeded',
        cause:
          "The state/task 'Inflate' returned a result with a size exceeding the maximum number of bytes service limit.",
      });
    });

    it('refuses a TimeoutSeconds it could only apply in real time (a Lambda Task, the execution)', () => {
      const { world } = makeWorld();
      const task = (extra: Record<string, unknown>) => ({
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
            End: true,
            ...extra,
          },
        },
      });

      expect(() => world.sfn.createStateMachine('m', task({ TimeoutSeconds: 30 }))).toThrow(
        'the sandbox does not model TimeoutSeconds on Task state "Call"',
      );
      expect(() => world.sfn.createStateMachine('m', { ...task({}), TimeoutSeconds: 30 })).toThrow(
        'the sandbox does not model an execution TimeoutSeconds',
      );
    });

    it('refuses a HeartbeatSeconds it would otherwise ignore (AWS times the task out without heartbeats)', () => {
      const { world } = makeWorld();
      for (const heartbeat of [{ HeartbeatSeconds: 30 }, { HeartbeatSecondsPath: '$.beat' }])
        expect(() =>
          world.sfn.createStateMachine('m', {
            StartAt: 'Bake',
            States: {
              Bake: {
                Type: 'Task',
                Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                Parameters: { FunctionName: 'f', Payload: { 'token.$': '$$.Task.Token' } },
                TimeoutSeconds: 600,
                ...heartbeat,
                End: true,
              },
            },
          }),
        ).toThrow('the sandbox does not model HeartbeatSeconds on Task state "Bake"');
    });

    it('rejects a token that was never issued', () => {
      const { world } = makeWorld();
      expect(() => world.sfn.handle('SendTaskSuccess', { taskToken: 'nope', output: '{}' })).toThrow(
        expect.objectContaining({ name: 'InvalidToken' }),
      );
    });
  });
});

describe('Class: SimulatedWorld', () => {
  it('refuses an event over 256 KB as PutEvents does (ValidationException), delivering nothing', () => {
    const { world } = makeWorld();
    const event = {
      source: 'aws.ecr',
      'detail-type': 'ECR Image Action',
      detail: { note: 'x'.repeat(262_144) },
    };

    expect(() => world.deliver(event)).toThrow(
      expect.objectContaining({
        name: 'ValidationException',
        message: expect.stringContaining('Total size of the entries in the request is over the limit'),
      }),
    );
    expect(world.pendingDeliveries).toBe(0);
  });

  it('fails loudly, naming the command, when the pipeline calls an API the sandbox does not model', () => {
    const { world } = makeWorld();
    expect(() => world.handle('ECS', 'DeleteServiceCommand', {})).toThrow(
      'the sandbox does not simulate ECS:DeleteService',
    );
  });
});

describe('Class: SimulatedElbv2', () => {
  const RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/1/2/3';
  const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1';
  const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2';
  const oidcRule = () => {
    const { world } = makeWorld();
    world.elbv2.targetGroups.set(BLUE, { name: 'blue' });
    world.elbv2.targetGroups.set(GREEN, { name: 'green' });
    world.elbv2.createRule(
      RULE,
      [
        { TargetGroupArn: BLUE, Weight: 100 },
        { TargetGroupArn: GREEN, Weight: 0 },
      ],
      { authenticate: 'oidc' },
    );
    return world;
  };
  const describedActions = (world: SimulatedWorld) =>
    (world.elbv2.handle('DescribeRules', { RuleArns: [RULE] }) as { Rules: Array<{ Actions: unknown[] }> })
      .Rules[0]?.Actions as Array<Record<string, unknown>>;
  const forward = (blue: number, green: number) => ({
    Type: 'forward',
    Order: 2,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: BLUE, Weight: blue },
        { TargetGroupArn: GREEN, Weight: green },
      ],
    },
  });
  const oidcWith = (extra: Record<string, unknown>) => {
    const [oidc] = describedActions(oidcRule());
    return {
      ...oidc,
      AuthenticateOidcConfig: { ...(oidc?.AuthenticateOidcConfig as object), ...extra },
    };
  };

  it('describes the authenticate-oidc action before the forward action, without its ClientSecret', () => {
    const actions = describedActions(oidcRule());
    expect(actions.map((a) => [a.Type, a.Order])).toEqual([
      ['authenticate-oidc', 1],
      ['forward', 2],
    ]);
    expect(actions[0]?.AuthenticateOidcConfig).not.toHaveProperty('ClientSecret');
  });

  it('keeps the authenticate-oidc action when ModifyRule sends it with UseExistingClientSecret', () => {
    const world = oidcRule();
    world.elbv2.handle('ModifyRule', {
      RuleArn: RULE,
      Actions: [oidcWith({ UseExistingClientSecret: true }), forward(95, 5)],
    });
    expect(world.elbv2.actionTypesOf(RULE)).toEqual(['authenticate-oidc', 'forward']);
    expect(world.elbv2.weightsOf(RULE)).toEqual({ [BLUE]: 95, [GREEN]: 5 });
  });

  it.each([
    ['neither ClientSecret nor UseExistingClientSecret', {}, 'ClientSecret is required'],
    [
      'both ClientSecret and UseExistingClientSecret',
      { ClientSecret: 's', UseExistingClientSecret: true },
      'cannot be specified',
    ],
  ])('rejects an authenticate-oidc action with %s (ValidationError), changing nothing', (_, extra, message) => {
    const world = oidcRule();
    expect(() =>
      world.elbv2.handle('ModifyRule', { RuleArn: RULE, Actions: [oidcWith(extra), forward(95, 5)] }),
    ).toThrow(
      expect.objectContaining({ name: 'ValidationError', message: expect.stringContaining(message) }),
    );
    expect(world.elbv2.weightsOf(RULE)).toEqual({ [BLUE]: 100, [GREEN]: 0 });
  });

  it('rejects a weight outside 0-999 and an unknown target group', () => {
    const world = oidcRule();
    const oidc = oidcWith({ UseExistingClientSecret: true });
    expect(() =>
      world.elbv2.handle('ModifyRule', { RuleArn: RULE, Actions: [oidc, forward(1000, 5)] }),
    ).toThrow(expect.objectContaining({ name: 'ValidationError' }));
    const unknown = forward(95, 5);
    unknown.ForwardConfig.TargetGroups[1] = { TargetGroupArn: `${GREEN}0`, Weight: 5 };
    expect(() => world.elbv2.handle('ModifyRule', { RuleArn: RULE, Actions: [oidc, unknown] })).toThrow(
      expect.objectContaining({ name: 'TargetGroupNotFoundException' }),
    );
  });
});

describe('Class: SimulatedSns', () => {
  const TOPIC = 'arn:aws:sns:us-east-1:123456789012:releases';
  const publish = (input: Record<string, unknown>) => {
    const { world } = makeWorld();
    world.sns.topics.add(TOPIC);
    world.sns.topics.add('arn:aws:sns:eu-west-1:123456789012:releases');
    return { world, call: () => world.sns.handle('Publish', { TopicArn: TOPIC, Message: '{}', ...input }) };
  };

  it('publishes a subject of 99 printable ASCII characters', () => {
    const { world, call } = publish({ Subject: 's'.repeat(99) });
    call();
    expect(world.sns.messages).toHaveLength(1);
  });

  it.each([
    ['of 100 characters', 's'.repeat(100)],
    ['with a line break', 'released\nv2'],
    ['with non-ASCII', 'released v2 \u2705'],
  ])('refuses a subject %s (InvalidParameterException), publishing nothing', (_, subject) => {
    const { world, call } = publish({ Subject: subject });
    expect(call).toThrow(
      expect.objectContaining({ name: 'InvalidParameterException', message: 'Invalid parameter: Subject' }),
    );
    expect(world.sns.messages).toHaveLength(0);
  });

  it('refuses a message over 256 KB (InvalidParameterException)', () => {
    const { world, call } = publish({ Message: 'x'.repeat(262_145) });
    expect(call).toThrow(
      expect.objectContaining({
        name: 'InvalidParameterException',
        message: expect.stringContaining('Message too long'),
      }),
    );
    expect(world.sns.messages).toHaveLength(0);
  });

  it('refuses a topic of another region as SNS does (InvalidParameter: TopicArn), even one that exists', () => {
    const { world, call } = publish({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:releases' });
    expect(call).toThrow(
      expect.objectContaining({
        name: 'InvalidParameterException',
        message: expect.stringContaining('Invalid parameter: TopicArn'),
      }),
    );
    expect(world.sns.messages).toHaveLength(0);
  });

  it('answers an unknown topic with NotFoundException', () => {
    const { call } = publish({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope' });
    expect(call).toThrow(expect.objectContaining({ name: 'NotFoundException' }));
  });

  describe('PublishBatch', () => {
    const batch = (entries: Array<Record<string, unknown>>, topicArn = TOPIC) => {
      const { world } = makeWorld();
      world.sns.topics.add(TOPIC);
      return {
        world,
        call: () =>
          world.sns.handle('PublishBatch', { TopicArn: topicArn, PublishBatchRequestEntries: entries }),
      };
    };
    const entry = (id: string, message = '{}') => ({ Id: id, Message: message });

    it('publishes each entry as Publish would, in order, answering each by its Id', () => {
      const { world, call } = batch([entry('0', '{"a":1}'), entry('1', '{"b":2}')]);
      expect(call()).toEqual({
        Successful: [
          { Id: '0', MessageId: world.sns.messages[0]?.messageId },
          { Id: '1', MessageId: world.sns.messages[1]?.messageId },
        ],
        Failed: [],
      });
      expect(world.sns.messages.map((message) => message.message)).toEqual(['{"a":1}', '{"b":2}']);
    });

    it('answers an entry Publish would refuse in Failed, and publishes the others', () => {
      const { world, call } = batch([entry('ok'), { Id: 'bad', Message: '{}', Subject: 'line\nbreak' }]);
      expect(call()).toMatchObject({
        Successful: [{ Id: 'ok' }],
        Failed: [
          { Id: 'bad', Code: 'InvalidParameter', Message: 'Invalid parameter: Subject', SenderFault: true },
        ],
      });
      expect(world.sns.messages).toHaveLength(1);
    });

    it.each([
      ['no entries', [], 'EmptyBatchRequestException'],
      [
        'eleven entries',
        Array.from({ length: 11 }, (_, i) => entry(String(i))),
        'TooManyEntriesInBatchRequestException',
      ],
      ['an Id with a dot', [entry('a.b')], 'InvalidBatchEntryIdException'],
      ['an Id of 81 characters', [entry('i'.repeat(81))], 'InvalidBatchEntryIdException'],
      ['two entries with one Id', [entry('x'), entry('x')], 'BatchEntryIdsNotDistinctException'],
      [
        'messages of more than 256 KB together',
        [entry('0', 'x'.repeat(131_072)), entry('1', 'x'.repeat(131_073))],
        'BatchRequestTooLongException',
      ],
    ])('refuses a request with %s whole (%s), publishing nothing', (_, entries, name) => {
      const { world, call } = batch(entries);
      expect(call).toThrow(expect.objectContaining({ name }));
      expect(world.sns.messages).toHaveLength(0);
    });

    it('answers an unknown topic with NotFoundException, as Publish does', () => {
      const { call } = batch([entry('0')], 'arn:aws:sns:us-east-1:123456789012:nope');
      expect(call).toThrow(expect.objectContaining({ name: 'NotFoundException' }));
    });
  });
});

describe('Class: SimulatedEcs, RegisterTaskDefinition tags', () => {
  const register = (tags: Array<{ key: string; value: string }>) => {
    const { world } = makeWorld();
    return () =>
      world.ecs.handle('RegisterTaskDefinition', {
        family: 'checkout',
        containerDefinitions: [{ name: 'app', image: 'repo@sha256:1' }],
        tags,
      });
  };
  const tags = (count: number) => Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: 'v' }));
  const refused = (message: string) =>
    expect.objectContaining({ name: 'InvalidParameterException', message: expect.stringContaining(message) });

  it('registers 50 tags', () => {
    expect(register(tags(50))).not.toThrow();
  });

  it.each([
    ['51 tags', tags(51), 'maximum is 50 tags'],
    ['an aws: key', [{ key: 'aws:cloudformation:stack-name', value: 'x' }], 'aws: prefix is reserved'],
    ['an AWS: key', [{ key: 'AWS:x', value: 'x' }], 'aws: prefix is reserved'],
    ['an aws: value', [{ key: 'origin', value: 'aws:marketplace' }], 'aws: prefix is reserved'],
    ['a 129-character key', [{ key: 'k'.repeat(129), value: 'x' }], '1 to 128 characters'],
    ['a 257-character value', [{ key: 'k', value: 'v'.repeat(257) }], 'at most 256 characters'],
    [
      'a duplicate key',
      [
        { key: 'k', value: 'a' },
        { key: 'k', value: 'b' },
      ],
      'Duplicate tag key',
    ],
  ])('refuses %s (InvalidParameterException)', (_, given, message) => {
    expect(register(given)).toThrow(refused(message));
  });
});

describe('Class: VirtualClock', () => {
  it('jumps to the next timer only when no work holds the clock', async () => {
    const clock = new VirtualClock(new Date(START));
    const seen: number[] = [];
    clock.hold();
    const work = (async () => {
      await clock.sleep(600);
      seen.push(clock.nowMillis - START);
      clock.release();
    })();
    const outcome = await clock.run(() => seen.length === 1, START + 3600_000);
    await work;
    expect(outcome).toBe('done');
    expect(seen).toEqual([600_000]);
  });
});

describe('Local DynamoDB (dynalite)', () => {
  afterAll(async () => {
    await stopLocalDynamoDb();
  });

  it('refuses an item over 400 KB as DynamoDB does (ValidationException), and stores one under it', async () => {
    const endpoint = await startLocalDynamoDb();
    await createTable(endpoint, tableDefinition(REPOSITORY_ROOT, 'item-size'));
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
    const item = (bytes: number) => ({ pk: { S: 'p' }, sk: { S: 's' }, blob: { S: 'x'.repeat(bytes) } });

    await expect(
      client.send(new PutItemCommand({ TableName: 'item-size', Item: item(400 * 1024) })),
    ).rejects.toThrow(
      expect.objectContaining({
        name: 'ValidationException',
        message: 'Item size has exceeded the maximum allowed size',
      }),
    );
    await expect(
      client.send(new PutItemCommand({ TableName: 'item-size', Item: item(390 * 1024) })),
    ).resolves.toBeDefined();
    client.destroy();
  });
});
