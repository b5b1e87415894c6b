import { beforeEach, describe, expect, it } from 'vitest';
import { EcsAlbDriver } from '../../../lib/drivers/ecs-alb.ts';
import { ecsDeploymentStateChangeEventSchema } from '../../../lib/events/ecs-deployment.ts';
import type { SlotStatus } from '../../../lib/ports/slot-deployer.ts';
import {
  awaitSteadySlot,
  confirmSteadySlot,
  deployToIdleSlot,
  onEcsDeploymentEvent,
} from '../../../lib/use-cases/deploy-slot.ts';
import {
  FakeAlarmWatcher,
  FakeReleaseEvents,
  FakeSlotDeployer,
  FakeTaskTokens,
  FakeTrafficRouter,
  InMemoryReleaseStore,
} from '../fakes.ts';
import {
  BLUE_TG,
  cursorAt,
  deploymentFixture,
  GREEN_TG,
  LISTENER_RULE_ARN,
  V2_IMAGE,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const deployment = deploymentFixture();
const slotDeployment = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8',
  deploymentId: 'ecs-svc/1002',
};
/** At the await-ready step, after the deploy started `slotDeployment`. */
const ready = cursorAt(1, { rollout: slotDeployment });

const green = (
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED',
  id = 'ecs-svc/1002',
  reason?: string,
): SlotStatus => ({
  service: 'checkout-green',
  taskDefinitionArn: slotDeployment.taskDefinitionArn,
  desiredCount: 4,
  runningCount: rolloutState === 'COMPLETED' ? 4 : 1,
  image: V2_IMAGE,
  version: 'v2',
  deployment: { id, rolloutState, ...(reason ? { reason } : {}) },
});

const ecsEvent = (eventName: string, deploymentId = 'ecs-svc/1002', reason?: string) =>
  ecsDeploymentStateChangeEventSchema.parse({
    version: '0',
    id: 'ddca6449-b258-46c0-8653-e0e3a6d0468b',
    'detail-type': 'ECS Deployment State Change',
    source: 'aws.ecs',
    account: '123456789012',
    time: '2025-03-04T10:01:30Z',
    region: 'us-east-1',
    resources: ['arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-green'],
    detail: {
      eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
      eventName,
      deploymentId,
      updatedAt: '2025-03-04T10:01:30.000Z',
      ...(reason ? { reason } : {}),
    },
  });

describe('Use case: deploy the idle slot', () => {
  let store: InMemoryReleaseStore;
  let deployer: FakeSlotDeployer;
  let tokens: FakeTaskTokens;

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    deployer = new FakeSlotDeployer();
    tokens = new FakeTaskTokens();
  });

  describe('Function: deployToIdleSlot', () => {
    it('deploys the pinned image to the canary slot from the stable task definition', async () => {
      // The driver reads the weights first: the new slot takes no production traffic, so they stay.
      const router = new FakeTrafficRouter();
      router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 100, [GREEN_TG]: 0 });
      const result = await deployToIdleSlot(
        { driver: new EcsAlbDriver({ slots: deployer, router }) },
        deployment,
        cursorAt(0),
      );
      expect(router.splits).toEqual([]);

      expect(deployer.deployed).toEqual([
        {
          cluster: 'prod',
          service: 'checkout-green',
          container: 'app',
          baseTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
          imageUri: V2_IMAGE,
          version: 'v2',
          desiredCount: 4,
          releaseId: V2_RELEASE_ID,
        },
      ]);
      // The next step (await-ready) gets the rollout to wait on.
      expect(result).toEqual({
        index: 1,
        step: deployment.plan.steps[1],
        shifts: [],
        rollout: slotDeployment,
      });
    });

    it('tells in the timeline that the new slot was taken out of production first', async () => {
      // A split a stopped release left: the new slot still takes 25% of production.
      const router = new FakeTrafficRouter();
      router.rules.set(LISTENER_RULE_ARN, { [BLUE_TG]: 75, [GREEN_TG]: 25 });
      const events = new FakeReleaseEvents();
      await store.putRecord({
        service: deployment.service,
        releaseId: deployment.id,
        requestedAt: deployment.requestedAt,
        status: 'in_progress',
      });

      const result = await deployToIdleSlot(
        { driver: new EcsAlbDriver({ slots: deployer, router }), store, events },
        deployment,
        cursorAt(0),
      );

      expect(router.rules.get(LISTENER_RULE_ARN)).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
      const text =
        'Deploying v2 to checkout-green, with no production traffic yet: it took 25% of production (a split left behind), put back on checkout-blue first';
      expect(events.published.map((event) => event.text)).toEqual([text]);
      // The rollout the next step waits on carries nothing else.
      expect(result.rollout).toEqual(slotDeployment);
    });
  });

  describe('Function: awaitSteadySlot', () => {
    it('parks the task token while the deployment is in progress', async () => {
      deployer.slots.set('checkout-green', green('IN_PROGRESS'));

      await expect(
        awaitSteadySlot(
          { store, driver: new EcsAlbDriver({ slots: deployer }), tokens },
          deployment,
          ready,
          'token-steady',
        ),
      ).resolves.toEqual({
        waiting: true,
      });
      expect(store.slotWaits.get('ecs-svc/1002')).toEqual({
        deploymentId: 'ecs-svc/1002',
        releaseId: V2_RELEASE_ID,
        taskToken: 'token-steady',
      });
      expect(tokens.succeeded).toEqual([]);
    });

    it('resumes at once when the deployment already completed', async () => {
      deployer.slots.set('checkout-green', green('COMPLETED'));

      await expect(
        awaitSteadySlot(
          { store, driver: new EcsAlbDriver({ slots: deployer }), tokens },
          deployment,
          ready,
          'token-steady',
        ),
      ).resolves.toEqual({
        waiting: false,
      });
      expect(tokens.succeeded).toEqual([
        { token: 'token-steady', output: { outcome: 'passed', reason: 'checkout-green is steady on v2' } },
      ]);
      expect(store.slotWaits.size).toBe(0);
    });

    it('resumes at once as failed when the deployment already failed', async () => {
      deployer.slots.set(
        'checkout-green',
        green('FAILED', 'ecs-svc/1002', 'circuit breaker: tasks failed to start'),
      );

      await awaitSteadySlot(
        { store, driver: new EcsAlbDriver({ slots: deployer }), tokens },
        deployment,
        ready,
        'token-steady',
      );

      expect(tokens.succeeded[0]?.output).toEqual({
        outcome: 'failed',
        reason: 'new slot checkout-green failed to become steady: circuit breaker: tasks failed to start',
      });
    });
  });

  describe('Function: confirmSteadySlot', () => {
    it('fails a deployment still in progress after the timeout', async () => {
      deployer.slots.set('checkout-green', green('IN_PROGRESS'));

      await expect(
        confirmSteadySlot({ store, driver: new EcsAlbDriver({ slots: deployer }) }, deployment, ready),
      ).resolves.toEqual({
        outcome: 'failed',
        reason: 'new slot checkout-green was not steady after 1200s',
      });
    });

    it('fails a deployment replaced by another one', async () => {
      deployer.slots.set('checkout-green', green('COMPLETED', 'ecs-svc/2000'));

      await expect(
        confirmSteadySlot({ store, driver: new EcsAlbDriver({ slots: deployer }) }, deployment, ready),
      ).resolves.toEqual({
        outcome: 'failed',
        reason: 'deployment ecs-svc/1002 of checkout-green was replaced by another deployment',
      });
    });

    it('fails a completed deployment that runs fewer tasks than the stable slot', async () => {
      deployer.slots.set('checkout-green', { ...green('COMPLETED'), runningCount: 1 });

      await expect(
        confirmSteadySlot({ store, driver: new EcsAlbDriver({ slots: deployer }) }, deployment, ready),
      ).resolves.toEqual({
        outcome: 'failed',
        reason: `new slot checkout-green runs 1 of ${deployment.target.desiredCount} tasks`,
      });
    });

    it('passes a completed deployment whose event was lost', async () => {
      deployer.slots.set('checkout-green', green('COMPLETED'));
      await store.putSlotWait({ deploymentId: 'ecs-svc/1002', releaseId: V2_RELEASE_ID, taskToken: 't' }, 60);

      await expect(
        confirmSteadySlot({ store, driver: new EcsAlbDriver({ slots: deployer }) }, deployment, ready),
      ).resolves.toEqual({
        outcome: 'passed',
        reason: 'checkout-green is steady on v2',
      });
      expect(store.slotWaits.size).toBe(0);
    });
  });

  describe('Function: onEcsDeploymentEvent', () => {
    beforeEach(async () => {
      await store.putSlotWait(
        { deploymentId: 'ecs-svc/1002', releaseId: V2_RELEASE_ID, taskToken: 'token-steady' },
        60,
      );
    });

    it('resumes the waiting release when its deployment completes, once', async () => {
      const event = ecsEvent('SERVICE_DEPLOYMENT_COMPLETED');

      await expect(onEcsDeploymentEvent({ store, tokens }, event)).resolves.toEqual({
        resumed: V2_RELEASE_ID,
      });
      await expect(onEcsDeploymentEvent({ store, tokens }, event)).resolves.toEqual({ resumed: null });
      expect(tokens.succeeded).toEqual([
        {
          token: 'token-steady',
          output: { outcome: 'passed', reason: 'checkout-green reached a steady state' },
        },
      ]);
    });

    it('resumes it as failed when its deployment fails', async () => {
      await onEcsDeploymentEvent(
        { store, tokens },
        ecsEvent(
          'SERVICE_DEPLOYMENT_FAILED',
          'ecs-svc/1002',
          'ECS deployment circuit breaker: tasks failed to start.',
        ),
      );

      expect(tokens.succeeded[0]?.output).toEqual({
        outcome: 'failed',
        reason:
          'ECS deployment ecs-svc/1002 of checkout-green failed to become steady: ECS deployment circuit breaker: tasks failed to start.',
      });
    });

    it('ignores progress events and other deployments', async () => {
      await expect(
        onEcsDeploymentEvent({ store, tokens }, ecsEvent('SERVICE_DEPLOYMENT_IN_PROGRESS')),
      ).resolves.toEqual({
        resumed: null,
      });
      await expect(
        onEcsDeploymentEvent({ store, tokens }, ecsEvent('SERVICE_DEPLOYMENT_COMPLETED', 'ecs-svc/9999')),
      ).resolves.toEqual({
        resumed: null,
      });
      expect(tokens.succeeded).toEqual([]);
      expect(store.slotWaits.has('ecs-svc/1002')).toBe(true);
    });
  });

  describe('A rolling update (the await-ready step watches the alarms)', () => {
    withFixedClock('2025-03-04T10:30:00.000Z');
    const rollingReady = {
      ...ready,
      step: { ...ready.step, kind: 'await-ready' as const, timeoutSeconds: 1200, watchAlarms: true as const },
    };

    it('waits on the deployment and on every watched alarm with the same task token', async () => {
      deployer.slots.set('checkout-green', green('IN_PROGRESS'));
      await store.putRecord({
        service: 'checkout',
        releaseId: V2_RELEASE_ID,
        requestedAt: deployment.requestedAt,
        status: 'in_progress',
      });

      await awaitSteadySlot(
        { store, driver: new EcsAlbDriver({ slots: deployer }), tokens },
        deployment,
        rollingReady,
        'token-rollout',
      );

      expect(store.slotWaits.get('ecs-svc/1002')?.taskToken).toBe('token-rollout');
      for (const alarm of deployment.alarms)
        expect(await store.alarmWatches(alarm)).toEqual([
          expect.objectContaining({ taskToken: 'token-rollout', kind: 'rollout', releaseId: V2_RELEASE_ID }),
        ]);
      // The rollout replaces the serving tasks: the new version is in production (a DORA deployment).
      expect(store.record(V2_RELEASE_ID)?.peakPercent).toBe(100);
    });

    it('fails the rollout after the timeout for an alarm that fired during it while its event was lost', async () => {
      const alarms = new FakeAlarmWatcher();
      for (const alarm of deployment.alarms) alarms.set(alarm, 'OK', '2025-03-04T09:00:00Z');
      alarms.fired('checkout-green-5xx', '2025-03-04T10:12:00.000Z');
      deployer.slots.set('checkout-green', green('COMPLETED'));

      await expect(
        confirmSteadySlot(
          { store, driver: new EcsAlbDriver({ slots: deployer }), alarms },
          deployment,
          rollingReady,
        ),
      ).resolves.toEqual({
        outcome: 'failed',
        reason:
          'alarm checkout-green-5xx went to ALARM during the rollout, while the new tasks took production traffic',
        alarm: 'checkout-green-5xx',
        alarmChangedAt: '2025-03-04T10:12:00.000Z',
      });
    });

    it('keeps the ecs-alb wait free of alarms (its new slot takes no production traffic)', async () => {
      deployer.slots.set('checkout-green', green('IN_PROGRESS'));

      await awaitSteadySlot(
        { store, driver: new EcsAlbDriver({ slots: deployer }), tokens },
        deployment,
        ready,
        'token-steady',
      );

      expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);
      expect(store.record(V2_RELEASE_ID)?.peakPercent).toBeUndefined();
    });
  });
});
