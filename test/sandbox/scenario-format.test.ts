import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { formatSummary } from '../../sandbox/print.ts';
import {
  checkExpectations,
  loadScenario,
  parseScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';
import { commandFaultError } from '../../sandbox/scenario/schema.ts';

afterAll(async () => {
  await stopLocalDynamoDb();
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const base = {
  name: 'format',
  world: { serving: 'v1', alarms: [{ name: 'checkout-green-5xx', targetGroup: 'green', threshold: 10 }] },
  versions: { v1: { digest: digest('a') }, v2: { digest: digest('b') } },
  trigger: { push: { version: 'v2' } },
};

const refusal = (document: unknown): string => {
  try {
    parseScenario(document);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the scenario was accepted');
};

const runRefusal = async (document: Record<string, unknown>): Promise<string> => {
  try {
    await runScenario(parseScenario(document), path.join(REPOSITORY_ROOT, 'examples'));
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  throw new Error('the scenario ran');
};

describe('Scenario format: what users did not mean is refused, naming the path', () => {
  it('refuses an unknown key in a scheduled event', () => {
    expect(refusal({ ...base, events: [{ at: '1m', push: { version: 'v2' }, tag: 'x' }] })).toContain(
      'events[0]: Unrecognized key: "tag"',
    );
    expect(refusal({ ...base, events: [{ at: '1m', duplicate: true, times: 2 }] })).toContain(
      'events[0]: Unrecognized key: "times"',
    );
  });

  it('says what a scheduled event needs when it names no known action, or lacks its time', () => {
    expect(refusal({ ...base, events: [{ at: '1m', rollback: true }] })).toContain(
      'events[0]: expected `at` and exactly one of push, event, manual, duplicate, alarm',
    );
    expect(refusal({ ...base, events: [{ push: { version: 'v2' } }] })).toContain('events[0].at:');
  });

  it("refuses a person's approve or abort that is not what they meant: unknown keys, an abort without a reason, another world's service", async () => {
    expect(
      refusal({ ...base, events: [{ at: '5m', approve: { service: 'checkout', reason: 'x' } }] }),
    ).toContain('events[0].approve: Unrecognized key: "reason"');
    expect(refusal({ ...base, events: [{ at: '5m', abort: { service: 'checkout' } }] })).toContain(
      'events[0]',
    );
    expect(refusal({ ...base, events: [{ at: '5m', abort: { reason: '' } }] })).toContain('events[0]');
    expect(
      parseScenario({ ...base, events: [{ at: '5m', abort: { reason: 'wrong build' } }] }).events,
    ).toEqual([{ at: '5m', abort: { reason: 'wrong build' } }]);
    expect(await runRefusal({ ...base, events: [{ at: '5m', approve: { service: 'payments' } }] })).toContain(
      'events[0].approve.service: service "payments" is not in the world',
    );
  });

  it('names the path of a mistake in an inline config from the scenario root', async () => {
    const config = parse(readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8'));
    config.services.checkout.canry = true;
    const message = await runRefusal({ ...base, config });
    expect(message).toContain('ScenarioError: scenario is invalid:');
    expect(message).toContain('config.services.checkout: Unrecognized key: "canry"');
  });

  it('refuses a duplicate of a trigger that is no EventBridge event', async () => {
    expect(
      await runRefusal({
        ...base,
        trigger: { manual: { version: 'v2' } },
        events: [{ at: '3s', duplicate: true }],
      }),
    ).toContain(
      'events[0].duplicate: the trigger is a manual request, not an EventBridge event: there is nothing to deliver again',
    );
    expect(
      await runRefusal({
        ...base,
        trigger: { cli: 'deploy checkout --image v2' },
        events: [{ at: '3s', duplicate: true }],
      }),
    ).toContain('events[0].duplicate: the trigger is a shipline command');
  });

  it('refuses an error rate over 100%', () => {
    expect(
      refusal({ ...base, versions: { ...base.versions, v2: { digest: digest('b'), errorRate: '150%' } } }),
    ).toContain('versions.v2.errorRate: a rate is at most 100%');
    expect(
      refusal({
        ...base,
        versions: { ...base.versions, v2: { digest: digest('b'), changes: [{ after: '1m', errorRate: 2 }] } },
      }),
    ).toContain('versions.v2.changes[0].errorRate');
  });

  it('refuses a change of a version that changes nothing', () => {
    const changes = (list: unknown[]) =>
      refusal({ ...base, versions: { ...base.versions, v2: { digest: digest('b'), changes: list } } });
    expect(changes([{ after: '5m' }])).toContain(
      'versions.v2.changes[0]: a change says what changes: errorRate, latencyMs or latencyP99Ms',
    );
    expect(changes([{ after: '1m', errorRate: '2%' }, {}])).toContain(
      'versions.v2.changes[1]: a change says what changes',
    );
  });

  it('refuses an alarm CloudWatch would refuse or that could never fire, naming the field', () => {
    const alarm = (fields: Record<string, unknown>) =>
      refusal({ ...base, world: { ...base.world, alarms: [{ ...base.world.alarms[0], ...fields }] } });
    expect(alarm({ period: 0 })).toContain('world.alarms[0].period: a period is at least 60 seconds');
    expect(alarm({ period: 90 })).toContain('world.alarms[0].period: a period is a multiple of 60 seconds');
    expect(alarm({ evaluationPeriods: 2, datapointsToAlarm: 3 })).toContain(
      'world.alarms[0].datapointsToAlarm: datapointsToAlarm 3 is more than evaluationPeriods 2: the alarm could never fire',
    );
    expect(alarm({ period: 300, evaluationPeriods: 289 })).toContain(
      'world.alarms[0].evaluationPeriods: period x evaluationPeriods is 86700 seconds; CloudWatch allows at most 86400',
    );
    expect(alarm({ period: 3600, evaluationPeriods: 169 })).toContain('CloudWatch allows at most 604800');
    expect(
      parseScenario({
        ...base,
        world: {
          ...base.world,
          alarms: [{ ...base.world.alarms[0], period: 300, evaluationPeriods: 288, datapointsToAlarm: 288 }],
        },
      }).world.alarms[0],
    ).toMatchObject({ period: 300, evaluationPeriods: 288, datapointsToAlarm: 288 });
  });

  it('refuses an alarm on a load balancer metric the simulated ALB does not publish, suggesting the closest', () => {
    const alarm = (fields: Record<string, unknown>) =>
      refusal({ ...base, world: { ...base.world, alarms: [{ ...base.world.alarms[0], ...fields }] } });
    expect(alarm({ metric: 'HTTPCode_Target_5xx_Count' })).toContain(
      'world.alarms[0].metric: the simulated load balancer publishes RequestCount, TargetResponseTime, HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count in AWS/ApplicationELB, not HTTPCode_Target_5xx_Count (did you mean "HTTPCode_Target_5XX_Count"?)',
    );
    expect(alarm({ metric: 'HealthyHostCount' })).toContain(
      'world.alarms[0].metric: the simulated load balancer publishes',
    );
    // The team's own metrics, in its own namespace, are the team's to publish.
    expect(
      parseScenario({
        ...base,
        world: {
          ...base.world,
          alarms: [{ ...base.world.alarms[0], namespace: 'Checkout', metric: 'OrdersPlaced' }],
        },
      }).world.alarms[0]?.metric,
    ).toBe('OrdersPlaced');
  });

  it('refuses an earlier release history that contradicts the world: out of order, or a newest promotion of another version', async () => {
    const history = (entries: unknown[]) =>
      runRefusal({ ...base, world: { ...base.world, history: entries } });
    expect(
      await history([
        { toVersion: 'v1', status: 'promoted', ago: '24h' },
        { toVersion: 'v0', status: 'promoted', ago: '48h' },
      ]),
    ).toContain(
      'world.history[1].ago: 48h ago is before history[0] (24h ago); list earlier releases oldest first',
    );
    expect(
      await history([
        { toVersion: 'v1', status: 'promoted', ago: '48h' },
        { fromVersion: 'v1', toVersion: 'v0', status: 'promoted', ago: '24h' },
        { fromVersion: 'v0', toVersion: 'v1-bad', status: 'rolled_back', ago: '2h' },
      ]),
    ).toContain(
      'world.history[1].toVersion: the newest promoted release is of v0, but world.serving is v1 (the stable slot serves what the last promotion released)',
    );
  });

  it('refuses a task start time that ecsDeploySeconds would override', () => {
    expect(
      refusal({ ...base, world: { ...base.world, ecsDeploySeconds: 60, timing: { ecsTaskStart: '30s' } } }),
    ).toContain(
      'world.timing.ecsTaskStart: world.ecsDeploySeconds already says how long a new task takes to be healthy (start included): give ecsTaskStart or ecsDeploySeconds, not both',
    );
    expect(
      parseScenario({
        ...base,
        world: { ...base.world, ecsDeploySeconds: 60, timing: { healthCheckInterval: '10s' } },
      }).world.ecsDeploySeconds,
    ).toBe(60);
  });

  it('refuses a Slack outage that ends before it begins', () => {
    const slack = { botToken: 'xoxb-1', signingSecret: 's', channels: ['C0RELEASES'] };
    const down = (outage: Record<string, unknown>) =>
      refusal({ ...base, world: { ...base.world, slack: { ...slack, down: [outage] } } });
    expect(down({ from: '10m', until: '5m' })).toContain(
      'world.slack.down[0].until: an outage ends after it begins: until is later than from',
    );
    expect(down({ from: '5m', until: '5m' })).toContain('world.slack.down[0].until');
    expect(
      parseScenario({ ...base, world: { ...base.world, slack: { ...slack, down: [{ until: '5m' }] } } }).world
        .slack?.down,
    ).toEqual([{ from: 0, until: '5m', status: 503, retryAfter: '30s' }]);
  });

  it("refuses a smoke-test function's timeout Lambda does not accept", () => {
    const fn = (timeout: unknown) =>
      refusal({ ...base, world: { ...base.world, functions: { smoke: { timeout } } } });
    expect(fn('16m')).toContain(
      "world.functions.smoke.timeout: a Lambda function's timeout is 1 to 900 seconds on AWS",
    );
    expect(fn(0)).toContain(
      "world.functions.smoke.timeout: a Lambda function's timeout is 1 to 900 seconds on AWS",
    );
    expect(
      parseScenario({ ...base, world: { ...base.world, functions: { smoke: { timeout: '15m' } } } }).world
        .functions.smoke?.timeout,
    ).toBe('15m');
  });

  it('refuses a target group timing AWS does not accept', () => {
    const timing = (fields: Record<string, unknown>) =>
      refusal({ ...base, world: { ...base.world, timing: fields } });
    expect(timing({ healthCheckInterval: '0s' })).toContain(
      'world.timing.healthCheckInterval: a health check interval is 5 to 300 seconds on AWS',
    );
    expect(timing({ healthCheckInterval: '6m' })).toContain('world.timing.healthCheckInterval');
    expect(timing({ deregistrationDelay: '2h' })).toContain(
      'world.timing.deregistrationDelay: a deregistration delay is 0 to 3600 seconds on AWS',
    );
    expect(
      parseScenario({
        ...base,
        world: { ...base.world, timing: { healthCheckInterval: '5s', deregistrationDelay: 0 } },
      }).world.timing,
    ).toEqual({ healthCheckInterval: '5s', deregistrationDelay: 0 });
  });

  it('refuses an event or a fault that starts after the run ends', () => {
    const message = refusal({
      ...base,
      until: '2h',
      events: [
        { at: '2h', alarm: { name: 'checkout-green-5xx', state: 'ALARM' } },
        { at: '3h', alarm: { name: 'checkout-green-5xx', state: 'ALARM' } },
      ],
      faults: [{ command: 'ModifyRule', after: '150m' }],
    });
    expect(message).toContain('events[1].at: an event at 3h never comes: the run ends at until (2h)');
    expect(message).toContain(
      'faults[0].after: a fault starting at 150m never comes: the run ends at until (2h)',
    );
    expect(message).not.toContain('events[0]');
  });

  it('refuses a fault on a state the state machine does not have, suggesting the closest', async () => {
    const message = await runRefusal({ ...base, faults: [{ state: 'Roll back to the stable versoin' }] });
    expect(message).toContain('ScenarioError');
    expect(message).toContain(
      'faults[0].state: the state machine has no state "Roll back to the stable versoin"',
    );
    expect(message).toContain('(did you mean "Roll back to the stable version"?)');
  });

  it('refuses a fault on a state that is not a Task, which no invocation could fail', async () => {
    const message = await runRefusal({ ...base, faults: [{ state: 'Is the new version ready?' }] });
    expect(message).toContain(
      'faults[0].state: "Is the new version ready?" is not a Task state, so no invocation of it can fail',
    );
  });

  it('refuses a fault on an AWS command the pipeline never sends', async () => {
    const message = await runRefusal({
      ...base,
      faults: [{ command: 'ModifyRules' }, { command: 'ModifyRuleCommand' }, { command: 'ModifyRule' }],
    });
    expect(message).toContain(
      'faults[0].command: the pipeline never sends "ModifyRules" (did you mean "ModifyRule"?)',
    );
    expect(message).toContain('faults[1].command: the pipeline never sends "ModifyRuleCommand"');
    expect(message).not.toContain('faults[2]');
  });

  it('refuses an alarm event on an alarm the world does not declare', async () => {
    const message = await runRefusal({
      ...base,
      events: [{ at: '5m', alarm: { name: 'checkout-green-5xxx', state: 'ALARM' } }],
    });
    expect(message).toContain(
      'events[0].alarm.name: alarm "checkout-green-5xxx" is not declared under world.alarms (did you mean "checkout-green-5xx"?)',
    );
  });

  it('forces the state of an alarm a service of world.services declares, and refuses one no service declares', async () => {
    const services = {
      ...base,
      world: { services: { checkout: base.world } },
      events: [{ at: '1m', alarm: { name: 'checkout-green-5xx', state: 'INSUFFICIENT_DATA' } }],
      until: '90s',
    };
    const result = await runScenario(parseScenario(services), path.join(REPOSITORY_ROOT, 'examples'));
    expect(result.timeline.filter((e) => e.kind === 'alarm').map((e) => [e.t, e.text])).toContainEqual([
      60,
      'checkout-green-5xx OK -> INSUFFICIENT_DATA',
    ]);
    expect(
      await runRefusal({
        ...services,
        events: [{ at: '1m', alarm: { name: 'checkout-green-5xxx', state: 'ALARM' } }],
      }),
    ).toContain(
      'events[0].alarm.name: alarm "checkout-green-5xxx" is not declared in the world (world.alarms, world.services.<service>.alarms) (did you mean "checkout-green-5xx"?)',
    );
  });

  it('refuses an expected alarm change that is malformed or names an alarm the world does not declare', async () => {
    const message = await runRefusal({
      ...base,
      expect: {
        alarmChanges: [
          'checkout-green-5xx OK -> ALARM',
          'checkout-green-5xx OK->ALARM',
          'checkout-green-5xx OK -> FIRING',
          'checkout-gren-5xx ALARM -> OK',
          'checkout-green-5xx deleted',
        ],
      },
    });
    expect(message).toBe(
      [
        'ScenarioError: scenario is invalid:',
        '  expect.alarmChanges[1]: "checkout-green-5xx OK->ALARM" is no alarm change: write NAME FROM -> TO (states OK, ALARM, INSUFFICIENT_DATA) or NAME deleted',
        '  expect.alarmChanges[2]: "checkout-green-5xx OK -> FIRING" is no alarm change: write NAME FROM -> TO (states OK, ALARM, INSUFFICIENT_DATA) or NAME deleted',
        '  expect.alarmChanges[3]: alarm "checkout-gren-5xx" is not declared under world.alarms (did you mean "checkout-green-5xx"?)',
      ].join('\n'),
    );
  });

  it('refuses an alarm declared twice in one world, naming both places', async () => {
    const green = base.world.alarms[0];
    expect(
      await runRefusal({ ...base, world: { ...base.world, alarms: [green, { ...green, threshold: 50 }] } }),
    ).toContain(
      'world.alarms[1].name: alarm "checkout-green-5xx" is already declared at world.alarms[0] (an account and Region hold one alarm of a name)',
    );
  });

  it('refuses an alarm event on an alarm an earlier event deleted, in virtual time order', async () => {
    const message = await runRefusal({
      ...base,
      events: [
        { at: '6m', alarm: { name: 'checkout-green-5xx', state: 'ALARM' } },
        { at: '5m', alarm: { name: 'checkout-green-5xx', delete: true } },
        { at: '4m', alarm: { name: 'checkout-green-5xx', state: 'OK' } },
      ],
    });
    expect(message).toContain(
      'events[0].alarm.name: alarm "checkout-green-5xx" is already deleted by events[1] (SetAlarmState and DeleteAlarms on a deleted alarm fail with ResourceNotFound)',
    );
    expect(message).not.toContain('events[2]');
  });
});

describe('Scenario format: every name and value a user writes means something', () => {
  it('says what a fault is when it names both a command and a state, or neither', () => {
    const expected =
      'faults[0]: a fault names exactly one of command (an AWS API the pipeline calls, e.g. ModifyRule) or state (a Task state of the state machine)';
    expect(refusal({ ...base, faults: [{ command: 'ModifyRule', state: 'Shift traffic' }] })).toContain(
      expected,
    );
    expect(refusal({ ...base, faults: [{ error: 'ThrottlingException' }] })).toContain(expected);
    // A fault of one kind with a wrong key still names that key.
    expect(refusal({ ...base, faults: [{ command: 'ModifyRule', tims: 2 }] })).toContain(
      'faults[0]: Unrecognized key: "tims"',
    );
  });

  it('refuses a fault whose error has no name', () => {
    expect(refusal({ ...base, faults: [{ command: 'ModifyRule', error: '' }] })).toContain(
      'faults[0].error: Too small',
    );
    expect(refusal({ ...base, faults: [{ state: 'Roll back to the stable version', error: '' }] })).toContain(
      'faults[0].error: Too small',
    );
  });

  it('refuses a lost response with an error the service answers, and a responseLost that is no boolean', () => {
    expect(
      refusal({
        ...base,
        faults: [{ command: 'DeleteItem', responseLost: true, error: 'ThrottlingException' }],
      }),
    ).toContain(
      "faults[0].error: a lost response reaches the caller as the SDK's TimeoutError (its HTTP handler names a socket timeout or a connection reset so); ThrottlingException is an answer the service sends, so the call was answered, not lost: leave error out, or drop responseLost",
    );
    expect(refusal({ ...base, faults: [{ command: 'DeleteItem', responseLost: 'yes' }] })).toContain(
      'faults[0].responseLost',
    );
    // Its error defaults to TimeoutError (a fault that fails before the call keeps ThrottlingException).
    const parsed = parseScenario({
      ...base,
      faults: [
        { command: 'DeleteItem', responseLost: true },
        { command: 'DeleteItem', error: 'TimeoutError' },
        { command: 'PutItem' },
      ],
    });
    expect(
      parsed.faults.map((fault) => ('command' in fault ? commandFaultError(fault) : fault.error)),
    ).toEqual(['TimeoutError', 'TimeoutError', 'ThrottlingException']);
  });

  it('suggests the command a fault means when it names the IAM action or the SDK class', async () => {
    const message = await runRefusal({
      ...base,
      faults: [{ command: 'dynamodb:PutItem' }, { command: 'putItem' }, { command: 'PutItemCommand' }],
    });
    expect(message).toContain(
      'faults[0].command: the pipeline never sends "dynamodb:PutItem" (did you mean "PutItem"?)',
    );
    expect(message).toContain(
      'faults[1].command: the pipeline never sends "putItem" (did you mean "PutItem"?)',
    );
    expect(message).toContain(
      'faults[2].command: the pipeline never sends "PutItemCommand" (did you mean "PutItem"?)',
    );
  });

  it('refuses a version name or a pushed tag ECR could not hold as an image tag', () => {
    expect(
      refusal({ ...base, versions: { ...base.versions, 'bad version': { digest: digest('c') } } }),
    ).toContain(
      `versions.bad version: "bad version" is no image tag (a version's name is its tag in ECR): letters, digits, _ . and - (not first), at most 128 characters`,
    );
    for (const tag of ['v 2!', '', '-v2', 'x'.repeat(129)])
      expect(refusal({ ...base, trigger: { push: { version: 'v2', tag } } })).toContain(
        'trigger.push.tag: expected an image tag',
      );
    expect(
      parseScenario({ ...base, trigger: { push: { version: 'v2', tag: `V2_${'x'.repeat(125)}` } } }).trigger,
    ).toEqual({
      push: { version: 'v2', tag: `V2_${'x'.repeat(125)}` },
    });
  });

  it('refuses an expected text that is empty, which every output contains', () => {
    const message = 'an empty text is in every output: it would assert nothing';
    expect(refusal({ ...base, expect: { reasonContains: '' } })).toContain(
      `expect.reasonContains: ${message}`,
    );
    expect(
      refusal({ ...base, expect: { notifications: [{ event: 'started', subjectContains: '' }] } }),
    ).toContain(`expect.notifications[0].subjectContains: ${message}`);
    expect(refusal({ ...base, expect: { deadLetters: [{ fn: 'trigger', errorContains: '' }] } })).toContain(
      `expect.deadLetters[0].errorContains: ${message}`,
    );
    expect(refusal({ ...base, expect: { cli: [{ at: '1m', stdoutContains: ['ok', ''] }] } })).toContain(
      `expect.cli[0].stdoutContains[1]: ${message}`,
    );
  });

  it('says what a start time looks like', () => {
    for (const start of ['2026-11-22', '2026-11-22T11:00:00+01:00', 'tomorrow'])
      expect(refusal({ ...base, world: { ...base.world, start } })).toContain(
        'world.start: expected a UTC time such as 2026-11-22T10:00:00Z (the timeline counts from it)',
      );
  });

  it('refuses a run that ends at its start', () => {
    expect(refusal({ ...base, until: 0 })).toContain('until: a run lasts at least 1s: at 0s nothing happens');
    expect(refusal({ ...base, until: '0s' })).toContain('until: a run lasts at least 1s');
    expect(parseScenario({ ...base, until: '1s' }).until).toBe('1s');
  });

  it('says what a rate is when the value is not a number or a percentage', () => {
    expect(
      refusal({
        ...base,
        versions: { ...base.versions, v2: { digest: digest('b'), errorRate: Number.NaN } },
      }),
    ).toContain(
      'versions.v2.errorRate: expected a rate: a fraction from 0 to 1 (0.001) or a percentage from 0% to 100% (0.1%)',
    );
    expect(
      refusal({
        ...base,
        versions: { ...base.versions, v2: { digest: digest('b'), errorRate: '100.0001%' } },
      }),
    ).toContain('versions.v2.errorRate: a rate is at most 100%');
    expect(
      parseScenario({
        ...base,
        versions: { ...base.versions, v2: { digest: digest('b'), errorRate: '100%' } },
      }).versions.v2?.errorRate,
    ).toBe(1);
  });

  it('refuses an expected notification no release sends, wherever it is expected', () => {
    expect(refusal({ ...base, expect: { notifications: ['started', 'rolledback'] } })).toContain(
      'expect.notifications[1]: Invalid option: expected one of "started"|"promoted"|"rolled_back"',
    );
    expect(refusal({ ...base, expect: { notifications: [{ event: 'rollback' }] } })).toContain(
      'expect.notifications[0]: expected a notification event (started, promoted, rolled_back, failed, superseded, rollback_failed, paused, stopped) or an object { event, subjectContains, fields } naming one',
    );
    expect(refusal({ ...base, expect: { services: { checkout: { notifications: ['strted'] } } } })).toContain(
      'expect.services.checkout.notifications[0]: Invalid option',
    );
  });

  it('names the path of every version, service the world lacks, before anything runs', async () => {
    expect(await runRefusal({ ...base, events: [{ at: '1m', push: { version: 'v9' } }] })).toBe(
      'ScenarioError: events[0].push.version: version "v9" is not declared under versions',
    );
    expect(await runRefusal({ ...base, trigger: { manual: { version: 'v3' } } })).toBe(
      'ScenarioError: trigger.manual.version: version "v3" is not declared under versions',
    );
    expect(await runRefusal({ ...base, events: [{ at: '1m', stop: { version: 'v9' } }] })).toBe(
      'ScenarioError: events[0].stop.version: version "v9" is not declared under versions',
    );
    expect(
      await runRefusal({ ...base, events: [{ at: '1m', stop: { version: 'v2', service: 'payments' } }] }),
    ).toContain('events[0].stop.service: service "payments" is not in the world');
    expect(
      await runRefusal({
        ...base,
        events: [{ at: '1m', click: { button: 'promote', user: 'U0ONCALL1', service: 'payments' } }],
      }),
    ).toContain('events[0].click.service: service "payments" is not in the world');
    expect(await runRefusal({ ...base, expect: { servingVersion: 'v9' } })).toBe(
      'ScenarioError: expect.servingVersion: version "v9" is not declared under versions',
    );
    expect(await runRefusal({ ...base, expect: { services: { checkout: { servingVersion: 'v3' } } } })).toBe(
      'ScenarioError: expect.services.checkout.servingVersion: version "v3" is not declared under versions',
    );
  });

  it('refuses an expectation of a command nobody gives, or of a dead letter no deployed function can leave', async () => {
    const commands = {
      ...base,
      events: [
        { at: '5m', cli: 'status checkout' },
        { at: '6m', abort: { reason: "it's slow" } },
      ],
    };
    expect(await runRefusal({ ...commands, expect: { cli: [{ at: '4m', exitCode: 0 }] } })).toBe(
      `ScenarioError: expect.cli[0]: no command at 4m is given (the scenario gives "status checkout" at 300s, "abort checkout --reason 'it'\\''s slow'" at 360s)`,
    );
    expect(
      await runRefusal({ ...commands, expect: { cli: [{ at: '5m', command: 'status payments' }] } }),
    ).toContain('expect.cli[0]: no command at 5m "status payments" is given');
    expect(await runRefusal({ ...base, expect: { deadLetters: [{ fn: 'alarmEvent' }] } })).toContain(
      'expect.deadLetters[0].fn: no function "alarmEvent" is deployed (serverless.yml declares trigger,',
    );
  });

  it('names the event a person stops when no release of that version runs then', async () => {
    // Before the run: nothing pushes v1, or pushes v2 before the stop.
    expect(await runRefusal({ ...base, events: [{ at: '1m', stop: { version: 'v1' } }] })).toBe(
      'ScenarioError: events[0].stop.version: no release of v1 of checkout can run at 1m: nothing pushes or requests it before then',
    );
    expect(
      await runRefusal({
        ...base,
        trigger: { manual: { version: 'v1' } },
        events: [
          { at: '1m', stop: { version: 'v2' } },
          { at: '2m', push: { version: 'v2' } },
        ],
      }),
    ).toBe(
      'ScenarioError: events[0].stop.version: no release of v2 of checkout can run at 1m: nothing pushes or requests it before then',
    );
    // During the run: v2's release has ended (it failed at once: the world lacks its watched alarms).
    expect(await runRefusal({ ...base, events: [{ at: '1m', stop: { version: 'v2' } }] })).toBe(
      'ScenarioError: events[0].stop: no release execution of v2 of checkout runs at 1m to stop',
    );
  });

  it('refuses two earlier releases with the same id, which the release table would hold as one', async () => {
    expect(
      await runRefusal({
        ...base,
        world: {
          ...base.world,
          history: [
            { releaseId: 'r-1', toVersion: 'v0', status: 'promoted', ago: '48h' },
            { releaseId: 'r-1', fromVersion: 'v0', toVersion: 'v1', status: 'promoted', ago: '24h' },
          ],
        },
      }),
    ).toBe(
      'ScenarioError: world.history[1].releaseId: "r-1" is already the id of history[0] (the release table holds one record per release id)',
    );
    // An entry without an id is history-<index>: another entry may not take that id.
    expect(
      await runRefusal({
        ...base,
        world: {
          ...base.world,
          history: [
            { releaseId: 'history-1', toVersion: 'v0', status: 'promoted', ago: '48h' },
            { fromVersion: 'v0', toVersion: 'v1', status: 'promoted', ago: '24h' },
          ],
        },
      }),
    ).toBe(
      'ScenarioError: world.history[1]: "history-1" is already the id of history[0] (the release table holds one record per release id)',
    );
  });

  it('refuses a test route the config gives no rule for, naming where the scenario sets it', async () => {
    expect(
      await runRefusal({
        ...base,
        world: { ...base.world, testRoute: { host: 'test.checkout.example.com' } },
      }),
    ).toBe(
      'ScenarioError: world.testRoute: checkout has no test listener rule: set testRoute.ruleArn, or target.testListenerRuleArn in the config',
    );
  });

  it('refuses an operator policy IAM would refuse as malformed', () => {
    const policy = (statement: Record<string, unknown>) =>
      refusal({
        ...base,
        world: {
          ...base.world,
          operator: { policy: [{ Effect: 'Allow', Action: '*', Resource: '*', ...statement }] },
        },
      });
    expect(policy({ Action: ['states:SendTaskSuccess', 'SendTaskFailure'] })).toContain(
      'world.operator.policy[0].Action[1]: expected * or service:Action, e.g. states:SendTaskSuccess (IAM: "Actions/Conditions must be prefaced by a vendor")',
    );
    expect(policy({ Resource: 'table/shipline-*' })).toContain(
      'world.operator.policy[0].Resource: expected * or an ARN',
    );
    expect(policy({ Condition: { StringEqual: { 'aws:RequestedRegion': 'us-east-1' } } })).toContain(
      'world.operator.policy[0].Condition.StringEqual: "StringEqual" is no IAM condition operator',
    );
    expect(policy({ Condition: { NullIfExists: { 'aws:TagKeys': 'true' } } })).toContain(
      'world.operator.policy[0].Condition.NullIfExists: "NullIfExists" is no IAM condition operator',
    );
    const accepted = parseScenario({
      ...base,
      world: {
        ...base.world,
        operator: {
          policy: [
            {
              Effect: 'Allow',
              Action: ['states:Send*', 'dynamodb:Get?tem'],
              // The placeholders of iam/operator-policy.json, not template slots.
              // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM policy placeholders
              Resource: 'arn:aws:states:${Region}:${Account}:stateMachine:${Stack}-*',
              Condition: {
                'ForAnyValue:StringLikeIfExists': { 'aws:TagKeys': 'team*' },
                ArnNotEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:123456789012:x' },
                Null: { 'aws:TokenIssueTime': 'false' },
              },
            },
          ],
        },
      },
    });
    expect(accepted.world.operator?.policy?.[0]?.Condition).toHaveProperty('ForAnyValue:StringLikeIfExists');
  });

  it("refuses an operator that is no IAM principal of the world's account", async () => {
    expect(
      refusal({ ...base, world: { ...base.world, operator: { arn: 'not-an-arn-but-long-enough' } } }),
    ).toContain('world.operator.arn: expected the ARN of an IAM user or role, or an STS session');
    expect(
      await runRefusal({
        ...base,
        world: { ...base.world, operator: { arn: 'arn:aws:iam::999999999999:user/alice' } },
      }),
    ).toBe(
      'ScenarioError: world.operator.arn: arn:aws:iam::999999999999:user/alice is of account 999999999999, but the world is account 123456789012',
    );
  });

  it("refuses a world in another account or Region than the config's load balancer", async () => {
    expect(await runRefusal({ ...base, world: { ...base.world, region: 'eu-west-1' } })).toBe(
      "ScenarioError: world.region: the world is eu-west-1, but services.checkout.target.listenerRuleArn (in the config) is in us-east-1: set world.region to the Region of the service's load balancer",
    );
    expect(await runRefusal({ ...base, world: { ...base.world, account: '999999999999' } })).toBe(
      "ScenarioError: world.account: the world is account 999999999999, but services.checkout.target.listenerRuleArn (in the config) is in account 123456789012: set world.account to the account of the service's load balancer",
    );
  });

  it('refuses fields of another kind of target than the service has, which would be ignored', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/rolling-healthy.yml'));
    const rolling = async (fields: Record<string, unknown>): Promise<string> => {
      try {
        await runScenario(parseScenario({ ...scenario, world: { ...scenario.world, ...fields } }), baseDir);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('the scenario ran');
    };
    expect(await rolling({ weights: { blue: 50, green: 50 }, idleServing: 'v1' })).toBe(
      'world.weights: api is a rolling service (target ecs-rolling: one ECS service, no slots); weights, idleServing describe only a blue/green service (target ecs-alb)',
    );
    expect(await rolling({ stableSlot: 'green' })).toContain('world.stableSlot: api is a rolling service');
    expect(await rolling({ testRoute: { host: 'test.api.example.com' } })).toContain(
      'world.testRoute: api is a rolling service',
    );
    expect(await rolling({ listenerRule: { authenticate: 'oidc' } })).toContain(
      'world.listenerRule.authenticate: api is a rolling service',
    );
    expect(
      await runRefusal({
        ...base,
        world: { ...base.world, deploymentConfiguration: { minimumHealthyPercent: 50 } },
      }),
    ).toBe(
      "ScenarioError: world.deploymentConfiguration: checkout is a blue/green service (target ecs-alb: two slots); deploymentConfiguration describes a rolling service's ECS deployment",
    );
  });

  it("holds the earlier releases of a rolling service (one ECS service, no slots) in the world's release table", async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/rolling-healthy.yml'));
    const run = await runScenario(
      parseScenario({
        ...scenario,
        world: {
          ...scenario.world,
          history: [
            { releaseId: 'api-v0', toVersion: 'v0', status: 'promoted', ago: '48h' },
            { releaseId: 'api-v1', fromVersion: 'v0', toVersion: 'v1', status: 'promoted', ago: '24h' },
          ],
        },
      }),
      baseDir,
    );
    expect(run.expectations).toEqual({ passed: true, failures: [] });
    expect(run.releases.map((r) => [r.releaseId, r.fromVersion, r.toVersion, r.status])).toEqual([
      [expect.stringMatching(/^api-/), 'v1', 'v2', 'promoted'],
      ['api-v1', 'v0', 'v1', 'promoted'],
      ['api-v0', undefined, 'v0', 'promoted'],
    ]);
  });

  it('names the line and column of a mistake in a scenario file, and refuses an empty file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-scenario-'));
    const refused = (text: string): string => {
      const file = path.join(dir, 'scenario.yml');
      writeFileSync(file, text);
      try {
        loadScenario(file);
      } catch (error) {
        return (error as Error).message.replaceAll(file, 'FILE');
      }
      throw new Error('the scenario was accepted');
    };
    try {
      expect(
        refused(
          [
            'name: located',
            'world:',
            '  serving: v1',
            '  alarms:',
            '    - { name: a, threshold: 1, treshold: 2 }',
            'versions:',
            `  v1: { digest: "${digest('a')}" }`,
            'trigger: { push: { version: v1 } }',
          ].join('\n'),
        ),
      ).toBe('FILE is invalid:\n  FILE:5:7 world.alarms[0]: Unrecognized key: "treshold"');
      const empty =
        'scenario FILE is empty: a scenario is a mapping with at least name, world, versions and trigger';
      expect(refused('')).toBe(empty);
      expect(refused('# a comment only\n')).toBe(empty);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads YAML anchors and merge keys as YAML 1.1 tools do', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-scenario-'));
    try {
      const file = path.join(dir, 'merge.yml');
      writeFileSync(
        file,
        [
          'name: merge keys',
          'world:',
          '  serving: v1',
          '  alarms:',
          '    - &fivexx { name: checkout-green-5xx, targetGroup: green, threshold: 10, evaluationPeriods: 3 }',
          '    - { <<: *fivexx, name: checkout-blue-5xx, targetGroup: blue }',
          'versions:',
          `  v1: { digest: "${digest('a')}" }`,
          'trigger: { push: { version: v1 } }',
          '',
        ].join('\n'),
      );
      const { scenario } = loadScenario(file);
      expect(
        scenario.world.alarms.map((a) => [a.name, a.targetGroup, a.threshold, a.evaluationPeriods]),
      ).toEqual([
        ['checkout-green-5xx', 'green', 10, 3],
        ['checkout-blue-5xx', 'blue', 10, 3],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Scenario expectations: notification fields, execution names, dead letters', () => {
  const result = (overrides: Partial<ScenarioResult>): ScenarioResult =>
    ({
      outcome: 'rolled_back',
      reason: null,
      servingVersion: 'v1',
      traffic: {},
      executions: [],
      notifications: [],
      deadLetters: [],
      rollbackReactionSeconds: null,
      ...overrides,
    }) as ScenarioResult;
  const notifications = [
    { t: 0, subject: '[shipline] checkout: v2 started', message: { event: 'started', toVersion: 'v2' } },
    {
      t: 300,
      subject: '[shipline] checkout: v2 rolled back to v1',
      message: { event: 'rolled_back', toVersion: 'v2', trigger: { alarm: 'a', percent: 5 } },
    },
  ];

  it('checks the fields and subject of each expected notification', () => {
    const expect_ = parseScenario({
      ...base,
      expect: {
        notifications: [
          'started',
          { event: 'rolled_back', subjectContains: 'rolled back', fields: { trigger: { percent: 25 } } },
        ],
      },
    }).expect;
    const checked = checkExpectations(expect_ ?? {}, result({ notifications }));
    expect(checked.failures).toEqual([
      'notifications[1].trigger: expected {"percent":25}, got {"alarm":"a","percent":5}',
    ]);
    const passing = parseScenario({
      ...base,
      expect: { notifications: ['started', { event: 'rolled_back', fields: { trigger: { alarm: 'a' } } }] },
    }).expect;
    expect(checkExpectations(passing ?? {}, result({ notifications })).failures).toEqual([]);
  });

  it('checks execution names in start order and the dead letters left', () => {
    const expect_ = parseScenario({
      ...base,
      expect: { executionNames: ['a', 'b'], deadLetters: [{ fn: 'alarmEvents', errorContains: 'Denied' }] },
    }).expect;
    const executions = [{ name: 'b' }, { name: 'a' }] as ScenarioResult['executions'];
    expect(checkExpectations(expect_ ?? {}, result({ executions })).failures).toEqual([
      'executionNames: expected [a, b], got [b, a]',
      'deadLetters: expected [alarmEvents], got []',
    ]);
    const deadLetters = [
      { t: 60, fn: 'alarmEvents', error: 'AccessDeniedException: Denied', detailType: 'x' },
    ];
    expect(
      checkExpectations(
        expect_ ?? {},
        result({ executions: [{ name: 'a' }, { name: 'b' }] as ScenarioResult['executions'], deadLetters }),
      ).failures,
    ).toEqual([]);
  });

  it('checks how many times the production weights changed, listing the changes it saw', () => {
    const expect_ = parseScenario({ ...base, expect: { productionWeightChanges: 0 } }).expect;
    const timeline = [
      { t: 90, time: '+00:01:30', kind: 'traffic', text: 'test rule: blue 0% / green 100%' },
      { t: 95, time: '+00:01:35', kind: 'traffic', text: 'blue 0% / green 100%' },
    ];
    expect(
      checkExpectations(expect_ ?? {}, result({ productionWeightChanges: 1, timeline })).failures,
    ).toEqual(['productionWeightChanges: expected 0, got 1 (blue 0% / green 100%)']);
    expect(
      checkExpectations(expect_ ?? {}, result({ productionWeightChanges: 0, timeline: [] })).failures,
    ).toEqual([]);
  });

  it('checks a lower bound on the rollback reaction and the alarm changes in order', () => {
    const expect_ = parseScenario({
      ...base,
      expect: {
        minRollbackReactionSeconds: 180,
        alarmChanges: ['checkout-latency-p99 OK -> ALARM'],
      },
    }).expect;
    const timeline = [
      { t: 240, time: '+00:04:00', kind: 'alarm', text: 'checkout-latency-p99 OK -> ALARM' },
      { t: 250, time: '+00:04:10', kind: 'traffic', text: 'blue 100% / green 0%' },
      { t: 300, time: '+00:05:00', kind: 'alarm', text: 'checkout-latency-average OK -> ALARM' },
    ];
    expect(
      checkExpectations(expect_ ?? {}, result({ rollbackReactionSeconds: 1.5, timeline })).failures,
    ).toEqual([
      'rollbackReactionSeconds: expected at least 180, got 1.5',
      'alarmChanges: expected [checkout-latency-p99 OK -> ALARM], got [checkout-latency-p99 OK -> ALARM, checkout-latency-average OK -> ALARM]',
    ]);
    expect(
      checkExpectations(
        expect_ ?? {},
        result({ rollbackReactionSeconds: 200, timeline: timeline.slice(0, 2) }),
      ).failures,
    ).toEqual([]);
    expect(checkExpectations(expect_ ?? {}, result({ timeline: [] })).failures).toContain(
      'rollbackReactionSeconds: expected at least 180, got none',
    );
  });
});

describe('Scenario expectations in a run', () => {
  it('an ignored push meets `expect.outcome: ignored`', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/push-of-serving-version.yml'),
    );
    expect(scenario.expect?.outcome).toBe('ignored');
    const run = await runScenario(scenario, baseDir);
    expect(run.outcome).toBe('ignored');
    expect(run.expectations).toEqual({ passed: true, failures: [] });
    expect(run.unusedFaults).toEqual([]);
  });

  it('forcing an alarm into the state it is in changes nothing: no transition, no event', async () => {
    const run = await runScenario(
      parseScenario({
        ...base,
        events: [
          { at: '1m', alarm: { name: 'checkout-green-5xx', state: 'OK' } },
          { at: '2m', alarm: { name: 'checkout-green-5xx', state: 'INSUFFICIENT_DATA' } },
        ],
        until: '150s',
        expect: { alarmChanges: ['checkout-green-5xx OK -> INSUFFICIENT_DATA'] },
      }),
      path.join(REPOSITORY_ROOT, 'examples'),
    );
    expect(run.expectations).toEqual({ passed: true, failures: [] });
    expect(run.timeline.filter((e) => e.t === 60).map((e) => e.text)).toEqual([
      'checkout-green-5xx is already OK: no state change, no event',
    ]);
  });

  it('says why a service has no release: a command that started none, a run that ended first, nothing sent to it', async () => {
    const examples = path.join(REPOSITORY_ROOT, 'examples');
    const status = await runScenario(
      parseScenario({ ...base, trigger: { cli: 'status checkout' }, until: '1m' }),
      examples,
    );
    expect([status.outcome, status.reason]).toEqual([
      'ignored',
      'shipline status checkout exited 0 without starting a release',
    ]);
    const refused = await runScenario(
      parseScenario({ ...base, trigger: { cli: 'deploy checkout --image v9' }, until: '1m' }),
      examples,
    );
    expect(refused.outcome).toBe('rejected');
    expect(refused.reason).toMatch(
      /^shipline deploy checkout --image v9 exited 2 without starting a release: --image v9 names no digest/,
    );
    const late = await runScenario(
      parseScenario({ ...base, world: { ...base.world, timing: { eventDeliveryMs: 5000 } }, until: '2s' }),
      examples,
    );
    expect([late.outcome, late.reason]).toEqual([
      'failed',
      'the trigger had not answered when the run ended at until (2s)',
    ]);
    const { scenario } = loadScenario(path.join(examples, 'three-services.yml'));
    const fleet = await runScenario(
      parseScenario({ ...scenario, events: [], expect: undefined, until: '30s' }),
      examples,
    );
    expect([fleet.services.search?.outcome, fleet.services.search?.reason]).toEqual([
      'ignored',
      'nothing was pushed or requested for this service',
    ]);
  });

  it('tells which faults never applied, naming each by its path', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/push-of-serving-version.yml'),
    );
    const faulty = parseScenario({
      ...scenario,
      world: {
        ...scenario.world,
        delivery: [{ detailType: 'CloudWatch Alarm State Change', fn: 'alarmEvents', drop: true }],
        dropEvents: [{ detailType: 'ECS Deployment State Change' }],
      },
      faults: [{ command: 'ModifyRule' }, { state: 'Roll back to the stable version', times: 2 }],
    });
    const run = await runScenario(faulty, baseDir);
    expect(run.outcome).toBe('ignored');
    expect(run.unusedFaults).toEqual([
      'faults[0] (ModifyRule: ThrottlingException) never fired',
      'faults[1] (state "Roll back to the stable version": Lambda.ServiceException) never fired',
      'world.delivery[0] (CloudWatch Alarm State Change to alarmEvents) matched no event',
      'world.dropEvents[0] (ECS Deployment State Change) matched no event',
    ]);
    expect(formatSummary(run)).toContain(
      'Unused faults:   4 never applied\n  - faults[0] (ModifyRule: ThrottlingException) never fired',
    );
  });
});
