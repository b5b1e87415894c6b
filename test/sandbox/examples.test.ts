import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import {
  loadScenario,
  parseScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';
import { isPipelineAlarmChange } from '../../sandbox/scenario/pipeline-alarms.ts';

const run = async (file: string): Promise<ScenarioResult> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', file));
  return runScenario(scenario, baseDir);
};

const events = (result: ScenarioResult) => result.notifications.map((n) => n.message.event);

/**
 * A timeline entry of a change of one of the world's alarms: not of the pipeline's own (its stack's
 * executions-failed alarm goes to ALARM a minute or two after a rollback, while other releases run on).
 */
const serviceAlarmChange = (entry: { kind: string; text: string }): boolean =>
  entry.kind === 'alarm' && !isPipelineAlarmChange(entry.text);

/**
 * Virtual seconds at `expected` or a few later: every Lambda start, EventBridge delivery and AWS call takes
 * the time it takes on AWS (`sandbox/aws/timing.ts`), so a moment the pipeline reaches through them comes
 * that much after the wait that leads to it.
 */
const expectSoonAfter = (actual: number | undefined, expected: number, slackSeconds = 5): void => {
  expect(actual).toBeGreaterThanOrEqual(expected);
  expect(actual).toBeLessThanOrEqual(expected + slackSeconds);
};

/** v2's execution was stopped, and v3, the push queued behind it, then started and succeeded. */
const expectV2StoppedThenQueuedV3Released = (result: ScenarioResult): void => {
  expect(result.expectations?.failures).toEqual([]);
  expect(result.executions.map((e) => [e.version, e.status])).toEqual([
    ['v2', 'ABORTED'],
    ['v3', 'SUCCEEDED'],
  ]);
  expect(result.triggers.map((t) => t.status)).toEqual(['started', 'queued']);
};

/**
 * v2, stopped at 25% and not rolled back, ended failed with the split it left on its record, and people
 * were told so once, soon after `toldAt` (seconds of virtual time).
 */
const expectV2EndedSplitAndToldOnce = (result: ScenarioResult, toldAt: number): void => {
  const stoppedV2 = result.releases.find((r) => r.toVersion === 'v2');
  expect(stoppedV2?.status).toBe('failed');
  expect(stoppedV2?.reason).toContain('traffic is split: blue 75% / green 25%');
  const failed = result.notifications.filter((n) => n.message.event === 'failed');
  expect(failed.map((n) => n.subject)).toEqual([
    expect.stringMatching(/^\[shipline\] checkout: release of v2 failed: stopped outside Shipline at 25%/),
  ]);
  expectSoonAfter(failed[0]?.t, toldAt);
};

/**
 * Requests the regressed version served: its share of the scenario's 6000 requests a minute from onset
 * (detection) until traffic was back on the stable slot (the rollback reaction).
 */
const exposedWhileServing = (result: ScenarioResult, share: number): void => {
  const seconds = (result.detectionSeconds ?? 0) + (result.rollbackReactionSeconds ?? 0);
  expect(Math.abs(result.exposedRequests - seconds * share * 100)).toBeLessThanOrEqual(1);
};

/** What a rollback takes at most once the alarm fired: the event's delivery, Lambda starts, AWS calls. */
const ROLLBACK_REACTION_SECONDS = 3;

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: example scenarios', () => {
  it('promotes a healthy canary through 5% -> 25% -> 100% and scales the old slot down', async () => {
    const result = await run('healthy-canary.yml');
    expect(result.expectations).toEqual({ passed: true, failures: [] });
    expect(result).toMatchObject({
      outcome: 'promoted',
      fromVersion: 'v1',
      toVersion: 'v2',
      servingVersion: 'v2',
    });
    expect(result.traffic).toEqual({ 'green (v2)': 100 });
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual(['blue 95% / green 5%', 'blue 75% / green 25%', 'blue 0% / green 100%']);
    expect(events(result)).toEqual(['started', 'promoted']);
    const promoted = result.notifications[1];
    expect(promoted?.subject).toBe('[shipline] checkout: v2 promoted, now serving 100%');
    expect(promoted?.message).toMatchObject({ service: 'checkout', fromVersion: 'v1', toVersion: 'v2' });
    expect(String(promoted?.message.consoleUrl)).toContain(
      'console.aws.amazon.com/states/home?region=us-east-1',
    );
    // Three 10-minute bakes after a 90 s deployment; blue drains 15 minutes after promotion.
    expect(promoted?.t).toBeGreaterThanOrEqual(90 + 3 * 600);
    // Blue stays warm through the 15-minute rollback window (alarms watched, none fired), then goes to 0.
    expectSoonAfter(
      result.timeline.find((e) => e.kind === 'ecs' && e.text === 'checkout-blue: scaled to 0 tasks')?.t,
      (promoted?.t ?? 0) + 15 * 60,
    );
    expect(result.stateTransitions).toBeLessThanOrEqual(40);
    // v2 is 85 ms against 80 ms: within the 10% margin, no regression to detect.
    expect(result).toMatchObject({ detectionSeconds: null, exposedRequests: 0 });
  });

  it("counts the functions' and the CLI's DynamoDB calls among the run's AWS calls, not the seeding of the table", async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'cli-history.yml'));
    // The release's first two minutes, with `shipline history` given at one minute (its only Query then).
    const { expect: _expect, ...shortened } = structuredClone(scenario);
    const early = {
      ...shortened,
      until: '2m',
      events: [{ at: '1m', cli: 'history checkout --limit 3' }],
    } as unknown as typeof scenario;
    const seeded = await runScenario(parseScenario(early), baseDir);
    const unseeded = await runScenario(
      parseScenario({ ...early, world: { ...early.world, history: [] } }),
      baseDir,
    );

    // The trigger and the release's first states write the record and take the lock.
    expect(seeded.awsCalls['DynamoDB:PutItem']).toBeGreaterThan(1);
    expect(seeded.cli).toEqual([
      expect.objectContaining({ command: 'history checkout --limit 3', exitCode: 0 }),
    ]);
    expect(seeded.awsCalls['DynamoDB:Query']).toBeGreaterThan(0);
    // Three records and a promotion written before the run are the runner's, not the pipeline's calls.
    expect(seeded.awsCalls['DynamoDB:PutItem']).toBe(unseeded.awsCalls['DynamoDB:PutItem']);
  });

  it('keeps the old slot warm for the whole scale-down delay when the rollback window is shorter', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
    const config = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8')) as {
      services: { checkout: { target: Record<string, unknown> } };
    };
    config.services.checkout.target.rollbackWindow = '5m';
    config.services.checkout.target.scaleDownDelay = '20m';
    const result = await runScenario(parseScenario({ ...structuredClone(scenario), config }), baseDir);

    expect(result.outcome).toBe('promoted');
    const promoted = result.notifications.find((n) => n.message.event === 'promoted');
    expect(promoted?.message.oldSlotScaleDownInSeconds).toBe(20 * 60);
    expectSoonAfter(
      result.timeline.find((e) => e.kind === 'ecs' && e.text === 'checkout-blue: scaled to 0 tasks')?.t,
      (promoted?.t ?? 0) + 20 * 60,
    );
  });

  it('rolls back a promoted release a person aborts during its rollback window, while the old slot is warm', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
    // Promoted near minute 32; the 15-minute rollback window runs until near minute 47.
    const events_ = [{ at: '40m', abort: { reason: 'customers report wrong prices' } }];
    const result = await runScenario(
      parseScenario({ ...structuredClone(scenario), events: events_ }),
      baseDir,
    );

    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'aborted by a person: customers report wrong prices',
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(events(result)).toEqual(['started', 'promoted', 'rolled_back']);
    expectSoonAfter(result.notifications[2]?.t, 40 * 60);
  });

  it('shifts and rolls back through a listener rule behind OIDC, keeping its authenticate-oidc action', async () => {
    const result = await run('oidc-listener-rule.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual(['blue 95% / green 5%', 'blue 100% / green 0%']);
    expect(result.listenerRuleActions).toEqual(['authenticate-oidc', 'forward']);
  });

  it('rolls a bad version back at 5% as soon as the alarm fires', async () => {
    const result = await run('bad-version-rolled-back.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 5%',
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(result.rollbackReactionSeconds).not.toBeNull();
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
    expect(events(result)).toEqual(['started', 'rolled_back']);
    expect(result.notifications[1]?.subject).toContain(
      'rolled back to v1: alarm checkout-green-5xx went to ALARM at 5%',
    );
    // On the release-events topic: the bake at 5% the alarm ended, then rolled back from it (traffic moves
    // back before anything is told; "rolling back" is told only when moving it fails).
    expect(
      result.releaseEvents
        .slice(-2)
        .map(({ message: m }) => [
          m.kind,
          m.progress.state,
          m.progress.step,
          m.progress.newPercent,
          m.outcome,
        ]),
    ).toEqual([
      ['step', 'baking', 4, 5, undefined],
      ['rolled_back', 'rolled-back', 4, 0, 'rolled_back'],
    ]);
    expect(result.releaseEvents.at(-1)?.message.reason).toBe('alarm checkout-green-5xx went to ALARM at 5%');
    expect(result.executions).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: 'ReleaseRolledBack',
        cause: 'alarm checkout-green-5xx went to ALARM at 5%',
      }),
    ]);
    // The bake ended on the event, minutes before its 10-minute timeout.
    const alarm = result.timeline.find((e) => e.kind === 'alarm' && e.text.endsWith('-> ALARM'));
    expect(alarm?.t).toBeLessThan(90 + 600);
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-green: scaled to 0 tasks'),
    ).toBe(true);
  });

  it('rolls back a regression that only appears at 25%', async () => {
    const result = await run('regression-at-25.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.reason).toMatch(/^alarm checkout-(green-5xx|latency-p99) went to ALARM at 25%$/);
    expect(result.servingVersion).toBe('v1');
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual(['blue 95% / green 5%', 'blue 75% / green 25%', 'blue 100% / green 0%']);
    // Onset is the 25% shift (about +11:35), when the load-related change kicks in, not the release start.
    // The alarm needs 2 breaching minutes (the partial minute of the shift counts), the second visible after
    // ALB's 60 s metric delay: at most 2 periods + the delay after onset.
    expect(result.detectionSeconds).toBeGreaterThan(120);
    expect(result.detectionSeconds).toBeLessThanOrEqual(180);
    // v2 served 25% of 6000 requests a minute from onset until the rollback put blue back at 100%.
    exposedWhileServing(result, 0.25);
  });

  it('rolls back for an alarm that fired and recovered during the 5% bake while its event was lost', async () => {
    const result = await run('lost-alarm-event.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 5%',
    });
    const alarms = result.timeline.filter((e) => e.kind === 'alarm').map((e) => e.text);
    expect(alarms).toEqual(['checkout-green-5xx OK -> ALARM', 'checkout-green-5xx ALARM -> OK']);
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual(['blue 95% / green 5%', 'blue 100% / green 0%']);
  });

  it('starts one release for a duplicated push event', async () => {
    const result = await run('duplicate-push.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions).toHaveLength(1);
    // The redelivered event (same input but for its receipt) and the retagged push, both while the first
    // execution runs: each is reported a duplicate, not a second start.
    expect(result.triggers.map((t) => t.status)).toEqual(['started', 'duplicate', 'duplicate']);
    expectSoonAfter(result.triggers[0]?.t, 0);
    expectSoonAfter(result.triggers[1]?.t, 3);
    expectSoonAfter(result.triggers[2]?.t, 60);
    expect(events(result)).toEqual(['started', 'promoted']);
  });

  it('lets only the newest waiting push proceed and supersedes the older one', async () => {
    const result = await run('second-push-during-release.yml');
    expect(result.expectations?.failures).toEqual([]);
    // v3 and v4 wait as pending pushes (data): only v4, the newest, ever gets an execution.
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v4', 'promoted'],
    ]);
    expect(result.triggers.map((t) => t.status)).toEqual(['started', 'queued', 'queued']);
    expect(result.releases.map((r) => [r.toVersion, r.status])).toEqual([
      ['v4', 'promoted'],
      ['v3', 'superseded'],
      ['v2', 'promoted'],
    ]);
    const superseded = result.notifications.find((n) => n.message.event === 'superseded');
    expect(superseded?.subject).toBe('[shipline] checkout: v3 skipped, superseded by a newer push');
    expect(result.servingVersion).toBe('v4');
  });

  it('coalesces five pushes during a release into one release of the newest: two executions in all', async () => {
    const result = await run('queued-pushes-coalesce.yml');
    expect(result.expectations?.failures).toEqual([]);
    // The pushes behind the running release wait as data: none of v3 to v6 ever starts an execution.
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v7', 'promoted'],
    ]);
    expect(result.triggers.map((t) => t.status)).toEqual(['started', ...Array(5).fill('queued')]);
    expect(
      result.notifications.filter((n) => n.message.event === 'superseded').map((n) => n.subject),
    ).toEqual(
      ['v3', 'v4', 'v5', 'v6'].map((v) => `[shipline] checkout: ${v} skipped, superseded by a newer push`),
    );
    expect(result.releases.filter((r) => r.status === 'superseded').map((r) => r.toVersion)).toEqual([
      'v6',
      'v5',
      'v4',
      'v3',
    ]);
    // Each is told the moment the next push replaces it (then the trigger's AWS latencies).
    const told = result.notifications.filter((n) => n.message.event === 'superseded').map((n) => n.t);
    for (const [i, t] of told.entries()) expectSoonAfter(t, (6 + i) * 60);
    // v7's execution starts when v2 hands the service on after its promotion.
    const promotedV2 = result.notifications.find((n) => n.subject.includes('v2 promoted'))?.t ?? 0;
    expectSoonAfter(result.notifications.find((n) => n.subject.includes('releasing v7'))?.t, promotedV2);
    expect(result.servingVersion).toBe('v7');
  });

  it('starts a push queued behind a release a person stops, from the execution status change event', async () => {
    const result = await run('queued-push-after-abort.yml');
    expectV2StoppedThenQueuedV3Released(result);
    // The ABORTED event reaches the hand-off 30 s late (and twice): v3 starts then, not at v2's lease end.
    const stopped = result.timeline.find((e) => e.kind === 'execution' && e.text.startsWith('ABORTED'));
    expect(stopped?.t).toBe(15 * 60);
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      expect.stringMatching(/^EventBridge delays the Step Functions Execution Status Change event.* by 30s$/),
      expect.stringMatching(
        /^EventBridge delivers the Step Functions Execution Status Change event.* 2 times$/,
      ),
    ]);
    expectSoonAfter(result.notifications.find((n) => n.subject.includes('releasing v3'))?.t, 15 * 60 + 30);
    expect(result.servingVersion).toBe('v3');
    // Nothing rolled v2 back: its record ends, and people are told (once, though the event came twice)
    // that it stopped at 25% with traffic left split, before v3 plans on that split.
    expectV2EndedSplitAndToldOnce(result, 15 * 60 + 30);
  });

  it('tells a release stopped during its rollback window once: v2 serves, no alarm rolls it back, blue is left warm and how to scale it down', async () => {
    const result = await run('stopped-during-rollback-window.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status])).toEqual([['v2', 'ABORTED']]);
    expect(result.servingVersion).toBe('v2');
    expect(result.traffic).toEqual({ 'green (v2)': 100 });
    const promotedAt = result.notifications.find((n) => n.message.event === 'promoted')?.t ?? 0;
    const stopped = result.notifications.filter((n) => n.message.event === 'stopped');
    expect(stopped).toHaveLength(1);
    expectSoonAfter(stopped[0]?.t, 40 * 60);
    // Stopped inside the 15-minute window that began at the promotion.
    expect(stopped[0]?.t).toBeLessThan(promotedAt + 15 * 60);
    expect(stopped[0]?.subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, its rollback window was stopped; blue left warm',
    );
    const reason = String(stopped[0]?.message.reason);
    expect(reason).toMatch(
      /^stopped outside Shipline during its rollback window \(due to end at [^)]+\) \(StoppedByPerson: stopped by on-call while investigating\): v2 serves 100% on green \(blue 0% \/ green 100%\); no alarm rolls v2 back automatically any more, and the old slot blue \(ECS service checkout-blue, v1\) is still warm and Shipline will not scale it down: scale it down with aws ecs update-service --region us-east-1 --cluster prod --service checkout-blue --desired-count 0; to go back to v1, run shipline rollback checkout --reason TEXT \(it releases it again\)$/,
    );
    expect(stopped[0]?.message).toMatchObject({
      servingVersion: 'v2',
      oldSlot: { slot: 'blue', ecsService: 'checkout-blue', cluster: 'prod', version: 'v1' },
    });
    // The release-events topic hears it once too (Slack's thread, not an outcome: DORA counted the promotion).
    const told = result.releaseEvents.filter((e) => e.message.kind === 'stopped');
    expect(told.map((e) => e.message.reason)).toEqual([reason]);
    expect(told[0]?.message.outcome).toBeUndefined();
    // The record stays promoted, its reason says what happened after, and it is no longer in its window.
    expect(result.releases[0]).toMatchObject({
      status: 'promoted',
      toVersion: 'v2',
      reason,
      progress: { state: 'promoted' },
    });
    // Shipline never scaled blue down: it still runs v1's tasks, with none of the traffic.
    expect(result.services.checkout?.slots).toEqual({
      blue: { service: 'checkout-blue', version: 'v1', desiredCount: 4, runningCount: 4 },
      green: { service: 'checkout-green', version: 'v2', desiredCount: 4, runningCount: 4 },
    });
    expect(result.timeline.filter((e) => e.kind === 'ecs' && e.text.includes('scaled to 0'))).toEqual([]);
    // v2's 5xx alarm fires after the stop: the window's watch went with the execution, so nothing is
    // resumed, nobody is told a rollback, and nothing lands in the dead-letter queue.
    const alarmAt = result.timeline.find(
      (e) => e.kind === 'alarm' && e.text === 'checkout-green-5xx OK -> ALARM',
    );
    expect(alarmAt?.t).toBeGreaterThan(stopped[0]?.t ?? 0);
    expect(alarmAt?.t).toBeLessThan(promotedAt + 15 * 60);
    expect(events(result)).toEqual(['started', 'promoted', 'stopped']);
    expect(result.deadLetters).toEqual([]);
    // shipline status reads it as promoted and done, not as a release still in its window.
    expect(result.cli[0]?.stdout).toContain('serving:   v2 (green)');
    expect(result.cli[0]?.stdout).toContain('releasing: nothing');
  });

  it('stops a release during the Wait that keeps its old slot warm after its rollback window: the scale-down never runs, and blue is told as maybe warm', async () => {
    const result = await run('stopped-while-kept-warm.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status])).toEqual([['v2', 'ABORTED']]);
    // The stop came in the Wait, 40 minutes in: the execution ended then, and entered no state after it.
    const states = result.timeline.filter((e) => e.kind === 'state').map((e) => e.text);
    expect(states.slice(-2)).toEqual([
      'Confirm alarms at the end of the rollback window',
      'Keep the old slot warm until the scale-down delay',
    ]);
    const ended = result.timeline.filter((e) => e.kind === 'execution');
    expect(ended.map((e) => [e.t, e.text])).toEqual([
      [40 * 60, 'ABORTED StoppedByPerson: stopped by on-call while investigating'],
    ]);
    const stopped = result.notifications.filter((n) => n.message.event === 'stopped');
    expect(stopped).toHaveLength(1);
    expectSoonAfter(stopped[0]?.t, 40 * 60);
    expect(stopped[0]?.subject).toBe(
      '[shipline] ACTION NEEDED checkout: v2 serves, stopped after its rollback window; blue may be warm',
    );
    expect(stopped[0]?.message.reason).toBe(
      'stopped outside Shipline after its rollback window, before it retired the old version (StoppedByPerson: stopped by on-call while investigating): v2 serves 100% on green (blue 0% / green 100%); the old slot blue (ECS service checkout-blue, v1) was not recorded as scaled down, and the stop may have come while Shipline scaled it down: if it still runs tasks, scale it down with aws ecs update-service --region us-east-1 --cluster prod --service checkout-blue --desired-count 0; to go back to v1, run shipline rollback checkout --reason TEXT (it releases it again)',
    );
    expect(stopped[0]?.message).toMatchObject({
      servingVersion: 'v2',
      oldSlot: {
        slot: 'blue',
        ecsService: 'checkout-blue',
        cluster: 'prod',
        version: 'v1',
        trafficPercent: 0,
      },
    });
    // Nothing of the stopped execution ran after it: blue was never scaled down and still runs v1's tasks.
    expect(result.services.checkout?.slots).toEqual({
      blue: { service: 'checkout-blue', version: 'v1', desiredCount: 4, runningCount: 4 },
      green: { service: 'checkout-green', version: 'v2', desiredCount: 4, runningCount: 4 },
    });
    expect(result.timeline.filter((e) => e.kind === 'ecs' && e.text.includes('scaled to 0'))).toEqual([]);
    expect(result.releases[0]).toMatchObject({
      status: 'promoted',
      toVersion: 'v2',
      progress: { state: 'promoted' },
    });
    expect(result.cli[0]?.stdout).toContain('releasing: nothing');
  });

  it('tells a rolling release stopped during its bake that its rolling update completed and v2 serves, never "at 0%"', async () => {
    const result = await run('stopped-during-bake-rolling.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status])).toEqual([['v2', 'ABORTED']]);
    // The rollout completed before the stop: the stop came in the bake.
    const completed = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text.includes('completed, 4 tasks steady'),
    );
    expect(completed?.t).toBeLessThan(17 * 60);
    const failed = result.notifications.filter((n) => n.message.event === 'failed');
    expect(failed).toHaveLength(1);
    expectSoonAfter(failed[0]?.t, 17 * 60);
    const reason = String(failed[0]?.message.reason);
    expect(reason).toBe(
      'stopped outside Shipline during step 3 of 4 (Bake 10m watching 1 alarm), after its rolling update completed (StoppedByPerson: stopped by on-call), not rolled back: v2 serves (the rolling update of ECS service api replaced the old tasks); no alarm rolls v2 back automatically any more: watch its alarms yourself, and to go back to v1, run shipline rollback api --reason TEXT (it releases it again)',
    );
    expect(reason).not.toContain('0%');
    expect(result.servingVersion).toBe('v2');
    expect(result.releases.find((r) => r.toVersion === 'v2')).toMatchObject({
      status: 'failed',
      reason,
      progress: { state: 'failed', newPercent: 100 },
    });
    expect(
      result.releaseEvents.filter((e) => e.message.kind === 'failed').map((e) => e.message.reason),
    ).toEqual([reason]);
  });

  it('tells a rolling release stopped during its rollback window that no alarm rolls it back; the rollback it names releases v1 again', async () => {
    const result = await run('stopped-during-rollback-window-rolling.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status])).toEqual([
      ['v2', 'ABORTED'],
      ['v1', 'SUCCEEDED'],
    ]);
    const stopped = result.notifications.filter((n) => n.message.event === 'stopped');
    expect(stopped).toHaveLength(1);
    expectSoonAfter(stopped[0]?.t, 35 * 60);
    expect(stopped[0]?.subject).toBe('[shipline] api: v2 serves, its rollback window was stopped');
    expect(stopped[0]?.message.reason).toMatch(
      /^stopped outside Shipline during its rollback window \(due to end at [^)]+\) \(StoppedByPerson: stopped by on-call\): v2 serves \(its rolling update of ECS service api completed\), and no alarm rolls v2 back automatically any more: watch its alarms yourself, and to go back to v1, run shipline rollback api --reason TEXT \(it releases it again\); nothing was kept warm \(the rolling update replaced the old tasks\)$/,
    );
    // A rolling service has no slots to leave warm.
    expect(result.services.api?.slots).toBeUndefined();
    expect(result.releases.find((r) => r.toVersion === 'v2')).toMatchObject({
      status: 'promoted',
      reason: stopped[0]?.message.reason,
      progress: { state: 'promoted' },
    });
    // shipline status no longer reads v2 as in its window, and the rollback it was told starts a release.
    expect(result.cli.map((c) => c.exitCode)).toEqual([0, 0]);
    expect(result.cli[0]?.stdout).toContain('releasing: nothing');
    expect(result.cli[1]?.stdout).toMatch(/^started release api-\S+ of v1 /);
    expect(result.servingVersion).toBe('v1');
  });

  it("ends, tells and hands on a stopped release whose status change event is lost: the executions-aborted alarm's notification reconciles it within minutes", async () => {
    const result = await run('status-change-event-lost.yml');
    expectV2StoppedThenQueuedV3Released(result);
    // The event to the status-change function is lost: nothing but the alarm's notification hands v2 on.
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      expect.stringMatching(
        /^EventBridge lost the Step Functions Execution Status Change event.* to handOffEndedExecution$/,
      ),
    ]);
    // Step Functions counted the end (AWS/States ExecutionsAborted): the alarm goes to ALARM once the minute's
    // datapoint is visible, and back to OK once it leaves the alarm's evaluation range; both notify.
    expect(
      result.timeline
        .filter((e) => e.kind === 'alarm' && e.text.startsWith('shipline-sandbox-executions'))
        .map((e) => [e.t, e.text]),
    ).toEqual([
      [17 * 60, 'shipline-sandbox-executions-aborted OK -> ALARM'],
      [19 * 60, 'shipline-sandbox-executions-aborted ALARM -> OK'],
    ]);
    // Each of the two notifications (ALARM, OK) lists the three abnormal statuses once.
    expect(result.awsCalls['SFN:ListExecutions']).toBe(6);
    // v2's record ends as stopped part-way; people are told once (though two notifications reconciled it),
    // with what serves, before v3 plans on the split.
    expectV2EndedSplitAndToldOnce(result, 17 * 60);
    // The lock is handed on at once: v3 starts then, not when v2's lease lapses.
    expectSoonAfter(result.notifications.find((n) => n.subject.includes('releasing v3'))?.t, 17 * 60);
    expect(result.servingVersion).toBe('v3');
  });

  it("reconciles on the alarm's OK notification when SNS loses its ALARM one too", async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/status-change-event-lost.yml'),
    );
    const lossy = parseScenario({
      ...scenario,
      world: {
        ...scenario.world,
        delivery: [
          ...scenario.world.delivery,
          { detailType: 'SNS Notification', fn: 'reconcileEndedExecutions', drop: true },
        ],
      },
    });
    const result = await runScenario(lossy, baseDir);
    expect(result.expectations?.failures).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      expect.stringMatching(/^EventBridge lost the Step Functions Execution Status Change event/),
      'SNS lost the SNS message (no event attribute) to reconcileEndedExecutions',
    ]);
    // The ALARM notification (17:00) is lost: the OK one (19:00) finds v2, ends it and starts v3.
    const failed = result.notifications.filter((n) => n.message.event === 'failed');
    expect(failed).toHaveLength(1);
    expectSoonAfter(failed[0]?.t, 19 * 60);
    expectSoonAfter(result.notifications.find((n) => n.subject.includes('releasing v3'))?.t, 19 * 60);
    expect(result.servingVersion).toBe('v3');
  });

  it('withdraws a queued push on shipline abort --release: recorded and told once, never started; the next push follows', async () => {
    const result = await run('cli-abort-queued-push.yml');
    expect(result.expectations?.failures).toEqual([]);
    const v3 = 'checkout-6fc5076f5b1ad79e657b782f3da17013';
    expect(result.triggers.map((t) => t.status)).toEqual(['started', 'queued', 'queued']);
    // v3 never had an execution: v2 hands the service to v4, the push after it.
    expect(result.executions.map((e) => [e.version, e.status])).toEqual([
      ['v2', 'SUCCEEDED'],
      ['v4', 'SUCCEEDED'],
    ]);
    expect(result.executions.map((e) => e.name)).not.toContain(v3);
    expect(result.cli).toEqual([
      expect.objectContaining({
        t: 8 * 60,
        exitCode: 0,
        stdout: `withdrew queued push ${v3} (v3): it was queued behind release checkout-93bf26337dddd824f7ca7fb711d1d602 and will not start; recorded as failed (aborted while queued by sandbox-operator via the CLI: bad build)\n`,
      }),
    ]);
    // Recorded as failed, with who withdrew it and why, on v3's own record.
    const withdrawn = result.releases.find((r) => r.releaseId === v3);
    expect(withdrawn).toMatchObject({
      status: 'failed',
      toVersion: 'v3',
      reason: 'aborted while queued by sandbox-operator via the CLI: bad build',
      actions: [
        {
          command: 'abort',
          reason: 'bad build',
          actor: { via: 'cli', id: expect.stringContaining('sandbox-operator') },
        },
      ],
    });
    // Told once, when withdrawn: a failed notification, and a failed release event naming the person.
    const failed = result.notifications.filter((n) => n.message.event === 'failed');
    expect(failed.map((n) => n.message.toVersion)).toEqual(['v3']);
    expectSoonAfter(failed[0]?.t, 8 * 60);
    const ended = result.releaseEvents.filter(
      (e) => e.message.releaseId === v3 && e.message.kind === 'failed',
    );
    expect(ended).toHaveLength(1);
    expect(ended[0]?.message).toMatchObject({
      reason: 'aborted while queued by sandbox-operator via the CLI: bad build',
      actor: { via: 'cli', id: expect.stringContaining('sandbox-operator') },
      progress: { state: 'failed', newPercent: 0 },
    });
    // v2 went on untouched: promoted, and the hand-off started v4 right after it.
    expect(events(result)).toEqual(['started', 'failed', 'promoted', 'started', 'promoted']);
    expect(result.servingVersion).toBe('v4');
  });

  it('withdraws a queued push whose removal DynamoDB applied while its response was lost: recorded and told once, never started', async () => {
    const v3 = 'checkout-6fc5076f5b1ad79e657b782f3da17013';
    const file = path.join(REPOSITORY_ROOT, 'examples', 'cli-abort-lost-response.yml');
    const { scenario, baseDir } = loadScenario(file);
    // As written (the SDK's retry meets the condition no more), and with every attempt's response lost
    // (the SDK's retries run out: the removal throws).
    const retriesRunOut = {
      ...scenario,
      faults: scenario.faults.map((fault) => ({ ...fault, times: 3 })),
    };
    for (const [attempts, current] of [
      [2, scenario],
      [3, retriesRunOut],
    ] as const) {
      const result = await runScenario(current, baseDir);
      expect(result.expectations?.failures, `${attempts} attempts`).toEqual([]);
      expect(result.unusedFaults).toEqual([]);
      const lost = result.timeline.filter((e) => e.kind === 'fault');
      expect(
        lost.map((e) => e.text),
        `${attempts} attempts`,
      ).toEqual(
        Array.from(
          { length: current === scenario ? 1 : 3 },
          () => 'DeleteItem: applied, then its response was lost (injected TimeoutError)',
        ),
      );
      for (const e of lost) expectSoonAfter(e.t, 8 * 60);
      // v3 never had an execution, and its withdrawal is said as any other.
      expect(result.executions.map((e) => e.version)).toEqual(['v2', 'v4']);
      expect(result.executions.map((e) => e.name)).not.toContain(v3);
      expect(result.cli).toEqual([
        expect.objectContaining({
          t: 8 * 60,
          exitCode: 0,
          stdout: `withdrew queued push ${v3} (v3): it was queued behind release checkout-93bf26337dddd824f7ca7fb711d1d602 and will not start; recorded as failed (aborted while queued by sandbox-operator via the CLI: bad build)\n`,
        }),
      ]);
      expect(result.releases.find((r) => r.releaseId === v3)).toMatchObject({
        status: 'failed',
        reason: 'aborted while queued by sandbox-operator via the CLI: bad build',
        actions: [{ command: 'abort', reason: 'bad build' }],
      });
      // Told once: one failed notification and one failed release event.
      expect(events(result)).toEqual(['started', 'failed', 'promoted', 'started', 'promoted']);
      expect(
        result.releaseEvents.filter((e) => e.message.releaseId === v3 && e.message.kind === 'failed'),
      ).toHaveLength(1);
      expect(result.servingVersion).toBe('v4');
    }
  });

  it('starts a push queued behind a promoted release whose hand-off failed, from its SUCCEEDED status change', async () => {
    const result = await run('queued-push-after-failed-hand-off.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.unusedFaults).toEqual([]);
    expect(result.triggers.map((t) => t.status)).toEqual(['started', 'queued']);
    // v3 starts as v2's execution ends (its status change), not never.
    const ended = result.timeline.find((e) => e.kind === 'execution' && e.text.startsWith('SUCCEEDED'));
    expectSoonAfter(result.notifications.find((n) => n.subject.includes('releasing v3'))?.t, ended?.t ?? 0);
    expect(result.servingVersion).toBe('v3');
  });

  it('tells a push replaced in the queue it was superseded when the trigger that replaced it dead-letters', async () => {
    const result = await run('replaced-push-told-after-dead-letter.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.unusedFaults).toEqual([]);
    expect(result.deadLetters.map((d) => d.fn)).toEqual(['trigger']);
    // v3 was replaced by v4, whose trigger never told it: the hand-off tells it, once, before starting v4.
    expect(
      result.notifications.filter((n) => n.message.event === 'superseded').map((n) => n.subject),
    ).toEqual(['[shipline] checkout: v3 skipped, superseded by a newer push']);
    expect(result.releases.find((r) => r.toVersion === 'v3')?.status).toBe('superseded');
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v4', 'promoted'],
    ]);
  });

  it('never releases a superseded push delivered again after the newer release (one release per digest)', async () => {
    const result = await run('superseded-push-delivered-again.yml');
    expect(result.expectations?.failures).toEqual([]);
    // v3 was superseded as data (no execution): its late copy is a duplicate, not a release over v4.
    expect(result.triggers.map((t) => t.status)).toEqual(['started', 'queued', 'queued', 'duplicate']);
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v4', 'promoted'],
    ]);
    expect(result.releases.find((r) => r.toVersion === 'v3')?.status).toBe('superseded');
    expect(result.servingVersion).toBe('v4');
  });

  it('orders two pushes of the same second by when the trigger received them, not by digest', async () => {
    const result = await run('same-second-pushes.yml');
    expect(result.expectations?.failures).toEqual([]);
    // v4's release id (its execution name) sorts first (its digest does): the tie is not broken by name.
    const v3 = result.releases.find((r) => r.toVersion === 'v3')?.releaseId;
    const v4 = result.releases.find((r) => r.toVersion === 'v4')?.releaseId;
    expect(v4 && v3 && v4 < v3).toBe(true);
    // v3 waited as a pending push and never started an execution: it is a superseded release record.
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v4', 'promoted'],
    ]);
    expect(result.releases.find((r) => r.toVersion === 'v3')?.status).toBe('superseded');
    const superseded = result.notifications.find((n) => n.message.event === 'superseded');
    expect(superseded?.subject).toBe('[shipline] checkout: v3 skipped, superseded by a newer push');
    expect(result.servingVersion).toBe('v4');
  });

  it('ignores a malformed event of a repository no service releases, without retries or dead letters', async () => {
    const result = await run('unknown-repository-event.yml');
    expect(result.expectations?.failures).toEqual([]);
    // The trigger's rule matches only the repositories shipline.yml releases: no function is invoked.
    expect(result.triggers).toEqual([]);
    expect(result.reason).toBe('no EventBridge rule matched the event');
    expect(result.timeline.filter((e) => e.kind === 'lambda')).toEqual([]);
    expect(result.deadLetters).toEqual([]);
    expect(result.executions).toEqual([]);
  });

  it("ignores a push to a same-named repository in another account's registry", async () => {
    const result = await run('push-from-another-account.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.triggers.map((t) => t.status)).toEqual(['ignored']);
    expect(result.executions).toEqual([]);
    expect(result.servingVersion).toBe('v1');
  });

  it('starts no deployment for a push of the digest already serving 100%', async () => {
    const result = await run('push-of-serving-version.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.outcome).toBe('ignored');
    expect(result.reason).toContain('already serving');
    expect(result.executions).toEqual([expect.objectContaining({ status: 'SUCCEEDED', outcome: 'ignored' })]);
    expect(result.releases).toEqual([expect.objectContaining({ status: 'ignored' })]);
    // Nothing in ECS or the ALB changed: no deployment, no weight change, no notification.
    const changes = Object.keys(result.awsCalls).filter((call) =>
      /^(ECS:(UpdateService|RegisterTaskDefinition|CreateService)|ElasticLoadBalancingV2:ModifyRule|SNS:Publish)$/.test(
        call,
      ),
    );
    expect(changes).toEqual([]);
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
  });

  it('rejects a malformed push event and starts nothing', async () => {
    const result = await run('malformed-event.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toContain('detail.image-digest');
    // Retried twice by Lambda, then kept in the dead-letter queue with its error.
    expect(result.deadLetters).toEqual([
      expect.objectContaining({ fn: 'trigger', detailType: 'ECR Image Action' }),
    ]);
    expectSoonAfter(result.deadLetters[0]?.t, 180);
    expect(result.executions).toEqual([]);
    expect(result.notifications).toEqual([]);
    expect(result.servingVersion).toBe('v1');
  });

  it('does not let an alarm that was already firing block the fix', async () => {
    const result = await run('pre-existing-alarm.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.notifications[0]?.message).toMatchObject({
      event: 'started',
      alarmsAlreadyFiring: ['checkout-latency-p99'],
    });
    expect(result.timeline.filter((e) => e.kind === 'alarm').map((e) => e.text)).toEqual([
      'checkout-latency-p99 ALARM -> OK',
    ]);
  });

  it("takes AWS's latencies from world.timing: with none, the rollback is instant; a slower task start delays the canary", async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'bad-version-rolled-back.yml'),
    );
    const instant = parseScenario({
      ...structuredClone(scenario),
      world: {
        ...structuredClone(scenario.world),
        timing: { eventDeliveryMs: 0, lambdaColdStartMs: 0, lambdaWarmStartMs: 0, apiCallMs: 0 },
      },
    });
    const quick = await runScenario(instant, baseDir);
    expect(quick).toMatchObject({ outcome: 'rolled_back', rollbackReactionSeconds: 0 });
    expect(quick.timeline.find((e) => e.text === 'Is the new version ready?')?.t).toBe(90);

    const slow = parseScenario({
      ...structuredClone(scenario),
      world: {
        ...structuredClone(scenario.world),
        timing: { ecsTaskStart: '2m', healthCheckInterval: '10s' },
      },
    });
    const slowStart = await runScenario(slow, baseDir);
    expect(slowStart.outcome).toBe('rolled_back');
    // The task starts in 2 minutes and passes its first health check 10 s later.
    const deployed = slowStart.timeline.find((e) => e.kind === 'ecs' && e.text.includes('started'));
    const steady = slowStart.timeline.find((e) => e.kind === 'ecs' && e.text.includes('completed'));
    expect((steady?.t ?? 0) - (deployed?.t ?? 0)).toBe(130);
  });

  it('rolls back on the real ALARM when its event arrives late, twice, and after the alarm is back to OK', async () => {
    const result = await run('alarm-event-late-duplicated-reordered.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 5%',
    });
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      'EventBridge delays the CloudWatch Alarm State Change event (checkout-green-5xx ALARM) to alarmEvents by 240s',
      'EventBridge delivers the CloudWatch Alarm State Change event (checkout-green-5xx ALARM) to alarmEvents 2 times',
    ]);
    const alarms = result.timeline.filter((e) => e.kind === 'alarm');
    expect(alarms.map((e) => e.text)).toEqual([
      'checkout-green-5xx OK -> ALARM',
      'checkout-green-5xx ALARM -> OK',
    ]);
    // The rollback came with the late event, after the alarm was back to OK, and only once.
    const shifts = result.timeline.filter((e) => e.kind === 'traffic');
    expect(shifts.map((e) => e.text)).toEqual(['blue 95% / green 5%', 'blue 100% / green 0%']);
    expect(shifts[1]?.t).toBeGreaterThan(alarms[1]?.t ?? Number.POSITIVE_INFINITY);
    expectSoonAfter(result.rollbackReactionSeconds ?? undefined, 240, ROLLBACK_REACTION_SECONDS);
    expect(result.deadLetters).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'lambda')).toEqual([]);
  });

  it('rolls back at the end of the bake when the ALARM event comes later still, and ignores it then', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'alarm-event-late-duplicated-reordered.yml'),
    );
    const late = structuredClone(scenario);
    const [rule] = late.world.delivery;
    if (rule) rule.delay = '30m';
    const result = await runScenario(late, baseDir);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 5%',
    });
    // The bake's end read the alarm's history; the two copies, delivered 30 minutes late, changed nothing.
    expect(result.timeline.some((e) => e.text === 'Confirm alarms at the end of the bake')).toBe(true);
    expect(events(result)).toEqual(['started', 'rolled_back']);
    expect(result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text)).toEqual([
      'blue 95% / green 5%',
      'blue 100% / green 0%',
    ]);
    expect(result.virtualSeconds).toBeGreaterThan(360 + 30 * 60);
    expect(result.deadLetters).toEqual([]);
  });

  it('refuses a delivery fault for a function that is not deployed, naming its path', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'alarm-event-late-duplicated-reordered.yml'),
    );
    const wrong = structuredClone(scenario);
    const [rule] = wrong.world.delivery;
    if (rule) rule.fn = 'alarmEvent';
    await expect(runScenario(wrong, baseDir)).rejects.toThrow(
      /world\.delivery\[0\]\.fn: no function "alarmEvent" is deployed/,
    );
    const withRule = (extra: Record<string, unknown>) => ({
      ...structuredClone(scenario),
      world: {
        ...structuredClone(scenario.world),
        delivery: [{ detailType: 'ECS Deployment State Change', ...extra }],
      },
    });
    expect(() => parseScenario(withRule({}))).toThrow(
      /world\.delivery\[0\]: say what happens to the event: delay, duplicate or drop/,
    );
    expect(() => parseScenario(withRule({ drop: true, delay: '1m' }))).toThrow(
      /drop cannot go with delay or duplicate/,
    );
    expect(() => parseScenario(withRule({ duplicate: 1, late: '1m' }))).toThrow(/late/);
  });

  it('refuses a delivery fault or a lost event on a detail-type its function, or no function, ever receives', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'alarm-event-late-duplicated-reordered.yml'),
    );
    const typo = structuredClone(scenario);
    const [rule] = typo.world.delivery;
    if (rule) rule.detailType = 'CloudWatch Alarm State Changed';
    await expect(runScenario(typo, baseDir)).rejects.toThrow(
      'world.delivery[0].detailType: function alarmEvents never receives "CloudWatch Alarm State Changed" (did you mean "CloudWatch Alarm State Change"?); it receives CloudWatch Alarm State Change',
    );
    const elsewhere = structuredClone(scenario);
    const [other] = elsewhere.world.delivery;
    if (other) other.detailType = 'ECS Deployment State Change';
    await expect(runScenario(elsewhere, baseDir)).rejects.toThrow(
      'world.delivery[0].detailType: function alarmEvents never receives "ECS Deployment State Change"',
    );
    const lost = structuredClone(scenario);
    lost.world.delivery = [];
    lost.world.dropEvents = [{ detailType: 'ECS Deployment Stat Change', times: 1 }];
    await expect(runScenario(lost, baseDir)).rejects.toThrow(
      'world.dropEvents[0].detailType: no deployed function receives "ECS Deployment Stat Change" (did you mean "ECS Deployment State Change"?); they receive CloudWatch Alarm State Change, ECR Image Action, ECS Deployment State Change',
    );
  });

  it('goes on through the steady timeout and a direct check when the ECS completion event is lost', async () => {
    const result = await run('ecs-event-dropped.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      'EventBridge lost the ECS Deployment State Change event (SERVICE_DEPLOYMENT_COMPLETED) to ecsDeploymentEvents',
    ]);
    const started = result.timeline.find((e) => e.text === 'Wait until the new version is ready');
    const check = result.timeline.find((e) => e.text === 'Check the new version after the wait');
    // Nothing resumed the wait: the 20-minute steady timeout ended it, then the direct check passed.
    expectSoonAfter(check?.t, (started?.t ?? 0) + 20 * 60);
    const healthy = result.timeline.find((e) => e.text === 'Is the new version ready?');
    expect(healthy?.t).toBeGreaterThanOrEqual(check?.t ?? Number.POSITIVE_INFINITY);
    expect(result.awsCalls['ECS:DescribeServices']).toBeGreaterThanOrEqual(1);
    expect(result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text)).toEqual([
      'blue 95% / green 5%',
      'blue 75% / green 25%',
      'blue 0% / green 100%',
    ]);
  });

  it('resumes the ready wait with the ECS completion event itself when it is not lost (no timeout, no waiting)', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'ecs-event-dropped.yml'),
    );
    const delivered = await runScenario(
      parseScenario({ ...structuredClone(scenario), world: { ...scenario.world, delivery: [] } }),
      baseDir,
    );
    expect(delivered).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(delivered.timeline.filter((e) => e.kind === 'fault')).toEqual([]);
    // No direct check: the event ended the wait about 90 s in (the tasks' start and health checks), not the
    // 20-minute timeout.
    expect(delivered.timeline.some((e) => e.text === 'Check the new version after the wait')).toBe(false);
    const started = delivered.timeline.find((e) => e.text === 'Wait until the new version is ready');
    const ready = delivered.timeline.find((e) => e.text === 'Is the new version ready?');
    const completed = delivered.timeline.find((e) => e.kind === 'ecs' && e.text.includes('completed'));
    expectSoonAfter(ready?.t, completed?.t ?? Number.POSITIVE_INFINITY);
    expect((ready?.t ?? 0) - (started?.t ?? 0)).toBeLessThan(120);
  });

  it('rolls back before any traffic moves when the new tasks never become healthy', async () => {
    const result = await run('tasks-fail-to-start.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.reason).toBe(
      'ECS deployment ecs-svc/1002 of checkout-green failed to become steady: ECS deployment circuit breaker: tasks failed to start.',
    );
    // The weights never left the stable slot: the rollback reads them and changes nothing on the rule.
    expect(result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text)).toEqual([]);
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-green: scaled to 0 tasks'),
    ).toBe(true);
  });

  it("shows checkout's DORA figures after a promotion, a rollback at 5% and the fix that answered it", async () => {
    const result = await run('dora-release-history.yml');
    expect(result.expectations).toEqual({ passed: true, failures: [] });
    const checkout = result.dora.checkout;
    // v2, v3 and v4 each took production traffic; v3 failed; v4 was pushed 26 minutes after v3's rollback.
    expect(checkout).toMatchObject({
      deployments: 3,
      changeFailRate: { failedDeployments: 1, rate: 1 / 3, band: 'low' },
      deploymentReworkRate: { reworkDeployments: 1, rate: 1 / 3, band: null },
      failedDeploymentRecoveryTime: { samples: 1, notRecovered: 0, band: 'elite' },
      changeLeadTime: { samples: 2, band: 'elite' },
    });
    // Recovery: from the start of v3's rollback to its end, traffic back on v2 (well under a second here).
    const [v4, v3, v2] = result.releases;
    expect(v3).toMatchObject({ status: 'rolled_back', peakPercent: 5 });
    expect(checkout?.failedDeploymentRecoveryTime.medianSeconds).toBe(
      (Date.parse(v3?.endedAt ?? '') - Date.parse(v3?.rollbackStartedAt ?? '')) / 1000,
    );
    // Lead time runs from each image's OCI created label (read from ECR by the release-metrics function and
    // recorded on the release) to its promotion: v2 08:00 -> 10:31:37.20, v4 11:20 -> 12:01:37.20 (the
    // trigger reads whether the push was already told superseded, the service's lock and its queue in one
    // BatchGetItem before it starts an execution, the lock reads the same three items in one BatchGetItem
    // and removes no queue entry when none is its own, and the deploy step reads the listener rule's
    // weights: 30 ms per call).
    expect(v2).toMatchObject({
      status: 'promoted',
      peakPercent: 100,
      promotedAt: '2026-11-22T10:31:37.200Z',
      changeTime: { at: '2026-11-22T08:00:00.000Z', source: 'oci-label' },
    });
    expect(v4).toMatchObject({
      status: 'promoted',
      peakPercent: 100,
      promotedAt: '2026-11-22T12:01:37.200Z',
      changeTime: { at: '2026-11-22T11:20:00.000Z', source: 'oci-label' },
    });
    expect(checkout?.changeLeadTime).toMatchObject({
      medianSeconds: (9097.2 + 2497.2) / 2,
      sources: { 'oci-label': 2, 'deploy-request': 0, push: 0 },
    });
    // 3 deployments in the run's span: more than one a day.
    expect(checkout?.deploymentFrequency.band).toBe('elite');
    // What CloudWatch received from the EMF lines, one release end at a time: its sums and medians are the
    // same figures.
    expect(result.doraMetrics.map((point) => [point.metric, point.value])).toEqual([
      ['Deployments', 1],
      ['LeadTimeSeconds', 9097.2],
      ['Deployments', 1],
      ['FailedDeployments', 1],
      ['RecoveryTimeSeconds', checkout?.failedDeploymentRecoveryTime.medianSeconds],
      ['Deployments', 1],
      ['ReworkDeployments', 1],
      ['LeadTimeSeconds', 2497.2],
    ]);
    expect(new Set(result.doraMetrics.map((point) => `${point.service}/${point.environment}`))).toEqual(
      new Set(['checkout/default']),
    );
    // The operator's `shipline dora`: nothing ended yet at 1 minute (exit 2); the same figures at the end.
    expect(result.cli.map((run) => [run.command, run.exitCode])).toEqual([
      ['dora checkout', 2],
      ['dora checkout --since 1d', 0],
    ]);
    expect(result.cli[1]?.stdout).toContain('checkout: 3 deployments');
  });

  it('promotes a rolling update of one ECS service once its deployment completes and the bake passes', async () => {
    const result = await run('rolling-healthy.yml');
    expect(result.expectations).toEqual({ passed: true, failures: [] });
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.traffic).toEqual({ 'api (v2)': 100 });
    expect(events(result)).toEqual(['started', 'promoted']);
    expect(result.notifications[1]?.subject).toBe('[shipline] api: v2 promoted, now serving 100%');
    // The completion event ends the wait (no timeout, no traffic step), the bake follows, nothing to scale.
    const completed = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text === 'api: deployment ecs-svc/1001 completed, 4 tasks steady',
    );
    const ready = result.timeline.find((e) => e.text === 'Is the new version ready?');
    expectSoonAfter(ready?.t, completed?.t ?? 0);
    expect(result.timeline.filter((e) => e.kind === 'traffic')).toEqual([]);
    // No rollback window by default; retiring a rolling service scales nothing (one UpdateService: the deploy).
    expect(result.timeline.some((e) => e.text === 'Watch alarms during the rollback window')).toBe(false);
    expect(result.awsCalls['ECS:UpdateService']).toBe(1);
  });

  it('ignores a push of the digest a settled rolling service already runs on all its tasks', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'rolling-healthy.yml'));
    const result = await runScenario(
      parseScenario({
        ...structuredClone(scenario),
        trigger: { push: { version: 'v1' } },
        expect: undefined,
      }),
      baseDir,
    );
    expect(result.outcome).toBe('ignored');
    expect(result.reason).toContain('(pushed as v1) is what the stable slot api runs at 100% as v1');
    expect(result.awsCalls['ECS:UpdateService'] ?? 0).toBe(0);
    expect(result.notifications).toEqual([]);
  });

  it('watches the alarms through a rolling service rollback window, then has nothing to scale down', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'rolling-healthy.yml'));
    const config = structuredClone(scenario.config) as {
      services: { api: { target: Record<string, unknown> } };
    };
    config.services.api.target.rollbackWindow = '5m';
    const result = await runScenario(parseScenario({ ...structuredClone(scenario), config }), baseDir);

    expect(result.expectations?.failures).toEqual([]);
    const promoted = result.notifications.find((n) => n.message.event === 'promoted');
    const scaled = result.timeline.find((e) => e.text === 'Scale down the old slot');
    expectSoonAfter(scaled?.t, (promoted?.t ?? 0) + 5 * 60);
    // The rolling update replaced the old tasks: nothing is scaled (one UpdateService, the deploy's).
    expect(result.awsCalls['ECS:UpdateService']).toBe(1);
  });

  it('rolls a rolling update back when the circuit breaker fails its deployment, the previous task definition rolling back in', async () => {
    const result = await run('rolling-circuit-breaker.yml');
    expect(result.expectations).toEqual({ passed: true, failures: [] });
    expect(result.reason).toBe(
      'ECS deployment ecs-svc/1001 of api failed to become steady: ECS deployment circuit breaker: tasks failed to start.',
    );
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    expect(result.traffic).toEqual({ 'api (v1)': 100 });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    expect(result.notifications[1]?.message).toMatchObject({
      reason: result.reason,
      note: 'the previous task definition arn:aws:ecs:us-east-1:123456789012:task-definition/api:1 is rolling back in on api, task by task',
    });
    // The breaker tripped as documented, and the release (not ECS: its rollback is off) deployed v1 again.
    const ecs = result.timeline.filter((e) => e.kind === 'ecs').map((e) => e.text);
    expect(ecs).toContain(
      'api: deployment ecs-svc/1001 FAILED (4 failed tasks reached the circuit breaker threshold of 3)',
    );
    expect(ecs).toContain('api: deployment ecs-svc/1002 started (4 tasks)');
    expect(result.awsCalls['ECS:UpdateService']).toBe(2);
    expect(result.exposedRequests).toBe(0);
  });

  it('rolls a rolling update back at once when a watched alarm fires during the rollout', async () => {
    const result = await run('rolling-alarm-during-rollout.yml');
    expect(result.expectations).toEqual({ passed: true, failures: [] });
    expect(result.reason).toBe(
      'alarm api-5xx went to ALARM during the rollout, while the new tasks took production traffic',
    );
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    expect(result.traffic).toEqual({ 'api (v1)': 100 });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    expect(result.notifications[1]?.message).toMatchObject({
      reason: result.reason,
      note: 'the previous task definition arn:aws:ecs:us-east-1:123456789012:task-definition/api:1 is rolling back in on api, task by task',
    });
    // The alarm event resumed the wait before the rollout completed: the release did not wait for it.
    const alarmAt = result.timeline.find((e) => e.kind === 'alarm' && e.text === 'api-5xx OK -> ALARM')?.t;
    const rolledBack = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text === 'api: deployment ecs-svc/1002 started (4 tasks)',
    )?.t;
    expectSoonAfter(rolledBack, alarmAt ?? 0, ROLLBACK_REACTION_SECONDS);
    expect(
      result.timeline.some((e) => e.text === 'api: deployment ecs-svc/1001 completed, 4 tasks steady'),
    ).toBe(false);
    expect(result.timeline.some((e) => e.text === 'Check the new version after the wait')).toBe(false);
    // Detection from v2's first healthy tasks, and every request v2 served until v1 rolled back in.
    expect(result.detectionSeconds).toBeGreaterThan(0);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
    expect(result.exposedRequests).toBeGreaterThan(0);
  });

  it('retries throttled AWS calls and a failed Lambda invocation, then promotes', async () => {
    const result = await run('transient-faults.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      'PutItem: injected ProvisionedThroughputExceededException',
      'Shift traffic to the new version: injected Lambda.ServiceException',
      'ModifyRule: injected ThrottlingException',
      'ModifyRule: injected ThrottlingException',
    ]);
  });

  it('reports a rollback that keeps failing loudly instead of swallowing it', async () => {
    const result = await run('rollback-fails.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions[0]).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    expect(result.notifications[1]?.subject).toBe('[shipline] ACTION NEEDED checkout: rollback of v2 FAILED');
    const alert = result.notifications[1]?.message;
    expect(alert?.reason).toContain('traffic is split: blue 95% / green 5%');
    const rule =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
    const blueTg =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067';
    const greenTg =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/8f1e2d6bc24d8a06';
    expect(alert).toMatchObject({
      listenerRuleArn: rule,
      targetGroups: {
        stable: { slot: 'blue', targetGroupArn: blueTg },
        canary: { slot: 'green', targetGroupArn: greenTg },
      },
      weightsNow: { blue: 95, green: 5 },
    });
    expect(alert?.manualSteps).toEqual(
      expect.arrayContaining([
        `aws elbv2 modify-rule --rule-arn ${rule} --actions '[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"${blueTg}","Weight":100},{"TargetGroupArn":"${greenTg}","Weight":0}]}}]' --region us-east-1`,
        'aws ecs update-service --cluster prod --service checkout-green --desired-count 0 --region us-east-1',
        expect.stringContaining('authenticate-oidc'),
      ]),
    );
    // The lock was released after the report: nothing is left holding the service.
    expect(result.timeline.some((e) => e.text === 'Release the lock and wake the next push')).toBe(true);
    // Seven attempts: the first and six retries of Lambda.ServiceException.
    expect(
      result.timeline.filter(
        (e) => e.text === 'Roll back to the stable version: injected Lambda.ServiceException',
      ),
    ).toHaveLength(7);
  });

  it('releases from a manual deploy request exactly as from a push', async () => {
    const result = await run('manual-deploy.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.releases[0]).toMatchObject({ status: 'promoted', fromVersion: 'v1', toVersion: 'v2' });
    expect(result.timeline.find((e) => e.kind === 'ecs' && e.text.startsWith('registered'))?.text).toBe(
      'registered checkout:2 (123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:93bf26337dddd824f7ca7fb711d1d6029ba20da6066b1eccbaabffbbb1403eb0)',
    );
  });

  it('deploys from a stable task definition with a CloudFormation aws: tag and 55 team tags', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/healthy-canary.yml'));
    const teamTags = Object.fromEntries(
      Array.from({ length: 55 }, (_, i) => [`team:tag-${String(i).padStart(2, '0')}`, `value-${i}`]),
    );
    const tagged = parseScenario({
      ...scenario,
      world: {
        ...scenario.world,
        taskDefinitionTags: { 'aws:cloudformation:stack-name': 'checkout-prod', ...teamTags },
      },
      until: '5m',
      expect: undefined,
    });
    const result = await runScenario(tagged, baseDir);
    expect(result.awsCalls['ECS:RegisterTaskDefinition']).toBe(1);
    expect(result.timeline.find((e) => e.kind === 'ecs' && e.text.startsWith('registered'))?.text).toMatch(
      /^registered checkout:2 /,
    );
    expect(result.traffic).toEqual({ 'blue (v1)': 95, 'green (v2)': 5 });
  });

  it('fails the bake at once when a scenario forces a watched alarm to ALARM', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/healthy-canary.yml'));
    const forced = parseScenario({
      ...scenario,
      events: [
        { at: '7m', alarm: { name: 'checkout-latency-p99', state: 'ALARM', reason: 'forced by on-call' } },
      ],
      expect: undefined,
    });
    const result = await runScenario(forced, baseDir);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-latency-p99 went to ALARM at 5%',
    });
    expectSoonAfter(result.notifications.find((n) => n.message.event === 'rolled_back')?.t, 420);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
  });

  it('rolls back a regression only in tail latency, caught by a p99 alarm while the Average alarm stays OK', async () => {
    const result = await run('p99-latency-regression.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-latency-p99 went to ALARM at 5%',
    });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    const alarms = result.timeline.filter((e) => e.kind === 'alarm');
    // Only the p99 alarm moves; the Average alarm on the same metric and slot never leaves OK.
    expect(alarms.map((e) => e.text)).toEqual(['checkout-latency-p99 OK -> ALARM']);
    // Onset is the 5% shift (about +94 s, once the slot is healthy). The alarm needs 2 breaching minutes (the
    // partial minute of the shift counts), the second visible after ALB's 60 s metric delay: ALARM at +4:00.
    // The bound is 2 periods + the delay (180 s); v2 serves 5% of 6000 requests a minute meanwhile.
    expect(result.detectionSeconds).toBeGreaterThan(120);
    expect(result.detectionSeconds).toBeLessThanOrEqual(180);
    exposedWhileServing(result, 0.05);
  });

  it('lets the same tail regression through when the watched alarm reads the Average: only the percentile catches it', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/p99-latency-regression.yml'),
    );
    const document = structuredClone(scenario) as unknown as { world: { alarms: Record<string, unknown>[] } };
    // The watched alarm, same metric, slot and threshold (0.6 s), with Statistic Average instead of p99.
    document.world.alarms = document.world.alarms.map((alarm) => {
      if (alarm.name !== 'checkout-latency-p99') return alarm;
      const { extendedStatistic: _p99, ...rest } = alarm;
      return { ...rest, statistic: 'Average' };
    });
    const average = await runScenario(parseScenario({ ...document, expect: undefined }), baseDir);
    expect(average).toMatchObject({ outcome: 'promoted', servingVersion: 'v2', detectionSeconds: null });
    expect(average.timeline.filter((e) => e.kind === 'alarm')).toEqual([]);
    // v2 served its slow tail all along: the regression was there, no watched alarm saw it.
    expect(average.exposedRequests).toBeGreaterThan(100_000);
  });

  it('detects a minute sooner when a scenario sets the metric delay to 0', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/p99-latency-regression.yml'),
    );
    const instant = parseScenario({
      ...scenario,
      world: { ...scenario.world, cloudwatch: { metricDelaySeconds: 0 } },
    });
    const result = await runScenario(instant, baseDir);
    expect(result.expectations?.failures).toEqual([]);
    const delayed = await run('p99-latency-regression.yml');
    expect((delayed.detectionSeconds ?? 0) - (result.detectionSeconds ?? 0)).toBe(60);
    exposedWhileServing(result, 0.05);
  });

  it('reads TargetResponseTime Maximum as the slowest request of the minute, not the slowest version average', async () => {
    // ALB's Maximum of TargetResponseTime is the slowest request: v2's 5% share (about 300 requests a
    // minute, p99 1.2 s) has requests slower than 0.6 s every minute, although its mean is 90 ms.
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples/p99-latency-regression.yml'),
    );
    const maximum = parseScenario({
      ...scenario,
      world: {
        ...scenario.world,
        alarms: scenario.world.alarms.map((alarm) =>
          alarm.name === 'checkout-latency-p99'
            ? { ...alarm, extendedStatistic: undefined, statistic: 'Maximum' as const }
            : alarm,
        ),
      },
    });
    const result = await runScenario(maximum, baseDir);
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
  });

  it('fails the bake when a watched alarm is deleted mid-bake, instead of passing on an alarm it cannot read', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/healthy-canary.yml'));
    const deleted = parseScenario({
      ...scenario,
      events: [{ at: '7m', alarm: { name: 'checkout-latency-p99', delete: true } }],
      expect: undefined,
    });
    const result = await runScenario(deleted, baseDir);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'watched alarm(s) disappeared during the bake: checkout-latency-p99',
    });
    // No event comes from a deleted alarm: the bake ends at its timeout (the 5% shift + 10m) and reads it missing.
    const shiftAt = result.timeline.find((e) => e.kind === 'traffic')?.t ?? 0;
    expectSoonAfter(result.notifications.find((n) => n.message.event === 'rolled_back')?.t, shiftAt + 600);
    expect(result.timeline.filter((e) => e.kind === 'alarm').map((e) => [e.t, e.text])).toEqual([
      [420, 'checkout-latency-p99 deleted'],
    ]);
  });

  it('lets a scenario force a watched alarm to INSUFFICIENT_DATA: the next evaluation puts it back, the bake goes on', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/healthy-canary.yml'));
    const forced = parseScenario({
      ...scenario,
      events: [{ at: '6m30s', alarm: { name: 'checkout-latency-p99', state: 'INSUFFICIENT_DATA' } }],
    });
    const result = await runScenario(forced, baseDir);
    expect(result.expectations?.failures).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'alarm').map((e) => [e.t, e.text])).toEqual([
      [390, 'checkout-latency-p99 OK -> INSUFFICIENT_DATA'],
      [420, 'checkout-latency-p99 INSUFFICIENT_DATA -> OK'],
    ]);
  });

  it('keeps shipping when SNS is down: a failed notification never rolls a release back', async () => {
    const result = await run('notifications-down.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status, e.outcome])).toEqual([
      ['v2', 'SUCCEEDED', 'promoted'],
      ['v3', 'SUCCEEDED', 'promoted'],
    ]);
    expect(result.releases.map((r) => [r.toVersion, r.status])).toEqual([
      ['v3', 'promoted'],
      ['v2', 'promoted'],
    ]);
  });

  it('retries an alarm event whose resume was throttled, with the watch still registered', async () => {
    const result = await run('alarm-resume-throttled.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'lambda').map((e) => e.text)).toEqual([
      'alarmEvents failed: TransientAwsError: ThrottlingException: Rate exceeded (retry 1 of 2)',
    ]);
    // Lambda retries the event a minute after the failed attempt, which itself took the SDK's two throttling
    // backoffs (at most 1 s and 2 s, jittered, in virtual time) and AWS's latencies after the alarm.
    expect(result.rollbackReactionSeconds).toBeGreaterThanOrEqual(60);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(66);
  });

  it('stops what is still running at the time limit and reports it, without running further states', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/healthy-canary.yml'));
    const result = await runScenario(
      parseScenario({ ...scenario, until: '10m', expect: undefined }),
      baseDir,
    );
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: "still running when the scenario's time limit (10m) was reached",
      servingVersion: null,
      traffic: { 'blue (v1)': 95, 'green (v2)': 5 },
    });
    expect(result.executions).toEqual([
      expect.objectContaining({ status: 'ABORTED', error: 'SandboxTimeLimit' }),
    ]);
    expect(result.virtualSeconds).toBe(600);
  });

  it('rolls a promoted release back to the warm old slot when an alarm fires during the rollback window', async () => {
    const result = await run('alarm-after-promotion.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.reason).toBe(
      'alarm checkout-green-5xx went to ALARM after promotion, during the rollback window',
    );
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(events(result)).toEqual(['started', 'promoted', 'rolled_back']);
    // The subject stays under SNS's 100 characters, shortening the reason; the message keeps it whole.
    expect(result.notifications[2]?.subject).toContain(
      'rolled back to v1: alarm checkout-green-5xx went to ALARM after',
    );
    expect(result.notifications[2]?.message.reason).toContain('after promotion');
    expect(result.releases[0]).toMatchObject({ status: 'rolled_back', toVersion: 'v2' });
    // Promoted after the three bakes, rolled back inside the 15-minute window, at once.
    const [, promoted, rolledBack] = result.notifications;
    expect(promoted?.t).toBeGreaterThanOrEqual(90 + 3 * 600);
    expect(rolledBack?.t).toBeLessThan((promoted?.t ?? 0) + 15 * 60);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-green: scaled to 0 tasks'),
    ).toBe(true);
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-blue: scaled to 0 tasks'),
    ).toBe(false);
  });

  it('releases the lock even when reporting keeps failing, so the next push proceeds within minutes', async () => {
    const result = await run('report-fails.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.outcome])).toEqual([
      ['v2', 'failed'],
      ['v3', 'promoted'],
    ]);
    expect(result.executions[0]).toMatchObject({ error: 'ReleaseFailed' });
    expect(result.executions[0]?.cause).toContain('the failed notification was NOT sent');
    expect(result.releases.find((r) => r.toVersion === 'v2')).toMatchObject({ status: 'failed' });
    // The pipeline's own counter (the DORA metrics of v3's promotion are on the timeline too).
    expect(
      result.timeline
        .filter((e) => e.kind === 'metric' && !e.text.startsWith('Shipline/DORA/'))
        .map((e) => e.text),
    ).toEqual(['Shipline/NotificationsLost Service=checkout +1']);
    // v3 (pushed at 1 minute) started within minutes, once the failure report had been retried for its
    // jittered retry-for-minutes window (at most ~11 minutes), not after the lock's lease of about two hours.
    expect(result.notifications[0]).toMatchObject({ message: { event: 'started', toVersion: 'v3' } });
    expect(result.notifications[0]?.t).toBeGreaterThanOrEqual(60);
    expect(result.notifications[0]?.t).toBeLessThanOrEqual(60 + 12 * 60);
  });

  it('says in the execution when SNS stays down for a failed notification, and counts it', async () => {
    const result = await run('failed-notification-lost.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: 'ReleaseFailed',
        cause:
          'Lambda.Unknown: Runtime exited with error: signal: killed (the failed notification was NOT sent: AuthorizationErrorException: not authorized to perform SNS:Publish)',
      }),
    ]);
    expect(result.timeline.filter((e) => e.kind === 'metric').map((e) => e.text)).toEqual([
      'Shipline/NotificationsLost Service=checkout +1',
    ]);
    // Retried on every error class before giving up: the first attempt and 15 retries. Each attempt also
    // published the failure on the release-events topic (refused too, and never in the release's way),
    // as did the lost-notification record at the end: 16 x 2 + 1.
    expect(
      result.timeline.filter((e) => e.text === 'Publish: injected AuthorizationErrorException'),
    ).toHaveLength(16 * 2 + 1);
    expect(result.releaseEvents).toEqual([]);
  });

  it('does not roll back a promoted release under a newer one that took the service during the window', async () => {
    const result = await run('alarm-after-handover.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((e) => [e.version, e.status, e.outcome])).toEqual([
      ['v2', 'SUCCEEDED', 'promoted'],
      ['v3', 'SUCCEEDED', 'promoted'],
    ]);
    expect(result.releases.find((r) => r.toVersion === 'v2')).toMatchObject({ status: 'promoted' });
    // v2's window ended when green's alarm fired (v3 owned the service by then): blue, now v3's, untouched.
    const alarm = result.timeline.find((e) => e.kind === 'alarm' && e.text.endsWith('-> ALARM'));
    const v2End = result.timeline.find((e) => e.kind === 'execution' && e.execution === 'v2');
    expectSoonAfter(v2End?.t, alarm?.t ?? Number.NaN);
    expect(result.timeline.filter((e) => e.kind === 'ecs' && e.text.endsWith('scaled to 0 tasks'))).toEqual([
      expect.objectContaining({ text: 'checkout-green: scaled to 0 tasks' }),
    ]);
  });

  it('retries a failing rollback for minutes, changing the listener rule once and scaling green on every try', async () => {
    const result = await run('rollback-retried.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text)).toEqual([
      'blue 95% / green 5%',
      'blue 100% / green 0%',
    ]);
    expect(
      result.timeline.filter((e) => e.text === 'UpdateService: injected AccessDeniedException'),
    ).toHaveLength(10);
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-green: scaled to 0 tasks'),
    ).toBe(true);
    expect(result.executions[0]).toMatchObject({ error: 'ReleaseRolledBack' });
  });
  it('keeps a throttled rollback trying for minutes of virtual time until blue serves 100% again', async () => {
    const result = await run('rollback-retried-for-minutes.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    const alarmAt = result.timeline.find((e) => e.text === 'checkout-green-5xx OK -> ALARM')?.t ?? 0;
    const shifts = result.timeline.filter((e) => e.kind === 'traffic');
    expect(shifts.map((e) => e.text)).toEqual(['blue 95% / green 5%', 'blue 100% / green 0%']);
    // Ten rollback attempts fail (three throttled ModifyRule calls each, the SDK's backoff between them),
    // each retried by the state's Retry after its jittered, growing interval: minutes, not an instant.
    const stateRetries = result.timeline.filter(
      (e) => e.kind === 'retry' && e.text.startsWith('Roll back to the stable version: TransientAwsError'),
    );
    expect(stateRetries.map((e) => e.text.replace(/ in .*$/, ''))).toEqual(
      Array.from(
        { length: 10 },
        (_, i) => `Roll back to the stable version: TransientAwsError, retry ${i + 1} of 16`,
      ),
    );
    expect(
      result.timeline.filter((e) => e.kind === 'retry' && e.text.startsWith('ElasticLoadBalancingV2 SDK:')),
    ).toHaveLength(20);
    const backAt = shifts[1]?.t ?? 0;
    expect(backAt - alarmAt).toBeGreaterThan(3 * 60);
    expect(backAt - alarmAt).toBeLessThan(13 * 60);
    expectSoonAfter(result.notifications.find((n) => n.message.event === 'rolled_back')?.t, backAt);
  });

  it('gives the same timeline for the same seed, byte for byte, and another one for another seed', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/transient-faults.yml'));
    const timeline = async (seed?: number, fromScenario?: number) => {
      const result = await runScenario(
        fromScenario === undefined ? scenario : parseScenario({ ...scenario, seed: fromScenario }),
        baseDir,
        seed === undefined ? {} : { seed },
      );
      return { seed: result.seed, json: JSON.stringify(result.timeline) };
    };

    const first = await timeline(42);
    const again = await timeline(undefined, 42);
    const other = await timeline(7);
    const byDefault = await timeline();

    expect(first.json).toContain('"kind":"retry"');
    expect(again).toEqual(first);
    expect(other.json).not.toBe(first.json);
    expect(byDefault.seed).toBe(1);
  });

  it('releases three services of one world at once and rolls back only the one whose version regresses', async () => {
    const result = await run('three-services.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.services.checkout).toMatchObject({ outcome: 'promoted', servingVersion: 'c2' });
    expect(result.services.payments).toMatchObject({
      outcome: 'rolled_back',
      fromVersion: 'p1',
      toVersion: 'p2',
      servingVersion: 'p1',
      traffic: { 'blue (p1)': 100 },
    });
    expect(result.services.payments?.reason).toContain('payments-green-5xx');
    expect(result.services.search).toMatchObject({ outcome: 'promoted', servingVersion: 's2' });
    const events = (name: string) => result.services[name]?.notifications.map((n) => n.message.event);
    expect(events('payments')).toEqual(['started', 'rolled_back']);
    expect(events('search')).toEqual(['started', 'promoted']);
    // Each service's traffic moved on its own listener rule, and the timeline says whose it was.
    const shifts = (name: string) =>
      result.timeline.filter((e) => e.kind === 'traffic' && e.service === name).map((e) => e.text);
    expect(shifts('payments')).toEqual([
      'blue 95% / green 5%',
      'blue 75% / green 25%',
      'blue 100% / green 0%',
    ]);
    expect(shifts('search')).toEqual(['blue 95% / green 5%', 'blue 75% / green 25%', 'blue 0% / green 100%']);
    // So does every entry about one service's ECS services, alarms and notifications (here each names it).
    const about = result.timeline.filter((e) => ['ecs', 'notify'].includes(e.kind) || serviceAlarmChange(e));
    expect(about.filter((e) => e.service === undefined || !e.text.includes(e.service))).toEqual([]);
    expect(new Set(about.map((e) => e.service))).toEqual(new Set(['checkout', 'payments', 'search']));
    // The top level is the scenario's own service (checkout).
    expect(result).toMatchObject({ service: 'checkout', outcome: 'promoted', servingVersion: 'c2' });
    expect(result.executions.map((e) => e.version)).toEqual(['c2']);
  });

  it('waits for a lock an earlier release still holds and takes it once its lease has expired', async () => {
    const result = await run('held-lock.yml');
    expect(result.expectations?.failures).toEqual([]);
    // The lease runs out at +20 min: the waiting release's one wait times out just past it (no wake-up
    // comes from a holder that is gone), and it takes the lock then, not at a later fixed recheck.
    const waits = result.timeline.filter(
      (e) => e.kind === 'state' && e.text === 'Wait for the running release to finish',
    );
    expect(waits).toHaveLength(1);
    const deployed = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text.startsWith('checkout-green: deployment'),
    );
    // (Then AWS's latencies: EventBridge, Lambda starts and the calls before the deployment and the notice.)
    expectSoonAfter(deployed?.t, 20 * 60);
    expectSoonAfter(result.notifications[0]?.t, 20 * 60);
    // The earlier release's record is in the table, older than this one.
    expect(result.releases.map((r) => [r.releaseId, r.status])).toEqual([
      [result.executions[0]?.name, 'promoted'],
      ['earlier-release', 'in_progress'],
    ]);
  });

  it('keeps the stable slot the last promotion recorded when the listener rule starts split', async () => {
    const result = await run('interrupted-split.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ fromVersion: 'v1', toVersion: 'v3', servingVersion: 'v3' });
    // Green still took 60% of production: it is taken out of production before v3 is deployed there, so v3
    // serves nothing before its first step (5%).
    const firstTraffic = result.timeline.find((e) => e.kind === 'traffic');
    const firstDeploy = result.timeline.find((e) => e.kind === 'ecs' && e.text.includes('deployment'));
    expect(firstTraffic?.text).toBe('blue 100% / green 0%');
    expect(firstTraffic?.t).toBeLessThanOrEqual(firstDeploy?.t ?? 0);
    // People are told: the started notification names the split, the deploy step the share moved back.
    expect(result.notifications[0]?.message).toMatchObject({
      event: 'started',
      splitAtStart:
        'blue 40% / green 60%: green is taken out of production (all traffic on blue) before the new version is deployed there',
    });
    expect(result.releaseEvents.map((e) => e.message.text)).toContain(
      'Deploying v3 to checkout-green, with no production traffic yet: it took 60% of production (a split left behind), put back on checkout-blue first',
    );
    expect(result.timeline.find((e) => e.kind === 'ecs' && e.text.includes('deployment'))?.text).toMatch(
      /^checkout-green: deployment/,
    );
    // Without that history, the heavier green (v2) is taken as stable and v3 goes to blue.
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'interrupted-split.yml'),
    );
    const forgotten = await runScenario(
      parseScenario({
        ...structuredClone(scenario),
        world: { ...scenario.world, history: [] },
        expect: undefined,
      }),
      baseDir,
    );
    expect(forgotten).toMatchObject({ outcome: 'promoted', fromVersion: 'v2', servingVersion: 'v3' });
    expect(forgotten.timeline.find((e) => e.kind === 'ecs' && e.text.includes('deployment'))?.text).toMatch(
      /^checkout-blue: deployment/,
    );
  });

  it('releases blue/green: checks on the test route pass, one swap, a bake, promoted', async () => {
    const result = await run('blue-green-healthy.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2', exposedRequests: 0 });
    expect(result.traffic).toEqual({ 'green (v2)': 100 });
    expect(events(result)).toEqual(['started', 'promoted']);
    // The test rule to green for the checks, production in one swap, the test rule back at the stable slot.
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual([
      'test rule: blue 0% / green 100%',
      'test route GET https://test.checkout.example.com/health: 200 from v2',
      'blue 0% / green 100%',
      'test rule: blue 100% / green 0%',
    ]);
    expect(result.productionWeightChanges).toBe(1);
    expect(result.timeline.filter((e) => e.kind === 'lambda').map((e) => e.text)).toEqual([
      'checkout-login-smoke invoked (reaches v2): {"passed":true}',
    ]);
    expect(result.awsCalls['Lambda:Invoke']).toBe(1);
  });

  it('pauses blue/green for a person, who approves it with shipline approve: swapped at once, promoted', async () => {
    const result = await run('blue-green-approved.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2', exposedRequests: 0 });
    expect(result.traffic).toEqual({ 'green (v2)': 100 });
    expect(events(result)).toEqual(['started', 'paused', 'promoted']);
    const paused = result.notifications[1];
    const release = String(paused?.message.release);
    expect(paused?.subject).toMatch(
      /^\[shipline\] checkout: v2 paused, waiting for approval \(until \d\d:\d\d UTC\)$/,
    );
    expect(paused?.message).toMatchObject({
      event: 'paused',
      step: 'Wait for approval to swap (at most 1h, then roll back)',
      timeoutSeconds: 3600,
      commands: {
        approve: expect.stringMatching(
          new RegExp(
            `^shipline approve --release ${release} --service checkout --table \\S+ --region us-east-1$`,
          ),
        ),
        abort: expect.stringMatching(new RegExp(`^shipline abort --release ${release} --reason "<why>" `)),
      },
    });
    // The pause began after the checks, ends when the person approves at minute 12: the swap follows at once.
    const states = result.timeline.filter((e) => e.kind === 'state');
    const pausedAt = states.find((e) => e.text.endsWith('Wait for a person to resume the release'))?.t ?? 0;
    expect(pausedAt).toBeLessThan(3 * 60);
    expect(
      Date.parse(String(paused?.message.until)) - Date.parse(String(paused?.message.at)),
    ).toBeLessThanOrEqual(3600 * 1000);
    const swap = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 0% / green 100%');
    expectSoonAfter(swap?.t, 12 * 60);
    // The approve event runs the CLI's own command as the scenario's operator.
    expect(result.cli).toEqual([
      {
        t: 720,
        command: 'approve checkout',
        exitCode: 0,
        stdout: `approved the pause of release ${release}: it goes on with its next step\n`,
        stderr: '',
        endedT: 720,
      },
    ]);
    expect(result.productionWeightChanges).toBe(1);
  });

  it('rolls a canary back when a person aborts it during its 25% bake, naming their reason', async () => {
    const result = await run('abort-during-bake.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'aborted by a person: wrong feature flags in this build',
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    const rolledBack = result.notifications[1];
    expect(rolledBack?.subject).toBe(
      '[shipline] checkout: v2 rolled back to v1: aborted by a person: wrong feature flags in this build',
    );
    expect(rolledBack?.message).toMatchObject({
      reason: 'aborted by a person: wrong feature flags in this build',
    });
    // Aborted at minute 15, in the 25% bake (which would have ended near minute 21): rolled back at once.
    const shifts = result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
    expect(shifts).toEqual(['blue 95% / green 5%', 'blue 75% / green 25%', 'blue 100% / green 0%']);
    expectSoonAfter(rolledBack?.t, 15 * 60);
  });

  it('rolls blue/green back on a failed smoke test without ever touching production traffic', async () => {
    const result = await run('blue-green-smoke-test-fails.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'check login-smoke failed: checkout-login-smoke: login returns 500 for a valid user',
      productionWeightChanges: 0,
      exposedRequests: 0,
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    // Only the test rule moved: to green for the checks, and back to the stable slot on the rollback.
    const rules = result.timeline
      .filter((e) => e.kind === 'traffic' && e.text.includes('%'))
      .map((e) => e.text);
    expect(rules).toEqual(['test rule: blue 0% / green 100%', 'test rule: blue 100% / green 0%']);
    expect(result.awsCalls['ElasticLoadBalancingV2:ModifyRule']).toBe(2);
    expect(
      result.timeline.some((e) => e.kind === 'ecs' && e.text === 'checkout-green: scaled to 0 tasks'),
    ).toBe(true);
  });

  it('swaps blue/green back in one call when an alarm fires after the swap', async () => {
    const result = await run('blue-green-alarm-after-swap.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 100%',
      productionWeightChanges: 2,
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    const production = result.timeline
      .filter((e) => e.kind === 'traffic' && /^blue \d+% \/ green \d+%$/.test(e.text))
      .map((e) => e.text);
    expect(production).toEqual(['blue 0% / green 100%', 'blue 100% / green 0%']);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
  });

  /** The production listener rule's weights as the pipeline set them, in order (test rule changes left out). */
  const productionShifts = (result: ScenarioResult): string[] =>
    result.timeline
      .filter((e) => e.kind === 'traffic' && /^blue \d+% \/ green \d+%$/.test(e.text))
      .map((e) => e.text);

  it('promotes a healthy linear release, 25% more every 3 minutes', async () => {
    const result = await run('linear-healthy.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2', exposedRequests: 0 });
    expect(events(result)).toEqual(['started', 'promoted']);
    expect(productionShifts(result)).toEqual([
      'blue 75% / green 25%',
      'blue 50% / green 50%',
      'blue 25% / green 75%',
      'blue 0% / green 100%',
    ]);
    // Four 3-minute bakes after a 90 s deployment.
    expect(result.notifications[1]?.t).toBeGreaterThanOrEqual(90 + 4 * 180);
  });

  it('rolls a linear release back at its middle step, when the regression appears at 50%', async () => {
    const result = await run('linear-fails-mid-way.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 50%',
    });
    expect(events(result)).toEqual(['started', 'rolled_back']);
    // 75% is never reached.
    expect(productionShifts(result)).toEqual([
      'blue 75% / green 25%',
      'blue 50% / green 50%',
      'blue 100% / green 0%',
    ]);
    expect(result.rollbackReactionSeconds).toBeLessThanOrEqual(ROLLBACK_REACTION_SECONDS);
    // v2 served half of 6000 requests a minute from onset (the 50% shift) until blue had it all again.
    exposedWhileServing(result, 0.5);
  });

  it('promotes a healthy all-at-once release after one shift and one bake', async () => {
    const result = await run('all-at-once-healthy.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2', productionWeightChanges: 1 });
    expect(productionShifts(result)).toEqual(['blue 0% / green 100%']);
    expect(events(result)).toEqual(['started', 'promoted']);
    expect(result.notifications[1]?.t).toBeGreaterThanOrEqual(90 + 600);
  });

  it('rolls an all-at-once release back in one call when the alarm fires', async () => {
    const result = await run('all-at-once-rolled-back.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'alarm checkout-green-5xx went to ALARM at 100%',
    });
    expect(productionShifts(result)).toEqual(['blue 0% / green 100%', 'blue 100% / green 0%']);
    expect(events(result)).toEqual(['started', 'rolled_back']);
    exposedWhileServing(result, 1);
  });

  it('rolls a canary back when its smoke test fails before any production traffic moved', async () => {
    const result = await run('checks-before-canary.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason: 'check login-smoke failed: checkout-login-smoke: login returns 500 for a valid user',
      productionWeightChanges: 0,
      exposedRequests: 0,
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(productionShifts(result)).toEqual([]);
    expect(result.timeline.filter((e) => e.kind === 'lambda').map((e) => e.text)).toEqual([
      'checkout-login-smoke invoked (reaches v2): {"passed":false,"reason":"login returns 500 for a valid user"}',
    ]);
    expect(events(result)).toEqual(['started', 'rolled_back']);
  });

  it('pauses on an inconclusive bake under the pause policy, and rolls back when nobody resumes it', async () => {
    const result = await run('inconclusive-bake-paused.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      reason:
        'nobody resumed the release at step "Wait for a person: the 10m bake at 100% was inconclusive" within 1800 seconds',
    });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    // The pause tells people the release waits for them (and how to approve or abort it).
    expect(events(result)).toEqual(['started', 'paused', 'rolled_back']);
    const states = result.timeline.filter((e) => e.kind === 'state');
    const confirmed = states.find((e) => e.text.endsWith('Confirm alarms at the end of the bake'));
    const paused = states.find((e) => e.text.endsWith('Wait for a person to resume the release'));
    const timedOut = states.find((e) => e.text.endsWith('Nobody resumed the release in time'));
    // The 10-minute bake, then the service's 30-minute inconclusive pause, then the rollback.
    expectSoonAfter(confirmed?.t, 90 + 600);
    expectSoonAfter(paused?.t, confirmed?.t ?? 0);
    expectSoonAfter(timedOut?.t, (paused?.t ?? 0) + 30 * 60);
    expect(productionShifts(result)).toEqual(['blue 0% / green 100%', 'blue 100% / green 0%']);
  });

  it('promotes after an inconclusive bake under the pass policy, saying it was treated as passed', async () => {
    const result = await run('inconclusive-bake-passed.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.executions[0]?.lastNote).toBe(
      'inconclusive: alarm checkout-orders-placed stayed INSUFFICIENT_DATA for the whole 10m bake at 100%, so it could not tell whether the new version is healthy; the service treats an inconclusive bake as passed',
    );
  });
});

describe('Sandbox: Slack threads', () => {
  it("keeps a healthy canary's release in one thread: root updated in place, a reply per transition, the outcome in the channel", async () => {
    const result = await run('slack-healthy-canary.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    const [thread, ...others] = result.slack?.threads ?? [];
    expect(others).toEqual([]);
    expect(thread?.channel).toBe('C0RELEASES');
    // Every release event became exactly one reply, in the order they were published.
    const published = result.timeline.filter((e) => e.text.startsWith('Slack C0RELEASES thread'));
    expect(thread?.replies.length).toBe(published.length);
    expect(thread?.replies.filter((r) => r.broadcast).map((r) => r.text.split('\n')[0])).toEqual([
      ':white_check_mark: *checkout v1 → v2*: v2 promoted: it serves 100% on green',
    ]);
    expect(thread?.root).toContain(':white_check_mark: Promoted');
    expect(thread?.buttons).toEqual([]);
    expect(result.slack?.refusals).toEqual({});
  });

  it('retries the events Slack rate-limited: every transition is replied exactly once (deliveries are unordered; the root is ordered by sequence)', async () => {
    const limited = await run('slack-rate-limited.yml');
    expect(limited.expectations?.failures).toEqual([]);
    expect(limited).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    const healthy = await run('slack-healthy-canary.yml');
    const firstLines = (result: ScenarioResult) =>
      (result.slack?.threads[0]?.replies ?? []).map((reply) => reply.text.split('\n')[0]);
    // The same replies as without the rate limit, none twice, and the root ends where it would have. Replies
    // to events published in the same second may land in either order (SNS does not order deliveries, and a
    // cold execution environment reads the bot token before it posts): the root, not the thread, is ordered.
    expect(firstLines(limited).sort()).toEqual(firstLines(healthy).sort());
    expect(firstLines(limited).length).toBe(new Set(firstLines(limited)).size);
    expect(limited.slack?.threads[0]?.root).toBe(healthy.slack?.threads[0]?.root);
    expect(limited.slack?.refusals).toEqual({ 'chat.update: http_429': 3 });
    expect(limited.deadLetters).toEqual([]);
  });

  it('promotes on time while Slack is down: each event is retried twice, then left in the dead-letter queue', async () => {
    const result = await run('slack-down.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.slack?.threads).toEqual([]);
    expect(Object.keys(result.slack?.refusals ?? {})).toEqual(['chat.postMessage: http_503']);
    expect(result.deadLetters.length).toBeGreaterThan(0);
    expect(result.deadLetters.every((letter) => letter.fn === 'slackNotify')).toBe(true);
  });

  it('promotes with a revoked bot token: every post is refused (invalid_auth), logged and not retried', async () => {
    const result = await run('slack-invalid-token.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    const refused = result.slack?.refusals['chat.postMessage: invalid_auth'] ?? 0;
    // One refusal per release event: none was retried.
    expect(refused).toBe(
      result.timeline.filter((e) => e.text === 'Slack chat.postMessage: invalid_auth').length,
    );
    expect(refused).toBeGreaterThan(5);
    expect(result.deadLetters).toEqual([]);
  });
});

describe('Sandbox: Slack buttons', () => {
  const SLACK_ACTOR = { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' };

  it('a listed user presses Approve on a pause: the release swaps and is promoted, recorded as that user', async () => {
    const result = await run('slack-approve-pause.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.releases.at(-1)?.actions).toEqual([
      expect.objectContaining({
        command: 'resume',
        actor: SLACK_ACTOR,
        reason: 'Approve pressed in Slack by alice',
      }),
    ]);
    // The pause's reply no longer offers its buttons, and says who answered.
    const pause = result.slack?.threads[0]?.replies.find((reply) => reply.text.includes('Paused'));
    expect(pause?.buttons).toEqual([]);
    expect(pause?.text).toContain(':ballot_box_with_check: Approve pressed by alice via Slack · 10:12 UTC');
    const click = result.slack?.clicks[0];
    expect(click).toMatchObject({ button: 'approve', status: 200 });
    // Slack gives up after 3 s: the click is answered with the command done well before.
    expect(click?.ms).toBeLessThan(3000);
  });

  it('a listed user presses Promote now during the 5% bake: it ends as passed at once, the canary goes on', async () => {
    const result = await run('slack-promote-click.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    // 25% came at the click (5 minutes), not at the end of the 10-minute bake.
    const shift = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 75% / green 25%');
    expectSoonAfter(shift?.t, 300, 5);
    expect(result.releases.at(-1)?.actions).toEqual([
      expect.objectContaining({
        command: 'promote',
        actor: SLACK_ACTOR,
        reason: 'Promote now pressed in Slack by alice',
      }),
    ]);
  });

  it("verifies a click against two Slack apps' signing secrets, read at once: as fast as with one app", async () => {
    const [twoApps, oneApp] = await Promise.all([
      run('slack-two-apps-click.yml'),
      run('slack-promote-click.yml'),
    ]);
    expect(twoApps.expectations?.failures).toEqual([]);
    expect(twoApps).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    // Both apps' signing secrets were read (once each), side by side: the click took as long as with one.
    expect(twoApps.awsCalls['SecretsManager:GetSecretValue']).toBe(2);
    expect(oneApp.awsCalls['SecretsManager:GetSecretValue']).toBe(1);
    const [click] = twoApps.slack?.clicks ?? [];
    expect(click).toMatchObject({ status: 200, told: [expect.stringContaining('ended the bake')] });
    expect(click?.ms).toBe(oneApp.slack?.clicks[0]?.ms);
  });

  it('a listed user presses Reject on a pause: the release rolls back before the swap, production never moved', async () => {
    const result = await run('slack-reject-pause.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({
      outcome: 'rolled_back',
      servingVersion: 'v1',
      productionWeightChanges: 0,
    });
    expect(result.releases.at(-1)?.actions).toEqual([
      expect.objectContaining({
        command: 'reject',
        actor: SLACK_ACTOR,
        reason: 'Reject pressed in Slack by alice',
      }),
    ]);
    // The answered pause and the rollback it caused both say who did it.
    const [pause, outcome] = ['Paused', 'Rolled back'].map((words) =>
      result.slack?.threads[0]?.replies.find((reply) => reply.text.includes(words)),
    );
    expect(pause?.text).toContain(':ballot_box_with_check: Reject pressed by alice via Slack · 10:12 UTC');
    expect(outcome?.text).toContain('traffic v2 0% · v1 100% · by alice via Slack');
  });

  it('a listed user presses Roll back now during a bake: v1 serves again, the notification names who', async () => {
    const result = await run('slack-rollback-click.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    expect(result.notifications[1]?.message.reason).toBe(
      'aborted by a person: Roll back now pressed in Slack by alice',
    );
    expect(result.releases.at(-1)?.actions).toEqual([
      expect.objectContaining({ command: 'rollback', actor: SLACK_ACTOR }),
    ]);
    // The thread's outcome, also in the channel, says why and who did it; the root where the release got to.
    const outcome = result.slack?.threads[0]?.replies.find((reply) => reply.broadcast);
    expect(outcome?.text).toContain(
      'Rolled back: v1 serves 100% again\n> aborted by a person: Roll back now pressed in Slack by alice',
    );
    expect(outcome?.text).toContain('10:14 UTC · step 6 of 9 · traffic v2 0% · v1 100% · by alice via Slack');
    expect(result.slack?.threads[0]?.root).toContain(
      '*Step*\nrolled back at step 6 of 9 (25%) · Bake 10m watching 2 alarms',
    );
    expect(result.slack?.clicks[0]?.told).toEqual([
      'aborted release checkout-93bf26337dddd824f7ca7fb711d1d602: it rolls back to v1',
    ]);
  });

  it("refuses an unlisted user's click (403, told why) and leaves the release alone", async () => {
    const result = await run('slack-unlisted-click.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.releases.at(-1)?.actions ?? []).toEqual([]);
    expect(result.slack?.clicks.map((c) => [c.user, c.status, c.body])).toEqual([
      ['U0VISITOR', 403, 'not allowed'],
    ]);
  });

  it('refuses forged, expired and replayed clicks (401) and acts on the real one once', async () => {
    const result = await run('slack-forged-clicks.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(result.slack?.clicks.map((c) => [c.signed, c.status, c.body])).toEqual([
      [false, 401, 'invalid signature'],
      ['expired', 401, 'request expired'],
      [true, 200, ''],
      ['replayed', 401, 'request already processed'],
    ]);
    // Only the real click reached operate.
    expect(result.releases.at(-1)?.actions?.map((a) => a.command)).toEqual(['resume']);
  });
});

describe('Sandbox: the shipline CLI against the simulated account', () => {
  it('deploy --wait starts a release as a push would, prints each transition and exits 0 once promoted', async () => {
    const result = await run('cli-deploy-wait-promoted.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    const [deploy] = result.cli;
    expect(deploy?.exitCode).toBe(0);
    const lines = deploy?.stdout.trim().split('\n') ?? [];
    expect(lines[0]).toBe(
      'started release checkout-93bf26337dddd824f7ca7fb711d1d602 of checkout (v2); following it (at most 2h)',
    );
    // It follows the release through 5%, 25%, 100% and the rollback window, then says how it ended.
    for (const state of [
      'step 4 of 9 (Bake 10m watching 2 alarms): baking, 5% on v2',
      'step 6 of 9 (Bake 10m watching 2 alarms): baking, 25% on v2',
      'step 8 of 9 (Bake 10m watching 2 alarms): baking, 100% on v2',
      'rollback-window, 100% on v2, rollback window ends in',
    ])
      expect(lines.some((line) => line.includes(state))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\+\S+ promoted: checkout serves v2$/);
    // The deploy request came from the operator, through the trigger function (the same name a push gets).
    expect(result.executions.map((execution) => execution.name)).toEqual([
      'checkout-93bf26337dddd824f7ca7fb711d1d602',
    ]);
  });

  /** The command a scenario ran at `t` virtual seconds. */
  const command = (result: ScenarioResult, t: number) => result.cli.find((each) => each.t === t);

  it('deploy --image REPOSITORY_URI:TAG --wait releases the digest ECR gives the tag; an unknown tag exits 2 and starts nothing', async () => {
    const result = await run('cli-deploy-by-tag.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(command(result, 0)?.exitCode).toBe(0);
    // The release is pinned to v2's digest (DescribeImages), never to the moving tag.
    const v2 = 'sha256:93bf26337dddd824f7ca7fb711d1d6029ba20da6066b1eccbaabffbbb1403eb0';
    expect(result.releases.map((release) => release.image)).toEqual([
      { digest: v2, uri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${v2}`, tag: 'v2' },
    ]);
    expect(command(result, 60)).toMatchObject({ exitCode: 2, stdout: '' });
    expect(command(result, 60)?.stderr).toContain(
      "imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'checkout' in the registry with id '123456789012'",
    );
    // The unknown tag started nothing: one trigger invocation, one execution.
    expect(result.awsCalls['Lambda:Invoke']).toBe(1);
    expect(result.executions.map((execution) => execution.name)).toEqual([
      'checkout-93bf26337dddd824f7ca7fb711d1d602',
    ]);
    expect(result.awsCalls['ECR:DescribeImages']).toBe(2);
  });

  it('deploy --wait exits 1 when the release rolls back, naming the alarm', async () => {
    const result = await run('cli-deploy-wait-rolled-back.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
    expect(command(result, 0)).toMatchObject({ exitCode: 1 });
    expect(command(result, 0)?.stdout.trim().split('\n').at(-1)).toMatch(
      /^\+\S+ rolled back: checkout stays on v1 \(alarm checkout-green-5xx went to ALARM at 5%\)$/,
    );
  });

  it('deploy --wait exits 4 at its timeout and leaves the release running to its promotion', async () => {
    const result = await run('cli-deploy-wait-timeout.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    expect(command(result, 0)).toMatchObject({ exitCode: 4, endedT: expect.any(Number) });
    // It gave up after 10 minutes (its last poll), long before the 30-minute canary ended.
    expectSoonAfter(command(result, 0)?.endedT, 600, 10);
  });

  it('status during a bake shows what serves, the release, its traffic share and the watched alarms', async () => {
    const result = await run('cli-status-during-bake.yml');
    expect(result.expectations?.failures).toEqual([]);
    const stdout = command(result, 360)?.stdout ?? '';
    expect(stdout).toMatch(/alarms: {4}checkout-\S+ OK, checkout-\S+ OK\n/);
    for (const alarm of ['checkout-green-5xx OK', 'checkout-latency-p99 OK']) expect(stdout).toContain(alarm);
    // The release's recorded progress: its step of the plan and the bake's time left.
    expect(stdout).toMatch(
      /step 4 of 9 \(Bake 10m watching 2 alarms\): baking, 5% on v2, bake ends in \d+m\d+s/,
    );
    const json = JSON.parse(command(result, 420)?.stdout ?? '{}') as {
      services: Array<Record<string, unknown>>;
    };
    expect(json.services[0]).toMatchObject({
      service: 'checkout',
      serving: { version: 'v1', slot: 'blue', releaseId: 'checkout-v1' },
      release: {
        releaseId: 'checkout-93bf26337dddd824f7ca7fb711d1d602',
        status: 'in_progress',
        newPercent: 5,
      },
    });
  });

  it('status --watch redraws on the virtual clock through every state and exits 0 once nothing is releasing', async () => {
    const result = await run('cli-status-watch.yml');
    expect(result.expectations?.failures).toEqual([]);
    const watch = command(result, 360);
    expect(watch?.exitCode).toBe(0);
    const drawings = (watch?.stdout ?? '').trim().split('\n\n');
    // Every 300 virtual seconds from 6m: the bakes at 5%, 25% and 100%, the rollback window, then the end.
    expect(
      drawings.map((drawing) => /(baking, \d+%|rollback-window|releasing: nothing)/.exec(drawing)?.[1]),
    ).toEqual([
      'baking, 5%',
      'baking, 5%',
      'baking, 25%',
      'baking, 25%',
      'baking, 100%',
      'baking, 100%',
      'rollback-window',
      'rollback-window',
      'rollback-window',
      'releasing: nothing',
    ]);
    expect(drawings.at(-1)).toContain('serving:   v2 (green)');
    // It exits at its first redraw after the release ended (the old slot scaled down), not before.
    const ended = result.timeline.find((entry) => entry.text === 'Release promoted')?.t ?? Number.NaN;
    expect(watch?.endedT).toBe(360 + 9 * 300);
    expect(watch?.endedT).toBeGreaterThan(ended);
    expect((watch?.endedT ?? 0) - ended).toBeLessThan(300);
    // Each drawing is in the timeline at the virtual time it was drawn.
    const drawn = result.timeline
      .filter((entry) => entry.text.includes('releasing: '))
      .map((entry) => entry.t);
    expect(drawn).toEqual(Array.from({ length: 10 }, (_, round) => 360 + round * 300));
  });

  it('history lists the newest releases first with outcome, versions, duration and reason', async () => {
    const result = await run('cli-history.yml');
    expect(result.expectations?.failures).toEqual([]);
    const lines = command(result, 3000)?.stdout.trim().split('\n') ?? [];
    expect(lines.map((line) => line.split(/\s{2,}/)[1])).toEqual([
      'OUTCOME',
      'promoted',
      'promoted',
      'rolled back',
      'reason: alarm checkout-green-5xx fired at 5%',
    ]);
  });

  it('promote ends the 5% bake early: the 25% shift follows at once, and the record keeps who promoted', async () => {
    const result = await run('cli-promote.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
    const shift25 = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 75% / green 25%');
    expectSoonAfter(shift25?.t, 5 * 60);
    expect(result.releases[0]?.actions).toEqual([
      {
        at: expect.any(String),
        command: 'promote',
        actor: {
          via: 'cli',
          id: 'arn:aws:sts::123456789012:assumed-role/shipline-operator/sandbox-operator',
        },
        reason: 'looks good',
        result: command(result, 300)?.stdout.trim(),
      },
    ]);
  });

  it('promote --full sends the promotion with full set and the release is promoted', async () => {
    const result = await run('cli-promote-full.yml');
    expect(result.expectations?.failures).toEqual([]);
    // The 5% bake ended at minute 5 and --full sends all traffic to v2 in one shift: 25% is never served,
    // and the promotion follows at once (no further bake), the rollback window still watched after it.
    const shifts = result.timeline.filter((e) => e.kind === 'traffic' && e.t >= 5 * 60);
    expect(shifts.map((e) => e.text)).toEqual(['blue 0% / green 100%']);
    expectSoonAfter(shifts[0]?.t, 5 * 60);
    const promoted = result.notifications.find((n) => n.message.event === 'promoted');
    expectSoonAfter(promoted?.t, 5 * 60);
    expect(result.releases[0]?.actions).toMatchObject([
      { command: 'promote-full', reason: 'hotfix, verified in staging' },
    ]);
  });

  it('promote --full on a rolling update: nothing to end while it rolls out, then the bake ends and v2 serves alone', async () => {
    const result = await run('cli-promote-full-rolling.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.traffic).toEqual({ 'api (v2)': 100 });
    expect(result.releases[0]?.actions).toMatchObject([
      { command: 'promote-full', reason: 'hotfix, verified in staging' },
    ]);
    expect(result.notifications[1]?.message).toMatchObject({
      event: 'promoted',
      reason: expect.stringContaining(
        'promoted in full by arn:aws:sts::123456789012:assumed-role/shipline-operator/sandbox-operator (hotfix, verified in staging)',
      ),
    });
  });

  it('abort rolls the canary back at once with the reason', async () => {
    const result = await run('cli-abort.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    const back = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 100% / green 0%');
    expectSoonAfter(back?.t, 15 * 60);
  });

  it('rollback within the rollback window swaps back to the warm old slot at once', async () => {
    const result = await run('cli-rollback-in-window.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
    const back = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 100% / green 0%');
    expectSoonAfter(back?.t, 40 * 60);
    expect(result.releases[0]?.actions).toMatchObject([
      { command: 'rollback', reason: 'conversion dropped' },
    ]);
  });

  it('rollback after the window releases the previous promoted digest again, through the plan', async () => {
    const result = await run('cli-rollback-after-window.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions.map((execution) => [execution.version, execution.outcome])).toEqual([
      ['v2', 'promoted'],
      ['v1', 'promoted'],
    ]);
    expect(result.executions[1]?.name).toMatch(/^checkout-bb75f00a6d6eb4f69bbc806056c09393-[0-9a-f]{8}$/);
    expect(result.servingVersion).toBe('v1');
  });

  it('a command with nothing to act on says what the service does and exits 2', async () => {
    const result = await run('cli-nothing-to-act-on.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.cli.map((each) => each.exitCode)).toEqual([2, 2, 2]);
    // Nothing was steered: the release went its own way to promotion.
    expect(events(result)).toEqual(['started', 'promoted']);
  });

  it('an operator whose policy does not allow steering gets AccessDenied naming the action, and the release goes on', async () => {
    const result = await run('cli-operator-access-denied.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.cli.map((each) => each.exitCode)).toEqual([0, 2]);
    expect(result.releases[0]?.actions).toBeUndefined();
  });

  it('resume approves a paused blue/green release: swapped at once, promoted, who resumed recorded', async () => {
    const result = await run('cli-resume-paused.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(events(result)).toEqual(['started', 'paused', 'promoted']);
    const swap = result.timeline.find((e) => e.kind === 'traffic' && e.text === 'blue 0% / green 100%');
    expectSoonAfter(swap?.t, 12 * 60);
    expect(result.releases[0]?.actions).toMatchObject([
      { command: 'resume', reason: 'test route checked by hand', actor: { via: 'cli' } },
    ]);
  });

  it('deploy --wait of a digest a push already released follows that release instead of starting another', async () => {
    const result = await run('cli-deploy-after-push.yml');
    expect(result.expectations?.failures).toEqual([]);
    expect(result.executions).toHaveLength(1);
    expect(command(result, 30)).toMatchObject({ exitCode: 0 });
  });
});
