import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/shipline.ts';
import { type Clock, useClock } from '../lib/clock.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const cloudformation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const ecr = mockClient(ECRClient);
const cloudwatch = mockClient(CloudWatchClient);
const metadata = { $metadata: {} };

const CALLER = 'arn:aws:sts::123456789012:assumed-role/ci/github';
const DIGEST = `sha256:${'3'.repeat(64)}`;
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout';
const RELEASE = 'checkout-333333333333';
const EXECUTION = `arn:aws:states:eu-west-1:123456789012:execution:shipline-dev-release:${RELEASE}`;

/** A virtual clock the tests move: each poll's sleep advances it. */
let clockMs = Date.parse('2026-03-02T10:00:00.000Z');
let previous: Clock;

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: { AWS_REGION: 'eu-west-1', ...env },
    sleep: async (ms) => {
      clockMs += ms;
    },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
};

const started = (status = 'started') => ({
  StatusCode: 200,
  Payload: new TextEncoder().encode(
    JSON.stringify({ status, service: 'checkout', executionName: RELEASE, executionArn: EXECUTION }),
  ) as never,
});

const record = (fields: Record<string, unknown>) => ({
  pk: 'SERVICE#default#checkout',
  sk: `RELEASE#2026-03-02T10:00:00.000Z#${RELEASE}`,
  service: 'checkout',
  releaseId: RELEASE,
  requestedAt: '2026-03-02T10:00:00.000Z',
  startedAt: '2026-03-02T10:00:01.000Z',
  fromVersion: 'v2',
  toVersion: 'v3',
  status: 'in_progress',
  ...fields,
});
const progress = (step: number, state: string, newPercent: number, label: string) => ({
  sequence: step,
  step,
  steps: 4,
  state,
  label,
  newPercent,
  stepStartedAt: '2026-03-02T10:00:00.000Z',
  updatedAt: '2026-03-02T10:00:00.000Z',
});

beforeEach(() => {
  for (const mock of [ddb, sfn, sts, cloudformation, lambda, ecr, cloudwatch]) mock.reset();
  previous = useClock({ now: () => new Date(clockMs) });
  sts.on(GetCallerIdentityCommand).resolves({ Arn: CALLER });
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'shipline-dev',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: 'ReleaseTableName', OutputValue: 'shipline-dev-table' },
          { OutputKey: 'TriggerFunctionName', OutputValue: 'shipline-dev-trigger' },
        ],
      },
    ],
  });
  lambda.on(InvokeCommand).resolves(started());
  ddb.on(GetCommand).resolves({});
});
afterEach(() => {
  useClock(previous);
});

const invoked = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));

describe('CLI: shipline deploy', () => {
  it('invokes the stack trigger function with the manual request a push would make, as the caller', async () => {
    const { code, stdout } = await cli([
      'deploy',
      'checkout',
      '--image',
      DIGEST,
      '--tag',
      'v3',
      '--commit-time',
      '2026-03-02T09:12:00Z',
    ]);
    expect(code).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
      FunctionName: 'shipline-dev-trigger',
      InvocationType: 'RequestResponse',
    });
    expect(invoked()).toEqual([
      {
        source: 'manual',
        service: 'checkout',
        image: { digest: DIGEST, tag: 'v3' },
        requestedBy: CALLER,
        commitTime: '2026-03-02T09:12:00Z',
      },
    ]);
    expect(stdout).toBe(
      `started release ${RELEASE} of checkout (v3)\n  execution: ${EXECUTION}\n  follow it: shipline status checkout\n`,
    );
  });

  it('keeps a URI pinned by digest, and says a second deploy of the same digest is the same release', async () => {
    lambda.on(InvokeCommand).resolves(started('duplicate'));
    const { code, stdout } = await cli(['deploy', 'checkout', '--image', `${REPO}:v3@${DIGEST}`]);
    expect(code).toBe(0);
    expect(invoked()[0]?.image).toEqual({ digest: DIGEST, tag: 'v3', uri: `${REPO}:v3@${DIGEST}` });
    expect(stdout).toContain(
      `release ${RELEASE} of checkout was already started for sha256:333333333333 (one release per digest)`,
    );
  });

  it('looks up the digest of an ECR URI with a tag (DescribeImages in the registry)', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['v3'] }] });
    const { code } = await cli(['deploy', 'checkout', '--image', `${REPO}:v3`]);
    expect(code).toBe(0);
    expect(ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input)).toEqual([
      { registryId: '123456789012', repositoryName: 'checkout', imageIds: [{ imageTag: 'v3' }] },
    ]);
    expect(invoked()[0]?.image).toEqual({ digest: DIGEST, tag: 'v3', uri: `${REPO}@${DIGEST}` });
  });

  it('names the tag ECR does not know (exit 2)', async () => {
    ecr.on(DescribeImagesCommand).rejects(
      new ImageNotFoundException({
        message: "The image with imageId {imageTag:'v9'} does not exist",
        ...metadata,
      }),
    );
    const { code, stderr } = await cli(['deploy', 'checkout', '--image', `${REPO}:v9`]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `shipline: --image ${REPO}:v9: The image with imageId {imageTag:'v9'} does not exist`,
    );
    expect(lambda.calls()).toEqual([]);
  });

  it.each([
    ['nginx:latest'],
    ['sha256:abc'],
    [`${REPO}@sha256:xyz`],
  ])('refuses --image %s before any AWS call (exit 2)', async (image) => {
    const { code, stderr } = await cli(['deploy', 'checkout', '--image', image]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^shipline: --image /);
    expect([...lambda.calls(), ...sts.calls(), ...ecr.calls()]).toEqual([]);
  });

  it('names what the pipeline refused (an undeclared service, exit 2)', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode(
        JSON.stringify({
          errorType: 'ConfigError',
          errorMessage: 'service "cart" is not declared in shipline.yml',
        }),
      ) as never,
    });
    const { code, stderr } = await cli(['deploy', 'cart', '--image', DIGEST]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'shipline: the pipeline refused the deploy request: ConfigError: service "cart" is not declared in shipline.yml\n',
    );
  });

  it('refuses a bad --timeout and --commit-time (exit 2)', async () => {
    expect((await cli(['deploy', 'checkout', '--image', DIGEST, '--timeout', 'soon'])).code).toBe(2);
    const badTime = await cli(['deploy', 'checkout', '--image', DIGEST, '--commit-time', 'yesterday']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--commit-time must be an ISO 8601 time');
  });
});

describe('CLI: shipline deploy --wait', () => {
  /** The release's record at each poll, the last one ever after. */
  const records = (...items: Record<string, unknown>[]) => {
    const stub = ddb.on(QueryCommand);
    for (const item of items.slice(0, -1)) stub.resolvesOnce({ Items: [item] });
    stub.resolves({ Items: items.slice(-1) });
  };

  it('prints each transition and exits 0 when the release is promoted', async () => {
    records(
      record({ progress: progress(1, 'shifting', 5, 'Shift 5% to green') }),
      record({ progress: progress(2, 'baking', 5, 'Bake 5% for 5m') }),
      record({
        status: 'promoted',
        endedAt: '2026-03-02T10:20:00.000Z',
        progress: progress(4, 'promoted', 100, 'Retire blue'),
      }),
    );
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' } as never)
      .resolvesOnce({ status: 'RUNNING' } as never)
      .resolves({ status: 'SUCCEEDED' } as never);
    const { code, stdout } = await cli(['deploy', 'checkout', '--image', DIGEST, '--tag', 'v3', '--wait']);
    expect(code).toBe(0);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({ executionArn: EXECUTION });
    expect(stdout.split('\n')).toEqual([
      `started release ${RELEASE} of checkout (v3); following it (at most 1h)`,
      '+0s step 1 of 4 (Shift 5% to green): shifting, 5% on v3',
      '+10s step 2 of 4 (Bake 5% for 5m): baking, 5% on v3',
      '+20s promoted: checkout serves v3',
      '',
    ]);
  });

  it('says a push queued behind the running release is queued, and --wait follows it until its release ends', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'queued',
          service: 'checkout',
          executionName: RELEASE,
          executionArn: EXECUTION,
          behind: 'checkout-222222222222',
        }),
      ) as never,
    });
    // Queued: no record and no execution yet; then its execution runs and is promoted.
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [] })
      .resolvesOnce({ Items: [record({ progress: progress(1, 'shifting', 5, 'Shift 5% to green') })] })
      .resolves({
        Items: [
          record({
            status: 'promoted',
            endedAt: '2026-03-02T10:40:00.000Z',
            progress: progress(4, 'promoted', 100, 'Retire blue'),
          }),
        ],
      });
    sfn
      .on(DescribeExecutionCommand)
      .rejectsOnce(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }))
      .resolvesOnce({ status: 'RUNNING' } as never)
      .resolves({ status: 'SUCCEEDED' } as never);

    const { code, stdout } = await cli(['deploy', 'checkout', '--image', DIGEST, '--tag', 'v3', '--wait']);

    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      `queued release ${RELEASE} of checkout (v3) behind release checkout-222222222222: it starts when that release hands checkout on; following it (at most 1h)`,
      '+0s queued behind the running release of checkout: it starts when that release hands the service on',
      '+10s step 1 of 4 (Shift 5% to green): shifting, 5% on v3',
      '+20s promoted: checkout serves v3',
      '',
    ]);
  });

  it('ends the wait of a queued push that a newer push superseded, exiting 1', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          status: 'queued',
          service: 'checkout',
          executionName: RELEASE,
          executionArn: EXECUTION,
          behind: 'checkout-222222222222',
        }),
      ) as never,
    });
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [] })
      .resolves({
        Items: [
          record({
            status: 'superseded',
            reason: 'superseded by newer release checkout-444444444444',
            endedAt: '2026-03-02T10:05:00.000Z',
          }),
        ],
      });
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));

    const { code, stdout } = await cli(['deploy', 'checkout', '--image', DIGEST, '--wait']);

    expect(code).toBe(1);
    expect(stdout.split('\n').slice(-2)).toEqual([
      '+10s superseded: checkout stays on v2 (superseded by newer release checkout-444444444444)',
      '',
    ]);
  });

  it('exits 1 when the release rolls back, with the reason', async () => {
    records(
      record({
        status: 'rolled_back',
        reason: 'alarm checkout-5xx fired at 5%',
        endedAt: '2026-03-02T10:09:00.000Z',
      }),
    );
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED' } as never);
    const { code, stdout } = await cli(['deploy', 'checkout', '--image', DIGEST, '--wait', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'started',
      releaseId: RELEASE,
      outcome: 'rolled_back',
      exitCode: 1,
      versions: 'v2 -> v3',
      reason: 'alarm checkout-5xx fired at 5%',
    });
  });

  it('exits 4 when the timeout passes with the release still running', async () => {
    ddb
      .on(QueryCommand)
      .resolves({ Items: [record({ progress: progress(2, 'baking', 5, 'Bake 5% for 1h') })] });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
    const { code, stdout } = await cli([
      'deploy',
      'checkout',
      '--image',
      DIGEST,
      '--wait',
      '--timeout',
      '1m',
    ]);
    expect(code).toBe(4);
    expect(stdout).toContain(
      `+1m still running after 1m: release ${RELEASE} goes on; follow it with shipline status checkout`,
    );
  });
});

describe('CLI: shipline status and history', () => {
  it('shows what serves, the step, the bake time left, who acted and the watched alarms', async () => {
    clockMs = Date.parse('2026-03-02T10:06:48.000Z');
    ddb.on(QueryCommand).resolves({
      Items: [
        record({
          progress: {
            ...progress(2, 'baking', 5, 'Bake 5% for 5m'),
            endsAt: '2026-03-02T10:10:00.000Z',
            watchedAlarms: ['checkout-5xx', 'checkout-p99'],
          },
          actions: [
            {
              at: '2026-03-02T10:05:00.000Z',
              command: 'promote',
              actor: { via: 'cli', id: CALLER },
              reason: 'looks good',
              result: 'ended the bake of step 1 of 4',
            },
          ],
        }),
      ],
    });
    // The service's state; no push queued behind the release (status reads the queue too).
    ddb.on(GetCommand).callsFake((input: { Key: { sk: string } }) =>
      input.Key.sk === 'STATE'
        ? {
            Item: {
              service: 'checkout',
              stableSlot: 'blue',
              stableVersion: 'v2',
              stableTaskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/checkout:2',
              latestRelease: 'checkout-222222222222',
              updatedAt: '2026-03-01T09:40:00.000Z',
            },
          }
        : {},
    );
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'checkout-5xx', StateValue: 'OK' }],
    });
    const { code, stdout } = await cli(['status', 'checkout']);
    expect(code).toBe(0);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input)).toEqual([
      { AlarmNames: ['checkout-5xx', 'checkout-p99'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
    ]);
    expect(stdout).toBe(
      [
        'checkout',
        '  serving:   v2 (blue) since 2026-03-01 09:40:00Z',
        `  releasing: ${RELEASE} (v2 -> v3), started 2026-03-02 10:00:01Z`,
        '             step 2 of 4 (Bake 5% for 5m): baking, 5% on v3, bake ends in 3m12s',
        `             2026-03-02 10:05:00Z promote by ${CALLER} ("looks good"): ended the bake of step 1 of 4`,
        '  alarms:    checkout-5xx OK, checkout-p99 MISSING (no such alarm)',
        '',
      ].join('\n'),
    );
  });

  it('status --watch refreshes every --interval until nothing is releasing', async () => {
    const running = record({ progress: progress(2, 'baking', 5, 'Bake 5% for 5m') });
    const ended = record({ status: 'promoted', endedAt: '2026-03-02T10:20:00.000Z' });
    // The release's record reads as running twice, then as promoted; it waits on nothing.
    let reads = 0;
    ddb.on(QueryCommand).callsFake((input: { IndexName?: string }) => {
      if (input.IndexName === 'WaitsByRelease') return { Items: [] };
      reads += 1;
      return { Items: [reads <= 2 ? running : ended] };
    });
    const slept: number[] = [];
    const out: string[] = [];
    const code = await runCli(['status', 'checkout', '--watch', '--interval', '30'], {
      out: (text) => out.push(text),
      err: () => undefined,
      env: { AWS_REGION: 'eu-west-1' },
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect(code).toBe(0);
    expect(slept).toEqual([30_000, 30_000]);
    const screens = out.join('').split('\n\n');
    expect(screens).toHaveLength(3);
    expect(screens[0]).toContain('step 2 of 4 (Bake 5% for 5m): baking');
    expect(screens[2]).toContain('releasing: nothing');
  });

  it('history lists outcome, versions, duration, reason and who acted', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        record({
          status: 'rolled_back',
          endedAt: '2026-03-02T10:09:30.000Z',
          reason: 'aborted by a person: p99 up',
          actions: [
            {
              at: '2026-03-02T10:09:00.000Z',
              command: 'abort',
              actor: { via: 'slack', id: 'slack:T1/U1', name: 'ana' },
              reason: 'p99 up',
              result: 'aborted release',
            },
          ],
        }),
      ],
    });
    const { code, stdout } = await cli(['history', 'checkout', '--limit', '5']);
    expect(code).toBe(0);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'shipline-dev-table',
      Limit: 5,
    });
    expect(stdout).toBe(
      [
        'STARTED               OUTCOME      VERSIONS  DURATION  RELEASE',
        `2026-03-02 10:00:01Z  rolled back  v2 -> v3  9m29s     ${RELEASE}`,
        '    reason: aborted by a person: p99 up',
        '    2026-03-02 10:09:00Z abort by ana ("p99 up"): aborted release',
        '',
      ].join('\n'),
    );
  });
});
