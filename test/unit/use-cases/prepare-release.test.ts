import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../lib/config/load.ts';
import type { EcsAlbTarget } from '../../../lib/domain/types.ts';
import { ServiceBusyError, TargetStateError } from '../../../lib/errors.ts';
import type { ServiceState } from '../../../lib/ports/release-store.ts';
import type { SlotStatus } from '../../../lib/ports/slot-deployer.ts';
import { prepareRelease } from '../../../lib/use-cases/prepare-release.ts';
import { createFakePorts, FakeReleaseEvents } from '../fakes.ts';
import {
  BLUE_TG,
  configText,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  REGISTRY,
  releaseRequest,
  repoConfig,
  TOPIC_ARN,
  V1_DIGEST,
  V1_IMAGE,
  V2_DIGEST,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const config = repoConfig();
const settings = { region: 'us-east-1', defaultTopicArn: TOPIC_ARN };
const NOW = '2025-03-04T10:00:05.000Z';
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;
const TD_V1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7';

const recordedGreen: ServiceState = {
  service: 'checkout',
  stableSlot: 'green',
  stableVersion: 'v1-recorded',
  stableTaskDefinitionArn: TD_V1,
  latestRelease: 'checkout-previous',
  updatedAt: '2025-03-01T00:00:00.000Z',
};

const slotRunningV1 = (service: string, desiredCount: number): SlotStatus => ({
  service,
  taskDefinitionArn: TD_V1,
  desiredCount,
  runningCount: desiredCount,
  image: V1_IMAGE,
  version: 'v1',
});

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

describe('Function: prepareRelease', () => {
  let ports: ReturnType<typeof createFakePorts>;

  withFixedClock(NOW);

  beforeEach(() => {
    ports = createFakePorts();
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
    ports.deployer.slots.set('checkout-blue', slotRunningV1('checkout-blue', 4));
    ports.deployer.slots.set('checkout-green', slotRunningV1('checkout-green', 0));
    for (const alarm of ['checkout-latency-p99', 'checkout-blue-5xx', 'checkout-green-5xx']) {
      ports.alarms.set(alarm, 'OK', '2025-03-01T00:00:00.000Z');
    }
  });

  const prepareOutcome = (request = releaseRequest(), executionArn: string | undefined = EXECUTION_ARN) =>
    prepareRelease(ports, config, settings, request, V2_RELEASE_ID, executionArn);

  /** A release that goes ahead (the tests below release v2 while v1 serves). */
  const prepare = async (request = releaseRequest(), executionArn: string | undefined = EXECUTION_ARN) => {
    const outcome = await prepareOutcome(request, executionArn);
    if ('alreadyServing' in outcome) throw new Error(`expected a deployment, got: ${outcome.reason}`);
    return outcome;
  };

  describe('a push of the digest that already serves 100%', () => {
    const v1Push = () =>
      releaseRequest({
        image: { repository: 'checkout', digest: V1_DIGEST, tag: 'v1', uri: V1_IMAGE },
      });

    it('is nothing to release: answers alreadyServing and records, claims and announces nothing', async () => {
      const outcome = await prepareOutcome(v1Push());

      expect(outcome).toEqual({
        alreadyServing: true,
        reason: `already serving: ${V1_DIGEST} (pushed as v1) is what the stable slot checkout-blue runs at 100% as v1; push another image, or deploy it again with a requestId`,
      });
      expect(ports.store.calls).not.toContain('putRecord');
      expect(ports.store.calls).not.toContain('claimIdleSlot');
      expect(ports.notifier.published).toEqual([]);
    });

    it('is released again when a manual request with a requestId forces it', async () => {
      const outcome = await prepareOutcome({ ...v1Push(), source: 'manual', requestId: 'again-1' });

      expect(outcome).toMatchObject({ toVersion: 'v1', image: { digest: V1_DIGEST } });
    });

    it('is released when traffic is split (an interrupted release): the digest does not serve 100%', async () => {
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });

      const outcome = await prepareOutcome(v1Push());

      expect(outcome).not.toHaveProperty('alreadyServing');
    });
  });

  it('makes the slot at 100% stable and plans the release into the other slot', async () => {
    const deployment = await prepare();

    expect(deployment).toEqual(deploymentFixture());
  });

  it("carries a deploy request's commit time as the change time, and announces the start on the release-events topic", async () => {
    const events = new FakeReleaseEvents();
    const deployment = await prepareRelease(
      { ...ports, events },
      config,
      settings,
      releaseRequest({ source: 'manual', commitTime: '2025-03-04T09:30:00Z' }),
      V2_RELEASE_ID,
      EXECUTION_ARN,
    );

    expect(deployment).toMatchObject({
      changeTime: { at: '2025-03-04T09:30:00Z', source: 'deploy-request' },
    });
    expect(events.published).toEqual([
      expect.objectContaining({
        kind: 'started',
        releaseId: V2_RELEASE_ID,
        executionArn: EXECUTION_ARN,
        changeTime: { at: '2025-03-04T09:30:00Z', source: 'deploy-request' },
        progress: expect.objectContaining({ sequence: 1, step: 0, steps: 9, state: 'deploying' }),
      }),
    ]);
  });

  it('leaves the change time unset for a push (resolved later from the image or the push time)', async () => {
    const events = new FakeReleaseEvents();
    await prepareRelease(
      { ...ports, events },
      config,
      settings,
      releaseRequest(),
      V2_RELEASE_ID,
      EXECUTION_ARN,
    );

    expect(events.published[0]).not.toHaveProperty('changeTime');
  });

  it('plans the rollback window from target.rollbackWindow, else the scale-down delay', async () => {
    const checkout = config.services.checkout;
    if (!checkout) throw new Error('the repository config declares checkout');
    const withWindow = {
      ...config,
      services: { checkout: { ...checkout, target: { ...checkout.target, rollbackWindow: 1800 } } },
    };

    const deployment = await prepareRelease(
      ports,
      withWindow,
      settings,
      releaseRequest(),
      V2_RELEASE_ID,
      EXECUTION_ARN,
    );

    if ('alreadyServing' in deployment) throw new Error(`expected a deployment, got: ${deployment.reason}`);
    // The plan's retire step holds the window (30m) and the rest of the 15m scale-down delay (none).
    expect(deployment.plan.steps.at(-1)).toMatchObject({
      kind: 'retire',
      rollbackWindowSeconds: 1800,
      warmAfterWindowSeconds: 0,
    });
  });

  it('plans again (ServiceBusyError) when the rollback of an older release moved the weights before the claim', async () => {
    // v2 reads blue 100% (green idle); an older release's rollback then puts green back at 100% and
    // lifts its fence just before v2's claim goes through.
    const claim = ports.store.claimIdleSlot.bind(ports.store);
    ports.store.claimIdleSlot = async (service, releaseId) => {
      ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
      return claim(service, releaseId);
    };

    const error = await prepareOutcome().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ServiceBusyError);
    expect((error as Error).message).toContain('changed while checkout-');
    expect(ports.notifier.published).toEqual([]);
  });

  it('records the release as in progress, with its image pinned by digest, and claims the idle slot', async () => {
    await prepare();

    expect(ports.store.record(V2_RELEASE_ID)).toEqual({
      service: 'checkout',
      releaseId: V2_RELEASE_ID,
      requestedAt: '2025-03-04T10:00:00Z',
      status: 'in_progress',
      fromVersion: 'v1',
      toVersion: 'v2',
      // A later `shipline rollback` past the rollback window releases this digest again.
      image: { digest: V2_DIGEST, tag: 'v2', uri: `${REGISTRY}/checkout@${V2_DIGEST}` },
      executionArn: EXECUTION_ARN,
      startedAt: NOW,
      currentPercent: 0,
      // Started, before step 1 of the plan: the first recorded progress.
      progress: {
        sequence: 1,
        step: 0,
        steps: 9,
        state: 'deploying',
        newPercent: 0,
        stepStartedAt: NOW,
        updatedAt: NOW,
      },
    });
    expect(ports.store.states.get('checkout')).toEqual({ service: 'checkout', latestRelease: V2_RELEASE_ID });
  });

  it('publishes "started" once, with the plan, to the pipeline topic', async () => {
    await prepare();
    await prepare(); // a retried state

    expect(ports.notifier.published).toEqual([
      {
        topicArn: TOPIC_ARN,
        notification: {
          subject: '[shipline] checkout: releasing v2 (from v1)',
          message: {
            event: 'started',
            service: 'checkout',
            release: V2_RELEASE_ID,
            fromVersion: 'v1',
            toVersion: 'v2',
            reason: null,
            executionArn: EXECUTION_ARN,
            consoleUrl: `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION_ARN}`,
            at: NOW,
            plan: [
              'Deploy the new version to green',
              'Wait until green is ready (at most 20m)',
              'Shift 5% to green',
              'Bake 10m watching 2 alarms',
              'Shift 25% to green',
              'Bake 10m watching 2 alarms',
              'Shift 100% to green',
              'Bake 10m watching 2 alarms',
              'Promote green, watch the 15m rollback window, scale blue down after 15m',
            ],
            newSlot: 'green',
            watchedAlarms: ['checkout-latency-p99', 'checkout-green-5xx'],
          },
        },
      },
    ]);
  });

  it('releases into blue when green serves 100%, watching blue alarms', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 0, [GREEN_TG]: 100 });
    ports.deployer.slots.set('checkout-green', slotRunningV1('checkout-green', 4));

    const deployment = await prepare();

    expect((deployment.target as EcsAlbTarget).stable).toEqual({
      name: 'green',
      service: 'checkout-green',
      targetGroupArn: GREEN_TG,
    });
    expect((deployment.target as EcsAlbTarget).canary).toEqual({
      name: 'blue',
      service: 'checkout-blue',
      targetGroupArn: BLUE_TG,
    });
    expect(deployment.alarms).toEqual(['checkout-latency-p99', 'checkout-blue-5xx']);
    expect(deployment.plan.steps.map((step) => step.label)).toEqual([
      'Deploy the new version to blue',
      'Wait until blue is ready (at most 20m)',
      'Shift 5% to blue',
      'Bake 10m watching 2 alarms',
      'Shift 25% to blue',
      'Bake 10m watching 2 alarms',
      'Shift 100% to blue',
      'Bake 10m watching 2 alarms',
      'Promote blue, watch the 15m rollback window, scale green down after 15m',
    ]);
  });

  it('falls back to the recorded stable slot when traffic is split', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
    ports.store.states.set('checkout', recordedGreen);
    ports.deployer.slots.set('checkout-green', slotRunningV1('checkout-green', 4));

    const deployment = await prepare();

    expect((deployment.target as EcsAlbTarget).stable.name).toBe('green');
    expect((deployment.target as EcsAlbTarget).canary.name).toBe('blue');
  });

  it('refuses a split whose stable slot runs fewer tasks than it asks for (its deploy step would put all traffic on it)', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
    ports.store.states.set('checkout', recordedGreen);
    ports.deployer.slots.set('checkout-green', {
      ...slotRunningV1('checkout-green', 4),
      runningCount: 1,
    });

    await expect(prepare()).rejects.toThrow(
      new TargetStateError(
        'traffic is split (blue 75% / green 25%) and the stable slot checkout-green runs 1 of 4 tasks: the release would put all traffic on it first; let it run its tasks (or set the weights by hand), then release again',
      ),
    );
    expect(ports.notifier.published).toEqual([]);
  });

  it('falls back to the heavier slot when traffic is split and nothing is recorded', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 25, [GREEN_TG]: 75 });
    ports.deployer.slots.set('checkout-green', slotRunningV1('checkout-green', 4));

    const deployment = await prepare();

    expect((deployment.target as EcsAlbTarget).stable.name).toBe('green');
  });

  it('throws TargetStateError for a missing alarm before anything is written', async () => {
    ports.alarms.alarms.delete('checkout-green-5xx');

    const error = await rejection(prepare());

    expect(error).toBeInstanceOf(TargetStateError);
    expect(error.message).toBe('watched alarm(s) do not exist: checkout-green-5xx');
    expect(ports.store.calls).toEqual(['readServiceState']);
    expect(ports.journal.entries).toEqual(['store.readServiceState']);
    expect(ports.notifier.published).toEqual([]);
  });

  it('throws TargetStateError when the listener rule does not forward to a slot', async () => {
    ports.router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100 });

    const error = await rejection(prepare());

    expect(error).toBeInstanceOf(TargetStateError);
    expect(error.message).toBe(
      `listener rule ${LISTENER_RULE_ARN} does not forward to the green target group ${GREEN_TG}`,
    );
    expect(ports.store.calls).toEqual([]);
  });

  it('throws TargetStateError when the stable slot runs no tasks', async () => {
    const blue = ports.deployer.slots.get('checkout-blue');
    if (blue) ports.deployer.slots.set('checkout-blue', { ...blue, desiredCount: 0 });

    await expect(prepare()).rejects.toThrow(
      new TargetStateError(
        'the stable slot checkout-blue runs no tasks (desiredCount 0): nothing to release from',
      ),
    );
    expect(ports.notifier.published).toEqual([]);
  });

  it('throws TargetStateError for an image outside the declared repository', async () => {
    const request = releaseRequest({
      image: { repository: 'checkout', digest: V2_DIGEST, uri: `${REGISTRY}/payments@${V2_DIGEST}` },
    });

    await expect(prepare(request)).rejects.toThrow(
      new TargetStateError(
        `image ${REGISTRY}/payments@${V2_DIGEST} is not in repository checkout declared for checkout`,
      ),
    );
    expect(ports.store.calls).not.toContain('putRecord');
  });

  it('pins the image to the stable repository when the request has no URI', async () => {
    const request = releaseRequest({
      image: { repository: 'checkout', digest: V2_DIGEST },
      source: 'manual',
    });

    const deployment = await prepare(request);

    expect(deployment.image).toEqual({ digest: V2_DIGEST, uri: `${REGISTRY}/checkout@${V2_DIGEST}` });
    expect(deployment.toVersion).toBe(`sha256:${V2_DIGEST.slice(7, 19)}`);
  });

  it('takes the from-version from the record, then from the image, when the task definition has no tag', async () => {
    const blue = ports.deployer.slots.get('checkout-blue');
    if (blue)
      ports.deployer.slots.set('checkout-blue', {
        ...blue,
        version: undefined,
        image: `${REGISTRY}/checkout:v1.4`,
      });

    const fromImage = await prepare();
    ports.store.states.set('checkout', { ...recordedGreen, stableSlot: 'blue' });
    const fromRecord = await prepare();

    expect(fromImage.fromVersion).toBe('v1.4');
    expect(fromRecord.fromVersion).toBe('v1-recorded');
  });

  it('announces alarms already firing without blocking the release', async () => {
    ports.alarms.set('checkout-latency-p99', 'ALARM', '2025-03-04T09:00:00.000Z');

    await prepare();

    expect(ports.notifier.published[0]?.notification.message).toMatchObject({
      alarmsAlreadyFiring: ['checkout-latency-p99'],
      note: 'alarms already in ALARM before the release do not block it',
    });
  });

  it("notifies the service's own topic when it declares one, and leaves out an unknown execution", async () => {
    const ownTopic = 'arn:aws:sns:us-east-1:123456789012:checkout-team';
    const withTopic = parseConfigText(
      configText().replace('    strategy:', `    notify:\n      topicArn: ${ownTopic}\n    strategy:`),
    );

    const deployment = await prepareRelease(
      ports,
      withTopic,
      settings,
      releaseRequest(),
      V2_RELEASE_ID,
      undefined,
    );

    expect(deployment).toMatchObject({ topicArn: ownTopic });
    expect(ports.notifier.published[0]?.topicArn).toBe(ownTopic);
    expect(ports.notifier.published[0]?.notification.message).toMatchObject({
      executionArn: null,
      consoleUrl: null,
    });
    expect(ports.store.record(V2_RELEASE_ID)).not.toHaveProperty('executionArn');
  });
});
