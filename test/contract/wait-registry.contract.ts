import { beforeEach, describe, expect, it } from 'vitest';
import type { Wait } from '../../lib/ports/wait-registry.ts';
import type { StoreFactory, StoreSubject } from './subject.ts';
import { contractClock } from './subject.ts';

const START = '2025-03-04T10:00:00.000Z';

const bake = (alarm: string, releaseId: string, taskToken = `token-${releaseId}`): Wait => ({
  kind: 'bake',
  key: alarm,
  releaseId,
  service: 'checkout',
  environment: 'default',
  taskToken,
  data: { percent: 5, shifts: [{ percent: 5, shiftedAt: START }], watchFrom: START },
});

const ready = (deploymentId: string, releaseId: string): Wait => ({
  kind: 'ready',
  key: deploymentId,
  releaseId,
  service: 'checkout',
  environment: 'default',
  taskToken: `token-ready-${releaseId}`,
});

const pause = (releaseId: string): Wait => ({
  kind: 'pause',
  key: releaseId,
  releaseId,
  service: 'checkout',
  environment: 'default',
  taskToken: `token-pause-${releaseId}`,
});

const queued = (releaseId: string, taskToken = `token-queue-${releaseId}`): Wait => ({
  kind: 'lock-queue',
  key: 'default/checkout',
  releaseId,
  service: 'checkout',
  environment: 'default',
  taskToken,
  data: { requestedAt: START },
});

const byKindAndKey = (a: Wait, b: Wait) =>
  `${a.kind}#${a.key}#${a.releaseId}`.localeCompare(`${b.kind}#${b.key}#${b.releaseId}`);

/** The one registry of waiting tasks: found by kind and key, and from the release; claimed by token. */
export const waitRegistryContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: WaitRegistry (${name})`, () => {
    const clock = contractClock(START);
    let subject: StoreSubject;

    beforeEach(async () => {
      clock.set(START);
      subject = await factory();
    });

    describe('Method: register', () => {
      it('registers waits found by kind and key, with their data and a TTL from now', async () => {
        const { waits } = subject.store;
        await waits.register([bake('checkout-5xx', 'r1'), bake('checkout-5xx', 'r2')], 4200);

        const found = await waits.findByKey('bake', 'checkout-5xx');
        expect(found.sort(byKindAndKey)).toEqual([
          { ...bake('checkout-5xx', 'r1'), expiresAt: clock.epoch() + 4200 },
          { ...bake('checkout-5xx', 'r2'), expiresAt: clock.epoch() + 4200 },
        ]);
        await expect(waits.findByKey('bake', 'checkout-latency')).resolves.toEqual([]);
      });

      it('replaces a release wait on the same alarm: a rollback window takes over from the last bake', async () => {
        const { waits } = subject.store;
        await waits.register([bake('checkout-5xx', 'r1')], 60);
        const window: Wait = {
          ...bake('checkout-5xx', 'r1', 'token-window'),
          kind: 'rollback-window',
          data: { percent: 100, watchFrom: START },
        };
        await waits.register([window], 900);

        await expect(waits.findByKey(['bake', 'rollback-window'], 'checkout-5xx')).resolves.toEqual([
          { ...window, expiresAt: clock.epoch() + 900 },
        ]);
        await expect(waits.findByKey('bake', 'checkout-5xx')).resolves.toEqual([]);
      });

      it('refuses to look up kinds that name different things in one read', async () => {
        await expect(subject.store.waits.findByKey(['bake', 'ready'], 'x')).rejects.toThrow(
          'wait kinds bake, ready name different things: look them up one subject at a time',
        );
      });
    });

    describe('Method: findByRelease', () => {
      it('finds every wait of a release, whatever its kind, and none of another release', async () => {
        const { waits } = subject.store;
        await waits.register(
          [bake('checkout-5xx', 'r1'), bake('checkout-latency', 'r1'), ready('ecs-svc/1', 'r1'), pause('r1')],
          600,
        );
        await waits.register([bake('checkout-5xx', 'r2'), ready('ecs-svc/2', 'r2')], 600);
        await waits.replaceSole(queued('r1'), undefined);

        const found = await waits.findByRelease('r1');
        expect(found.map(({ kind, key }) => `${kind}:${key}`).sort()).toEqual([
          'bake:checkout-5xx',
          'bake:checkout-latency',
          'lock-queue:default/checkout',
          'pause:r1',
          'ready:ecs-svc/1',
        ]);
        expect(found.find((wait) => wait.kind === 'bake')).toMatchObject({
          service: 'checkout',
          environment: 'default',
          taskToken: 'token-r1',
          data: { percent: 5, watchFrom: START },
        });
      });
    });

    describe('Method: claim', () => {
      it('deletes a wait only for the holder of its token', async () => {
        const { waits } = subject.store;
        await waits.register([bake('checkout-5xx', 'r1', 'token-bake-5')], 600);
        const ref = { kind: 'bake' as const, key: 'checkout-5xx', releaseId: 'r1' };

        await expect(waits.claim(ref, 'token-other')).resolves.toBe(false);
        await expect(waits.read(ref)).resolves.toMatchObject({ taskToken: 'token-bake-5' });
        await expect(waits.claim(ref, 'token-bake-5')).resolves.toBe(true);
        await expect(waits.read(ref)).resolves.toBeUndefined();
        await expect(waits.claim(ref, 'token-bake-5')).resolves.toBe(false);
      });

      it('never removes a later wait of the same release with the token of an earlier one', async () => {
        const { waits } = subject.store;
        await waits.register([bake('checkout-5xx', 'r1', 'token-bake-5')], 600);
        await waits.register([bake('checkout-5xx', 'r1', 'token-bake-25')], 600);
        const ref = { kind: 'bake' as const, key: 'checkout-5xx', releaseId: 'r1' };

        await expect(waits.claim(ref, 'token-bake-5')).resolves.toBe(false);
        await expect(waits.findByRelease('r1')).resolves.toEqual([
          expect.objectContaining({ taskToken: 'token-bake-25' }),
        ]);
      });
    });

    describe('Method: remove', () => {
      it('deletes a wait whatever its token and returns it', async () => {
        const { waits } = subject.store;
        await waits.register([ready('ecs-svc/1', 'r1')], 600);

        await expect(waits.remove({ kind: 'ready', key: 'ecs-svc/1' })).resolves.toEqual({
          ...ready('ecs-svc/1', 'r1'),
          expiresAt: clock.epoch() + 600,
        });
        await expect(waits.remove({ kind: 'ready', key: 'ecs-svc/1' })).resolves.toBeUndefined();
      });

      it('leaves a sole wait of another release in place when a release is named', async () => {
        const { waits } = subject.store;
        await waits.replaceSole(queued('r2'), undefined);

        await expect(
          waits.remove({ kind: 'lock-queue', key: 'default/checkout', releaseId: 'r1' }),
        ).resolves.toBe(undefined);
        await expect(waits.read({ kind: 'lock-queue', key: 'default/checkout' })).resolves.toMatchObject({
          releaseId: 'r2',
        });
      });
    });

    describe('Method: replaceSole', () => {
      it('replaces the sole wait of a key only while it is the one expected', async () => {
        const { waits } = subject.store;

        await expect(waits.replaceSole(queued('r1'), undefined)).resolves.toBe(true);
        await expect(waits.replaceSole(queued('r2'), undefined)).resolves.toBe(false);
        await expect(
          waits.replaceSole(queued('r2'), { releaseId: 'r1', taskToken: 'token-stale' }),
        ).resolves.toBe(false);
        await expect(
          waits.replaceSole(queued('r2'), { releaseId: 'r1', taskToken: 'token-queue-r1' }),
        ).resolves.toBe(true);
        await expect(waits.findByKey('lock-queue', 'default/checkout')).resolves.toEqual([queued('r2')]);
      });

      it('sets a TTL only when one is given', async () => {
        const { waits } = subject.store;
        await waits.replaceSole(ready('ecs-svc/1', 'r1'), undefined, 300);

        await expect(waits.read({ kind: 'ready', key: 'ecs-svc/1' })).resolves.toEqual({
          ...ready('ecs-svc/1', 'r1'),
          expiresAt: clock.epoch() + 300,
        });
      });

      it('refuses a kind that holds one wait per release', async () => {
        await expect(subject.store.waits.replaceSole(bake('a', 'r1'), undefined)).rejects.toThrow(
          'bake waits are one per release on a, not one per key: register them',
        );
      });
    });

    describe('Method: clearRelease', () => {
      it('deletes every wait of a release and leaves the others', async () => {
        const { waits } = subject.store;
        await waits.register([bake('checkout-5xx', 'r1'), pause('r1'), bake('checkout-5xx', 'r2')], 600);

        const cleared = await waits.clearRelease('r1');

        expect(cleared.map((wait) => wait.kind).sort()).toEqual(['bake', 'pause']);
        await expect(waits.findByRelease('r1')).resolves.toEqual([]);
        await expect(waits.findByKey('bake', 'checkout-5xx')).resolves.toEqual([
          expect.objectContaining({ releaseId: 'r2' }),
        ]);
      });
    });
  });
};
