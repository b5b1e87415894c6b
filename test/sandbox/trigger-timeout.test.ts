import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TRIGGER_TIMEOUT_EARLY_MS } from '../../functions/trigger.ts';
import { readServerlessDocument } from '../../sandbox/iam/policies.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

type Doc = { functions: Record<string, { timeout?: number }> };

afterAll(async () => {
  await stopLocalDynamoDb();
});

const V3 = 'checkout-6fc5076f5b1ad79e657b782f3da17013';
const V4 = 'checkout-3c68cb17f038e74109e526470c8d747d';
const MIDDY_TIMEOUT = 'TransientAwsError: TimeoutError: [AbortError]: The operation was aborted.';

describe('Sandbox: the trigger runs out of time holding release events', () => {
  // v2 is being released when v3 is pushed (queued as data) and then v4, whose trigger replaces v3 in the
  // queue: it holds v3's "superseded" release event (and would hold its own "queued" one), to publish them
  // together when it ends. Here it runs out of time first: SNS throttles the notification to v3's people
  // (the SDK backs off and retries) and every AWS call takes 120 ms. A 5 s timeout stands for the deployed
  // 30 s, which no SDK call's three attempts can outlast in the sandbox; on AWS a call with no request
  // timeout can. Middy stops waiting 4 s before the timeout: the trigger publishes what it holds, then fails
  // with middy's TimeoutError, so Lambda retries its event.
  it('publishes the held events before middy answers with its TimeoutError, and its retry publishes nothing twice', async () => {
    const doc = structuredClone(readServerlessDocument(REPOSITORY_ROOT)) as Doc;
    const trigger = doc.functions.trigger;
    if (!trigger) throw new Error('serverless.yml declares no trigger');
    trigger.timeout = 5;
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'replaced-push-told-after-dead-letter.yml'),
    );
    scenario.faults = [
      { command: 'Publish', error: 'ThrottlingException', times: 2, after: 360, responseLost: false },
    ];
    scenario.world.timing.apiCallMs = 120;
    const result = await runScenario(scenario, baseDir, { serverlessDocument: doc });

    // v4's push reaches the trigger at 6m 0.5s (EventBridge) and its invocation starts 5 ms later (warm).
    const start = 360.505;
    const answeredAt = start + 5 - TRIGGER_TIMEOUT_EARLY_MS / 1000;
    const [failed, retried] = result.triggers.filter((trigger) => trigger.t > 360);
    // Middy answered 4 s before the timeout, once the held event was published (one 120 ms request).
    expect(failed).toEqual({
      t: expect.any(Number),
      status: 'error',
      reason: MIDDY_TIMEOUT,
      service: 'checkout',
    });
    expect(failed?.t).toBeCloseTo(answeredAt + 0.12, 6);
    expect(result.timeline.map((entry) => entry.text)).toContain(
      `trigger failed: ${MIDDY_TIMEOUT} (retry 1 of 2)`,
    );
    const v3Events = result.releaseEvents.filter((event) => event.message.releaseId === V3);
    expect(v3Events.map((event) => [event.t, event.message.kind])).toEqual([
      [301.225, 'step'],
      [failed?.t, 'superseded'],
    ]);
    // Lambda's retry finds v4 queued: a duplicate, which announces nothing again.
    expect(retried).toMatchObject({ status: 'duplicate', executionName: V4 });
    expect(result.releaseEvents.filter((event) => event.message.kind === 'superseded')).toHaveLength(1);
    // The handler middy stopped waiting for (the throttled notification's third attempt, due 2 s after its
    // second) never reaches SNS: nothing is published until the retry. (Its mark was written first, so the
    // retry takes v3 for told: the notification-mark gap queue-interleavings.test.ts names.)
    expect(
      result.notifications.filter((n) => n.t > start && n.t < (retried?.t ?? Number.POSITIVE_INFINITY)),
    ).toEqual([]);
    expect(result.timeline.filter((entry) => entry.text.startsWith('Publish: injected'))).toHaveLength(2);
    expect(result.outcome).toBe('promoted');
    expect(result.servingVersion).toBe('v4');
  }, 120_000);
});
