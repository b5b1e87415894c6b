import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile } from '../lib/config/load.ts';
import { LAMBDA_DEFINED_VARIABLES, resolveFunctionConfigs } from '../sandbox/function-config.ts';
import { readServerlessDocument, templateResolver } from '../sandbox/iam/policies.ts';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** Function key -> handler file, as the ASL and the sandbox know them. */
const FUNCTIONS = {
  trigger: 'trigger',
  acquireLock: 'acquire-lock',
  waitForLock: 'wait-for-lock',
  prepareRelease: 'prepare-release',
  deploySlot: 'deploy-slot',
  awaitSteadySlot: 'await-steady-slot',
  confirmSteadySlot: 'confirm-steady-slot',
  ecsDeploymentEvents: 'ecs-deployment-events',
  shiftTraffic: 'shift-traffic',
  startBake: 'start-bake',
  confirmBake: 'confirm-bake',
  alarmEvents: 'alarm-events',
  promote: 'promote',
  startRollbackWindow: 'start-rollback-window',
  confirmRollbackWindow: 'confirm-rollback-window',
  handOffService: 'hand-off-service',
  handOffEndedExecution: 'hand-off-ended-execution',
  reconcileEndedExecutions: 'reconcile-ended-executions',
  scaleDown: 'scale-down',
  runCheck: 'run-check',
  startPause: 'start-pause',
  rollBack: 'roll-back',
  report: 'report',
  recordLostNotification: 'record-lost-notification',
  releaseMetrics: 'release-metrics',
  slackNotify: 'slack-notify',
  slackInteractions: 'slack-interactions',
} as const;
type FunctionKey = keyof typeof FUNCTIONS;
const FUNCTION_KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

/** Functions started by EventBridge rather than by the state machine. */
const EVENT_FUNCTIONS: FunctionKey[] = [
  'trigger',
  'ecsDeploymentEvents',
  'alarmEvents',
  'releaseMetrics',
  'handOffEndedExecution',
  'reconcileEndedExecutions',
];
/** Functions the state machine never invokes: the event functions, the Slack thread and its buttons. */
const OUTSIDE_STATE_MACHINE: FunctionKey[] = [...EVENT_FUNCTIONS, 'slackNotify', 'slackInteractions'];

/**
 * The IAM actions each function's code can send, DERIVED from its bundle rather than kept by hand: each
 * handler is bundled with esbuild (as serverless-esbuild packages it) and the metafile lists the SDK
 * command modules (`@aws-sdk/client-X/dist-es/commands/YCommand.js`) that contribute bytes to the output.
 * Tree-shaking drops commands no imported code references, so this is an UPPER bound: an adapter method
 * the handler never calls still keeps its command (esbuild does not shake class methods). Hence the test
 * asserts each role holds no action its code cannot send; that a role holds every action its code DOES
 * send is enforced by the IAM-enforcing sandbox (sandbox/iam/), which runs every example scenario with
 * each function's role and fails any call the role does not allow.
 */
const CLIENT_PREFIX: Record<string, string> = {
  dynamodb: 'dynamodb',
  ecs: 'ecs',
  'elastic-load-balancing-v2': 'elasticloadbalancing',
  cloudwatch: 'cloudwatch',
  sns: 'sns',
  sfn: 'states',
  lambda: 'lambda',
  ecr: 'ecr',
  ssm: 'ssm',
  'secrets-manager': 'secretsmanager',
};
/** Commands whose IAM action has another name than the API (Lambda's Invoke is lambda:InvokeFunction, SNS's PublishBatch sns:Publish). */
const ACTION_OF_COMMAND: Record<string, string> = {
  'lambda:Invoke': 'lambda:InvokeFunction',
  // "sns:Publish: Grants permission to both publish and publish batch to a topic" (Amazon SNS API permissions).
  'sns:PublishBatch': 'sns:Publish',
};
/** Authorizations AWS makes beyond the command's own action. */
const IMPLIED_ACTIONS: Record<string, string[]> = {
  // Tag on create, and the task and execution roles the task definition names are passed to ECS.
  'ecs:RegisterTaskDefinition': ['ecs:TagResource', 'iam:PassRole'],
};
let codeActions: Map<string, Set<string>>;
const deriveCodeActions = async (): Promise<Map<string, Set<string>>> => {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: Object.values(FUNCTIONS).map((file) => path.join(root, 'functions', `${file}.ts`)),
    bundle: true,
    write: false,
    outdir: path.join(outDir, 'derive'),
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const byEntry = new Map<string, Set<string>>();
  for (const output of Object.values(result.metafile.outputs)) {
    if (!output.entryPoint) continue;
    const actions = new Set<string>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/.exec(input);
      if (!match || bytesInOutput === 0) continue;
      const prefix = CLIENT_PREFIX[match[1] ?? ''];
      if (!prefix) throw new Error(`no IAM prefix for @aws-sdk/client-${match[1]}: add it to CLIENT_PREFIX`);
      const action = ACTION_OF_COMMAND[`${prefix}:${match[2]}`] ?? `${prefix}:${match[2]}`;
      actions.add(action);
      for (const implied of IMPLIED_ACTIONS[action] ?? []) actions.add(implied);
    }
    byEntry.set(path.basename(output.entryPoint, '.ts'), actions);
  }
  return new Map(FUNCTION_KEYS.map((key) => [key, byEntry.get(FUNCTIONS[key]) ?? new Set<string>()]));
};

/** Actions AWS authorizes only against `*` (no resource-level permissions). */
const WILDCARD_RESOURCE_ACTIONS = new Set([
  'elasticloadbalancing:DescribeRules',
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  // Scoped to the Shipline namespace by a cloudwatch:namespace condition instead.
  'cloudwatch:PutMetricData',
  // Step Functions log delivery, added by serverless-step-functions to the state machine role.
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** The release state machine's ARN, built from its name (no Ref cycle). */
const RELEASE_STATE_MACHINE_ARN = {
  'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:shipline-dev-release`,
};

/**
 * Each rule is scoped to what shipline.yml declares: its repositories, its services' slots, its alarms.
 * A function with several rules lists each pattern.
 */
const EVENT_PATTERNS: Partial<Record<FunctionKey, unknown>> = {
  trigger: {
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['checkout'] },
  },
  ecsDeploymentEvents: {
    source: ['aws.ecs'],
    'detail-type': ['ECS Deployment State Change'],
    resources: ['checkout-blue', 'checkout-green'].map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/prod/${name}`,
    })),
  },
  // One rule: every end of a release execution (the function tells apart the ends through its own states).
  handOffEndedExecution: {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: {
      status: ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'],
      stateMachineArn: [RELEASE_STATE_MACHINE_ARN],
    },
  },
  alarmEvents: {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    detail: {
      alarmName: ['checkout-latency-p99', 'checkout-blue-5xx', 'checkout-green-5xx'],
      state: { value: ['ALARM'] },
    },
  },
};

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  DependsOn?: string | string[];
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

interface ShiplineDocument {
  version: number;
  services: Record<string, unknown>;
}

const logicalId = (key: string) => `${key[0]?.toUpperCase()}${key.slice(1)}`;
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The entries of a zip archive (stored or deflated), read from its central directory. */
const readZip = (file: string): Map<string, Buffer> => {
  const zip = readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error(`${file} is not a zip archive`);
  const entries = new Map<string, Buffer>();
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i += 1) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const header = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return entries;
};

const serverlessFunctions = (
  parseYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as {
    functions: Record<string, { destinations?: { onFailure?: { type?: string } } }>;
  }
).functions;

const outDir = mkdtempSync(path.join(tmpdir(), 'shipline-package-'));
let template: Template;

/**
 * The config deployed: a file outside the repository, named by SHIPLINE_CONFIG as a deployer would. It is
 * the repository's shipline.yml plus a topic of its own, which only this file declares.
 */
const configDir = mkdtempSync(path.join(tmpdir(), 'shipline-package-config-'));
const deployedConfig = path.join(configDir, 'my-shipline.yml');
const DEPLOYED_TOPIC = 'arn:aws:sns:us-east-1:123456789012:checkout-releases';
writeFileSync(
  deployedConfig,
  `${readFileSync(path.join(root, 'shipline.yml'), 'utf8').trimEnd()}\n    notify:\n      topicArn: ${DEPLOYED_TOPIC}\n`,
);

const resource = (id: string): Resource => {
  const found = template.Resources[id];
  if (!found) throw new Error(`the template has no resource ${id}`);
  return found;
};
const roleStatements = (roleId: string): Statement[] =>
  (resource(roleId).Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );

beforeAll(async () => {
  // Each function's actions are derived while osls packages (both mostly wait on esbuild); its failure is
  // reported once the package is done.
  const derived = deriveCodeActions();
  derived.catch(() => undefined);
  // Packaged into a temporary directory, so a developer's .serverless (maybe awaiting a deploy) is untouched.
  try {
    await promisify(execFile)(
      'node',
      [require.resolve('osls/bin/serverless.js'), 'package', '--package', outDir],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_REGION: 'us-east-1',
          SHIPLINE_CONFIG: deployedConfig,
        },
        timeout: 120_000,
      },
    );
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`osls package failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
  template = JSON.parse(
    readFileSync(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  codeActions = await derived;
}, 120_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(configDir, { recursive: true, force: true });
});

describe('serverless package', () => {
  it('packages the config SHIPLINE_CONFIG names: in the functions and in the publish grants', () => {
    const packaged = JSON.parse(readFileSync(path.join(root, '.shipline/shipline.json'), 'utf8')) as {
      services: Record<string, { notify: { topicArn?: string } }>;
    };
    expect(packaged.services.checkout?.notify.topicArn).toBe(DEPLOYED_TOPIC);
    const publishers = FUNCTION_KEYS.filter((key) => codeActions.get(key)?.has('sns:Publish'));
    expect(publishers.length).toBeGreaterThan(0);
    for (const key of publishers) {
      const publish = roleStatements(`${logicalId(key)}IamRoleLambdaExecution`).filter((statement) =>
        asArray(statement.Action).includes('sns:Publish'),
      );
      // Every publisher publishes its transitions on the release-events topic, in a statement of its own;
      // a notifying function also on the pipeline topic and every declared one.
      const onEvents = (statement: (typeof publish)[number]) =>
        JSON.stringify(statement.Resource).includes('ReleaseEventsTopic');
      expect(
        publish.filter(onEvents).flatMap((statement) => asArray(statement.Resource)),
        key,
      ).toEqual([{ Ref: 'ReleaseEventsTopic' }]);
      const notify = publish.filter((statement) => !onEvents(statement));
      for (const statement of notify)
        expect(asArray(statement.Resource), key).toEqual([{ Ref: 'NotificationsTopic' }, DEPLOYED_TOPIC]);
    }
  });

  it('declares every function on nodejs22.x, arm64, with the pipeline environment', () => {
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions.map(([id]) => id).sort()).toEqual(
      FUNCTION_KEYS.map((key) => `${logicalId(key)}LambdaFunction`).sort(),
    );
    for (const key of FUNCTION_KEYS) {
      const fn = resource(`${logicalId(key)}LambdaFunction`).Properties;
      expect(fn.Runtime, key).toBe('nodejs22.x');
      expect(fn.Architectures, key).toEqual(['arm64']);
      expect(fn.Handler, key).toBe(`functions/${FUNCTIONS[key]}.handler`);
      expect((fn.Environment as { Variables: Record<string, unknown> }).Variables, key).toMatchObject({
        SHIPLINE_TABLE: { Ref: 'ReleaseTable' },
        SHIPLINE_TOPIC_ARN: { Ref: 'NotificationsTopic' },
        SHIPLINE_RELEASE_EVENTS_TOPIC_ARN: { Ref: 'ReleaseEventsTopic' },
        SHIPLINE_CONFIG_PATH: '.shipline/shipline.json',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_SERVICE_NAME: 'shipline',
      });
    }
  });

  it('sends events the trigger, ECS and alarm functions fail on to the dead-letter queue', () => {
    expect(resource('EventsDeadLetterQueue').Properties).toMatchObject({ MessageRetentionPeriod: 1209600 });
    for (const key of EVENT_FUNCTIONS) {
      expect(resource(`${logicalId(key)}LambdaEvConf`).Properties, key).toMatchObject({
        FunctionName: { Ref: `${logicalId(key)}LambdaFunction` },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] } } },
      });
    }
  });

  it('pages on the notifications topic as soon as an event waits in the dead-letter queue', () => {
    expect(resource('EventsDeadLetterAlarm').Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'NotificationsTopic' }],
    });
  });

  it('pages on the notifications topic as soon as a notification is counted lost, for every service', () => {
    expect(resource('NotificationsLostAlarm').Properties).toEqual({
      AlarmName: 'shipline-dev-notifications-lost',
      AlarmDescription: expect.stringContaining('notification was not sent'),
      Metrics: [
        {
          Id: 'lost',
          Expression: 'SELECT SUM(NotificationsLost) FROM SCHEMA("Shipline", Service)',
          Period: 60,
          ReturnData: true,
        },
      ],
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'NotificationsTopic' }],
    });
  });

  it('notifies the reconciler on ALARM and on OK of an alarm on each abnormal end count of the state machine', () => {
    const stateMachine = {
      'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:shipline-dev-release`,
    };
    for (const [id, metric, name] of [
      ['ExecutionsAbortedAlarm', 'ExecutionsAborted', 'executions-aborted'],
      ['ExecutionsTimedOutAlarm', 'ExecutionsTimedOut', 'executions-timed-out'],
      ['ExecutionsFailedAlarm', 'ExecutionsFailed', 'executions-failed'],
    ] as const)
      expect(resource(id).Properties, id).toEqual({
        AlarmName: `shipline-dev-${name}`,
        AlarmDescription: expect.stringContaining('the reconciler hands it on'),
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: stateMachine }],
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'ExecutionEndsTopic' }],
        OKActions: [{ Ref: 'ExecutionEndsTopic' }],
      });
    expect(resource('ExecutionEndsTopic').Properties).toEqual({ TopicName: 'shipline-dev-execution-ends' });
    const subscriptions = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::SNS::Subscription' &&
        JSON.stringify(r.Properties.TopicArn) === '{"Ref":"ExecutionEndsTopic"}',
    );
    expect(subscriptions.map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        Protocol: 'lambda',
        Endpoint: { 'Fn::GetAtt': ['ReconcileEndedExecutionsLambdaFunction', 'Arn'] },
      }),
    ]);
    // Exactly the listing and reading of the release state machine's executions, beyond the hand-off's.
    const statements = roleStatements('ReconcileEndedExecutionsIamRoleLambdaExecution');
    expect(
      statements.filter((statement) => asArray(statement.Action).includes('states:ListExecutions')),
    ).toEqual([{ Effect: 'Allow', Action: ['states:ListExecutions'], Resource: stateMachine }]);
  });

  it("serves Slack's interactivity requests on a Function URL with no AWS auth (Slack signs them instead)", () => {
    expect(resource('SlackInteractionsLambdaFunctionUrl').Properties).toMatchObject({ AuthType: 'NONE' });
    expect(template.Outputs?.SlackInteractionsLambdaFunctionUrl).toBeDefined();
    // No Slack section in this config: the secret grants name a parameter and a secret nothing has.
    const resources = (key: FunctionKey, action: string) =>
      roleStatements(`${logicalId(key)}IamRoleLambdaExecution`)
        .filter((statement) => asArray(statement.Action).includes(action))
        .flatMap((statement) => asArray(statement.Resource as unknown));
    expect(resources('slackNotify', 'ssm:GetParameter')).toEqual([
      {
        'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/shipline-no-slack-botToken`,
      },
    ]);
    expect(resources('slackInteractions', 'secretsmanager:GetSecretValue')).toEqual([
      {
        'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:shipline-no-slack-signingSecret`,
      },
    ]);
  });

  it('invokes the Slack thread function only for the services with Slack (none here: its filter matches nothing)', () => {
    const subscriptions = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::SNS::Subscription' &&
        JSON.stringify(r.Properties.Endpoint ?? '').includes('SlackNotifyLambdaFunction'),
    );
    expect(subscriptions.map((r) => r.Properties.FilterPolicy)).toEqual([
      { service: ['(no service has Slack)'] },
    ]);
  });

  it('lets the Slack buttons start a release only as the trigger does (StartExecution), never by invoking it', () => {
    const actions = roleStatements('SlackInteractionsIamRoleLambdaExecution').flatMap((statement) =>
      asArray(statement.Action),
    );
    expect(actions).toContain('states:StartExecution');
    expect(actions).not.toContain('lambda:InvokeFunction');
  });

  it('gives the trigger the state machine ARN', () => {
    const variables = (resource('TriggerLambdaFunction').Properties.Environment as { Variables: object })
      .Variables;
    expect(variables).toMatchObject({ SHIPLINE_STATE_MACHINE_ARN: { Ref: 'ReleaseStateMachine' } });
  });

  it('resolves every Lambda reference in the state machine definition to a function ARN', () => {
    const machine = resource('ReleaseStateMachine');
    expect(machine.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(machine.Properties.StateMachineName).toBe('shipline-dev-release');
    const [text, substitutions] = (machine.Properties.DefinitionString as { 'Fn::Sub': [string, object] })[
      'Fn::Sub'
    ];
    expect(text).not.toContain('Fn::GetAtt');
    const placeholders = [...text.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1] ?? '');
    const resolved = substitutions as Record<string, { 'Fn::GetAtt'?: [string, string] }>;
    // Every placeholder is one the Fn::Sub fills with a function ARN: none is left for CloudFormation to choke on.
    expect(placeholders.filter((name) => resolved[name]?.['Fn::GetAtt']?.[1] !== 'Arn')).toEqual([]);
    const referenced = new Set(Object.values(resolved).map((value) => value['Fn::GetAtt']?.[0]));
    const expected = FUNCTION_KEYS.filter((key) => !OUTSIDE_STATE_MACHINE.includes(key)).map(
      (key) => `${logicalId(key)}LambdaFunction`,
    );
    expect([...referenced].sort()).toEqual(expected.sort());
    const definition = JSON.parse(text.replaceAll(/\$\{[^}]*\}/g, 'arn')) as { States: object };
    expect(Object.keys(definition.States).length).toBeGreaterThan(0);
  });

  it('lets the state machine invoke exactly the functions it references, and log errors', () => {
    const machine = resource('ReleaseStateMachine').Properties;
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ERROR' });
    const statements = roleStatements('ReleaseStateMachineRole');
    const invoke = statements.find((statement) =>
      asArray(statement.Action).includes('lambda:InvokeFunction'),
    );
    const targets = new Set(
      asArray(invoke?.Resource as unknown[])
        .map((arn) => (arn as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0])
        .filter((id) => id !== undefined),
    );
    const expected = FUNCTION_KEYS.filter((key) => !OUTSIDE_STATE_MACHINE.includes(key)).map(
      (key) => `${logicalId(key)}LambdaFunction`,
    );
    expect([...targets].sort()).toEqual(expected.sort());
  });

  it('gives each function its own role, holding only actions its code can send', () => {
    const roles = new Set<string>();
    for (const key of FUNCTION_KEYS) {
      const role = resource(`${logicalId(key)}LambdaFunction`).Properties.Role as { 'Fn::GetAtt': string[] };
      const roleId = role['Fn::GetAtt'][0] ?? '';
      expect(roleId, key).toBe(`${logicalId(key)}IamRoleLambdaExecution`);
      roles.add(roleId);
      const actions = roleStatements(roleId)
        .flatMap((statement) => asArray(statement.Action))
        .filter((action) => !action.startsWith('logs:'));
      // A Lambda destination sends the failed event to the queue with the function's role.
      const fn = serverlessFunctions[key];
      const allowed = new Set(codeActions.get(key));
      if (fn?.destinations?.onFailure?.type === 'sqs') allowed.add('sqs:SendMessage');
      const extra = [...new Set(actions)].filter((action) => !allowed.has(action));
      expect(extra, `${key} grants actions its code never sends`).toEqual([]);
      expect(actions.length, key).toBeGreaterThan(0);
    }
    expect(roles.size).toBe(FUNCTION_KEYS.length);
  });

  it('scopes ECS service, listener-rule and PassRole grants to what shipline.yml declares', () => {
    const resourcesOf = (key: FunctionKey, action: string): unknown[] =>
      roleStatements(`${logicalId(key)}IamRoleLambdaExecution`)
        .filter((statement) => asArray(statement.Action).includes(action))
        .flatMap((statement) => asArray(statement.Resource as unknown));
    const services = ['checkout-blue', 'checkout-green'].map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/prod/${name}`,
    }));
    for (const key of ['prepareRelease', 'deploySlot', 'awaitSteadySlot', 'confirmSteadySlot'] as const)
      expect(resourcesOf(key, 'ecs:DescribeServices'), key).toEqual(services);
    for (const key of ['deploySlot', 'scaleDown', 'rollBack'] as const)
      expect(resourcesOf(key, 'ecs:UpdateService'), key).toEqual(services);
    for (const key of ['shiftTraffic', 'promote', 'rollBack'] as const)
      expect(resourcesOf(key, 'elasticloadbalancing:ModifyRule'), key).toEqual([
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee',
      ]);
    expect(resourcesOf('deploySlot', 'iam:PassRole')).toEqual([
      'arn:aws:iam::123456789012:role/checkout-execution',
    ]);
  });

  it('grants no wildcard action, and `*` resources only to actions without resource-level permissions', () => {
    const problems: string[] = [];
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Role' && r.Type !== 'AWS::IAM::Policy') continue;
      const statements =
        r.Type === 'AWS::IAM::Role'
          ? roleStatements(id)
          : (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      for (const statement of statements) {
        const actions = asArray(statement.Action);
        for (const action of actions)
          if (action === '*' || action.endsWith(':*')) problems.push(`${id}: action ${action}`);
        if (asArray(statement.Resource).includes('*'))
          for (const action of actions)
            if (!WILDCARD_RESOURCE_ACTIONS.has(action)) problems.push(`${id}: ${action} on *`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('passes task roles only to ECS tasks', () => {
    const passRole = roleStatements('DeploySlotIamRoleLambdaExecution').find((statement) =>
      asArray(statement.Action).includes('iam:PassRole'),
    );
    expect(passRole?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
  });

  it('declares the release table with pk/sk keys, two sparse indexes, TTL on expiresAt, and keeps it on stack deletion', () => {
    const table = resource('ReleaseTable');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'waitRelease', AttributeType: 'S' },
        { AttributeName: 'waitOn', AttributeType: 'S' },
        { AttributeName: 'endedIn', AttributeType: 'S' },
        { AttributeName: 'endedOrder', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'WaitsByRelease',
          KeySchema: [
            { AttributeName: 'waitRelease', KeyType: 'HASH' },
            { AttributeName: 'waitOn', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'HistoryByEndTime',
          KeySchema: [
            { AttributeName: 'endedIn', KeyType: 'HASH' },
            { AttributeName: 'endedOrder', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('declares the notifications topic and outputs table, topic, state machine and trigger function', () => {
    expect(resource('NotificationsTopic')).toMatchObject({
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: 'shipline-dev-notifications' },
    });
    expect(template.Outputs.ReleaseTableName?.Value).toEqual({ Ref: 'ReleaseTable' });
    expect(template.Outputs.NotificationsTopicArn?.Value).toEqual({ Ref: 'NotificationsTopic' });
    // The internal release-events topic, owned by the stack: subscribers find it by this output.
    expect(template.Outputs.ReleaseEventsTopicArn?.Value).toEqual({ Ref: 'ReleaseEventsTopic' });
    expect(resource('ReleaseEventsTopic').Type).toBe('AWS::SNS::Topic');
    expect(template.Outputs.ReleaseStateMachineArn?.Value).toEqual({ Ref: 'ReleaseStateMachine' });
    // The CLI's deploy and rollback invoke it (cli/aws.ts reads the stack's outputs).
    expect(template.Outputs.TriggerFunctionName?.Value).toEqual({ Ref: 'TriggerLambdaFunction' });
  });

  it('routes the EventBridge rules, with their exact patterns, to the right functions', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const patterns = Object.entries(EVENT_PATTERNS).flatMap(([key, pattern]) =>
      (Array.isArray(pattern) ? pattern : [pattern]).map((one) => [key, one] as const),
    );
    expect(rules).toHaveLength(patterns.length);
    for (const [key, pattern] of patterns) {
      const target = { 'Fn::GetAtt': [`${logicalId(key)}LambdaFunction`, 'Arn'] };
      const rule = rules.find(
        (r) =>
          (r.Properties.Targets as Array<{ Arn: unknown }>).some(
            (t) => JSON.stringify(t.Arn) === JSON.stringify(target),
          ) && isDeepStrictEqual(r.Properties.EventPattern, pattern),
      );
      expect(rule, `${key}: ${JSON.stringify(pattern)}`).toBeDefined();
      expect(rule?.Properties.State, key).toBe('ENABLED');
    }
  });

  it('zips each function with the config file SHIPLINE_CONFIG_PATH names and an ES module handler that loads', () => {
    const zips = readdirSync(outDir).filter((file) => file.endsWith('.zip'));
    expect(zips.sort()).toEqual(FUNCTION_KEYS.map((key) => `${key}.zip`).sort());
    const declared = parseYaml(readFileSync(deployedConfig, 'utf8')) as ShiplineDocument;
    const extracted = path.join(outDir, 'extracted');
    for (const key of FUNCTION_KEYS) {
      const variables = (
        resource(`${logicalId(key)}LambdaFunction`).Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      const configFile = String(variables.SHIPLINE_CONFIG_PATH);
      const entries = readZip(path.join(outDir, `${key}.zip`));
      const handlerFile = `functions/${FUNCTIONS[key]}.mjs`;
      expect([...entries.keys()].sort(), key).toEqual([configFile, handlerFile].sort());
      // The packaged config is shipline.yml itself or a conversion of it (JSON parses as YAML too).
      const packaged = parseYaml(entries.get(configFile)?.toString('utf8') ?? '') as ShiplineDocument;
      expect(packaged.version, key).toBe(declared.version);
      expect(Object.keys(packaged.services).sort(), key).toEqual(Object.keys(declared.services).sort());
      for (const [name, data] of entries) {
        mkdirSync(path.dirname(path.join(extracted, key, name)), { recursive: true });
        writeFileSync(path.join(extracted, key, name), data);
      }
    }
    // One fresh Node process imports every bundle, as Lambda would, from outside the repository.
    const script = `
      const keys = ${JSON.stringify(FUNCTION_KEYS)};
      const files = ${JSON.stringify(FUNCTIONS)};
      const exported = {};
      for (const key of keys) {
        const module = await import('./' + key + '/functions/' + files[key] + '.mjs');
        exported[key] = typeof module.handler;
      }
      process.stdout.write(JSON.stringify(exported));`;
    const output = execFileSync('node', ['--input-type=module', '-e', script], {
      cwd: extracted,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        SHIPLINE_LOG_LEVEL: 'SILENT',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: 'pipe',
      timeout: 60_000,
    }).toString();
    expect(JSON.parse(output)).toEqual(Object.fromEntries(FUNCTION_KEYS.map((key) => [key, 'function'])));
  });

  it("gives each sandbox function the packaged template's configuration: its environment, memory and timeout", () => {
    const resources = {
      region: 'us-east-1',
      account: '123456789012',
      tableName: 'shipline-sandbox-table',
      topicArn: 'arn:aws:sns:us-east-1:123456789012:shipline-sandbox-notifications',
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:shipline-sandbox-release',
      config: loadConfigFile(deployedConfig),
    };
    const document = readServerlessDocument(root);
    const sandbox = resolveFunctionConfigs(document, resources, { taskRoot: '/var/task', start: new Date() });
    // The template's intrinsics (Ref, Fn::GetAtt) resolved as the sandbox resolves them for its resources.
    const resolve = templateResolver(document, resources);
    for (const key of FUNCTION_KEYS) {
      const packaged = resource(`${logicalId(key)}LambdaFunction`).Properties as {
        Environment: { Variables: Record<string, unknown> };
        MemorySize: number;
        Timeout: number;
        ReservedConcurrentExecutions?: number;
      };
      const config = sandbox.get(key);
      if (!config) throw new Error(`the sandbox has no configuration for ${key}`);
      const own = Object.fromEntries(
        Object.entries(config.environment).filter(([name]) => !LAMBDA_DEFINED_VARIABLES.includes(name)),
      );
      // An ARN built from the state machine's name (no Ref, to avoid a cycle) names the packaged stage's
      // machine; the sandbox's machine is the same one under its own name.
      const packagedVariables = JSON.parse(
        JSON.stringify(resolve(packaged.Environment.Variables)).replaceAll(
          'arn:aws:states:us-east-1:123456789012:stateMachine:shipline-dev-release',
          resources.stateMachineArn,
        ),
      );
      expect(own, key).toEqual(packagedVariables);
      expect(config.memorySize, key).toBe(packaged.MemorySize);
      expect(config.timeoutSeconds, key).toBe(packaged.Timeout);
      expect(config.reservedConcurrency, key).toBe(packaged.ReservedConcurrentExecutions);
    }
  });

  it('reads the packaged config from the task root, as Lambda runs the handler', () => {
    const taskRoot = path.join(outDir, 'extracted', 'trigger');
    const deployed = (
      resource('TriggerLambdaFunction').Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    // A push to a repository no service declares: the handler reads the config and starts nothing.
    const event = {
      version: '0',
      id: '4f5ec4d5-4de4-7aad-a046-56d5cfe1df0e',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '123456789012',
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 'not-a-declared-repository',
        'image-digest': `sha256:${'a'.repeat(64)}`,
        'action-type': 'PUSH',
        'image-tag': 'latest',
      },
    };
    // The child reports a failure as data, so the assertion shows its name and message, not minified source.
    const script = `
      let result;
      try {
        const { handler } = await import('./functions/trigger.mjs');
        const context = { functionName: 'trigger', awsRequestId: '1', getRemainingTimeInMillis: () => 30000 };
        result = await handler(${JSON.stringify(event)}, context);
      } catch (error) {
        result = { failed: error.name + ': ' + error.message };
      }
      process.stdout.write(JSON.stringify(result));`;
    const output = execFileSync('node', ['--input-type=module', '-e', script], {
      cwd: taskRoot,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        SHIPLINE_LOG_LEVEL: 'SILENT',
        SHIPLINE_CONFIG_PATH: String(deployed.SHIPLINE_CONFIG_PATH),
        SHIPLINE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:shipline-dev-release',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: 'pipe',
      timeout: 30_000,
    }).toString();
    expect(JSON.parse(output)).toMatchObject({ status: 'ignored' });
  });
});
