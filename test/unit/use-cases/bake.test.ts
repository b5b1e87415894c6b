import { beforeEach, describe, expect, it } from 'vitest';
import { useClock } from '../../../lib/clock.ts';
import type { BakeStep } from '../../../lib/domain/plan.ts';
import { stepCursorSchema } from '../../../lib/domain/schemas.ts';
import type { StepShift } from '../../../lib/domain/types.ts';
import { alarmStateChangeEventSchema } from '../../../lib/events/alarm-state-change.ts';
import { confirmBake, finishBake, onAlarmStateChange, startBake } from '../../../lib/use-cases/bake.ts';
import { FakeAlarmWatcher, FakeTaskTokens, InMemoryReleaseStore } from '../fakes.ts';
import { alarmStateChangeEvent, cursorAt, deploymentFixture } from '../fixtures.ts';

const deployment = deploymentFixture();
const RELEASE = deployment.id;
const STARTED = deployment.startedAt; // 2025-03-04T10:00:05.000Z
const BEFORE_START = '2025-03-04T09:30:00.000Z';
const DURING_BAKE = '2025-03-04T10:14:00.000Z';

/** The 5% step's weights were applied at 10:00:10, the 25% step's at 10:10:10. */
const SHIFTS = [
  { percent: 5, shiftedAt: '2025-03-04T10:00:10.000Z' },
  { percent: 25, shiftedAt: '2025-03-04T10:10:10.000Z' },
];
const DURING_5 = '2025-03-04T10:09:00.000Z';
const BEFORE_ANY_SHIFT = '2025-03-04T10:00:07.000Z';

/** Only the 25% step's shift, applied as the release started. */
const ONLY_25: StepShift[] = [{ percent: 25, shiftedAt: STARTED }];
/** The cursor at the 25% bake, after `shifts`. */
const bake25 = (shifts: StepShift[] = ONLY_25) => cursorAt(5, { shifts });

const alarmEvent = (alarmName: string, value: string, timestamp: string) =>
  alarmStateChangeEventSchema.parse(alarmStateChangeEvent(alarmName, value, timestamp));

describe('Use case: bake', () => {
  let store: InMemoryReleaseStore;
  let alarms: FakeAlarmWatcher;
  let tokens: FakeTaskTokens;

  beforeEach(() => {
    store = new InMemoryReleaseStore();
    alarms = new FakeAlarmWatcher();
    tokens = new FakeTaskTokens();
    alarms.set('checkout-latency-p99', 'OK', BEFORE_START);
    alarms.set('checkout-green-5xx', 'OK', BEFORE_START);
  });

  describe('Function: startBake', () => {
    it('registers the task token against every watched alarm and keeps waiting', async () => {
      const result = await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');

      expect(result).toEqual({ watching: ['checkout-latency-p99', 'checkout-green-5xx'] });
      expect(await store.alarmWatches('checkout-green-5xx')).toEqual([
        {
          alarmName: 'checkout-green-5xx',
          releaseId: RELEASE,
          service: 'checkout',
          taskToken: 'token-bake-25',
          percent: 25,
          shifts: ONLY_25,
          watchFrom: STARTED,
        },
      ]);
      expect(store.watchKeys()).toEqual([`checkout-latency-p99/${RELEASE}`, `checkout-green-5xx/${RELEASE}`]);
      expect(tokens.succeeded).toEqual([]);
    });

    it('fails the bake at once when an alarm went to ALARM since the release started', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', '2025-03-04T10:11:00.000Z');

      const result = await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');

      expect(result).toEqual({ watching: [], failedAtStart: 'checkout-green-5xx' });
      expect(tokens.succeeded).toEqual([
        {
          token: 'token-bake-25',
          output: {
            outcome: 'failed',
            reason: 'alarm checkout-green-5xx went to ALARM at 25%',
            alarm: 'checkout-green-5xx',
            alarmChangedAt: '2025-03-04T10:11:00.000Z',
          },
        },
      ]);
      expect(store.watchKeys()).toEqual([]);
    });

    it('fails the bake at once when a watched alarm no longer exists, and stops watching', async () => {
      alarms.alarms.delete('checkout-green-5xx');

      const result = await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');

      expect(result).toEqual({ watching: [], missing: ['checkout-green-5xx'] });
      expect(tokens.succeeded).toEqual([
        {
          token: 'token-bake-25',
          output: {
            outcome: 'failed',
            reason: 'watched alarm(s) disappeared before the bake: checkout-green-5xx',
          },
        },
      ]);
      expect(store.watchKeys()).toEqual([]);
    });

    it('ignores an alarm already in ALARM before the release started', async () => {
      alarms.set('checkout-latency-p99', 'ALARM', BEFORE_START);

      const result = await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');

      expect(result).toEqual({ watching: ['checkout-latency-p99', 'checkout-green-5xx'] });
      expect(tokens.succeeded).toEqual([]);
    });
  });

  describe('The step an alarm transitioned in (from its timestamp)', () => {
    it('names the 5% step for an event that arrives late, after the 25% shift', async () => {
      await startBake({ store, alarms, tokens }, deployment, bake25(SHIFTS), 'token-bake-25');

      await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:09:00.000+0000'),
      );

      expect(tokens.succeeded).toEqual([
        {
          token: 'token-bake-25',
          output: {
            outcome: 'failed',
            reason: 'alarm checkout-green-5xx went to ALARM at 5%',
            alarm: 'checkout-green-5xx',
            alarmChangedAt: DURING_5,
          },
        },
      ]);
    });

    it('names the 25% step for a transition after its shift', async () => {
      await startBake({ store, alarms, tokens }, deployment, bake25(SHIFTS), 'token-bake-25');

      await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:10:10.000+0000'),
      );

      expect(tokens.succeeded[0]?.output).toMatchObject({
        reason: 'alarm checkout-green-5xx went to ALARM at 25%',
      });
    });

    it('names the previous step for an alarm found firing at bake start that transitioned before this shift', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', DURING_5);

      await startBake({ store, alarms, tokens }, deployment, bake25(SHIFTS), 'token-bake-25');

      expect(tokens.succeeded[0]?.output).toMatchObject({
        reason: 'alarm checkout-green-5xx went to ALARM at 5%',
        alarmChangedAt: DURING_5,
      });
    });

    it('says "before any traffic moved" for an alarm that transitioned before the first shift', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', BEFORE_ANY_SHIFT);

      await startBake(
        { store, alarms, tokens },
        deployment,
        cursorAt(3, { shifts: SHIFTS.slice(0, 1) }),
        'token-bake-5',
      );

      expect(tokens.succeeded[0]?.output).toMatchObject({
        reason: 'alarm checkout-green-5xx went to ALARM before any traffic moved',
      });
    });

    it('names the 5% step at the end of the 25% bake for a lost event from the 5% bake', async () => {
      const previous = useClock({ now: () => new Date('2025-03-04T10:20:10.000Z') });
      try {
        await startBake({ store, alarms, tokens }, deployment, bake25(SHIFTS), 'token-bake-25');
        alarms.fired('checkout-green-5xx', DURING_5);
        alarms.set('checkout-green-5xx', 'OK', '2025-03-04T10:12:00.000Z');

        await expect(confirmBake({ store, alarms }, deployment, bake25(SHIFTS))).resolves.toMatchObject({
          outcome: 'failed',
          reason: 'alarm checkout-green-5xx went to ALARM at 5%',
        });
      } finally {
        useClock(previous);
      }
    });
  });

  describe('Function: confirmBake', () => {
    beforeEach(async () => {
      await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');
    });

    it('passes a quiet bake and stops watching', async () => {
      const outcome = await confirmBake({ store, alarms }, deployment, bake25());

      expect(outcome).toEqual({
        outcome: 'passed',
        reason: 'no alarm fired in 10m at 25% (2 alarms watched)',
      });
      expect(store.watchKeys()).toEqual([]);
    });

    it('says "alarm" for a single watched alarm', async () => {
      const single = deploymentFixture({ alarms: ['checkout-green-5xx'] });

      await expect(confirmBake({ store, alarms }, single, bake25())).resolves.toEqual({
        outcome: 'passed',
        reason: 'no alarm fired in 10m at 25% (1 alarm watched)',
      });
    });

    it('is inconclusive when a watched alarm stayed INSUFFICIENT_DATA for the whole bake', async () => {
      alarms.set('checkout-green-5xx', 'INSUFFICIENT_DATA', BEFORE_START);

      await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
        outcome: 'inconclusive',
        reason:
          'inconclusive: alarm checkout-green-5xx stayed INSUFFICIENT_DATA for the whole 10m bake at 25%, so it could not tell whether the new version is healthy',
        alarm: 'checkout-green-5xx',
        silentAlarms: ['checkout-green-5xx'],
      });
    });

    it('passes when an alarm in INSUFFICIENT_DATA now had data during the bake (it transitioned after it began)', async () => {
      // Confirmed as the 10-minute bake ends, at 10:20.
      const previous = useClock({ now: () => new Date('2025-03-04T10:20:00.000Z') });
      try {
        alarms.set('checkout-green-5xx', 'INSUFFICIENT_DATA', DURING_BAKE);

        await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toMatchObject({
          outcome: 'passed',
        });
      } finally {
        useClock(previous);
      }
    });

    it('is inconclusive for an alarm silent through the whole bake though it transitioned after the release started, before the bake', async () => {
      // No shift before this bake (a rolling update's bake follows the rollout and the checks): the alarm went
      // INSUFFICIENT_DATA during the rollout, 5 minutes in, and told nothing through the 10-minute bake that
      // ended 25 minutes in (its confirmation runs when the bake's wait times out).
      const previous = useClock({ now: () => new Date('2025-03-04T10:25:05.000Z') });
      try {
        alarms.set('checkout-green-5xx', 'INSUFFICIENT_DATA', '2025-03-04T10:05:05.000Z');

        await expect(
          confirmBake({ store, alarms }, deployment, cursorAt(5, { shifts: [] })),
        ).resolves.toMatchObject({ outcome: 'inconclusive', silentAlarms: ['checkout-green-5xx'] });
      } finally {
        useClock(previous);
      }
    });

    it('fails the bake for an alarm whose event was lost', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', DURING_BAKE);

      await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
        outcome: 'failed',
        reason: 'alarm checkout-green-5xx went to ALARM at 25%',
        alarm: 'checkout-green-5xx',
        alarmChangedAt: DURING_BAKE,
      });
    });

    it('fails the bake for an alarm that fired and recovered while its event was lost', async () => {
      const previous = useClock({ now: () => new Date('2025-03-04T10:20:00.000Z') });
      try {
        alarms.fired('checkout-green-5xx', '2025-03-04T10:14:00.000Z');
        alarms.set('checkout-green-5xx', 'OK', '2025-03-04T10:17:00.000Z');

        await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
          outcome: 'failed',
          reason: 'alarm checkout-green-5xx went to ALARM at 25%',
          alarm: 'checkout-green-5xx',
          alarmChangedAt: '2025-03-04T10:14:00.000Z',
        });
        expect(alarms.historyCalls).toEqual([
          {
            alarmNames: ['checkout-latency-p99', 'checkout-green-5xx'],
            since: new Date(STARTED),
            until: new Date('2025-03-04T10:20:00.000Z'),
          },
        ]);
      } finally {
        useClock(previous);
      }
    });

    it('passes despite an alarm in ALARM since before the release, saying that alarm could not tell', async () => {
      alarms.set('checkout-latency-p99', 'ALARM', BEFORE_START);

      await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
        outcome: 'passed',
        reason:
          'no alarm fired in 10m at 25% (2 alarms watched; checkout-latency-p99 was already in ALARM before the release, so it could not tell)',
      });
    });

    it('fails the bake when a watched alarm disappeared', async () => {
      alarms.alarms.delete('checkout-latency-p99');

      await expect(confirmBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
        outcome: 'failed',
        reason: 'watched alarm(s) disappeared during the bake: checkout-latency-p99',
      });
    });
  });

  describe('Function: onAlarmStateChange', () => {
    beforeEach(async () => {
      await startBake({ store, alarms, tokens }, deployment, bake25(), 'token-bake-25');
    });

    it('fails the bake watching the alarm, with the reason a person reads', async () => {
      const single = deploymentFixture({ alarms: ['checkout-5xx'] });
      alarms.set('checkout-5xx', 'OK', BEFORE_START);
      await startBake({ store, alarms, tokens }, single, bake25(), 'token-single');

      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-5xx', 'ALARM', '2025-03-04T10:14:00.123+0000'),
      );

      expect(result).toEqual({ failedReleases: [RELEASE] });
      expect(tokens.succeeded).toEqual([
        {
          token: 'token-single',
          output: {
            outcome: 'failed',
            reason: 'alarm checkout-5xx went to ALARM at 25%',
            alarm: 'checkout-5xx',
            alarmChangedAt: '2025-03-04T10:14:00.123Z',
          },
        },
      ]);
    });

    it('claims the watch so a replayed event resumes nothing twice', async () => {
      const event = alarmEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:14:00.000+0000');

      const first = await onAlarmStateChange({ store, tokens }, event);
      const replay = await onAlarmStateChange({ store, tokens }, event);

      expect(first).toEqual({ failedReleases: [RELEASE] });
      expect(replay).toEqual({ failedReleases: [] });
      expect(tokens.succeeded).toHaveLength(1);
      expect(store.watchKeys()).toEqual([`checkout-latency-p99/${RELEASE}`]);
    });

    it('ignores a transition that happened before the release started', async () => {
      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:00:04.999+0000'),
      );

      expect(result).toEqual({ failedReleases: [] });
      expect(tokens.succeeded).toEqual([]);
      expect(store.watchKeys()).toContain(`checkout-green-5xx/${RELEASE}`);
    });

    it.each(['OK', 'INSUFFICIENT_DATA'])('ignores a transition to %s', async (value) => {
      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', value, '2025-03-04T10:14:00.000+0000'),
      );

      expect(result).toEqual({ failedReleases: [] });
      expect(tokens.succeeded).toEqual([]);
      expect(store.calls).not.toContain('alarmWatches');
    });

    it('does nothing for an alarm nobody watches', async () => {
      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('payments-5xx', 'ALARM', '2025-03-04T10:14:00.000+0000'),
      );

      expect(result).toEqual({ failedReleases: [] });
      expect(tokens.succeeded).toEqual([]);
    });

    it('does not count a release whose bake already ended (stale token)', async () => {
      await tokens.succeed('token-bake-25', { outcome: 'passed' });

      const result = await onAlarmStateChange(
        { store, tokens },
        alarmEvent('checkout-green-5xx', 'ALARM', '2025-03-04T10:14:00.000+0000'),
      );

      expect(result).toEqual({ failedReleases: [] });
    });
  });

  describe('Function: finishBake', () => {
    const withPolicy = (inconclusive: BakeStep['inconclusive']) => {
      const step = { ...(deployment.plan.steps[5] as BakeStep), inconclusive };
      return cursorAt(5, { step, shifts: ONLY_25 });
    };

    it("returns the next step's cursor after a quiet bake, saying why it passed", async () => {
      await expect(finishBake({ store, alarms }, deployment, bake25())).resolves.toEqual({
        index: 6,
        step: deployment.plan.steps[6],
        shifts: ONLY_25,
        rollout: bake25().rollout,
        note: 'no alarm fired in 10m at 25% (2 alarms watched)',
      });
    });

    it('throws BakeFailed naming the alarm when one fired (the state machine rolls back)', async () => {
      alarms.set('checkout-green-5xx', 'ALARM', DURING_BAKE);

      await expect(finishBake({ store, alarms }, deployment, bake25())).rejects.toMatchObject({
        name: 'BakeFailed',
        message: 'alarm checkout-green-5xx went to ALARM at 25%',
      });
    });

    describe('an inconclusive bake', () => {
      beforeEach(() => {
        alarms.set('checkout-green-5xx', 'INSUFFICIENT_DATA', BEFORE_START);
      });

      it('fails under the fail policy, naming the alarm', async () => {
        await expect(finishBake({ store, alarms }, deployment, withPolicy('fail'))).rejects.toMatchObject({
          name: 'BakeFailed',
          message:
            'inconclusive: alarm checkout-green-5xx stayed INSUFFICIENT_DATA for the whole 10m bake at 25%, so it could not tell whether the new version is healthy; the service treats an inconclusive bake as failed',
        });
      });

      it('goes on under the pass policy, and says so in the next cursor', async () => {
        const next = await finishBake({ store, alarms }, deployment, withPolicy('pass'));

        expect(next).toMatchObject({ index: 6, step: { kind: 'shift', percent: 100 } });
        expect(next.note).toBe(
          'inconclusive: alarm checkout-green-5xx stayed INSUFFICIENT_DATA for the whole 10m bake at 25%, so it could not tell whether the new version is healthy; the service treats an inconclusive bake as passed',
        );
      });

      it("turns into a pause for a person under the pause policy, for the service's pause timeout", async () => {
        const cursor = withPolicy('pause');
        const paused = { ...cursor, step: { ...(cursor.step as BakeStep), inconclusivePauseSeconds: 1800 } };

        const next = await finishBake({ store, alarms }, deployment, paused);

        // The pause keeps the bake's index: resumed, the release goes on to the step after the bake.
        expect(next).toEqual({
          index: 5,
          step: {
            kind: 'pause',
            index: 5,
            label: 'Wait for a person: the 10m bake at 25% was inconclusive',
            timeoutSeconds: 1800,
            onTimeout: 'fail',
          },
          shifts: ONLY_25,
          rollout: cursor.rollout,
          note: 'inconclusive: alarm checkout-green-5xx stayed INSUFFICIENT_DATA for the whole 10m bake at 25%, so it could not tell whether the new version is healthy; the service pauses for a person to resume or abort, at most 30m',
        });
        expect(stepCursorSchema.parse(next)).toEqual(next);
      });

      it('fails under the pause policy when the plan carries no pause timeout, saying so', async () => {
        await expect(finishBake({ store, alarms }, deployment, withPolicy('pause'))).rejects.toMatchObject({
          name: 'BakeFailed',
          message: expect.stringContaining(
            'the service asks to pause for a person, but the plan carries no pause timeout, so the bake fails',
          ),
        });
      });
    });
  });
});
