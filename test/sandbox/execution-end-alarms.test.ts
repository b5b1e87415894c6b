import '../../sandbox/polyfills.ts';
import { describe, expect, it } from 'vitest';
import { SimulatedAwsError } from '../../sandbox/aws/errors.ts';
import { metricAlarm, START, worldWithMachineM } from './support.ts';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:shipline-sandbox-execution-ends';

/** A world whose machine `m` fails at once, or waits on a token (`bake`) until a person stops it. */
const worldWith = (first: 'bake' | 'fail' = 'fail') => {
  const made = worldWithMachineM(first);
  made.world.sns.topics.add(TOPIC);
  made.world.sns.internalTopics.add(TOPIC);
  return made;
};

/** The pipeline's alarm on the machine's ExecutionsAborted count, notifying TOPIC on ALARM and on OK. */
const abortedAlarm = (topic = TOPIC) =>
  metricAlarm({
    AlarmName: 'shipline-sandbox-executions-aborted',
    AlarmDescription: 'A release execution ended ABORTED',
    Namespace: 'AWS/States',
    MetricName: 'ExecutionsAborted',
    Dimensions: [{ Name: 'StateMachineArn', Value: MACHINE }],
    Statistic: 'Sum',
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    AlarmActions: [topic],
    OKActions: [topic],
  });

const arnOf = (name: string) => `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;

/** Starts execution `name` of `m` at `startAt` and a person stops it 10 s later (it waits on its token). */
const startAndStop = (made: ReturnType<typeof worldWith>, name: string, startAt: number) => {
  made.clock.schedule(startAt, () => {
    made.world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name, input: '{}' });
  });
  made.clock.schedule(startAt + 10_000, () => {
    made.world.sfn.handle('StopExecution', { executionArn: arnOf(name), error: 'Stopped', cause: 'by hand' });
  });
};

describe('Sandbox: AWS/States execution counts and the alarm actions they drive', () => {
  it("counts an execution's start and end in AWS/States; the alarm acts through SNS (ALARM, then OK), and the run waits for both", async () => {
    const made = worldWith('bake');
    const { world, clock } = made;
    world.cloudwatch.putAlarm(abortedAlarm());
    world.startMinuteTicks();
    startAndStop(made, 'r1', START + 30_000);

    await clock.run(
      () => clock.nowMillis > START + 40_000 && world.sfn.open === 0 && world.pendingAlarmActions === 0,
      START + 3600_000,
    );

    const dimensions = [{ Name: 'StateMachineArn', Value: MACHINE }];
    for (const metric of ['ExecutionsStarted', 'ExecutionsAborted'])
      expect(world.cloudwatch.storedMinutes('AWS/States', metric, dimensions), metric).toBe(1);
    expect(world.cloudwatch.storedMinutes('AWS/States', 'ExecutionsSucceeded', dimensions)).toBe(0);
    // The 10:00 minute's count is visible at 10:02 (its end plus the 60 s metric delay): ALARM then. Once the
    // minute leaves the alarm's evaluation range (1 period + 2), it goes back to OK: the OK action. The run
    // waits for both (an OK notification stands in for a lost ALARM one).
    expect(world.alarmTransitions).toEqual([
      { at: START + 120_000, alarm: 'shipline-sandbox-executions-aborted', from: 'OK', state: 'ALARM' },
      { at: START + 240_000, alarm: 'shipline-sandbox-executions-aborted', from: 'ALARM', state: 'OK' },
    ]);
    expect(clock.nowMillis).toBe(START + 240_001);
    expect(world.sns.messages).toEqual([]);
    expect(world.sns.internalMessages).toHaveLength(2);
    const [notification] = world.sns.internalMessages;
    expect(notification?.topicArn).toBe(TOPIC);
    expect(notification?.subject).toBe(
      'ALARM: "shipline-sandbox-executions-aborted" in US East (N. Virginia)',
    );
    const message = JSON.parse(notification?.message ?? '{}') as Record<string, unknown>;
    // In the order AWS writes them (its notifications since 2022 carry the configuration's last update).
    expect(Object.keys(message)).toEqual([
      'AlarmName',
      'AlarmDescription',
      'AWSAccountId',
      'AlarmConfigurationUpdatedTimestamp',
      'NewStateValue',
      'NewStateReason',
      'StateChangeTime',
      'Region',
      'AlarmArn',
      'OldStateValue',
      'OKActions',
      'AlarmActions',
      'InsufficientDataActions',
      'Trigger',
    ]);
    expect(message).toEqual({
      AlarmName: 'shipline-sandbox-executions-aborted',
      AlarmDescription: 'A release execution ended ABORTED',
      AWSAccountId: '123456789012',
      AlarmConfigurationUpdatedTimestamp: '2026-11-22T10:00:00.000+0000',
      NewStateValue: 'ALARM',
      NewStateReason: expect.stringMatching(/^Threshold Crossed: 1 out of the last 1 datapoints \[1\.0 /),
      StateChangeTime: '2026-11-22T10:02:00.000+0000',
      Region: 'US East (N. Virginia)',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:shipline-sandbox-executions-aborted',
      OldStateValue: 'OK',
      OKActions: [TOPIC],
      AlarmActions: [TOPIC],
      InsufficientDataActions: [],
      Trigger: {
        MetricName: 'ExecutionsAborted',
        Namespace: 'AWS/States',
        StatisticType: 'Statistic',
        Statistic: 'SUM',
        Unit: null,
        Dimensions: [{ value: MACHINE, name: 'StateMachineArn' }],
        Period: 60,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        EvaluateLowSampleCountPercentile: '',
      },
    });

    expect(world.sns.internalMessages.map((m) => m.subject)).toEqual([
      'ALARM: "shipline-sandbox-executions-aborted" in US East (N. Virginia)',
      'OK: "shipline-sandbox-executions-aborted" in US East (N. Virginia)',
    ]);
  });

  it('waits for the OK action of an end counted while the alarm is already in ALARM (no action until then)', async () => {
    const made = worldWith('bake');
    const { world, clock } = made;
    world.cloudwatch.putAlarm(abortedAlarm());
    world.startMinuteTicks();
    startAndStop(made, 'r1', START + 30_000);
    // Counted in the 10:02 minute, while the alarm is in ALARM since 10:02.
    startAndStop(made, 'r2', START + 140_000);

    await clock.run(
      () => clock.nowMillis > START + 150_000 && world.sfn.open === 0 && world.pendingAlarmActions === 0,
      START + 3600_000,
    );

    // r2's minute keeps the alarm in ALARM (no new action) until it leaves the range: the OK action answers it.
    expect(world.alarmTransitions.map((t) => [t.at - START, t.state])).toEqual([
      [120_000, 'ALARM'],
      [360_000, 'OK'],
    ]);
    expect(clock.nowMillis).toBe(START + 360_001);
    expect(world.sns.internalMessages.map((m) => JSON.parse(m.message).NewStateValue)).toEqual([
      'ALARM',
      'OK',
    ]);
  });

  it('says on the timeline that an action failed (its topic does not exist); the state change stands', async () => {
    // (The OK action, two minutes later, fails the same way.)
    const made = worldWith('bake');
    const { world, clock } = made;
    const gone = 'arn:aws:sns:us-east-1:123456789012:gone';
    world.cloudwatch.putAlarm(abortedAlarm(gone));
    world.startMinuteTicks();
    startAndStop(made, 'r1', START);

    await clock.run(
      () => clock.nowMillis > START + 10_000 && world.sfn.open === 0 && world.pendingAlarmActions === 0,
      START + 3600_000,
    );

    const failed = `failed to execute action ${gone} (NotFoundException: Topic does not exist: ${gone})`;
    expect(world.timeline.filter((e) => e.kind === 'alarm').map((e) => e.text)).toEqual([
      'shipline-sandbox-executions-aborted OK -> ALARM',
      `shipline-sandbox-executions-aborted: ${failed}`,
      'shipline-sandbox-executions-aborted ALARM -> OK',
      `shipline-sandbox-executions-aborted: ${failed}`,
    ]);
    expect(world.cloudwatch.alarms.get('shipline-sandbox-executions-aborted')?.StateValue).toBe('OK');
  });

  it("counts an end through the machine's own Fail state, and does not keep the run going for its alarm", async () => {
    const { world, clock } = worldWith('fail');
    world.cloudwatch.putAlarm({
      ...abortedAlarm(),
      AlarmName: 'shipline-sandbox-executions-failed',
      MetricName: 'ExecutionsFailed',
    });
    world.startMinuteTicks();
    world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name: 'r1', input: '{}' });

    await clock.run(() => world.sfn.open === 0, START + 3600_000);

    expect(world.sfn.executions.get(`${MACHINE}|r1`)).toMatchObject({
      status: 'FAILED',
      error: 'ReleaseFailed',
    });
    const dimensions = [{ Name: 'StateMachineArn', Value: MACHINE }];
    expect(world.cloudwatch.storedMinutes('AWS/States', 'ExecutionsFailed', dimensions)).toBe(1);
    // Its own states ended it (and handed it on): the alarm still acts once the count is visible, but a run
    // whose work is done does not wait for it.
    expect(world.pendingAlarmActions).toBe(0);
    expect(clock.nowMillis).toBe(START);
  });

  it('waits for the OK action when an end through its own Fail state keeps the alarm of an awaited end in ALARM', async () => {
    // A release failed outside its own states at 10:00 (awaited); another rolled back through its own Fail
    // state at 10:02, while the alarm is in ALARM: its count keeps the alarm there past 10:04, so the OK
    // action (the second look, standing in for a lost ALARM one) only comes once that count leaves the range.
    const { world, clock } = worldWith('fail');
    world.cloudwatch.putAlarm({
      ...abortedAlarm(),
      AlarmName: 'shipline-sandbox-executions-failed',
      MetricName: 'ExecutionsFailed',
    });
    world.startMinuteTicks();
    const dimensions = [{ Name: 'StateMachineArn', Value: MACHINE }];
    clock.schedule(START + 30_000, () =>
      world.putAwsMetric('AWS/States', 'ExecutionsFailed', dimensions, 1, true),
    );
    clock.schedule(START + 140_000, () =>
      world.putAwsMetric('AWS/States', 'ExecutionsFailed', dimensions, 1, false),
    );

    await clock.run(
      () => clock.nowMillis > START + 150_000 && world.pendingAlarmActions === 0,
      START + 3600_000,
    );

    expect(world.alarmTransitions.map((t) => [t.at - START, t.state])).toEqual([
      [120_000, 'ALARM'],
      [360_000, 'OK'],
    ]);
    expect(clock.nowMillis).toBe(START + 360_001);
    expect(world.sns.internalMessages.map((m) => JSON.parse(m.message).NewStateValue)).toEqual([
      'ALARM',
      'OK',
    ]);
  });

  it('does not keep a run going for a count no alarm with actions reads', async () => {
    const { world, clock } = worldWith('fail');
    world.cloudwatch.putAlarm(abortedAlarm());
    world.startMinuteTicks();
    world.sfn.createStateMachine('ok', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    world.sfn.handle('StartExecution', {
      stateMachineArn: MACHINE.replace(':m', ':ok'),
      name: 'r1',
      input: '{}',
    });

    expect(world.pendingAlarmActions).toBe(0);
    await clock.run(() => world.sfn.open === 0, START + 3600_000);
    expect(world.pendingAlarmActions).toBe(0);
  });
});

describe('Class: SimulatedStepFunctions, ListExecutions', () => {
  /** Three executions of `m`, started a minute apart: r1 fails, r2 and r3 wait until r3 is stopped. */
  const listed = async () => {
    const made = worldWith('bake');
    const { world, clock } = made;
    for (const [minute, name] of [
      [0, 'r1'],
      [1, 'r2'],
      [2, 'r3'],
    ] as const)
      clock.schedule(START + minute * 60_000, () => {
        world.sfn.handle('StartExecution', { stateMachineArn: MACHINE, name, input: '{}' });
      });
    clock.schedule(START + 180_000, () => {
      world.sfn.stopExecution(`${MACHINE.replace(':stateMachine:', ':execution:')}:r1`, 'Stopped', 'by hand');
      world.sfn.stopExecution(`${MACHINE.replace(':stateMachine:', ':execution:')}:r3`, 'Stopped', 'by hand');
    });
    await clock.run(() => clock.nowMillis >= START + 180_000 && world.sfn.open === 1, START + 600_000);
    return made;
  };
  const names = (answer: unknown) =>
    (answer as { executions: Array<{ name: string }> }).executions.map((e) => e.name);

  it('lists the executions of one status, most recently started first, a page at a time with nextToken', async () => {
    const { world } = await listed();

    expect(names(world.sfn.handle('ListExecutions', { stateMachineArn: MACHINE }))).toEqual([
      'r3',
      'r2',
      'r1',
    ]);
    const aborted = world.sfn.handle('ListExecutions', {
      stateMachineArn: MACHINE,
      statusFilter: 'ABORTED',
      maxResults: 1,
    }) as { executions: Array<Record<string, unknown>>; nextToken?: string };
    expect(aborted.executions).toEqual([
      {
        executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:r3`,
        stateMachineArn: MACHINE,
        name: 'r3',
        status: 'ABORTED',
        startDate: new Date(START + 120_000),
        stopDate: new Date(START + 180_000),
      },
    ]);
    expect(aborted.nextToken).toBeDefined();
    const next = world.sfn.handle('ListExecutions', {
      stateMachineArn: MACHINE,
      statusFilter: 'ABORTED',
      maxResults: 1,
      nextToken: aborted.nextToken,
    }) as { executions: unknown[]; nextToken?: string };
    expect(names(next)).toEqual(['r1']);
    expect(next.nextToken).toBeUndefined();
    expect(
      names(world.sfn.handle('ListExecutions', { stateMachineArn: MACHINE, statusFilter: 'RUNNING' })),
    ).toEqual(['r2']);
  });

  it('refuses what Step Functions refuses: a page over 1000, an unknown status or token, a machine that does not exist', async () => {
    const { world } = await listed();
    const refusal = (input: Record<string, unknown>) => {
      try {
        world.sfn.handle('ListExecutions', { stateMachineArn: MACHINE, ...input });
      } catch (error) {
        return error instanceof SimulatedAwsError ? `${error.name}: ${error.message}` : String(error);
      }
      return 'accepted';
    };

    expect(refusal({ maxResults: 1001 })).toBe(
      "ValidationException: 1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    expect(refusal({ statusFilter: 'STOPPED' })).toMatch(/^ValidationException: .*'statusFilter'/);
    expect(refusal({ nextToken: 'forged' })).toBe("InvalidToken: Invalid Token: 'forged'");
    expect(refusal({ stateMachineArn: `${MACHINE}x` })).toBe(
      `StateMachineDoesNotExist: State Machine Does Not Exist: '${MACHINE}x'`,
    );
    expect(refusal({ maxResults: 0 })).toBe('accepted');
  });
});
