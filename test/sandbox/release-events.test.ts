import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseEventMessage } from '../../lib/domain/progress.ts';
import { releaseEventsFromSns } from '../../lib/events/release-event.ts';
import { DEFAULT_TIMING } from '../../sandbox/aws/timing.ts';
import { readServerlessDocument } from '../../sandbox/iam/policies.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import {
  loadScenario,
  REPOSITORY_ROOT,
  runScenario,
  type ScenarioResult,
} from '../../sandbox/run-scenario.ts';
import { received } from '../fixtures/release-events-recorder.ts';

/** serverless.yml plus test-only subscribers of the release-events topic, declared as osls declares them. */
const withSubscribers = (): unknown => {
  const document = structuredClone(readServerlessDocument(REPOSITORY_ROOT)) as {
    functions: Record<string, unknown>;
  };
  const topic = { arn: { Ref: 'ReleaseEventsTopic' }, topicName: 'shipline-sandbox-release-events' };
  document.functions.recordReleaseEvents = {
    handler: 'test/fixtures/release-events-recorder.handler',
    events: [{ sns: topic }],
  };
  document.functions.recordPromotions = {
    handler: 'test/fixtures/release-events-recorder.handler',
    events: [{ sns: { ...topic, filterPolicy: { event: ['promoted', 'rolled_back'] } } }],
  };
  document.functions.publishBack = {
    handler: 'test/fixtures/release-events-recorder.publishesBack',
    events: [{ sns: { ...topic, filterPolicy: { event: ['started'] } } }],
    // As serverless.yml's subscribers: an event it fails on ends in the dead-letter queue.
    destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] } } },
  };
  return document;
};

/** What a subscriber read, through the parser the real subscribers use. */
const messagesOf = (fn: string): ReleaseEventMessage[] =>
  received
    .filter((entry) => entry.fn === `shipline-sandbox-${fn}`)
    .flatMap((entry) => releaseEventsFromSns(entry.event));

/** How long after its publish each message reached `fn`'s handler, in virtual ms. */
const deliveryDelaysMs = (fn: string): number[] =>
  received
    .filter((entry) => entry.fn === `shipline-sandbox-${fn}`)
    .map((entry) => entry.at - Date.parse(entry.event.Records[0]?.Sns.Timestamp ?? ''));

/** A subscriber's start: in a new execution environment (init, then the invocation) or a warm one. */
const FUNCTION_STARTS_MS = [
  DEFAULT_TIMING.lambdaColdStartMs + DEFAULT_TIMING.lambdaWarmStartMs,
  DEFAULT_TIMING.lambdaWarmStartMs,
];

let result: ScenarioResult;

beforeAll(async () => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
  result = await runScenario(scenario, baseDir, {
    serverlessDocument: withSubscribers(),
    functionsFromDocument: true,
  });
}, 60_000);

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: the release-events topic', () => {
  it('publishes every transition of a healthy canary, in order, with a growing sequence', () => {
    expect(result.outcome).toBe('promoted');
    const published = result.releaseEvents.map(({ message }) => message);
    expect(
      published.map((m) => `${m.kind} ${m.progress.state} ${m.progress.step}/${m.progress.steps}`),
    ).toEqual([
      'started deploying 0/9',
      'step deploying 1/9',
      'step waiting-ready 2/9',
      'step shifting 3/9',
      'step baking 4/9',
      'step baking 4/9',
      'step shifting 5/9',
      'step baking 6/9',
      'step baking 6/9',
      'step shifting 7/9',
      'step baking 8/9',
      'step baking 8/9',
      'promoted promoted 9/9',
      'step rollback-window 9/9',
      'step promoted 9/9',
    ]);
    const sequences = published.map((m) => m.progress.sequence);
    expect(sequences.every((sequence, index) => index === 0 || sequence > (sequences[index - 1] ?? 0))).toBe(
      true,
    );
    expect(published.map((m) => m.progress.newPercent)).toEqual([
      0, 0, 0, 5, 5, 5, 25, 25, 25, 100, 100, 100, 100, 100, 100,
    ]);
    // Users' notification topics keep only the notification kinds, unchanged.
    expect(result.notifications.map((n) => n.message.event)).toEqual(['started', 'promoted']);
  });

  it('records the last progress on the release record', () => {
    expect(result.releases[0]?.progress).toMatchObject({
      state: 'promoted',
      step: 9,
      steps: 9,
      newPercent: 100,
    });
    expect(result.releases[0]?.progress?.sequence).toBe(
      result.releaseEvents.at(-1)?.message.progress.sequence,
    );
  });

  it('delivers each message to the subscribed function as SNS invokes Lambda', () => {
    expect(messagesOf('recordReleaseEvents')).toEqual(result.releaseEvents.map(({ message }) => message));
    const [first] = received.filter((entry) => entry.fn === 'shipline-sandbox-recordReleaseEvents');
    const record = first?.event.Records[0];
    expect(record).toMatchObject({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: {
        Type: 'Notification',
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:shipline-sandbox-release-events',
        Subject: null,
        MessageAttributes: {
          event: { Type: 'String', Value: 'started' },
          service: { Type: 'String', Value: 'checkout' },
        },
      },
    });
    // Delivered after SNS's modeled latency, never before the publish.
    expect(Date.parse(record?.Sns.Timestamp ?? '')).toBeLessThanOrEqual(
      Date.parse(result.releaseEvents[1]?.message.at ?? ''),
    );
    // Invoked SNS's modeled delivery latency (500 ms by default) after the publish, plus the function's start.
    expect(new Set(deliveryDelaysMs('recordReleaseEvents'))).toEqual(
      new Set(FUNCTION_STARTS_MS.map((ms) => DEFAULT_TIMING.snsDeliveryMs + ms)),
    );
  });

  it("applies a subscription's filter policy on the message attributes", () => {
    expect(messagesOf('recordPromotions').map((m) => m.kind)).toEqual(['promoted']);
  });

  it("enforces a subscriber's own IAM: publishing without sns:Publish is refused (AuthorizationError) and dead-lettered", () => {
    expect(result.deadLetters).toEqual([
      expect.objectContaining({
        fn: 'publishBack',
        error: expect.stringMatching(
          /^AuthorizationErrorException: .*not authorized to perform: sns:Publish/,
        ),
      }),
    ]);
    // The release never noticed.
    expect(result.outcome).toBe('promoted');
  });

  it("delivers at least once: a scenario may duplicate, delay or lose a delivery to one subscriber, and set SNS's latency", async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
    scenario.world.delivery.push(
      { detailType: 'SNS Notification', fn: 'recordPromotions', duplicate: 1, times: 1 },
      {
        detailType: 'SNS Notification',
        fn: 'recordReleaseEvents',
        match: { detail: { event: ['started'] } },
        drop: true,
        times: 1,
      },
    );
    scenario.world.timing.snsDeliveryMs = 4000;
    received.length = 0;
    const faulty = await runScenario(scenario, baseDir, {
      serverlessDocument: withSubscribers(),
      functionsFromDocument: true,
    });

    expect(faulty.outcome).toBe('promoted');
    // world.timing.snsDeliveryMs: every delivery comes 4 s after its publish (plus the function's start).
    expect(new Set(deliveryDelaysMs('recordReleaseEvents'))).toEqual(
      new Set(FUNCTION_STARTS_MS.map((ms) => 4000 + ms)),
    );
    // The promotion reached its filtered subscriber twice (subscribers dedupe by release and sequence).
    expect(messagesOf('recordPromotions').map((m) => [m.kind, m.progress.sequence])).toEqual([
      ['promoted', 34],
      ['promoted', 34],
    ]);
    // The other subscriber never got the start, and got every later transition.
    const kinds = messagesOf('recordReleaseEvents').map((m) => m.kind);
    expect(kinds).not.toContain('started');
    expect(kinds).toHaveLength(faulty.releaseEvents.length - 1);
    expect(faulty.timeline.filter((e) => e.kind === 'fault').map((e) => e.text)).toEqual([
      'SNS lost the SNS message (started) to recordReleaseEvents',
      'SNS delivers the SNS message (promoted) to recordPromotions 2 times',
    ]);
  }, 60_000);
});
