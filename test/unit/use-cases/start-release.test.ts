import { beforeEach, describe, expect, it } from 'vitest';
import { manualExecutionNameFor } from '../../../lib/domain/names.ts';
import type { ReleaseRequest } from '../../../lib/domain/types.ts';
import { InvalidInputError, UnknownServiceError } from '../../../lib/errors.ts';
import { useEnvironmentKeySource } from '../../../lib/per-environment.ts';
import {
  assertInputFits,
  inProcessReleaseStarter,
  releaseRequestFrom,
  startRelease,
} from '../../../lib/use-cases/start-release.ts';
import { FakeExecutionStarter } from '../fakes.ts';
import {
  ecrPushEvent,
  repoConfig,
  STATE_MACHINE_ARN,
  V1_DIGEST,
  V2_DIGEST,
  V2_IMAGE,
  V2_RELEASE_ID,
  withFixedClock,
} from '../fixtures.ts';

const config = repoConfig();
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;

/** The thrown error (the test fails if nothing is thrown). */
const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

describe('Function: startRelease', () => {
  let starter: FakeExecutionStarter;

  withFixedClock('2025-03-04T12:00:00.000Z');

  beforeEach(() => {
    starter = new FakeExecutionStarter(STATE_MACHINE_ARN);
  });

  it('starts one execution named after the service and digest for an ECR push', async () => {
    const result = await startRelease({ starter }, config, ecrPushEvent());

    expect(result).toEqual({
      status: 'started',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    expect(starter.calls).toEqual([
      {
        name: V2_RELEASE_ID,
        input: {
          service: 'checkout',
          image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
          requestedAt: '2025-03-04T10:00:00Z',
          receivedAt: '2025-03-04T12:00:00.000Z',
          receivedSeq: expect.any(Number),
          source: 'ecr-push',
        },
      },
    ]);
  });

  it('omits the tag for a push by digest', async () => {
    const event = ecrPushEvent();
    const { 'image-tag': _tag, ...detail } = event.detail;

    await startRelease({ starter }, config, { ...event, detail });

    expect(starter.calls[0]?.input).toEqual({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, uri: V2_IMAGE },
      requestedAt: '2025-03-04T10:00:00Z',
      receivedAt: '2025-03-04T12:00:00.000Z',
      receivedSeq: expect.any(Number),
      source: 'ecr-push',
    });
  });

  it('maps a duplicate event, or the same digest under a second tag, onto the same execution', async () => {
    await startRelease({ starter }, config, ecrPushEvent());

    const duplicate = await startRelease({ starter }, config, ecrPushEvent());
    const retagged = await startRelease(
      { starter },
      config,
      ecrPushEvent({ tag: 'latest', time: '2025-03-04T10:05:00Z' }),
    );

    expect(duplicate).toMatchObject({
      status: 'duplicate',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    expect(retagged).toMatchObject({ status: 'duplicate', executionName: V2_RELEASE_ID });
    expect(starter.executions.size).toBe(1);
  });

  it('reports a Lambda retry of the same event after a successful start as a duplicate', async () => {
    const first = await startRelease({ starter }, config, ecrPushEvent(), { receiptId: 'invocation-1' });
    // Lambda retries an asynchronous invocation with the same event (and request id).
    const retry = await startRelease({ starter }, config, ecrPushEvent(), { receiptId: 'invocation-1' });

    expect(first).toMatchObject({ status: 'started' });
    expect(retry).toMatchObject({ status: 'duplicate', executionName: V2_RELEASE_ID });
    expect(starter.calls[1]?.input).not.toEqual(starter.calls[0]?.input);
  });

  it('records when and by which invocation the trigger received a request, in order', async () => {
    await startRelease({ starter }, config, ecrPushEvent(), { receiptId: 'invocation-1' });
    await startRelease({ starter }, config, ecrPushEvent({ digest: V1_DIGEST }), {
      receiptId: 'invocation-2',
    });

    const [first, second] = starter.calls.map((call) => call.input as ReleaseRequest);
    expect(first).toMatchObject({ receivedAt: '2025-03-04T12:00:00.000Z', receiptId: 'invocation-1' });
    expect(second).toMatchObject({ receivedAt: '2025-03-04T12:00:00.000Z', receiptId: 'invocation-2' });
    // Same millisecond on this clock: the sequence still orders them as received.
    expect(second?.receivedSeq).toBeGreaterThan(first?.receivedSeq ?? Infinity);
  });

  it('counts receipts per execution environment: a new one starts at 1, each keeps its own order', async () => {
    const received = (environment: object) => {
      useEnvironmentKeySource(() => environment);
      try {
        const made = releaseRequestFrom(config, ecrPushEvent());
        return 'request' in made ? made.request.receivedSeq : undefined;
      } finally {
        useEnvironmentKeySource(undefined);
      }
    };
    const warm = {};
    expect([received(warm), received(warm)]).toEqual([1, 2]);
    // A cold start (on AWS, a new module instance) counts from the start; the warm one goes on.
    expect(received({})).toBe(1);
    expect(received(warm)).toBe(3);
  });

  it('ignores an event of an unknown repository before validating anything else', async () => {
    const event = ecrPushEvent({ repository: 'payments', digest: 'not-a-digest' });

    const result = await startRelease({ starter }, config, { ...event, account: 'abc', time: 'yesterday' });

    expect(result).toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(starter.calls).toEqual([]);
  });

  it("ignores a push from another account's registry, naming both accounts", async () => {
    const result = await startRelease(
      { starter },
      config,
      { ...ecrPushEvent(), account: '210987654321' },
      { pipeline: { account: '123456789012', region: 'us-east-1' } },
    );

    expect(result).toEqual({
      status: 'ignored',
      reason: expect.stringContaining(
        'push to repository checkout in account 210987654321 region us-east-1, but checkout releases from account 123456789012 region us-east-1',
      ),
    });
    expect(starter.calls).toEqual([]);
  });

  it("ignores a push from another region's registry, naming both regions", async () => {
    const result = await startRelease(
      { starter },
      config,
      { ...ecrPushEvent(), region: 'eu-west-1' },
      { pipeline: { account: '123456789012', region: 'us-east-1' } },
    );

    expect(result).toMatchObject({
      status: 'ignored',
      reason: expect.stringMatching(/region eu-west-1, but checkout releases from .* region us-east-1/),
    });
    expect(starter.calls).toEqual([]);
  });

  it('releases a push from the registry the service declares in image.registry', async () => {
    const crossAccount = repoConfig();
    const checkout = crossAccount.services.checkout;
    if (!checkout) throw new Error('fixture declares checkout');
    checkout.image.registry = { account: '210987654321', region: 'eu-west-1' };

    const result = await startRelease(
      { starter },
      crossAccount,
      { ...ecrPushEvent(), account: '210987654321', region: 'eu-west-1' },
      { pipeline: { account: '123456789012', region: 'us-east-1' } },
    );

    expect(result).toMatchObject({ status: 'started' });
    expect(starter.calls[0]?.input).toMatchObject({
      image: { uri: `210987654321.dkr.ecr.eu-west-1.amazonaws.com/checkout@${V2_DIGEST}` },
    });
  });

  it('accepts a tag of 300 characters and rejects a longer one naming detail.image-tag', async () => {
    await expect(
      startRelease({ starter }, config, ecrPushEvent({ tag: 'a'.repeat(300) })),
    ).resolves.toMatchObject({ status: 'started' });

    const error = await rejection(startRelease({ starter }, config, ecrPushEvent({ tag: 'a'.repeat(301) })));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('detail.image-tag: expected at most 300 characters (ECR limit)');
    expect(starter.calls).toHaveLength(1);
  });

  it('caps the manual fields that travel in every state, so no release can outgrow 256 KB of state data', async () => {
    for (const field of ['requestedBy', 'requestId'] as const) {
      const error = await rejection(
        startRelease({ starter }, config, {
          service: 'checkout',
          image: { digest: V2_DIGEST },
          [field]: 'é'.repeat(257),
        }),
      );
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toContain(field);
    }
    expect(starter.calls).toEqual([]);
  });

  it('refuses an execution input over 256 KB, naming its size and the limit', () => {
    const request = {
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'é'.repeat(131_072) },
      requestedAt: '2025-03-04T10:00:00Z',
      source: 'manual',
    } as ReleaseRequest;
    expect(() => assertInputFits(request)).toThrow(
      /^release request is too large: the execution input would be 26\d{4} bytes \(UTF-8\), and Step Functions accepts at most 262144 bytes$/,
    );
  });

  it('ignores a push to a repository no service is released from, starting nothing', async () => {
    const result = await startRelease({ starter }, config, ecrPushEvent({ repository: 'payments' }));

    expect(result).toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(starter.calls).toEqual([]);
  });

  it('ignores an image deletion', async () => {
    const result = await startRelease({ starter }, config, ecrPushEvent({ action: 'DELETE' }));

    expect(result).toEqual({ status: 'ignored', reason: 'ECR DELETE SUCCESS is not a successful push' });
    expect(starter.calls).toEqual([]);
  });

  it('ignores a failed push', async () => {
    const event = ecrPushEvent();

    const result = await startRelease({ starter }, config, {
      ...event,
      detail: { ...event.detail, result: 'FAILURE' },
    });

    expect(result).toEqual({ status: 'ignored', reason: 'ECR PUSH FAILURE is not a successful push' });
    expect(starter.calls).toEqual([]);
  });

  it('rejects an event without a digest with InvalidInputError naming the field, starting nothing', async () => {
    const event = ecrPushEvent();
    const { 'image-digest': _digest, ...detail } = event.detail;

    const error = await rejection(startRelease({ starter }, config, { ...event, detail }));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toBe(
      'ECR Image Action event is malformed: detail.image-digest: expected the pushed image digest (sha256:<64 hex>)',
    );
    expect(starter.calls).toEqual([]);
  });

  it('rejects a malformed digest naming the field', async () => {
    const error = await rejection(startRelease({ starter }, config, ecrPushEvent({ digest: 'sha256:abc' })));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(
      'ECR Image Action event is malformed: detail.image-digest: expected sha256:<64 hex>',
    );
    expect(starter.calls).toEqual([]);
  });

  it('names every bad field of a malformed event', async () => {
    const event = ecrPushEvent();

    const error = await rejection(
      startRelease({ starter }, config, {
        ...event,
        account: 'abc',
        detail: { ...event.detail, 'repository-name': '' },
      }),
    );

    expect(error.message).toMatch(/^ECR Image Action event is malformed: /);
    expect(error.message).toContain('account: expected a 12-digit account id');
    expect(error.message).toContain('detail.repository-name: ');
    expect(starter.calls).toEqual([]);
  });

  it('starts a manual request with the request time from the clock', async () => {
    const result = await startRelease({ starter }, config, {
      service: 'checkout',
      image: { digest: V2_DIGEST, tag: 'v2' },
      requestedBy: 'alice',
    });

    expect(result).toEqual({
      status: 'started',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    expect(starter.calls).toEqual([
      {
        name: V2_RELEASE_ID,
        input: {
          service: 'checkout',
          image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2' },
          requestedAt: '2025-03-04T12:00:00.000Z',
          receivedAt: '2025-03-04T12:00:00.000Z',
          receivedSeq: expect.any(Number),
          source: 'manual',
          requestedBy: 'alice',
        },
      },
    ]);
  });

  it('gives a manual re-release its own execution name per request id', async () => {
    await startRelease({ starter }, config, { service: 'checkout', image: { digest: V2_DIGEST } });

    const again = await startRelease({ starter }, config, {
      service: 'checkout',
      image: { digest: V2_DIGEST },
      requestId: 'retry-1',
    });

    expect(starter.calls[1]?.input).toMatchObject({ requestId: 'retry-1', source: 'manual' });
    expect(again).toMatchObject({
      status: 'started',
      executionName: manualExecutionNameFor('checkout', V2_DIGEST, 'retry-1'),
    });
    expect(starter.executions.size).toBe(2);
  });

  it('starts in-process exactly the execution the trigger would, once per digest (a Slack rollback past the warm slot)', async () => {
    const releases = inProcessReleaseStarter(
      { starter },
      () => config,
      () => ({}),
    );
    const request = { source: 'manual' as const, service: 'checkout', image: { digest: V2_DIGEST } };

    const first = await releases.start(request);
    const again = await releases.start(request);

    expect(first).toEqual({
      status: 'started',
      releaseId: starter.calls[0]?.name,
      executionArn: expect.stringContaining(`:execution:`),
    });
    expect(again).toMatchObject({
      status: 'duplicate',
      releaseId: first.status === 'ignored' ? '' : first.releaseId,
    });
    expect(starter.executions.size).toBe(1);
    await expect(
      releases.start({ source: 'manual', service: 'nope', image: { digest: V2_DIGEST } }),
    ).rejects.toBeInstanceOf(UnknownServiceError);
  });

  it("carries a manual request's commit time to the execution, for the change lead time", async () => {
    await startRelease({ starter }, config, {
      service: 'checkout',
      image: { digest: V2_DIGEST },
      commitTime: '2025-03-04T11:30:00+01:00',
    });

    expect(starter.calls[0]?.input).toMatchObject({ commitTime: '2025-03-04T11:30:00+01:00' });
  });

  it('rejects a commit time that is no ISO 8601 date-time, naming the field', async () => {
    const error = await rejection(
      startRelease({ starter }, config, {
        service: 'checkout',
        image: { digest: V2_DIGEST },
        commitTime: 'yesterday',
      }),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain('commitTime');
    expect(error.message).toContain('expected an ISO 8601 date-time');
    expect(starter.calls).toEqual([]);
  });

  it('rejects a manual request for an undeclared service', async () => {
    const error = await rejection(
      startRelease({ starter }, config, { service: 'payments', image: { digest: V2_DIGEST } }),
    );

    expect(error).toBeInstanceOf(UnknownServiceError);
    expect(starter.calls).toEqual([]);
  });

  it('rejects a manual request with an unknown field, naming it', async () => {
    const error = await rejection(
      startRelease({ starter }, config, { service: 'checkout', image: { digest: V2_DIGEST }, force: true }),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe('deploy request is malformed: (root): Unrecognized key: "force"');
    expect(starter.calls).toEqual([]);
  });
});

describe('Function: releaseRequestFrom', () => {
  it('treats anything without source aws.ecr as a manual request', () => {
    expect(() => releaseRequestFrom(config, { source: 'aws.ecs' })).toThrow(/^deploy request is malformed: /);
  });
});
