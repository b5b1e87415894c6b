import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../../lib/clock.ts';
import { manualExecutionNameFor } from '../../../lib/domain/names.ts';
import type { OperationRequest } from '../../../lib/domain/operations.ts';
import type { ManualDeployRequest } from '../../../lib/events/deploy-request.ts';
import type { ReleaseRecord } from '../../../lib/ports/release-history.ts';
import type { ReleaseStarter, ReleaseStartResult } from '../../../lib/ports/release-starter.ts';
import type { Wait } from '../../../lib/ports/wait-registry.ts';
import { OperationInputError, operate } from '../../../lib/use-cases/operate.ts';
import {
  FakeTaskTokens,
  InMemoryReleaseHistory,
  InMemoryServiceStateStore,
  InMemoryWaitRegistry,
} from '../fakes.ts';

const NOW = '2026-03-02T10:30:00.000Z';
const ACTOR = { via: 'cli', id: 'arn:aws:sts::123456789012:assumed-role/deployer/ana' } as const;
const DIGEST_V1 = `sha256:${'1'.repeat(64)}`;
const DIGEST_V2 = `sha256:${'2'.repeat(64)}`;
const DIGEST_V3 = `sha256:${'3'.repeat(64)}`;

const record = (releaseId: string, fields: Partial<ReleaseRecord>): ReleaseRecord => ({
  service: 'checkout',
  releaseId,
  requestedAt: '2026-03-02T10:00:00.000Z',
  status: 'in_progress',
  ...fields,
});

const v1 = record('checkout-v1', {
  requestedAt: '2026-03-01T08:00:00.000Z',
  status: 'promoted',
  endedAt: '2026-03-01T08:40:00.000Z',
  toVersion: 'v1',
  image: { digest: DIGEST_V1, tag: 'v1', uri: `1.dkr.ecr.eu-west-1.amazonaws.com/checkout@${DIGEST_V1}` },
});
const v2 = record('checkout-v2', {
  requestedAt: '2026-03-02T09:00:00.000Z',
  status: 'promoted',
  endedAt: '2026-03-02T09:40:00.000Z',
  fromVersion: 'v1',
  toVersion: 'v2',
  image: { digest: DIGEST_V2, tag: 'v2' },
});
const running = record('checkout-v3', {
  fromVersion: 'v2',
  toVersion: 'v3',
  image: { digest: DIGEST_V3, tag: 'v3' },
  progress: {
    sequence: 4,
    step: 2,
    steps: 6,
    kind: 'bake',
    label: 'Bake 5% for 5m',
    state: 'baking',
    newPercent: 5,
    stepStartedAt: '2026-03-02T10:28:00.000Z',
    endsAt: '2026-03-02T10:33:00.000Z',
    updatedAt: '2026-03-02T10:28:00.000Z',
  },
});

const wait = (releaseId: string, kind: Wait['kind'], key: string, taskToken: string): Wait =>
  (kind === 'bake' || kind === 'rollback-window' || kind === 'rollout'
    ? {
        releaseId,
        service: 'checkout',
        environment: 'default',
        kind,
        key,
        taskToken,
        data: { percent: 5, watchFrom: '2026-03-02T10:00:00.000Z' },
      }
    : { releaseId, service: 'checkout', environment: 'default', kind, key, taskToken }) as Wait;

const rollbackAction = (result: string) => ({
  at: '2026-03-02T10:20:00.000Z',
  command: 'rollback' as const,
  actor: ACTOR,
  reason: 'p99 up',
  result,
});

class FakeReleaseStarter implements ReleaseStarter {
  public readonly requests: ManualDeployRequest[] = [];
  public answer: ReleaseStartResult | undefined;
  public async start(request: ManualDeployRequest): Promise<ReleaseStartResult> {
    this.requests.push(request);
    return (
      this.answer ?? {
        status: 'started',
        releaseId: 'checkout-111111111111-abcd1234',
        executionArn: 'arn:aws:states:eu-west-1:1:execution:release:checkout-111111111111-abcd1234',
      }
    );
  }
}

const setup = (records: ReleaseRecord[], waits: Wait[] = []) => {
  const history = new InMemoryReleaseHistory(new Map());
  for (const each of records) void history.put(each);
  const registry = new InMemoryWaitRegistry();
  for (const each of waits) registry.put(each);
  const tokens = new FakeTaskTokens();
  const services = new InMemoryServiceStateStore(
    new Map([
      [
        'checkout',
        {
          service: 'checkout',
          stableSlot: 'blue' as const,
          stableVersion: 'v2',
          stableTaskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/checkout:2',
          latestRelease: 'checkout-v2',
          updatedAt: '2026-03-02T09:40:00.000Z',
        },
      ],
    ]),
  );
  const releases = new FakeReleaseStarter();
  const ports = { waits: registry, tokens, history, services, releases };
  const run = (command: OperationRequest['command'], extra: Partial<OperationRequest> = {}) =>
    operate(ports, { command, service: 'checkout', actor: ACTOR, ...extra });
  const actions = async (releaseId: string) =>
    (await history.listByService({ environment: 'default', service: 'checkout' }, 10)).find(
      (each) => each.releaseId === releaseId,
    )?.actions;
  return { history, registry, tokens, releases, services, run, actions };
};

let previousClock: Clock;
beforeEach(() => {
  previousClock = useClock({ now: () => new Date(NOW) });
});
afterEach(() => {
  useClock(previousClock);
});

describe('Use case: operate', () => {
  describe('promote', () => {
    it('ends the bake of the running release with the BakePromotion payload, once per token, and records who asked', async () => {
      const { tokens, registry, run, actions } = setup(
        [v2, running],
        [
          wait('checkout-v3', 'bake', 'checkout-5xx', 'tok-bake'),
          wait('checkout-v3', 'bake', 'checkout-p99', 'tok-bake'),
        ],
      );
      const result = await run('promote', { reason: 'looks good' });
      expect(tokens.succeeded).toEqual([
        {
          token: 'tok-bake',
          output: { outcome: 'promoted', full: false, by: ACTOR.id, reason: 'looks good', actor: ACTOR },
        },
      ]);
      expect(registry.entries.size).toBe(0);
      expect(result).toEqual({
        status: 'done',
        command: 'promote',
        service: 'checkout',
        releaseId: 'checkout-v3',
        message:
          'ended the bake of step 2 of 6 of release checkout-v3 as passed: the release goes on with its next step',
      });
      expect(await actions('checkout-v3')).toEqual([
        { at: NOW, command: 'promote', actor: ACTOR, reason: 'looks good', result: result.message },
      ]);
    });

    it('records who promoted, and answers done, even when the waits cannot be claimed after the bake ended', async () => {
      const { tokens, registry, run, actions } = setup(
        [v2, running],
        [wait('checkout-v3', 'bake', 'checkout-5xx', 'tok-bake')],
      );
      registry.claim = async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      };
      const result = await run('promote', { reason: 'looks good' });
      // The bake took the promotion: the command acted, whatever became of its bookkeeping.
      expect(tokens.succeeded.map((each) => each.token)).toEqual(['tok-bake']);
      expect(result).toMatchObject({ status: 'done', releaseId: 'checkout-v3' });
      expect(await actions('checkout-v3')).toMatchObject([{ command: 'promote', reason: 'looks good' }]);
    });

    it('promote-full sends full: true, with a default reason naming who asked', async () => {
      const { tokens, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'checkout-5xx', 'tok-bake')]);
      const result = await run('promote-full', { actor: { via: 'slack', id: 'slack:T1/U1', name: 'ana' } });
      expect(tokens.succeeded).toEqual([
        {
          token: 'tok-bake',
          output: {
            outcome: 'promoted',
            full: true,
            by: 'ana',
            reason: 'promote-full asked by ana',
            actor: { via: 'slack', id: 'slack:T1/U1', name: 'ana' },
          },
        },
      ]);
      expect(result.message).toContain('skipped the rest of the plan: v3 goes to 100%');
    });

    it('ends the rollback window of a promoted release: it stays promoted', async () => {
      const { tokens, run, actions } = setup(
        [v1, v2],
        [wait('checkout-v2', 'rollback-window', 'checkout-5xx', 'tok-window')],
      );
      const result = await run('promote');
      expect(tokens.succeeded).toMatchObject([{ token: 'tok-window', output: { outcome: 'promoted' } }]);
      expect(result).toMatchObject({ status: 'done', releaseId: 'checkout-v2' });
      expect(result.message).toBe(
        'ended the rollback window of release checkout-v2: v2 stays promoted and the old version is scaled down',
      );
      expect(await actions('checkout-v2')).toHaveLength(1);
    });

    it('has nothing to promote while the release is paused, and says what it is doing', async () => {
      const paused = {
        ...running,
        progress: {
          ...(running.progress as NonNullable<ReleaseRecord['progress']>),
          state: 'paused' as const,
          label: 'Pause for approval',
          step: 3,
        },
      };
      const { tokens, run, actions } = setup(
        [v2, paused],
        [wait('checkout-v3', 'pause', 'checkout-v3', 'tok-p')],
      );
      const result = await run('promote');
      expect(tokens.succeeded).toEqual([]);
      expect(result).toEqual({
        status: 'nothing-to-act-on',
        command: 'promote',
        service: 'checkout',
        releaseId: 'checkout-v3',
        message:
          'nothing to promote: release checkout-v3 of checkout (v2 -> v3) is paused, waiting for a person (step 3 of 6: Pause for approval), 5% of traffic on v3; promote ends a bake or the rollback window: a paused release goes on with shipline resume checkout, or rolls back with shipline abort checkout',
      });
      expect(await actions('checkout-v3')).toBeUndefined();
    });

    it('has nothing to promote when no release runs: it says what serves and how the last release ended', async () => {
      const { run } = setup([v1, v2]);
      const result = await run('promote');
      expect(result).toEqual({
        status: 'nothing-to-act-on',
        command: 'promote',
        service: 'checkout',
        message:
          'nothing to promote: checkout is not releasing: it serves v2; its last release checkout-v2 (v1 -> v2) was promoted at 2026-03-02T09:40:00.000Z',
      });
    });

    it('has nothing to promote when the bake had already ended', async () => {
      const { tokens, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'checkout-5xx', 'tok-bake')]);
      await tokens.succeed('tok-bake', 'timed out meanwhile');
      const result = await run('promote');
      expect(result.status).toBe('nothing-to-act-on');
      expect(result.message).toContain('had already ended');
    });
  });

  describe('abort', () => {
    it('fails every wait of the running release with ReleaseAborted and the reason, and records who asked', async () => {
      const { tokens, run, actions } = setup(
        [v2, running],
        [wait('checkout-v3', 'bake', 'checkout-5xx', 'tok-bake')],
      );
      const result = await run('abort', { reason: 'wrong build' });
      expect(tokens.failed).toEqual([
        {
          token: 'tok-bake',
          error: 'ReleaseAborted',
          cause: JSON.stringify({ errorMessage: 'aborted by a person: wrong build', actor: ACTOR }),
        },
      ]);
      expect(result).toMatchObject({
        status: 'done',
        releaseId: 'checkout-v3',
        message: 'aborted release checkout-v3: it rolls back to v2',
      });
      expect(await actions('checkout-v3')).toMatchObject([{ command: 'abort', reason: 'wrong build' }]);
    });

    it('needs a reason, before anything is read or acted on', async () => {
      const { tokens, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'checkout-5xx', 't')]);
      await expect(run('abort')).rejects.toThrow(OperationInputError);
      await expect(run('abort', { reason: '  ' })).rejects.toThrow(/abort needs a reason/);
      expect(tokens.failed).toEqual([]);
    });

    it('has nothing to abort between steps (no wait yet), and says so', async () => {
      const { run } = setup([v2, running]);
      const result = await run('abort', { reason: 'x' });
      expect(result.status).toBe('nothing-to-act-on');
      expect(result.message).toMatch(/^nothing to abort right now: release checkout-v3 of checkout/);
    });

    it('says the release is already rolling back when another person aborted it a moment before', async () => {
      const { tokens, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'a', 'tok')]);
      await run('abort', { reason: 'p99 up' });
      // The first abort ended the bake and claimed its wait: the second finds only the record of it.
      const second = await run('abort', { reason: 'errors' });
      expect(tokens.failed).toHaveLength(1);
      expect(second).toMatchObject({ status: 'nothing-to-act-on', releaseId: 'checkout-v3' });
      expect(second.message).toBe(
        `nothing to abort: release checkout-v3 is already rolling back: ${ACTOR.id} gave abort at ${NOW} (p99 up)`,
      );
    });

    it('acts on the release --release names only', async () => {
      const { tokens, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'a', 'tok')]);
      const other = await run('abort', { reason: 'x', releaseId: 'checkout-nope' });
      expect(other).toMatchObject({
        status: 'nothing-to-act-on',
        message: 'nothing to abort: release checkout-nope of checkout was not found, or waits on nothing',
      });
      expect(tokens.failed).toEqual([]);
      const named = await run('abort', { reason: 'x', releaseId: 'checkout-v3' });
      expect(named.status).toBe('done');
    });
  });

  describe('resume and reject', () => {
    const paused = (): Wait => wait('checkout-v3', 'pause', 'checkout-v3', 'tok-pause');

    it('resume approves the pause', async () => {
      const { tokens, run, actions } = setup([v2, running], [paused()]);
      const result = await run('resume');
      expect(tokens.succeeded).toEqual([
        { token: 'tok-pause', output: { resumed: true, decision: 'approved' } },
      ]);
      expect(result).toMatchObject({
        status: 'done',
        message: 'approved the pause of release checkout-v3: it goes on with its next step',
      });
      expect(await actions('checkout-v3')).toMatchObject([{ command: 'resume' }]);
    });

    it('resume has nothing to act on while the release bakes', async () => {
      const { run } = setup([v2, running], [wait('checkout-v3', 'bake', 'a', 'tok')]);
      const result = await run('resume');
      expect(result).toMatchObject({
        status: 'nothing-to-act-on',
        message:
          'nothing to resume: release checkout-v3 of checkout (v2 -> v3) is baking (step 2 of 6: Bake 5% for 5m), 5% of traffic on v3, not paused',
      });
    });

    it('reject fails the pause with ReleaseAborted, "rejected by" who asked, and leaves other waits alone', async () => {
      const { tokens, registry, run } = setup([v2, running], [paused()]);
      const result = await run('reject', { reason: 'not on a Friday' });
      expect(tokens.failed).toEqual([
        {
          token: 'tok-pause',
          error: 'ReleaseAborted',
          cause: JSON.stringify({
            errorMessage: `aborted by a person: rejected by ${ACTOR.id}: not on a Friday`,
            actor: ACTOR,
          }),
        },
      ]);
      expect(registry.entries.size).toBe(0);
      expect(result.message).toBe('rejected the pause of release checkout-v3: it rolls back to v2');
    });
  });

  describe('rollback', () => {
    it('aborts the running release', async () => {
      const { tokens, releases, run } = setup([v2, running], [wait('checkout-v3', 'bake', 'a', 'tok')]);
      const result = await run('rollback', { reason: 'p99 up' });
      expect(tokens.failed).toMatchObject([{ token: 'tok', error: 'ReleaseAborted' }]);
      expect(releases.requests).toEqual([]);
      expect(result).toMatchObject({ status: 'done', releaseId: 'checkout-v3' });
    });

    it('rolls back within the rollback window: the warm slot serves again', async () => {
      const { tokens, releases, run, actions } = setup(
        [v1, v2],
        [wait('checkout-v2', 'rollback-window', 'checkout-5xx', 'tok-window')],
      );
      const result = await run('rollback', { reason: 'p99 up' });
      expect(tokens.failed).toEqual([
        {
          token: 'tok-window',
          error: 'ReleaseAborted',
          cause: JSON.stringify({ errorMessage: 'aborted by a person: p99 up', actor: ACTOR }),
        },
      ]);
      expect(releases.requests).toEqual([]);
      expect(result.message).toBe(
        'rolling back release checkout-v2 within its rollback window: v1 serves again from its warm slot',
      );
      expect(await actions('checkout-v2')).toMatchObject([{ command: 'rollback', reason: 'p99 up' }]);
    });

    it('does not end the window of a release a newer one has taken the service from: nothing would roll back', async () => {
      const { tokens, services, run } = setup(
        [v1, v2],
        [wait('checkout-v2', 'rollback-window', 'checkout-5xx', 'tok-window')],
      );
      // v3 took the idle slot (the old version's) while v2's window still runs.
      await services.claimIdleSlot({ environment: 'default', service: 'checkout' }, 'checkout-v3');
      for (const command of ['rollback', 'abort'] as const) {
        const result = await run(command, { reason: 'p99 up', releaseId: 'checkout-v2' });
        expect(result).toMatchObject({ status: 'nothing-to-act-on', releaseId: 'checkout-v2' });
        expect(result.message).toContain(
          'release checkout-v3 has taken checkout over since: the old version no longer waits warm for checkout-v2',
        );
      }
      expect(tokens.failed).toEqual([]);
    });

    it('after the window, releases the previous promoted digest again, as a manual request', async () => {
      const { tokens, releases, run, actions } = setup([v1, v2]);
      const result = await run('rollback', { reason: 'p99 up' });
      expect(tokens.failed).toEqual([]);
      expect(releases.requests).toEqual([
        {
          source: 'manual',
          service: 'checkout',
          image: {
            digest: DIGEST_V1,
            tag: 'v1',
            uri: `1.dkr.ecr.eu-west-1.amazonaws.com/checkout@${DIGEST_V1}`,
          },
          requestedBy: ACTOR.id,
          requestId: 'rollback-of-checkout-v2-1',
        },
      ]);
      expect(result).toEqual({
        status: 'done',
        command: 'rollback',
        service: 'checkout',
        releaseId: 'checkout-v2',
        message:
          'started release checkout-111111111111-abcd1234 of v1 (sha256:111111111111), the version before v2: its slot is no longer warm, so it goes through the plan (p99 up)',
        startedRelease: {
          releaseId: 'checkout-111111111111-abcd1234',
          executionArn: 'arn:aws:states:eu-west-1:1:execution:release:checkout-111111111111-abcd1234',
          digest: DIGEST_V1,
        },
      });
      expect(await actions('checkout-v2')).toMatchObject([{ command: 'rollback' }]);
    });

    it("rolls nothing back for a release it does not find (another service's, or a mistyped --release)", async () => {
      const { tokens, releases, run, actions } = setup([v1, v2]);
      const result = await run('rollback', { reason: 'p99 up', releaseId: 'payments-v9' });
      expect(result).toEqual({
        status: 'nothing-to-act-on',
        command: 'rollback',
        service: 'checkout',
        message: 'nothing to roll back: release payments-v9 of checkout was not found, or waits on nothing',
      });
      expect(releases.requests).toEqual([]);
      expect(tokens.failed).toEqual([]);
      expect(await actions('checkout-v2')).toBeUndefined();
    });

    it('rolls the named serving release back to the previous version once its window is over (a stale button)', async () => {
      const { releases, run } = setup([v1, v2]);
      const result = await run('rollback', { reason: 'p99 up', releaseId: 'checkout-v2' });
      expect(result).toMatchObject({ status: 'done', releaseId: 'checkout-v2' });
      expect(releases.requests).toMatchObject([
        { image: { digest: DIGEST_V1 }, requestId: 'rollback-of-checkout-v2-1' },
      ]);
    });

    it('rolls nothing back for a named release that ended and no longer serves, and says what serves', async () => {
      const { releases, run } = setup([v1, v2]);
      const result = await run('rollback', { reason: 'p99 up', releaseId: 'checkout-v1' });
      expect(result).toEqual({
        status: 'nothing-to-act-on',
        command: 'rollback',
        service: 'checkout',
        releaseId: 'checkout-v1',
        message:
          'nothing to roll back: release checkout-v1 of checkout was promoted and is not what checkout serves (release checkout-v2, v2); shipline rollback checkout rolls back what serves',
      });
      expect(releases.requests).toEqual([]);
    });

    it('after its release of the previous digest failed, a second rollback of the same serving release is a new request', async () => {
      const failed = record(manualExecutionNameFor('checkout', DIGEST_V1, 'rollback-of-checkout-v2-1'), {
        requestedAt: '2026-03-02T10:10:00.000Z',
        status: 'failed',
        fromVersion: 'v2',
        toVersion: 'v1',
        image: { digest: DIGEST_V1 },
      });
      const asked = { ...v2, actions: [rollbackAction('started release ...')] };
      const { releases, run } = setup([v1, asked, failed]);
      const result = await run('rollback', { reason: 'again' });
      expect(result.status).toBe('done');
      expect(releases.requests.map((each) => each.requestId)).toEqual(['rollback-of-checkout-v2-2']);
    });

    it('two people rolling back at once past the window start one release of the previous digest', async () => {
      const { releases, run } = setup([v1, v2]);
      await run('rollback', { reason: 'p99 up' });
      // The second finds the first's rollback recorded, its release not yet recorded (it is starting).
      const second = await run('rollback', { reason: 'conversion dropped' });
      expect(releases.requests).toHaveLength(1);
      expect(second).toMatchObject({ status: 'nothing-to-act-on', releaseId: 'checkout-v2' });
      expect(second.message).toContain('a rollback of release checkout-v2 (v1 -> v2) is already under way');
    });

    it('does not abort the release of the previous digest a rollback started: it is the rollback', async () => {
      const rollbackId = manualExecutionNameFor('checkout', DIGEST_V1, 'rollback-of-checkout-v2-1');
      const rollingBack = record(rollbackId, {
        requestedAt: '2026-03-02T10:20:00.000Z',
        fromVersion: 'v2',
        toVersion: 'v1',
        image: { digest: DIGEST_V1, tag: 'v1' },
      });
      const asked = { ...v2, actions: [rollbackAction(`started release ${rollbackId} of v1`)] };
      const { tokens, releases, run } = setup(
        [v1, asked, rollingBack],
        [wait(rollbackId, 'ready', 'ecs-svc/1', 'tok-ready')],
      );
      const result = await run('rollback', { reason: 'p99 up' });
      expect(tokens.failed).toEqual([]);
      expect(releases.requests).toEqual([]);
      expect(result).toMatchObject({ status: 'nothing-to-act-on', releaseId: rollbackId });
      expect(result.message).toContain(`release ${rollbackId} of v1 is already rolling checkout back`);
    });

    it('a second rollback while the first one rolls back within the window does not release an older version', async () => {
      // The first aborted the window (its waits are gone); the release is still recorded as promoted.
      const asked = {
        ...v2,
        actions: [rollbackAction('rolling back release checkout-v2 within its rollback window')],
      };
      const { releases, run } = setup([v1, asked]);
      const result = await run('rollback', { reason: 'p99 up' });
      expect(releases.requests).toEqual([]);
      expect(result).toMatchObject({ status: 'nothing-to-act-on', releaseId: 'checkout-v2' });
      expect(result.message).toContain('a rollback of release checkout-v2 (v1 -> v2) is already under way');
    });

    it("a second rollback after a person's rollback ended does not go one more version back", async () => {
      const v0 = record('checkout-v0', {
        requestedAt: '2026-02-28T08:00:00.000Z',
        status: 'promoted',
        toVersion: 'v0',
        image: { digest: `sha256:${'0'.repeat(64)}` },
      });
      const rolledBack = {
        ...v2,
        status: 'rolled_back' as const,
        actions: [rollbackAction('rolling back release checkout-v2 within its rollback window')],
      };
      const { releases, run } = setup([v0, v1, rolledBack]);
      const result = await run('rollback', { reason: 'p99 up' });
      expect(releases.requests).toEqual([]);
      expect(result).toMatchObject({ status: 'nothing-to-act-on', releaseId: 'checkout-v2' });
      expect(result.message).toContain(
        'release checkout-v2 (v1 -> v2) was already rolled back on the rollback of arn:aws:sts::123456789012:assumed-role/deployer/ana',
      );
    });

    it('skips earlier releases of the serving digest and rolled-back ones', async () => {
      const again = record('checkout-v1-again', {
        requestedAt: '2026-03-02T09:50:00.000Z',
        status: 'promoted',
        toVersion: 'v1',
        image: { digest: DIGEST_V1 },
      });
      const bad = record('checkout-v3-bad', {
        requestedAt: '2026-03-02T09:55:00.000Z',
        status: 'rolled_back',
        image: { digest: DIGEST_V3 },
      });
      const { releases, run } = setup([v1, v2, again, bad]);
      await run('rollback', { reason: 'back to v2' });
      expect(releases.requests.map((each) => each.image.digest)).toEqual([DIGEST_V2]);
    });

    it('has nothing to roll back to without an earlier promoted version', async () => {
      const { releases, run } = setup([v2]);
      const result = await run('rollback', { reason: 'x' });
      expect(releases.requests).toEqual([]);
      expect(result).toMatchObject({
        status: 'nothing-to-act-on',
        message:
          'nothing to roll back to: checkout serves v2 (release checkout-v2) and its history has no earlier promoted version',
      });
    });

    it('says so when the trigger ignores the request', async () => {
      const { releases, run } = setup([v1, v2]);
      releases.answer = { status: 'ignored', reason: 'already serving' };
      const result = await run('rollback', { reason: 'x' });
      expect(result).toMatchObject({
        status: 'nothing-to-act-on',
        message: 'nothing to roll back: releasing v1 again was refused: already serving',
      });
    });
  });
});
