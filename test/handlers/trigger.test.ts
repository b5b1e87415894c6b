import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.ts';
import { ecrPushEvent, STATE_MACHINE_ARN, V2_DIGEST, V2_IMAGE, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const sfn = mockClient(SFNClient);
const context = lambdaContext('shipline-trigger');
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:shipline-release:${V2_RELEASE_ID}`;

let handler: typeof import('../../functions/trigger.ts')['handler'];

describe('Handler: trigger', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    ({ handler } = await import('../../functions/trigger.ts'));
  });

  beforeEach(() => {
    sfn.reset();
  });

  it('starts one execution for an ECR push, named after the service and digest', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(0) });

    const result = await handler(ecrPushEvent(), context);

    expect(result).toEqual({
      status: 'started',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: V2_RELEASE_ID,
      input: expect.any(String),
    });
    expect(JSON.parse(input?.input ?? '')).toEqual({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
      requestedAt: '2025-03-04T10:00:00Z',
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      receivedSeq: expect.any(Number),
      receiptId: context.awsRequestId,
      source: 'ecr-push',
    });
  });

  it('reports a start that Step Functions answers idempotently for another invocation as a duplicate', async () => {
    // First delivery starts the execution; the second delivery of the same event carries another receipt,
    // so Step Functions refuses it as ExecutionAlreadyExists instead of answering with the open execution.
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION_ARN, startDate: new Date(0) })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    await expect(handler(ecrPushEvent(), context)).resolves.toMatchObject({ status: 'started' });
    await expect(
      handler(ecrPushEvent(), { ...context, awsRequestId: 'second-delivery' }),
    ).resolves.toMatchObject({ status: 'duplicate' });
    const [first, second] = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.input);
    expect(second).not.toBe(first);
  });

  it('ignores a malformed event of a repository no service releases, with a log line', async () => {
    const event = ecrPushEvent({ repository: 'payments', digest: 'sha256:abc' });
    const { 'image-tag': _tag, ...detail } = event.detail;

    await expect(handler({ ...event, detail, time: 'not a time' }, context)).resolves.toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a push from another account's registry than the pipeline's", async () => {
    const result = await handler({ ...ecrPushEvent(), account: '210987654321' }, context);

    expect(result).toEqual({
      status: 'ignored',
      reason: expect.stringContaining(
        'in account 210987654321 region us-east-1, but checkout releases from account 123456789012 region us-east-1',
      ),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a malformed event of another account's same-named repository instead of rejecting it", async () => {
    const event = ecrPushEvent({ digest: 'sha256:abc' });

    await expect(handler({ ...event, account: '210987654321' }, context)).resolves.toMatchObject({
      status: 'ignored',
      reason: expect.stringContaining('in account 210987654321'),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses an oversized request field, naming it, before anything starts', async () => {
    const error = await rejection(
      handler(
        { service: 'checkout', image: { digest: V2_DIGEST }, requestedBy: 'x'.repeat(262_144) },
        context,
      ),
    );

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('requestedBy');
    expect(error.message).toContain('at most 256 characters');
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a push from another region's registry than the pipeline's", async () => {
    const result = await handler({ ...ecrPushEvent(), region: 'eu-west-1' }, context);

    expect(result).toEqual({
      status: 'ignored',
      reason: expect.stringContaining(
        'region eu-west-1, but checkout releases from account 123456789012 region us-east-1',
      ),
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a tag longer than ECR allows, naming detail.image-tag', async () => {
    const error = await rejection(handler(ecrPushEvent({ tag: 'v'.repeat(301) }), context));

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('detail.image-tag');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('reports a duplicate push as a duplicate of the running execution', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    await expect(handler(ecrPushEvent({ tag: 'latest' }), context)).resolves.toEqual({
      status: 'duplicate',
      service: 'checkout',
      executionName: V2_RELEASE_ID,
      executionArn: EXECUTION_ARN,
    });
  });

  it('ignores a push to an unmapped repository and starts nothing', async () => {
    await expect(handler(ecrPushEvent({ repository: 'payments' }), context)).resolves.toEqual({
      status: 'ignored',
      reason: 'repository payments releases no service in shipline.yml',
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects an event without a digest, naming the field, and sends no command', async () => {
    const event = ecrPushEvent();
    const { 'image-digest': _digest, ...detail } = event.detail;

    const error = await rejection(handler({ ...event, detail }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('detail.image-digest');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('starts a manual request', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN });

    await handler(
      { service: 'checkout', image: { digest: V2_DIGEST, tag: 'v2' }, requestedBy: 'alice' },
      context,
    );

    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.name).toBe(V2_RELEASE_ID);
    expect(JSON.parse(input?.input ?? '')).toMatchObject({
      service: 'checkout',
      image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2' },
      source: 'manual',
      requestedBy: 'alice',
    });
  });

  it('propagates an AWS fault so the invocation is retried', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(ecrPushEvent(), context)).rejects.toThrow('Rate exceeded');
  });
});
