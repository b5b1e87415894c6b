import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../lib/config/load.ts';
import { currentOperator, IamEnforcer } from '../../sandbox/iam/enforce.ts';
import { resolveStatements } from '../../sandbox/iam/operator.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, parseScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const base = {
  name: 'acceptance',
  world: { serving: 'v1', alarms: [{ name: 'checkout-green-5xx', targetGroup: 'green', threshold: 10 }] },
  versions: { v1: { digest: digest('a') }, v2: { digest: digest('b') } },
  trigger: { push: { version: 'v2' } },
};

const withOperator = (operator: Record<string, unknown>) =>
  parseScenario({ ...base, world: { ...base.world, operator } });

/** Writes a scenario file and loads it, answering the scenario or the refusal's message. */
const load = (text: string): ReturnType<typeof loadScenario> | string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-acceptance-'));
  const file = path.join(dir, 'scenario.yml');
  try {
    writeFileSync(file, text);
    return loadScenario(file);
  } catch (error) {
    return (error as Error).message.replaceAll(file, 'FILE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('Scenario format: what users legitimately write (and AWS accepts) is not refused', () => {
  it('accepts every policy IAM accepts: wildcards, any-case actions, every condition operator and modifier', () => {
    // IAM User Guide, IAM JSON policy elements: Action: "The prefix and the action name are case
    // insensitive. For example, iam:ListAccessKeys is the same as IAM:listaccesskeys."
    const operators = [
      'StringEquals',
      'StringNotEquals',
      'StringEqualsIgnoreCase',
      'StringNotEqualsIgnoreCase',
      'StringLike',
      'StringNotLike',
      'NumericEquals',
      'NumericNotEquals',
      'NumericLessThan',
      'NumericLessThanEquals',
      'NumericGreaterThan',
      'NumericGreaterThanEquals',
      'DateEquals',
      'DateNotEquals',
      'DateLessThan',
      'DateLessThanEquals',
      'DateGreaterThan',
      'DateGreaterThanEquals',
      'Bool',
      'BinaryEquals',
      'IpAddress',
      'NotIpAddress',
      'ArnEquals',
      'ArnLike',
      'ArnNotEquals',
      'ArnNotLike',
    ];
    const condition = Object.fromEntries([
      ...operators.flatMap((operator) => [
        [operator, { 'aws:PrincipalTag/team': 'x' }],
        [`${operator}IfExists`, { 'aws:PrincipalTag/team': 'x' }],
        [`ForAllValues:${operator}`, { 'aws:TagKeys': 'x' }],
        [`ForAnyValue:${operator}IfExists`, { 'aws:TagKeys': 'x' }],
      ]),
      ['Null', { 'aws:TokenIssueTime': 'false' }],
    ]);
    const scenario = withOperator({
      policy: [
        {
          Sid: 'Everything',
          Effect: 'Allow',
          Action: [
            '*',
            's3:Get*',
            'states:Send*',
            'dynamodb:Get?tem',
            'States:SendTaskSuccess',
            'IAM:listaccesskeys',
          ],
          Resource: [
            '*',
            'arn:aws:s3:::bucket/*',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
            'arn:aws:iam::123456789012:user/${aws:username}',
            'arn:aws-cn:states:cn-north-1:123456789012:stateMachine:*',
          ],
          Condition: condition,
        },
        { Effect: 'Deny', Action: 'ecs:*', Resource: '*' },
      ],
    });
    expect(Object.keys(scenario.world.operator?.policy?.[0]?.Condition ?? {})).toHaveLength(
      operators.length * 4 + 1,
    );
  });

  it('accepts every principal GetCallerIdentity can answer a person with: paths, sessions, federated users, other partitions', () => {
    for (const arn of [
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:iam::123456789012:user/division/team/alice',
      'arn:aws:iam::123456789012:role/deploy/ci-deployer',
      'arn:aws:sts::123456789012:assumed-role/deployer/alice@example.com',
      'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice',
      'arn:aws:sts::123456789012:federated-user/alice',
      'arn:aws-cn:sts::123456789012:assumed-role/deployer/alice',
      'arn:aws-us-gov:iam::123456789012:user/alice',
    ])
      expect(withOperator({ arn }).world.operator?.arn).toBe(arn);
  });

  it('accepts version names and tags Docker and ECR take', () => {
    const scenario = parseScenario({
      ...base,
      versions: {
        v1: { digest: digest('a') },
        '2026.11.24-build_17': { digest: digest('b') },
        _underscored: { digest: digest('c') },
        [`V${'x'.repeat(127)}`]: { digest: digest('d') },
      },
      trigger: { push: { version: '2026.11.24-build_17', tag: 'release-1.2.3' } },
    });
    expect(Object.keys(scenario.versions)).toHaveLength(4);
  });

  it('reads a scenario whose anchors are used dozens of times, as a fleet scenario does', () => {
    const services = Array.from({ length: 150 }, (_, i) => `    svc${i}: { <<: *service, serving: v1 }`);
    const loaded = load(
      [
        'name: aliases',
        'defaults:',
        '  service: &service { desiredCount: 2, requestsPerMinute: 600 }',
        'world:',
        '  serving: v1',
        'versions:',
        `  v1: { digest: "${digest('a')}" }`,
        'trigger: { push: { version: v1 } }',
        'x-services:',
        ...services,
        '',
      ].join('\n'),
    );
    // The unknown top-level keys are refused by the schema, not by the YAML reader: the aliases were read.
    expect(typeof loaded === 'string' ? loaded : '').not.toContain('not valid YAML');
  });

  it('reads a shipline.yml whose fleet of services shares anchors', () => {
    const services = Array.from(
      { length: 150 },
      (_, i) =>
        `  svc${i}:\n    <<: *service\n    image: { repository: svc${i} }\n    target:\n      <<: *target\n      listenerRuleArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/${String(i).padStart(16, '0')}`,
    );
    const text = [
      'x-defaults:',
      '  service: &service { deployTimeout: 10m }',
      '  target: &target { type: ecs-alb }',
      'services:',
      ...services,
      '',
    ];
    let message = '';
    try {
      parseConfigText(text.join('\n'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain('not valid YAML');
  });

  it('still refuses a YAML file whose aliases blow up, saying so in plain words', () => {
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
      'g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]',
      '',
    ].join('\n');
    expect(load(laughs)).toMatch(
      /^scenario FILE is not valid YAML: its aliases would expand beyond 1000 uses of an anchor/,
    );
  });
});

describe('Scenario format: a mistake in an inline config is located in the scenario file', () => {
  it('names the file, line and column of the config field, from the scenario root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-acceptance-'));
    const file = path.join(dir, 'inline.yml');
    try {
      writeFileSync(
        file,
        [
          'name: inline config',
          'config:',
          '  services:',
          '    checkout:',
          '      image: { repository: checkout }',
          '      strategy: { type: all-at-once, bake: 10m }',
          '      target:',
          '        type: ecs-rolling',
          '        cluster: prod',
          '        service: checkout',
          '        container: web',
          '        bogus: 1',
          'world:',
          '  serving: v1',
          'versions:',
          `  v1: { digest: "${digest('a')}" }`,
          'trigger: { push: { version: v1 } }',
          '',
        ].join('\n'),
      );
      const { scenario, baseDir } = loadScenario(file);
      let message = '';
      try {
        await runScenario(scenario, baseDir);
      } catch (error) {
        message = (error as Error).message.replaceAll(file, 'FILE');
      }
      expect(message).toBe(
        'FILE is invalid:\n  FILE:8:9 config.services.checkout.target: Unrecognized key: "bogus"',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Scenario format: a refusal for what the sandbox lacks says so, and never that the user is wrong', () => {
  it('says a real load balancer metric is one the sandbox does not simulate, without suggesting a typo', () => {
    const alarm = (metric: string): string => {
      try {
        parseScenario({ ...base, world: { ...base.world, alarms: [{ ...base.world.alarms[0], metric }] } });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    for (const metric of [
      'HTTPCode_Target_4XX_Count',
      'UnHealthyHostCount',
      'HealthyHostCount',
      'TargetConnectionErrorCount',
      'RequestCountPerTarget',
    ]) {
      const message = alarm(metric);
      expect(message).toContain(
        `${metric} is an Application Load Balancer metric the sandbox does not simulate: an alarm on it would never see a datapoint here`,
      );
      expect(message).not.toContain('did you mean');
    }
  });
});

describe('Scenario format: an operator policy as IAM takes it', () => {
  const TOPIC = 'arn:aws:sns:us-east-1:123456789012:releases';
  const SCOPE = {
    region: 'us-east-1',
    account: '123456789012',
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:release',
  };
  /** Whether the operator holding the scenario's policy may publish to TOPIC, to another topic, and describe listener rules. */
  const decisions = (policy: unknown): { publish: boolean; other: boolean; describe: boolean } => {
    const scenario = withOperator({ policy });
    const iam = new IamEnforcer(new Map(), SCOPE, {
      arn: 'arn:aws:iam::123456789012:user/alice',
      statements: resolveStatements(scenario.world.operator?.policy ?? [], { ...SCOPE, stack: 'shipline' }),
    });
    const allowed = (call: () => void) =>
      currentOperator.run(true, () => {
        try {
          call();
          return true;
        } catch {
          return false;
        }
      });
    return {
      publish: allowed(() => iam.authorize('SNS', 'PublishCommand', { TopicArn: TOPIC, Message: '{}' })),
      other: allowed(() =>
        iam.authorize('SNS', 'PublishCommand', { TopicArn: `${TOPIC}-other`, Message: '{}' }),
      ),
      describe: allowed(() => iam.authorize('ElasticLoadBalancingV2', 'DescribeRulesCommand', {})),
    };
  };

  it('takes a whole policy document (Version 2012-10-17 or 2008-10-17) or a single statement', () => {
    const statement = { Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC };
    for (const policy of [
      { Version: '2012-10-17', Statement: [statement] },
      { Version: '2008-10-17', Id: 'operator', Statement: statement },
      statement,
      [statement],
    ])
      expect(decisions(policy)).toEqual({ publish: true, other: false, describe: false });
  });

  it('evaluates NotAction and NotResource as IAM does', () => {
    expect(decisions([{ Effect: 'Allow', NotAction: 'sns:Publish', Resource: '*' }])).toEqual({
      publish: false,
      other: false,
      describe: true,
    });
    expect(
      decisions([
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 'sns:*', NotResource: TOPIC },
      ]),
    ).toEqual({ publish: true, other: false, describe: true });
  });

  it('refuses a statement with both or neither of Action and NotAction, Resource and NotResource', () => {
    const refused = (statement: Record<string, unknown>) => {
      try {
        withOperator({ policy: [{ Effect: 'Allow', ...statement }] });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ Action: '*', NotAction: 'sns:Publish', Resource: '*' })).toContain(
      'world.operator.policy[0]: give exactly one of Action and NotAction',
    );
    expect(refused({ Action: '*' })).toContain(
      'world.operator.policy[0]: give exactly one of Resource and NotResource',
    );
  });
});

describe("Scenario format: a world without an account or Region is the config's", () => {
  afterAll(async () => {
    await stopLocalDynamoDb();
  });

  it("runs a team's own shipline.yml, in its account and Region, without repeating them in world", async () => {
    const config = parse(
      readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8')
        .replaceAll('us-east-1:123456789012', 'eu-west-1:111122223333')
        .replaceAll('arn:aws:iam::123456789012', 'arn:aws:iam::111122223333'),
    ) as Record<string, unknown>;
    const scenario = parseScenario({
      ...base,
      config,
      world: {
        ...base.world,
        alarms: [
          { name: 'checkout-green-5xx', targetGroup: 'green', threshold: 10 },
          { name: 'checkout-blue-5xx', targetGroup: 'blue', threshold: 10 },
          {
            name: 'checkout-latency-p99',
            metric: 'TargetResponseTime',
            extendedStatistic: 'p99',
            threshold: 1,
          },
        ],
      },
      until: '20m',
    });
    const result = await runScenario(scenario, path.join(REPOSITORY_ROOT, 'examples'));
    expect(result.executions[0]?.name).toBeDefined();
    expect(scenario.world).toMatchObject({ account: '111122223333', region: 'eu-west-1' });
    // A world that names its account or Region is still held to the load balancer's.
    let message = '';
    try {
      await runScenario(
        parseScenario({ ...base, config, world: { ...base.world, region: 'us-east-1' } }),
        path.join(REPOSITORY_ROOT, 'examples'),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      'world.region: the world is us-east-1, but services.checkout.target.listenerRuleArn',
    );
  });
});

describe('shipline.yml: YAML merge keys, as the scenario reads them', () => {
  it('reads a service whose fields come from a merge key', () => {
    const text = readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8');
    const plain = parseConfigText(text);
    const withMerge = parseConfigText(
      text.replace(
        '    strategy:\n      type: canary\n      steps: [5, 25, 100]\n      bake: 10m',
        '    <<: { strategy: { type: canary, steps: [5, 25, 100], bake: 10m } }',
      ),
    );
    expect(withMerge.services.checkout?.strategy).toEqual(plain.services.checkout?.strategy);
  });
});
