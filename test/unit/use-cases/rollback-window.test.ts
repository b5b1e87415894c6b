import { beforeEach, describe, expect, it } from 'vitest';
import { alarmStateChangeEventSchema } from '../../../lib/events/alarm-state-change.ts';
import {
  confirmRollbackWindow,
  onAlarmStateChange,
  startRollbackWindow,
} from '../../../lib/use-cases/bake.ts';
import { FakeAlarmWatcher, FakeTaskTokens, InMemoryReleaseStore } from '../fakes.ts';
import { alarmStateChangeEvent, cursorAt, deploymentFixture } from '../fixtures.ts';

const deployment = deploymentFixture();
const RELEASE = deployment.id;
/** At the retire step (15-minute rollback window). */
const retire = cursorAt(8);
const BEFORE_START = '2025-03-04T09:30:00.000Z';
const AFTER_PROMOTION = '2025-03-04T10:40:00.000Z';
const REASON = 'alarm checkout-green-5xx went to ALARM after promotion, during the rollback window';

const alarmEvent = (alarmName: string, value: string, timestamp: string) =>
  alarmStateChangeEventSchema.parse(alarmStateChangeEvent(alarmName, value, timestamp));

describe('Use case: the rollback window after promotion', () => {
  let store: InMemoryReleaseStore;
  let alarms: FakeAlarmWatcher;
  let tokens: FakeTaskTokens;

  beforeEach(async () => {
    store = new InMemoryReleaseStore();
    alarms = new FakeAlarmWatcher();
    tokens = new FakeTaskTokens();
    alarms.set('checkout-latency-p99', 'OK', BEFORE_START);
    alarms.set('checkout-green-5xx', 'OK', BEFORE_START);
    // The promoted release still owns the service.
    await store.claimIdleSlot('checkout', RELEASE);
  });

  describe('Function: startRollbackWindow', () => {
    it('registers the window token against every watched alarm, as a rollback-window watch', async () => {
      const result = await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');

      expect(result).toEqual({ watching: ['checkout-latency-p99', 'checkout-green-5xx'] });
      expect(await store.alarmWatches('checkout-green-5xx')).toEqual([
        expect.objectContaining({ taskToken: 'token-window', kind: 'rollback-window', releaseId: RELEASE }),
      ]);
      expect(tokens.succeeded).toEqual([]);
      expect(tokens.failed).toEqual([]);
    });

    it('fails the window at once when an alarm fired since the release started', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', AFTER_PROMOTION);

      const result = await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');

      expect(result).toEqual({ watching: [], failedAtStart: 'checkout-green-5xx' });
      expect(tokens.failed).toEqual([{ token: 'token-window', error: 'AlarmAfterPromotion', cause: REASON }]);
      expect(store.watchKeys()).toEqual([]);
    });

    it('ends the window quietly when a newer release has taken the service', async () => {
      await store.claimIdleSlot('checkout', 'checkout-v3');

      const result = await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');

      expect(result).toEqual({ watching: [], handedOver: true });
      expect(tokens.succeeded).toEqual([
        { token: 'token-window', output: expect.objectContaining({ outcome: 'handed-over' }) },
      ]);
      expect(store.watchKeys()).toEqual([]);
    });
  });

  describe('Function: onAlarmStateChange', () => {
    it('fails the window with AlarmAfterPromotion, so the release rolls back at once', async () => {
      await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');

      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', AFTER_PROMOTION),
      );

      expect(result).toEqual({ failedReleases: [RELEASE] });
      expect(tokens.failed).toEqual([{ token: 'token-window', error: 'AlarmAfterPromotion', cause: REASON }]);
      expect(tokens.succeeded).toEqual([]);
      expect(await store.alarmWatches('checkout-green-5xx')).toEqual([]);
    });

    it('ends the window without rollback when a newer release owns the service by then', async () => {
      await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');
      await store.claimIdleSlot('checkout', 'checkout-v3');

      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', AFTER_PROMOTION),
      );

      expect(result).toEqual({ failedReleases: [] });
      expect(tokens.failed).toEqual([]);
      expect(tokens.succeeded).toEqual([
        { token: 'token-window', output: expect.objectContaining({ outcome: 'handed-over' }) },
      ]);
    });
  });

  describe('Function: confirmRollbackWindow', () => {
    it('passes a quiet window and stops watching', async () => {
      await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');

      await expect(confirmRollbackWindow({ store, alarms }, deployment, retire)).resolves.toEqual({
        outcome: 'passed',
        reason: 'no alarm fired in the 15m rollback window',
      });
      expect(store.watchKeys()).toEqual([]);
    });

    it('says which watched alarm no longer exists instead of passing as if it had been read', async () => {
      await startRollbackWindow({ store, alarms, tokens }, deployment, retire, 'token-window');
      alarms.alarms.delete('checkout-green-5xx');

      await expect(confirmRollbackWindow({ store, alarms }, deployment, retire)).resolves.toEqual({
        outcome: 'passed',
        reason:
          'no alarm fired in the 15m rollback window; alarm(s) checkout-green-5xx no longer exist and were not read',
      });
    });

    it('raises AlarmAfterPromotion for an alarm whose event was lost', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', AFTER_PROMOTION);

      await expect(confirmRollbackWindow({ store, alarms }, deployment, retire)).rejects.toMatchObject({
        name: 'AlarmAfterPromotion',
        message: REASON,
      });
    });

    it('raises AlarmAfterPromotion for an alarm that fired and recovered while its event was lost', async () => {
      alarms.fired('checkout-green-5xx', AFTER_PROMOTION);

      await expect(confirmRollbackWindow({ store, alarms }, deployment, retire)).rejects.toMatchObject({
        name: 'AlarmAfterPromotion',
        message: REASON,
      });
    });

    it('does not roll back over a newer release', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', AFTER_PROMOTION);
      await store.claimIdleSlot('checkout', 'checkout-v3');

      await expect(confirmRollbackWindow({ store, alarms }, deployment, retire)).resolves.toMatchObject({
        outcome: 'handed-over',
      });
    });
  });
});
