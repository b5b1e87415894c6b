import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RESUME_EXIT, ResumeUsageError, runResumeCommand } from '../cli/resume.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const metadata = { $metadata: {} };

const TABLE = 'shipline-dev-ReleaseTable-1ABC';
const RELEASE = 'checkout-v2-20260101T100000Z';
/** A wait item as the table holds it (keys and index attributes included). */
const item = (kind: string, key: string, taskToken: string, extra: Record<string, unknown> = {}) => ({
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
const PAUSE = item('pause', RELEASE, 'token-pause');
const BAKE = item('bake', 'checkout-5xx', 'token-bake', {
  data: { percent: 25, watchFrom: '2026-01-01T10:00:00Z' },
});

const run = async (
  command: 'approve' | 'abort',
  options: Partial<Parameters<typeof runResumeCommand>[1]> = {},
  env: Record<string, string> = {},
) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runResumeCommand(
    command,
    { release: RELEASE, json: false, region: 'eu-west-1', ...options },
    { out: (text) => out.push(text), err: (text) => err.push(text), env },
  );
  return { code, stdout: out.join(''), stderr: err.join('') };
};

const QUERY_INPUT = {
  TableName: TABLE,
  IndexName: 'WaitsByRelease',
  KeyConditionExpression: 'waitRelease = :release',
  ExpressionAttributeValues: { ':release': `RELEASE#${RELEASE}` },
};

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  ddb.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

describe('CLI: shipline approve', () => {
  it("finds the release's waits on the WaitsByRelease index and resumes its pause with the approval", async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    const { code, stdout } = await run('approve', { table: TABLE });
    expect(code).toBe(RESUME_EXIT.ok);
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([QUERY_INPUT]);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-pause', output: JSON.stringify({ resumed: true, decision: 'approved' }) },
    ]);
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: `WAIT#RELEASE#${RELEASE}`, sk: `RELEASE#${RELEASE}` },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': 'token-pause' },
      },
    ]);
    expect(stdout).toContain(`approved release ${RELEASE} (table ${TABLE}, eu-west-1)`);
    expect(stdout).toContain('the pause (checkout): resumed');
  });

  it('reads the table from SHIPLINE_TABLE and prints one JSON document with --json', async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    const { code, stdout } = await run('approve', { json: true }, { SHIPLINE_TABLE: 'from-env' });
    expect(code).toBe(0);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.TableName).toBe('from-env');
    expect(JSON.parse(stdout)).toEqual({
      command: 'approve',
      releaseId: RELEASE,
      status: 'done',
      waits: [{ kind: 'pause', key: RELEASE, service: 'checkout', result: 'resumed' }],
      found: ['pause'],
      table: 'from-env',
      region: 'eu-west-1',
    });
  });

  it('exits 4 with nothing to resume when the release only bakes (approve resumes pauses only)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [BAKE] });
    const { code, stderr } = await run('approve', { table: TABLE });
    expect(code).toBe(RESUME_EXIT.nothingToResume);
    expect(code).toBe(4);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toEqual([]);
    expect(stderr).toContain('it waits on bake, which approve does not resume (abort does)');
  });

  it('exits 4 when --service names another service than the release', async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    const { code } = await run('approve', { table: TABLE, service: 'payments' });
    expect(code).toBe(4);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toEqual([]);
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'Task Timed Out', ...metadata })],
    ['InvalidToken', new InvalidToken({ message: 'Invalid Token', ...metadata })],
  ])('reports a pause whose token Step Functions refuses with %s as already ended', async (_name, error) => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    sfn.on(SendTaskSuccessCommand).rejects(error);
    const { code, stderr } = await run('approve', { table: TABLE });
    // Nothing resumed: exit 4, so a script sees the approval did not take.
    expect(code).toBe(4);
    expect(stderr).toContain('every wait found had already ended');
    expect(stderr).toContain('already ended (its task had timed out or finished)');
  });

  it('is a usage error, before any AWS call, without a table', async () => {
    await expect(run('approve')).rejects.toThrow(ResumeUsageError);
    await expect(run('approve')).rejects.toThrow(/--table or set SHIPLINE_TABLE/);
    expect(ddb.calls()).toEqual([]);
  });

  it("takes the region from the SDK's default chain (AWS_REGION), and is a usage error without one", async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    const saved = {
      region: process.env.AWS_REGION,
      config: process.env.AWS_CONFIG_FILE,
      profile: process.env.AWS_PROFILE,
    };
    try {
      process.env.AWS_REGION = 'ap-southeast-2';
      const found = await run('approve', { table: TABLE, region: undefined, json: true });
      expect(JSON.parse(found.stdout)).toMatchObject({ region: 'ap-southeast-2' });
      delete process.env.AWS_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = '/nonexistent/shipline-test-aws-config';
      await expect(run('approve', { table: TABLE, region: undefined })).rejects.toThrow(
        /no AWS region: pass --region/,
      );
    } finally {
      for (const [name, value] of [
        ['AWS_REGION', saved.region],
        ['AWS_CONFIG_FILE', saved.config],
        ['AWS_PROFILE', saved.profile],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });

  it('is a usage error naming the table when DynamoDB does not know it', async () => {
    ddb
      .on(QueryCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', ...metadata }));
    await expect(run('approve', { table: 'nope' })).rejects.toThrow(
      /table "nope" was not found in eu-west-1/,
    );
  });
});

describe('CLI: shipline abort', () => {
  it('fails every wait of the release with ReleaseAborted and the reason, once per token', async () => {
    ddb.on(QueryCommand).resolves({ Items: [BAKE, { ...BAKE, key: 'checkout-p99', pk: 'WAIT#X#p99' }] });
    const { code, stdout } = await run('abort', { table: TABLE, reason: 'wrong build pushed' });
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-bake', error: 'ReleaseAborted', cause: 'aborted by a person: wrong build pushed' },
    ]);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(2);
    expect(stdout).toContain('the bake watching checkout-5xx (checkout): failed with ReleaseAborted');
  });

  it('fails a pause too: the person who could approve may abort instead', async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    const { code, stdout } = await run('abort', { table: TABLE, reason: 'not today' });
    expect(code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-pause', error: 'ReleaseAborted', cause: 'aborted by a person: not today' },
    ]);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toEqual([]);
    expect(stdout).toContain('the pause (checkout): failed with ReleaseAborted');
  });

  it('exits 4 when the release waits on nothing', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const { code, stderr } = await run('abort', { table: TABLE, reason: 'wrong build' });
    expect(code).toBe(4);
    expect(stderr).toContain('it waits on nothing');
    expect(sfn.calls()).toEqual([]);
  });

  it('is a usage error without a reason', async () => {
    await expect(run('abort', { table: TABLE, reason: ' ' })).rejects.toThrow(/--reason/);
    expect(ddb.calls()).toEqual([]);
  });

  it('lets any other AWS error through (the CLI exits 3, internal)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [PAUSE] });
    sfn
      .on(SendTaskFailureCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    await expect(run('abort', { table: TABLE, reason: 'x' })).rejects.toThrow('User is not authorized');
  });
});
