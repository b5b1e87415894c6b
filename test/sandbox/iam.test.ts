import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../lib/config/load.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { readServerlessDocument, resolveRolePolicies } from '../../sandbox/iam/policies.ts';
import { iamChecksFor, PIPELINE_ACTIONS } from '../../sandbox/iam/resources.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, parseScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

type Doc = { functions: Record<string, { iamRoleStatements: Array<{ Action: string[] }> }> };

/** serverless.yml as parsed, with one action removed from one function's role (the file is not edited). */
const without = (fn: string, action: string): unknown => {
  const doc = readServerlessDocument(REPOSITORY_ROOT) as Doc;
  const role = doc.functions[fn];
  if (!role) throw new Error(`no function ${fn}`);
  role.iamRoleStatements = role.iamRoleStatements
    .map((s) => ({ ...s, Action: s.Action.filter((a) => a !== action) }))
    .filter((s) => s.Action.length > 0);
  return doc;
};

const run = (serverlessDocument?: unknown, roleConfig?: ShiplineConfig) => {
  const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
  return runScenario(scenario, baseDir, {
    ...(serverlessDocument ? { serverlessDocument } : {}),
    ...(roleConfig ? { roleConfig } : {}),
  });
};

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: IAM enforcement', () => {
  it('fails the release with AccessDenied naming action and resource when shiftTraffic may not ModifyRule', async () => {
    const result = await run(without('shiftTraffic', 'elasticloadbalancing:ModifyRule'));
    // The first traffic shift is refused; the release rolls back and says why.
    expect(result.outcome).toBe('rolled_back');
    const denial =
      'AccessDenied: User: arn:aws:sts::123456789012:assumed-role/shipline-sandbox-shiftTraffic-us-east-1-lambdaRole/shipline-sandbox-shiftTraffic is not authorized to perform: elasticloadbalancing:ModifyRule on resource: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee because no identity-based policy allows the elasticloadbalancing:ModifyRule action';
    expect(result.executions[0]).toMatchObject({ error: 'ReleaseRolledBack' });
    expect(result.executions[0]?.cause).toContain(denial);
    expect(result.reason).toContain(denial);
    const failed = result.timeline.find((e) => e.kind === 'execution' && e.text.startsWith('FAILED'));
    expect(failed?.text).toContain('elasticloadbalancing:ModifyRule');
    expect(result.traffic).toEqual({ 'blue (v1)': 100 });
  });

  it('goes on when a role may not publish on the release-events topic: the transition is lost, the release is not', async () => {
    const result = await run(without('shiftTraffic', 'sns:Publish'));
    expect(result.outcome).toBe('promoted');
    // The three shifts' messages were refused (AuthorizationError, logged); every other transition went out.
    const kinds = result.releaseEvents.map(({ message }) => message.progress.state);
    expect(kinds).not.toContain('shifting');
    expect(kinds).toContain('baking');
    // The progress still reached the release record (the shifts' own update).
    expect(result.releases[0]?.progress).toMatchObject({ state: 'promoted' });
  });

  it('reads image labels for the DORA lead time only as the release-metrics role allows: without GetDownloadUrlForLayer, from the push', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'dora-release-history.yml'),
    );
    const allowed = await runScenario(scenario, baseDir);
    expect(allowed.releases.map((release) => release.changeTime?.source)).toEqual([
      'oci-label',
      'oci-label',
      'oci-label',
    ]);

    const denied = await runScenario(scenario, baseDir, {
      serverlessDocument: without('releaseMetrics', 'ecr:GetDownloadUrlForLayer'),
    });
    // The label read fails with AccessDenied on the blob's URL request: each release falls back to its push.
    expect(denied.outcome).toBe('promoted');
    expect(denied.releases.map((release) => release.changeTime)).toEqual(
      denied.releases.map((release) => ({ at: release.requestedAt, source: 'push' })),
    );
    expect(denied.dora.checkout?.changeLeadTime.sources).toEqual({
      'oci-label': 0,
      'deploy-request': 0,
      push: 2,
    });
    expect(denied.awsCalls['ECR:GetDownloadUrlForLayer']).toBeUndefined();
  });

  it('denies ECS calls on a service the packaged roles were not scoped to (roles from shipline.yml)', async () => {
    const config = loadConfigFile(path.join(REPOSITORY_ROOT, 'shipline.yml'));
    const checkout = config.services.checkout;
    if (!checkout) throw new Error('shipline.yml declares no checkout');
    // The roles were packaged for a config whose checkout runs on another cluster.
    const other = {
      ...config,
      services: { checkout: { ...checkout, target: { ...checkout.target, cluster: 'staging' } } },
    };
    const result = await run(undefined, other);
    expect(result.outcome).toBe('failed');
    const text = JSON.stringify(result);
    expect(text).toContain('AccessDeniedException');
    expect(text).toMatch(
      /is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service\/prod\/checkout-(blue|green)/,
    );
  });

  it('passes only the declared task roles to ECS (target.taskRoleArns scopes iam:PassRole)', async () => {
    const config = loadConfigFile(path.join(REPOSITORY_ROOT, 'shipline.yml'));
    const checkout = config.services.checkout;
    if (!checkout) throw new Error('shipline.yml declares no checkout');
    const withRoles = (taskRoleArns: string[]) => ({
      ...config,
      services: { checkout: { ...checkout, target: { ...checkout.target, taskRoleArns } } },
    });
    // The sandbox's task definitions name arn:aws:iam::123456789012:role/checkout-execution.
    const declared = await run(undefined, withRoles(['arn:aws:iam::123456789012:role/checkout-execution']));
    expect(declared.outcome).toBe('promoted');

    const other = await run(undefined, withRoles(['arn:aws:iam::123456789012:role/billing-execution']));
    expect(other.outcome).toBe('rolled_back');
    expect(other.reason).toContain(
      'is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/checkout-execution',
    );
    expect(other.traffic).toEqual({ 'blue (v1)': 100 });
  });

  it('lets runCheck invoke only the smoke-test functions the checks declare (lambda:InvokeFunction)', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'blue-green-healthy.yml'),
    );
    const declared = await runScenario(scenario, baseDir);
    expect(declared.outcome).toBe('promoted');
    expect(declared.awsCalls['Lambda:Invoke']).toBe(1);

    // The roles were packaged for a config whose check names another function.
    const config = parseConfig(scenario.config);
    const checkout = config.services.checkout;
    if (!checkout) throw new Error('the example declares no checkout');
    const strategy = {
      ...checkout.strategy,
      checks: checkout.strategy.checks.map((c) =>
        'lambda' in c ? { ...c, lambda: 'checkout-other-smoke' } : c,
      ),
    };
    const other = { ...config, services: { checkout: { ...checkout, strategy } } } as ShiplineConfig;
    const denied = await runScenario(scenario, baseDir, { roleConfig: other });
    expect(denied.outcome).toBe('rolled_back');
    expect(denied.reason).toContain(
      'is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:checkout-login-smoke',
    );
    // Refused before the swap: production traffic never moved.
    expect(denied).toMatchObject({ productionWeightChanges: 0, servingVersion: 'v1' });
  });

  it('authorizes a smoke-test function named by a partial ARN (account:function:name) as Lambda resolves it', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'blue-green-healthy.yml'),
    );
    const config = structuredClone(scenario.config) as {
      services: { checkout: { strategy: { checks: Array<Record<string, unknown>> } } };
    };
    for (const check of config.services.checkout.strategy.checks)
      if ('lambda' in check) check.lambda = '123456789012:function:checkout-login-smoke';
    const result = await runScenario(parseScenario({ ...structuredClone(scenario), config }), baseDir);
    expect(result.reason).toBeNull();
    expect(result.outcome).toBe('promoted');
    expect(result.awsCalls['Lambda:Invoke']).toBe(1);
  });

  it('resumes the steady wait by the ECS event, not the steady timeout (ecsDeploymentEvents may GetItem)', async () => {
    const ok = await run();
    expect(ok.outcome).toBe('promoted');
    expect(ok.deadLetters).toEqual([]);
    // The ECS event (deployment completed 90 s after UpdateService) resumes the wait within seconds (the
    // event's delivery, Lambda starts and AWS calls take the time they take on AWS); the steady-timeout
    // path ("Check the new version after the wait", at steadyTimeout) never runs.
    const healthy = ok.timeline.find((e) => e.text === 'Is the new version ready?');
    expect(healthy?.t).toBeGreaterThanOrEqual(90);
    expect(healthy?.t).toBeLessThan(100);
    expect(ok.timeline.some((e) => e.text === 'Check the new version after the wait')).toBe(false);
    expect(ok.timeline.filter((e) => e.kind === 'lambda')).toEqual([]);
    const denied = await run(without('ecsDeploymentEvents', 'dynamodb:GetItem'));
    // Before the fix every ECS deployment event failed into the dead-letter queue.
    expect(denied.deadLetters.length).toBeGreaterThan(0);
    expect(denied.deadLetters[0]?.error).toContain('dynamodb:GetItem');
    expect(denied.virtualSeconds).toBeGreaterThan(ok.virtualSeconds);
    const checked = denied.timeline.find((e) => e.text === 'Check the new version after the wait');
    expect(checked?.t).toBeGreaterThan(90);
  });
});

describe('Sandbox: IAM of the Slack functions', () => {
  const slackRun = (roleConfig?: ShiplineConfig) => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'slack-rollback-click.yml'),
    );
    return runScenario(scenario, baseDir, roleConfig ? { roleConfig } : {});
  };
  const slackConfig = () =>
    loadConfigFile(path.join(REPOSITORY_ROOT, 'examples', 'configs', 'slack-canary.yml'));

  it('lets slackNotify read only the bot token parameter shipline.yml names (ssm:GetParameter)', async () => {
    const config = slackConfig();
    if (!config.slack) throw new Error('the example config has no slack section');
    // The roles were packaged for a config whose token lives in another parameter.
    const result = await slackRun({
      ...config,
      slack: { ...config.slack, botToken: { ssm: '/other/bot-token' } },
    });
    // Slack is told nothing (the thread function logs the denial and ends), the release is unaffected.
    expect(result.slack?.threads).toEqual([]);
    expect(result.awsCalls['SSM:GetParameter']).toBeUndefined();
    const allowed = await slackRun();
    expect(allowed.awsCalls['SSM:GetParameter']).toBeGreaterThan(0);
    expect(allowed.slack?.threads).toHaveLength(1);
    expect(result).toMatchObject({ outcome: 'rolled_back', servingVersion: 'v1' });
  });

  it('lets slackInteractions read only the signing secret shipline.yml names (secretsmanager:GetSecretValue)', async () => {
    const config = slackConfig();
    if (!config.slack) throw new Error('the example config has no slack section');
    const result = await slackRun({
      ...config,
      slack: { ...config.slack, signingSecret: { secretsManager: 'other/signing-secret' } },
    });
    // The click cannot be verified: the secret read is denied (the function logs it), the function answers
    // 503 and nothing is rolled back.
    expect(result.slack?.clicks.map((c) => [c.status, c.body])).toEqual([
      [503, 'cannot verify the request now'],
    ]);
    expect(result.awsCalls['SecretsManager:GetSecretValue']).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'promoted', servingVersion: 'v2' });
  });
});

describe('IAM mapping of the commands the pipeline sends', () => {
  const scope = {
    region: 'us-east-1',
    account: '123456789012',
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:m',
  };
  it.each([
    [
      'DynamoDB',
      'GetItem',
      { TableName: 't' },
      'dynamodb:GetItem',
      'arn:aws:dynamodb:us-east-1:123456789012:table/t',
    ],
    [
      'DynamoDB',
      'Query',
      { TableName: 't' },
      'dynamodb:Query',
      'arn:aws:dynamodb:us-east-1:123456789012:table/t',
    ],
    [
      'ECS',
      'UpdateService',
      { cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/c', service: 's' },
      'ecs:UpdateService',
      'arn:aws:ecs:us-east-1:123456789012:service/c/s',
    ],
    [
      'ECS',
      'DescribeServices',
      { cluster: 'c', services: ['s'] },
      'ecs:DescribeServices',
      'arn:aws:ecs:us-east-1:123456789012:service/c/s',
    ],
    ['ECS', 'DescribeTaskDefinition', {}, 'ecs:DescribeTaskDefinition', '*'],
    [
      'ElasticLoadBalancingV2',
      'ModifyRule',
      { RuleArn: 'arn:r' },
      'elasticloadbalancing:ModifyRule',
      'arn:r',
    ],
    ['ElasticLoadBalancingV2', 'DescribeRules', {}, 'elasticloadbalancing:DescribeRules', '*'],
    [
      'CloudWatch',
      'DescribeAlarms',
      { AlarmNames: ['a'] },
      'cloudwatch:DescribeAlarms',
      'arn:aws:cloudwatch:us-east-1:123456789012:alarm:a',
    ],
    [
      'CloudWatch',
      'DescribeAlarmHistory',
      { AlarmName: 'a', HistoryItemType: 'StateUpdate' },
      'cloudwatch:DescribeAlarmHistory',
      'arn:aws:cloudwatch:us-east-1:123456789012:alarm:a',
    ],
    ['SNS', 'Publish', { TopicArn: 'arn:t' }, 'sns:Publish', 'arn:t'],
    ['SFN', 'SendTaskSuccess', {}, 'states:SendTaskSuccess', scope.stateMachineArn],
    ['SFN', 'StartExecution', { stateMachineArn: 'arn:m' }, 'states:StartExecution', 'arn:m'],
    [
      'SFN',
      'ListExecutions',
      { stateMachineArn: 'arn:m', statusFilter: 'ABORTED', maxResults: 100 },
      'states:ListExecutions',
      'arn:m',
    ],
    [
      'Lambda',
      'Invoke',
      { FunctionName: 'checkout-smoke' },
      'lambda:InvokeFunction',
      'arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke',
    ],
    [
      'Lambda',
      'Invoke',
      { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke', Qualifier: 'live' },
      'lambda:InvokeFunction',
      'arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke:live',
    ],
    [
      'SSM',
      'GetParameter',
      { Name: '/shipline/slack/bot-token', WithDecryption: true },
      'ssm:GetParameter',
      'arn:aws:ssm:us-east-1:123456789012:parameter/shipline/slack/bot-token',
    ],
    [
      'SecretsManager',
      'GetSecretValue',
      { SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:shipline/signing-AbCdEf' },
      'secretsmanager:GetSecretValue',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:shipline/signing-AbCdEf',
    ],
    // The operator's CLI.
    [
      'CloudFormation',
      'DescribeStacks',
      { StackName: 'shipline-dev' },
      'cloudformation:DescribeStacks',
      'arn:aws:cloudformation:us-east-1:123456789012:stack/shipline-dev/00000000-0000-4000-8000-000000000000',
    ],
    [
      'SFN',
      'DescribeExecution',
      { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:x' },
      'states:DescribeExecution',
      'arn:aws:states:us-east-1:123456789012:execution:m:x',
    ],
    [
      'ECR',
      'DescribeImages',
      { registryId: '210987654321', repositoryName: 'checkout', imageIds: [{ imageTag: 'v3' }] },
      'ecr:DescribeImages',
      'arn:aws:ecr:us-east-1:210987654321:repository/checkout',
    ],
  ])('%s %s', (service, command, input, action, resource) => {
    expect(iamChecksFor(service, command, input, scope)[0]).toEqual({ action, resource });
  });

  it('STS GetCallerIdentity needs no permission (an explicit deny does not stop it, as on AWS)', () => {
    expect(iamChecksFor('STS', 'GetCallerIdentity', {}, scope)).toEqual([]);
  });
  it('maps every action listed as sent by the pipeline (the commands a scenario fault may name)', () => {
    const client: Record<string, string> = {
      dynamodb: 'DynamoDB',
      ecs: 'ECS',
      elasticloadbalancing: 'ElasticLoadBalancingV2',
      cloudwatch: 'CloudWatch',
      ecr: 'ECR',
      sns: 'SNS',
      states: 'SFN',
      lambda: 'Lambda',
      ssm: 'SSM',
      secretsmanager: 'SecretsManager',
    };
    // The API's name where IAM names the action otherwise.
    const iamAction: Record<string, string> = {
      'lambda:Invoke': 'lambda:InvokeFunction',
      'sns:PublishBatch': 'sns:Publish',
    };
    const input = {
      TableName: 't',
      RequestItems: { t: { Keys: [] } },
      services: ['s'],
      family: 'f',
      RuleArn: 'arn:r',
      TopicArn: 'arn:t',
      FunctionName: 'f',
      Name: '/p',
      SecretId: 's',
    };
    for (const action of PIPELINE_ACTIONS) {
      const [prefix = '', command = ''] = action.split(':');
      expect(iamChecksFor(client[prefix] ?? '', command, input, scope)[0]?.action).toBe(
        iamAction[action] ?? action,
      );
    }
  });
  it('PutMetricData is authorized on * with the namespace as a condition key', () => {
    expect(iamChecksFor('CloudWatch', 'PutMetricData', { Namespace: 'Shipline' }, scope)).toEqual([
      { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'Shipline' } },
    ]);
  });
  it('BatchGetItem is authorized on each table it reads', () => {
    expect(
      iamChecksFor('DynamoDB', 'BatchGetItem', { RequestItems: { t: { Keys: [] }, u: { Keys: [] } } }, scope),
    ).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' },
      { action: 'dynamodb:BatchGetItem', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/u' },
    ]);
  });
  it('BatchGetImage and GetDownloadUrlForLayer are authorized on the repository of the registry they name', () => {
    expect(iamChecksFor('ECR', 'BatchGetImage', { repositoryName: 'team/checkout' }, scope)).toEqual([
      {
        action: 'ecr:BatchGetImage',
        resource: 'arn:aws:ecr:us-east-1:123456789012:repository/team/checkout',
      },
    ]);
    expect(
      iamChecksFor(
        'ECR',
        'GetDownloadUrlForLayer',
        { repositoryName: 'checkout', registryId: '210987654321' },
        scope,
      ),
    ).toEqual([
      {
        action: 'ecr:GetDownloadUrlForLayer',
        resource: 'arn:aws:ecr:us-east-1:210987654321:repository/checkout',
      },
    ]);
  });
  it('SendTaskFailure is authorized against the state machine, as SendTaskSuccess', () => {
    expect(iamChecksFor('SFN', 'SendTaskFailure', {}, scope)[0]).toEqual({
      action: 'states:SendTaskFailure',
      resource: scope.stateMachineArn,
    });
  });
  it('RegisterTaskDefinition with tags and roles also needs ecs:TagResource and iam:PassRole', () => {
    const checks = iamChecksFor(
      'ECS',
      'RegisterTaskDefinition',
      { family: 'f', tags: [{ key: 'k' }], taskRoleArn: 'arn:aws:iam::123456789012:role/x' },
      scope,
    );
    expect(checks.map((c) => c.action)).toEqual([
      'ecs:RegisterTaskDefinition',
      'ecs:TagResource',
      'iam:PassRole',
    ]);
  });
  it('fails loudly on a command with no mapping', () => {
    expect(() => iamChecksFor('ECS', 'DeleteService', {}, scope)).toThrow('no IAM mapping');
  });
  it('resolves serverless.yml roles for the sandbox as the packaged template holds them', () => {
    const config = loadConfigFile(path.join(REPOSITORY_ROOT, 'shipline.yml'));
    const roles = resolveRolePolicies(readServerlessDocument(REPOSITORY_ROOT), {
      ...scope,
      tableName: 't',
      topicArn: 'arn:aws:sns:us-east-1:123456789012:topic',
      config,
    });
    const statementFor = (fn: string, action: string) =>
      roles.get(fn)?.find((statement) => statement.Action.includes(action));
    expect(statementFor('ecsDeploymentEvents', 'dynamodb:GetItem')?.Resource).toEqual([
      'arn:aws:dynamodb:us-east-1:123456789012:table/t',
    ]);
    expect(statementFor('deploySlot', 'ecs:UpdateService')?.Resource).toEqual([
      'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-blue',
      'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-green',
    ]);
    expect(statementFor('report', 'sns:Publish')?.Resource).toEqual([
      'arn:aws:sns:us-east-1:123456789012:topic',
    ]);
    expect(statementFor('report', 'logs:PutLogEvents')?.Resource).toEqual([
      'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shipline-sandbox-report:*',
    ]);
  });
});
