import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbWaitRegistry } from '../../lib/adapters/dynamodb-wait-registry.ts';
import { createSfnTaskTokens } from '../../lib/adapters/sfn-workflow.ts';
import type { BakePromotion } from '../../lib/domain/progress.ts';
import { environment } from '../../lib/env.ts';
import type { WaitKind } from '../../lib/ports/wait-registry.ts';
import { currentWorld } from '../../sandbox/context.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import {
  loadScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';

const PERSON = 'arn:aws:iam::123456789012:user/alice';

/**
 * The healthy canary, with a person's promotion at `atSeconds` (virtual, from the scenario's start): the
 * same token completion `shipline promote` makes, the BakePromotion payload on the task of the release's
 * wait of `kind` (a bake, or the rollback window).
 */
const runPromoting = async (atSeconds: number, kind: WaitKind, full: boolean): Promise<ScenarioResult> => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
  let scheduled = false;
  return runScenario(scenario, baseDir, {
    onEntry: () => {
      const context = currentWorld();
      if (scheduled || !context) return;
      scheduled = true;
      const { world, clock } = context;
      clock.schedule(Date.parse(scenario.world.start) + atSeconds * 1000, () => {
        void clock.track(async () => {
          const [execution] = world.sfn.executions.values();
          if (!execution) throw new Error('no release to promote');
          const waits = new DynamoDbWaitRegistry(createDynamoDbDocumentClient(), environment.tableName);
          const [wait] = (await waits.findByRelease(execution.name)).filter((w) => w.kind === kind);
          if (!wait) throw new Error(`the release waits on no ${kind}`);
          const promotion: BakePromotion = { outcome: 'promoted', full, by: PERSON, reason: 'looks good' };
          world.record('event', `a person promotes the release${full ? ' in full' : ''}`);
          await createSfnTaskTokens().succeed(wait.taskToken, promotion);
        });
      });
    },
  });
};

const traffic = (result: ScenarioResult) =>
  result.timeline.filter((e) => e.kind === 'traffic').map((e) => e.text);
const transitions = (result: ScenarioResult) =>
  result.releaseEvents.map(
    ({ message }) => `${message.kind} ${message.progress.state} ${message.progress.step}`,
  );

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: a person promotes a running release', () => {
  it('ends the 5% bake early and goes on with the 25% shift at once', async () => {
    const result = await runPromoting(300, 'bake', false);

    expect(result.outcome).toBe('promoted');
    expect(traffic(result)).toEqual(['blue 95% / green 5%', 'blue 75% / green 25%', 'blue 0% / green 100%']);
    const shifted25 = result.timeline.find((e) => e.kind === 'traffic' && e.text.includes('25%'));
    expect(shifted25?.t).toBeGreaterThanOrEqual(300);
    expect(shifted25?.t).toBeLessThan(310);
    const promoted = result.releaseEvents.find(({ message }) => message.actor?.id === PERSON)?.message;
    expect(promoted).toMatchObject({ kind: 'step', progress: { step: 4, state: 'baking', newPercent: 5 } });
    expect(result.notifications.map((n) => n.message.event)).toEqual(['started', 'promoted']);
    expect(result.notifications[1]?.message.reason).toBe(
      `all 3 steps passed; bakes ended early as passed: step 4 by ${PERSON} (looks good)`,
    );
  }, 60_000);

  it('with full, moves all traffic to the new version in one shift, skips the rest, and keeps the rollback window', async () => {
    const result = await runPromoting(300, 'bake', true);

    expect(result.outcome).toBe('promoted');
    expect(result.servingVersion).toBe('v2');
    // Never two shifts: from 5% straight to 100%, and the old slot scaled down after the window.
    expect(traffic(result)).toEqual(['blue 95% / green 5%', 'blue 0% / green 100%']);
    expect(transitions(result)).toEqual([
      'started deploying 0',
      'step deploying 1',
      'step waiting-ready 2',
      'step shifting 3',
      'step baking 4',
      'step baking 4',
      'promoted promoted 9',
      'step rollback-window 9',
      'step promoted 9',
    ]);
    const sequences = result.releaseEvents.map(({ message }) => message.progress.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(result.notifications[1]?.message).toMatchObject({
      event: 'promoted',
      reason: `promoted in full by ${PERSON} (looks good) at step 4 of 9; the remaining bakes, checks and pauses were skipped`,
    });
    // The 15-minute rollback window still ran after the promotion, before blue was scaled down.
    const promotedAt = result.releaseEvents.find(({ message }) => message.kind === 'promoted')?.t ?? 0;
    const scaledDown = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text === 'checkout-blue: scaled to 0 tasks',
    );
    expect((scaledDown?.t ?? 0) - promotedAt).toBeGreaterThanOrEqual(900);
  }, 60_000);

  it('ends the rollback window now and retires the old version', async () => {
    const result = await runPromoting(1900 + 120, 'rollback-window', false);

    expect(result.outcome).toBe('promoted');
    const scaledDown = result.timeline.find(
      (e) => e.kind === 'ecs' && e.text === 'checkout-blue: scaled to 0 tasks',
    );
    expect(scaledDown?.t).toBeGreaterThanOrEqual(2020);
    expect(scaledDown?.t).toBeLessThan(2030);
    expect(transitions(result).slice(-3)).toEqual([
      'step rollback-window 9',
      'step promoted 9',
      'step promoted 9',
    ]);
    expect(result.releaseEvents.at(-2)?.message).toMatchObject({
      actor: { via: 'cli', id: PERSON },
      reason: `the rollback window was ended early by ${PERSON}: looks good`,
    });
  }, 60_000);
});
