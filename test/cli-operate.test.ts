import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/shipline.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const cloudformation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const metadata = { $metadata: {} };

const TABLE = 'shipline-dev-ReleaseTable-1ABC';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/deployer/ana';
const RELEASE = 'checkout-v3';
const DIGEST_V1 = `sha256:${'1'.repeat(64)}`;

/** A release record as the table holds it (keys included). */
const recordItem = (releaseId: string, fields: Record<string, unknown>) => ({
  pk: 'SERVICE#default#checkout',
  sk: `RELEASE#${String(fields.requestedAt)}#${releaseId}`,
  service: 'checkout',
  releaseId,
  ...fields,
});
const RUNNING_FIELDS = {
  requestedAt: '2026-03-02T10:00:00.000Z',
  status: 'in_progress',
  fromVersion: 'v2',
  toVersion: 'v3',
};
const BAKING = {
  sequence: 3,
  step: 2,
  steps: 6,
  state: 'baking',
  label: 'Bake 5% for 5m',
  newPercent: 5,
  stepStartedAt: '2026-03-02T10:02:00.000Z',
  updatedAt: '2026-03-02T10:02:00.000Z',
};
const RUNNING = recordItem(RELEASE, { ...RUNNING_FIELDS, progress: BAKING });
const V1 = recordItem('checkout-v1', {
  requestedAt: '2026-03-01T08:00:00.000Z',
  status: 'promoted',
  endedAt: '2026-03-01T08:40:00.000Z',
  toVersion: 'v1',
  image: { digest: DIGEST_V1, tag: 'v1' },
});
const V2 = recordItem('checkout-v2', {
  requestedAt: '2026-03-02T09:00:00.000Z',
  status: 'promoted',
  endedAt: '2026-03-02T09:40:00.000Z',
  fromVersion: 'v1',
  toVersion: 'v2',
  image: { digest: `sha256:${'2'.repeat(64)}`, tag: 'v2' },
});
/** A wait item as the table holds it (keys and index attributes included). */
const waitItem = (kind: string, key: string, taskToken: string, extra: Record<string, unknown> = {}) => ({
  pk: `WAIT#X#${key}`,
  sk: `RELEASE#${RELEASE}`,
  waitRelease: `RELEASE#${RELEASE}`,
  waitOn: `${kind}#${key}`,
  kind,
  key,
  releaseId: RELEASE,
  service: 'checkout',
  environment: 'default',
  taskToken,
  expiresAt: 1_900_000_000,
  ...extra,
});
const PAUSE = waitItem('pause', RELEASE, 'token-pause');
const BAKE = waitItem('bake', 'checkout-5xx', 'token-bake', {
  data: { percent: 5, watchFrom: '2026-03-02T10:00:00Z' },
});

/** The table as these tests hold it: the service's records and the release's waits. */
const table = (records: Record<string, unknown>[], waits: Record<string, unknown>[]) => {
  ddb.on(QueryCommand).resolves({ Items: records });
  ddb.on(QueryCommand, { IndexName: 'WaitsByRelease' }).resolves({ Items: waits });
};

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: { AWS_REGION: 'eu-west-1', ...env },
    sleep: async () => undefined,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
};

const HISTORY_QUERY = {
  TableName: TABLE,
  KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
  ExpressionAttributeValues: { ':pk': 'SERVICE#default#checkout', ':prefix': 'RELEASE#' },
  ScanIndexForward: false,
  Limit: 50,
};
const WAITS_QUERY = {
  TableName: TABLE,
  IndexName: 'WaitsByRelease',
  KeyConditionExpression: 'waitRelease = :release',
  ExpressionAttributeValues: { ':release': `RELEASE#${RELEASE}` },
};

beforeEach(() => {
  for (const mock of [ddb, sfn, sts, cloudformation, lambda]) mock.reset();
  ddb.on(DeleteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(GetCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER, Account: '123456789012', UserId: 'AROA:ana' });
});

describe('CLI: shipline promote', () => {
  it("ends the current release's bake with the promotion payload and records who asked", async () => {
    table([RUNNING, V2], [BAKE]);
    const { code, stdout } = await cli(['promote', 'checkout', '--reason', 'looks good', '--table', TABLE]);
    expect(code).toBe(0);
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      HISTORY_QUERY,
      WAITS_QUERY,
    ]);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      {
        taskToken: 'token-bake',
        output: JSON.stringify({
          outcome: 'promoted',
          full: false,
          by: CALLER,
          reason: 'looks good',
          actor: { via: 'cli', id: CALLER },
        }),
      },
    ]);
    const append = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(append).toEqual([
      {
        TableName: TABLE,
        Key: { pk: 'SERVICE#default#checkout', sk: `RELEASE#2026-03-02T10:00:00.000Z#${RELEASE}` },
        UpdateExpression: 'SET #actions = list_append(if_not_exists(#actions, :none), :action)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#actions': 'actions' },
        ExpressionAttributeValues: {
          ':none': [],
          ':action': [
            {
              at: expect.any(String),
              command: 'promote',
              actor: { via: 'cli', id: CALLER },
              reason: 'looks good',
              result:
                'ended the bake of step 2 of 6 of release checkout-v3 as passed: the release goes on with its next step',
            },
          ],
        },
      },
    ]);
    expect(stdout).toBe(
      'ended the bake of step 2 of 6 of release checkout-v3 as passed: the release goes on with its next step\n',
    );
  });

  it('--full sends full: true; --json prints the result with the table and region', async () => {
    table([RUNNING], [BAKE]);
    const { code, stdout } = await cli(['promote', 'checkout', '--full', '--json'], {
      SHIPLINE_TABLE: TABLE,
    });
    expect(code).toBe(0);
    expect(JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output ?? '{}')).toEqual({
      outcome: 'promoted',
      full: true,
      by: CALLER,
      reason: `promote-full asked by ${CALLER}`,
      actor: { via: 'cli', id: CALLER },
    });
    expect(JSON.parse(stdout)).toEqual({
      status: 'done',
      command: 'promote-full',
      service: 'checkout',
      releaseId: RELEASE,
      message: expect.stringContaining('skipped the rest of the plan'),
      table: TABLE,
      region: 'eu-west-1',
    });
  });

  it('exits 2 saying what the release does when it does not bake, and how to answer a pause', async () => {
    const paused = recordItem(RELEASE, {
      ...RUNNING_FIELDS,
      progress: { ...BAKING, step: 3, state: 'paused', label: 'Wait for approval' },
    });
    table([paused], [PAUSE]);
    const { code, stdout, stderr } = await cli(['promote', 'checkout', '--table', TABLE]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'shipline: nothing to promote: release checkout-v3 of checkout (v2 -> v3) is paused, waiting for a person (step 3 of 6: Wait for approval), 5% of traffic on v3; promote ends a bake or the rollback window: a paused release goes on with shipline resume checkout, or rolls back with shipline abort checkout\n',
    );
    expect(sfn.calls()).toEqual([]);
  });

  it('exits 2 when no release runs, saying what serves', async () => {
    table([V2, V1], []);
    ddb.on(GetCommand).resolves({
      Item: {
        pk: 'SERVICE#default#checkout',
        sk: 'STATE',
        service: 'checkout',
        stableVersion: 'v2',
        stableTaskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/checkout:2',
        latestRelease: 'checkout-v2',
        updatedAt: '2026-03-02T09:40:00.000Z',
      },
    });
    const { code, stderr } = await cli(['promote', 'checkout', '--table', TABLE]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'nothing to promote: checkout is not releasing: it serves v2; its last release checkout-v2 (v1 -> v2) was promoted',
    );
  });
});

describe('CLI: shipline abort', () => {
  it('fails every wait with ReleaseAborted and the reason', async () => {
    table([RUNNING], [BAKE]);
    const { code, stdout } = await cli(['abort', 'checkout', '--reason', 'wrong build', '--table', TABLE]);
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input)).toEqual([
      {
        taskToken: 'token-bake',
        error: 'ReleaseAborted',
        cause: JSON.stringify({
          errorMessage: 'aborted by a person: wrong build',
          actor: { via: 'cli', id: CALLER },
        }),
      },
    ]);
    expect(stdout).toBe('aborted release checkout-v3: it rolls back to v2\n');
  });

  it('still takes --release ID alone (the service is read from its waits), as older scripts call it', async () => {
    table([RUNNING], [PAUSE]);
    const { code } = await cli(['abort', '--release', RELEASE, '--reason', 'not today', '--table', TABLE]);
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input.taskToken)).toEqual([
      'token-pause',
    ]);
  });

  it('is a usage error (exit 2) without a reason, before any AWS call', async () => {
    const { code, stderr } = await cli(['abort', 'checkout', '--table', TABLE]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'shipline: abort needs --reason TEXT: the rollback notification and the history name it\n',
    );
    expect([...ddb.calls(), ...sts.calls(), ...sfn.calls()]).toEqual([]);
  });

  it('exits 2 when the release waits on nothing (between steps)', async () => {
    table([RUNNING], []);
    const { code, stderr } = await cli(['abort', 'checkout', '--reason', 'x', '--table', TABLE]);
    expect(code).toBe(2);
    expect(stderr).toContain('nothing to abort right now');
  });

  it('says access denied clearly, naming the operator policy (exit 2)', async () => {
    table([RUNNING], [BAKE]);
    sfn.on(SendTaskFailureCommand).rejects(
      Object.assign(new Error(`User: ${CALLER} is not authorized to perform: states:SendTaskFailure`), {
        name: 'AccessDeniedException',
      }),
    );
    const { code, stderr } = await cli(['abort', 'checkout', '--reason', 'x', '--table', TABLE]);
    expect(code).toBe(2);
    expect(stderr).toContain('shipline: access denied while running abort: User: ');
    expect(stderr).toContain('the operator policy in the README lists what the CLI needs');
  });
});

describe('CLI: shipline resume (alias approve)', () => {
  it.each([['resume'], ['approve']])('%s approves the pause', async (command) => {
    table([RUNNING], [PAUSE]);
    const { code, stdout } = await cli([command, 'checkout', '--table', TABLE]);
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-pause', output: JSON.stringify({ resumed: true, decision: 'approved' }) },
    ]);
    expect(stdout).toBe('approved the pause of release checkout-v3: it goes on with its next step\n');
  });

  it('approve --release ID works as before; nothing to resume exits 2 (it was 4)', async () => {
    table([RUNNING], [BAKE]);
    const { code, stderr } = await cli(['approve', '--release', RELEASE, '--table', TABLE]);
    expect(code).toBe(2);
    expect(stderr).toContain('nothing to resume: release checkout-v3 of checkout (v2 -> v3) is baking');
  });

  it('exits 2 when the pause had already ended (its token timed out)', async () => {
    table([RUNNING], [PAUSE]);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', ...metadata }));
    const { code } = await cli(['resume', 'checkout', '--table', TABLE]);
    expect(code).toBe(2);
  });
});

/** The pipeline's stack, whose outputs name its trigger function (what withdraws a queued push). */
const stackWithTrigger = () =>
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'shipline-dev',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [{ OutputKey: 'TriggerFunctionName', OutputValue: 'shipline-dev-trigger' }],
      },
    ],
  });

/** checkout's queue item. */
const QUEUE_KEY = { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' };

/** A push queued as data behind the running release, as the table holds it: its digest `digit` repeated. */
const queueWait = (queued: string, digit: string, tag: string) => ({
  ...QUEUE_KEY,
  waitRelease: `RELEASE#${queued}`,
  waitOn: 'lock-queue#default/checkout',
  kind: 'lock-queue',
  key: 'default/checkout',
  releaseId: queued,
  service: 'checkout',
  environment: 'default',
  taskToken: `pending-push:${queued}:2026-03-02T10:05:00.000Z:1:r-1`,
  data: {
    requestedAt: '2026-03-02T10:05:00Z',
    pendingInput: JSON.stringify({
      service: 'checkout',
      image: { digest: `sha256:${digit.repeat(64)}`, tag },
    }),
  },
});

describe('CLI: finding the pipeline', () => {
  const outputs = [
    { OutputKey: 'ReleaseTableName', OutputValue: 'from-stack' },
    { OutputKey: 'ReleaseStateMachineArn', OutputValue: 'arn:aws:states:eu-west-1:1:stateMachine:r' },
    { OutputKey: 'TriggerFunctionName', OutputValue: 'shipline-dev-trigger' },
  ];

  it('reads the table from the stack outputs (default stack shipline-dev; SHIPLINE_STACK, --stack)', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'x', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: outputs },
      ],
    });
    table([RUNNING], [PAUSE]);
    await cli(['resume', 'checkout']);
    await cli(['resume', 'checkout'], { SHIPLINE_STACK: 'shipline-prod' });
    await cli(['resume', 'checkout', '--stack', 'shipline-qa'], { SHIPLINE_STACK: 'shipline-prod' });
    expect(cloudformation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input)).toEqual([
      { StackName: 'shipline-dev' },
      { StackName: 'shipline-prod' },
      { StackName: 'shipline-qa' },
    ]);
    expect(new Set(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.TableName))).toEqual(
      new Set(['from-stack']),
    );
  });

  it('names the stack and region when the stack does not exist (exit 2)', async () => {
    cloudformation
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id shipline-dev does not exist'), { name: 'ValidationError' }),
      );
    const { code, stderr } = await cli(['resume', 'checkout']);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'shipline: stack "shipline-dev" was not found in eu-west-1: pass --stack or set SHIPLINE_STACK to the pipeline\'s stack (osls names it shipline-<stage>), and check --region\n',
    );
  });

  it('names the table when DynamoDB does not know it (exit 2)', async () => {
    ddb
      .on(QueryCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', ...metadata }));
    const { code, stderr } = await cli(['resume', 'checkout', '--table', 'nope']);
    expect(code).toBe(2);
    expect(stderr).toContain('table "nope" was not found in eu-west-1');
  });

  it('takes --region over AWS_REGION, and is a usage error without any region', async () => {
    table([RUNNING], [PAUSE]);
    const saved = {
      config: process.env.AWS_CONFIG_FILE,
      profile: process.env.AWS_PROFILE,
      region: process.env.AWS_REGION,
    };
    try {
      const json = await cli([
        'resume',
        'checkout',
        '--table',
        TABLE,
        '--json',
        '--region',
        'ap-southeast-2',
      ]);
      expect(JSON.parse(json.stdout)).toMatchObject({ region: 'ap-southeast-2' });
      delete process.env.AWS_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = '/nonexistent/shipline-test-aws-config';
      const out: string[] = [];
      const code = await runCli(['resume', 'checkout', '--table', TABLE], {
        out: () => undefined,
        err: (text) => out.push(text),
        env: {},
        sleep: async () => undefined,
      });
      expect(code).toBe(2);
      expect(out.join('')).toMatch(/^shipline: no AWS region: pass --region, or set AWS_REGION/);
    } finally {
      for (const [name, value] of [
        ['AWS_CONFIG_FILE', saved.config],
        ['AWS_PROFILE', saved.profile],
        ['AWS_REGION', saved.region],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });
});

describe('CLI: shipline rollback', () => {
  it('aborts the running release', async () => {
    table([RUNNING, V2], [BAKE]);
    const { code, stdout } = await cli(['rollback', 'checkout', '--reason', 'p99', '--table', TABLE]);
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(1);
    expect(lambda.calls()).toEqual([]);
    expect(stdout).toBe('aborted release checkout-v3: it rolls back to v2\n');
  });

  it("past the rollback window, invokes the stack's trigger function with the previous digest", async () => {
    stackWithTrigger();
    table([V2, V1], []);
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'started',
          service: 'checkout',
          executionName: 'checkout-111111111111-0a1b2c3d',
          executionArn: 'arn:aws:states:eu-west-1:1:execution:r:checkout-111111111111-0a1b2c3d',
        }),
      ) as never,
    });
    const { code, stdout } = await cli(['rollback', 'checkout', '--reason', 'p99', '--table', TABLE]);
    expect(code).toBe(0);
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke).toMatchObject({ FunctionName: 'shipline-dev-trigger', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(invoke?.Payload as Uint8Array))).toEqual({
      source: 'manual',
      service: 'checkout',
      image: { digest: DIGEST_V1, tag: 'v1' },
      requestedBy: CALLER,
      requestId: 'rollback-of-checkout-v2-1',
    });
    expect(stdout).toContain('started release checkout-111111111111-0a1b2c3d of v1');
  });

  it('needs the service', async () => {
    const { code, stderr } = await cli(['rollback', '--reason', 'x']);
    expect(code).toBe(2);
    expect(stderr).toContain("missing required argument 'service'");
  });
});

describe('CLI: shipline abort of a push queued as data', () => {
  const QUEUED = 'checkout-444444444444';
  const QUEUE_WAIT = queueWait(QUEUED, '4', 'v4');
  /** `shipline abort checkout --release QUEUED --reason 'bad build'` on the pipeline's table. */
  const abortQueued = () =>
    cli(['abort', 'checkout', '--release', QUEUED, '--reason', 'bad build', '--table', TABLE]);

  it("withdraws it through the stack's trigger function, with the caller as the actor, and records who asked", async () => {
    stackWithTrigger();
    table([RUNNING, V2], [QUEUE_WAIT]);
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({ Item: QUEUE_WAIT });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'withdrawn',
          releaseId: QUEUED,
          toVersion: 'v4',
          behind: RELEASE,
          reason: 'aborted while queued by ana via the CLI: bad build',
          told: true,
        }),
      ) as never,
    });

    const { code, stdout } = await abortQueued();

    expect(code).toBe(0);
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke).toMatchObject({ FunctionName: 'shipline-dev-trigger', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(invoke?.Payload as Uint8Array))).toEqual({
      withdraw: {
        service: 'checkout',
        releaseId: QUEUED,
        reason: 'bad build',
        actor: { via: 'cli', id: CALLER },
      },
    });
    // The running release is left alone.
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
    expect(stdout).toBe(
      `withdrew queued push ${QUEUED} (v4): it was queued behind release ${RELEASE} and will not start; recorded as failed (aborted while queued by ana via the CLI: bad build)\n`,
    );
    // Who asked, on the withdrawn push's record.
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({
      pk: 'SERVICE#default#checkout',
      sk: `RELEASE#2026-03-02T10:05:00Z#${QUEUED}`,
    });
  });

  it('says it could not when the trigger answers that the push is no longer queued, and exits 2', async () => {
    stackWithTrigger();
    table([RUNNING, V2], [QUEUE_WAIT]);
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({ Item: QUEUE_WAIT });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'not-queued',
          releaseId: QUEUED,
          why: `push ${QUEUED} is no longer queued: it was superseded by a newer push or withdrawn already`,
        }),
      ) as never,
    });

    const { code, stderr } = await abortQueued();

    expect(code).toBe(2);
    expect(stderr).toBe(
      `shipline: nothing to abort: push ${QUEUED} is no longer queued: it was superseded by a newer push or withdrawn already\n`,
    );
  });
});

describe('CLI: shipline abort of a queued push when the trigger function fails', () => {
  const QUEUED = 'checkout-555555555555';
  const QUEUE_WAIT = queueWait(QUEUED, '5', 'v5');
  /** `shipline abort checkout --release QUEUED --reason 'bad build'` on the pipeline's table. */
  const abortQueued = () =>
    cli(['abort', 'checkout', '--release', QUEUED, '--reason', 'bad build', '--table', TABLE]);

  it('says when the trigger withdrew it but could not record it, and records no action on a missing record', async () => {
    stackWithTrigger();
    table([RUNNING, V2], [QUEUE_WAIT]);
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({ Item: QUEUE_WAIT });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'withdrawn',
          releaseId: QUEUED,
          toVersion: 'v5',
          behind: RELEASE,
          reason: 'aborted while queued by ana via the CLI: bad build',
          told: false,
          recorded: false,
          toldError: 'ThrottlingException: Rate exceeded',
        }),
      ) as never,
    });

    const { code, stdout } = await abortQueued();

    expect(code).toBe(0);
    expect(stdout).toBe(
      `withdrew queued push ${QUEUED} (v5): it was queued behind release ${RELEASE} and will not start; but it could not be recorded as failed (aborted while queued by ana via the CLI: bad build), and people could not be told: ThrottlingException: Rate exceeded\n`,
    );
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('says the pipeline could not withdraw it, with the error the trigger gave, and exits 2', async () => {
    stackWithTrigger();
    table([RUNNING, V2], [QUEUE_WAIT]);
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves({ Item: QUEUE_WAIT });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode(
        JSON.stringify({
          errorType: 'ProvisionedThroughputExceededException',
          errorMessage: 'The level of configured provisioned throughput for the table was exceeded',
        }),
      ) as never,
    });

    const { code, stderr } = await abortQueued();

    expect(code).toBe(2);
    expect(stderr).toBe(
      `shipline: the pipeline's trigger function could not withdraw queued push ${QUEUED} of checkout: ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded (run the command again: it says whether the push is still queued)\n`,
    );
  });
});
