import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PlanStep } from '../../lib/domain/plan.ts';
import { ALB_TARGET, deploymentFixture, ROLLOUT, V2_DIGEST, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const lambda = mockClient(LambdaClient);
// The check records its progress and publishes it on the release-events topic before it runs.
const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const context = lambdaContext('shipline-run-check');

/** A smoke test right after deploy, before any production traffic moved. */
const STEPS: PlanStep[] = [
  { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
  {
    kind: 'check',
    index: 1,
    label: 'Check login-smoke',
    name: 'login-smoke',
    test: { type: 'lambda', functionName: 'checkout-smoke' },
    timeoutSeconds: 60,
  },
  {
    kind: 'retire',
    index: 2,
    label: 'Promote green',
    rollbackWindowSeconds: 900,
    warmAfterWindowSeconds: 0,
  },
];
const deployment = deploymentFixture({
  target: { ...ALB_TARGET, testUrl: 'https://test.shop.example.com' },
  plan: { strategy: 'blue-green', steps: STEPS, totalBakeSeconds: 0 },
});
const cursor = { index: 1, step: STEPS[1] as PlanStep, shifts: [], rollout: ROLLOUT };
const answer = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

let handler: typeof import('../../functions/run-check.ts')['handler'];

describe('Handler: run-check', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    ({ handler } = await import('../../functions/run-check.ts'));
  });

  beforeEach(() => {
    lambda.reset();
    ddb.reset();
    ddb.on(UpdateCommand).resolves({});
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it("invokes the user's function with the release and the test URL, and goes on when it passed", async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: answer({ passed: true, reason: 'login works' }) as never });

    const next = await handler({ deployment, cursor }, context);

    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'checkout-smoke', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      release: { id: V2_RELEASE_ID, service: 'checkout', version: 'v2', digest: V2_DIGEST },
      testUrl: 'https://test.shop.example.com',
    });
    expect(next).toEqual({
      index: 2,
      step: STEPS[2],
      shifts: [],
      rollout: ROLLOUT,
      note: 'check login-smoke passed: checkout-smoke: login works',
    });
  });

  it('fails the check (CheckFailed, the reason as data from the function) when it answers passed: false', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: answer({ passed: false, reason: 'login returns 500' }) as never,
    });

    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error.name).toBe('CheckFailed');
    expect(error.message).toBe('check login-smoke failed: checkout-smoke: login returns 500');
  });

  it('fails the check when the function itself failed (FunctionError)', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: answer({
        errorType: 'TypeError',
        errorMessage: 'cannot read properties of undefined',
      }) as never,
    });

    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error.name).toBe('CheckFailed');
    expect(error.message).toBe(
      'check login-smoke failed: checkout-smoke failed with Unhandled: cannot read properties of undefined',
    );
  });

  it('fails the check when the function answers something else than { passed }', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: answer({ ok: true }) as never });

    const error = await rejection(handler({ deployment, cursor }, context));

    expect(error.message).toBe(
      'check login-smoke failed: checkout-smoke answered {"ok":true}, not { "passed": true | false }',
    );
  });

  it('refuses a cursor at another kind of step and invokes nothing', async () => {
    const error = await rejection(
      handler({ deployment, cursor: { ...cursor, index: 0, step: STEPS[0] } }, context),
    );

    expect(error.message).toContain('step 0 is a deploy step, not a check step');
    expect(lambda.calls()).toHaveLength(0);
  });
});
