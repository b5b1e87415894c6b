import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lib/config/load.ts';
import { environment } from '../../lib/env.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { resolveFunctionConfigs, SandboxFunctionConfigError } from '../../sandbox/function-config.ts';
import { currentFunction } from '../../sandbox/iam/enforce.ts';
import { readServerlessDocument } from '../../sandbox/iam/policies.ts';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';
import { readings } from '../fixtures/lambda-config-probe.ts';
import { makeWorld } from './support.ts';

type Fn = {
  handler: string;
  environment?: Record<string, unknown>;
  timeout?: number;
  [key: string]: unknown;
};
type Doc = {
  provider: { environment: Record<string, unknown>; memorySize: number; timeout: number };
  functions: Record<string, Fn>;
};

const document = (): Doc => structuredClone(readServerlessDocument(REPOSITORY_ROOT)) as Doc;

const resources = {
  region: 'eu-west-1',
  account: '210987654321',
  tableName: 'shipline-sandbox-table',
  topicArn: 'arn:aws:sns:eu-west-1:210987654321:shipline-sandbox-notifications',
  releaseEventsTopicArn: 'arn:aws:sns:eu-west-1:210987654321:shipline-sandbox-release-events',
  stateMachineArn: 'arn:aws:states:eu-west-1:210987654321:stateMachine:shipline-sandbox-release',
  config: loadConfigFile(path.join(REPOSITORY_ROOT, 'shipline.yml')),
};
const options = { taskRoot: '/tmp/package', start: new Date('2026-03-02T10:00:00Z') };

/** The variables Lambda's Node.js runtime defines for every function (Lambda Developer Guide). */
const LAMBDA_DEFINED = [
  '_HANDLER',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
  'LANG',
  'PATH',
  'LD_LIBRARY_PATH',
  'NODE_PATH',
  'AWS_XRAY_CONTEXT_MISSING',
  'AWS_XRAY_DAEMON_ADDRESS',
];

/** serverless.yml plus test-only subscribers of the release-events topic that read their configuration. */
const withProbes = (change?: (doc: Doc) => void): Doc => {
  const doc = document();
  const events = [
    {
      sns: {
        arn: { Ref: 'ReleaseEventsTopic' },
        topicName: 'shipline-sandbox-release-events',
        filterPolicy: { event: ['started'] },
      },
    },
  ];
  doc.functions.probe = { handler: 'test/fixtures/lambda-config-probe.probe', events };
  // Its role may publish on the pipeline's topic: only the timeout stops its late message.
  doc.functions.slowProbe = {
    handler: 'test/fixtures/lambda-config-probe.slow',
    timeout: 10,
    events,
    // As serverless.yml's asynchronously invoked functions: a failed event ends in the dead-letter queue.
    destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] } } },
    iamRoleStatements: [
      { Effect: 'Allow', Action: ['sns:Publish'], Resource: variable('self:custom.arns.topic') },
    ],
  };
  change?.(doc);
  return doc;
};

/** A serverless variable as written in serverless.yml: `${name}`. */
const variable = (name: string): string => `\${${name}}`;

const healthyCanary = () => loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe("Sandbox: each function's Lambda configuration, as the packaged template gives it", () => {
  it("holds exactly the provider's and the function's own variables, resolved, plus the ones Lambda defines", () => {
    const doc = document();
    const configs = resolveFunctionConfigs(doc, resources, options);
    expect([...configs.keys()]).toEqual(Object.keys(doc.functions));
    const provider = {
      SHIPLINE_TABLE: 'shipline-sandbox-table',
      SHIPLINE_TOPIC_ARN: resources.topicArn,
      SHIPLINE_RELEASE_EVENTS_TOPIC_ARN: resources.releaseEventsTopicArn,
      SHIPLINE_CONFIG_PATH: '.shipline/shipline.json',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'shipline',
    };
    expect(Object.keys(provider).sort()).toEqual(Object.keys(doc.provider.environment).sort());
    for (const [key, config] of configs) {
      const own = [
        'trigger',
        'slackInteractions',
        'waitForLock',
        'handOffService',
        'handOffEndedExecution',
        'reconcileEndedExecutions',
      ].includes(key)
        ? { SHIPLINE_STATE_MACHINE_ARN: resources.stateMachineArn }
        : {};
      expect(Object.keys(doc.functions[key]?.environment ?? {})).toEqual(Object.keys(own));
      const { environment } = config;
      // Nothing else: no variable of the sandbox's own (its DynamoDB endpoint, its log level).
      expect(Object.keys(environment).sort(), key).toEqual(
        [...LAMBDA_DEFINED, ...Object.keys(provider), ...Object.keys(own)].sort(),
      );
      expect(environment).toMatchObject({ ...provider, ...own });
      const name = `shipline-sandbox-${key}`;
      expect(environment).toMatchObject({
        _HANDLER: doc.functions[key]?.handler,
        AWS_REGION: 'eu-west-1',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
        LAMBDA_TASK_ROOT: '/tmp/package',
        TZ: ':UTC',
      });
      expect(environment.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^2026\/03\/02\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(config.arn).toBe(`arn:aws:lambda:eu-west-1:210987654321:function:${name}`);
      // Memory and timeout: the provider's, unless the function sets its own.
      expect(config.memorySize).toBe(1024);
      expect(config.timeoutSeconds, key).toBe(
        key === 'runCheck'
          ? 900
          : key === 'slackInteractions'
            ? 10
            : key === 'reconcileEndedExecutions'
              ? 300
              : 30,
      );
      expect(config.reservedConcurrency).toBeUndefined();
    }
  });

  it("resolves a function's variables as CloudFormation and osls do: Fn::Join, Fn::GetAtt, Fn::Sub, sls:stage, self:...", () => {
    const doc = document();
    const fn = doc.functions.acquireLock as Fn;
    fn.environment = {
      TABLE_ARN: { 'Fn::GetAtt': ['ReleaseTable', 'Arn'] },
      INDEX: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ReleaseTable', 'Arn'] }, '/index/WaitsByRelease']] },
      QUEUE_URL: { Ref: 'EventsDeadLetterQueue' },
      TRIGGER: { Ref: 'TriggerLambdaFunction' },
      SLACK_URL: { 'Fn::GetAtt': ['SlackInteractionsLambdaFunctionUrl', 'FunctionUrl'] },
      ACCOUNT: { 'Fn::Sub': variable('AWS::AccountId') },
      STAGE_NAME: `shipline-${variable('sls:stage')}-x`,
      SERVICE: variable('self:service'),
      REGION: variable('self:provider.region'),
      MEMORY: 2048,
      POWERTOOLS_SERVICE_NAME: 'lock',
    };
    const config = resolveFunctionConfigs(doc, resources, options).get('acquireLock');
    expect(config?.environment).toMatchObject({
      TABLE_ARN: 'arn:aws:dynamodb:eu-west-1:210987654321:table/shipline-sandbox-table',
      INDEX: 'arn:aws:dynamodb:eu-west-1:210987654321:table/shipline-sandbox-table/index/WaitsByRelease',
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/210987654321/shipline-sandbox-failed-events',
      TRIGGER: 'shipline-sandbox-trigger',
      SLACK_URL: 'https://shipline-sandbox-slackInteractions.lambda-url.eu-west-1.on.aws/',
      ACCOUNT: '210987654321',
      STAGE_NAME: 'shipline-sandbox-x',
      SERVICE: 'shipline',
      REGION: 'eu-west-1',
      MEMORY: '2048',
      // The function's own value wins over the provider's.
      POWERTOOLS_SERVICE_NAME: 'lock',
    });
  });

  it("lets lib read, during an invocation, only its function's variables; outside any, the world's", () => {
    const { world, clock } = makeWorld();
    const functions = resolveFunctionConfigs(document(), resources, options);
    const env = {
      AWS_REGION: 'eu-west-1',
      SHIPLINE_TABLE: 'the-world-table',
      SHIPLINE_STATE_MACHINE_ARN: 'x',
    };
    runInWorld({ world, clock, env, functions }, () => {
      expect(environment.tableName()).toBe('the-world-table');
      const read = (key: string, what: () => string) => {
        try {
          return currentFunction.run(key, what);
        } catch (error) {
          return (error as Error).name;
        }
      };
      expect(read('trigger', environment.stateMachineArn)).toBe(resources.stateMachineArn);
      expect(read('acquireLock', environment.stateMachineArn)).toBe('MissingEnvironmentError');
      expect(read('acquireLock', environment.tableName)).toBe('shipline-sandbox-table');
      expect(read('acquireLock', environment.configPath)).toBe('/tmp/package/.shipline/shipline.json');
      // A function the world has no configuration for reads nothing, not the world's variables.
      expect(read('undeclared', environment.tableName)).toBe('MissingEnvironmentError');
    });
  });

  it('refuses what Lambda refuses at deploy time: a reserved variable, more than 4 KB of variables, a timeout over 900 s', () => {
    const reserved = document();
    (reserved.functions.trigger as Fn).environment = { AWS_REGION: 'us-west-2' };
    expect(() => resolveFunctionConfigs(reserved, resources, options)).toThrow(SandboxFunctionConfigError);
    expect(() => resolveFunctionConfigs(reserved, resources, options)).toThrow(
      /functions\.trigger: .*reserved keys .*Reserved keys used in this request: AWS_REGION/,
    );
    const large = document();
    large.provider.environment.BIG = 'x'.repeat(4000);
    expect(() => resolveFunctionConfigs(large, resources, options)).toThrow(/exceeded the 4KB limit/);
    const slow = document();
    (slow.functions.trigger as Fn).timeout = 901;
    expect(() => resolveFunctionConfigs(slow, resources, options)).toThrow(
      /functions\.trigger timeout 901 is invalid: Lambda accepts a whole number from 1 to 900/,
    );
    const unresolved = document();
    (unresolved.functions.trigger as Fn).environment = { X: variable('env:HOME') };
    expect(() => resolveFunctionConfigs(unresolved, resources, options)).toThrow(/cannot resolve.*env:HOME/);
  });

  it("reads each function's asynchronous invocation settings, and refuses what CloudFormation refuses", () => {
    const configs = resolveFunctionConfigs(document(), resources, options);
    // Every function EventBridge or SNS invokes keeps Lambda's two retries, its 6-hour event age and
    // ends a failed event in the dead-letter queue (serverless.yml `destinations.onFailure`).
    for (const key of [
      'trigger',
      'ecsDeploymentEvents',
      'alarmEvents',
      'handOffEndedExecution',
      'reconcileEndedExecutions',
      'releaseMetrics',
      'slackNotify',
    ])
      expect(configs.get(key)?.asyncInvocation, key).toEqual({
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 21_600,
        onFailure: 'its on-failure destination',
      });
    // A function with no destination loses what it fails on.
    expect(configs.get('promote')?.asyncInvocation).toEqual({
      maximumRetryAttempts: 2,
      maximumEventAgeSeconds: 21_600,
    });
    const tuned = document();
    Object.assign(tuned.functions.trigger as Fn, {
      maximumRetryAttempts: 0,
      maximumEventAge: 600,
      destinations: {},
      onError: 'arn:aws:sqs:eu-west-1:210987654321:dlq',
    });
    expect(resolveFunctionConfigs(tuned, resources, options).get('trigger')?.asyncInvocation).toEqual({
      maximumRetryAttempts: 0,
      maximumEventAgeSeconds: 600,
      onFailure: 'its dead-letter queue (onError)',
    });
    const retries = document();
    (retries.functions.trigger as Fn).maximumRetryAttempts = 3;
    expect(() => resolveFunctionConfigs(retries, resources, options)).toThrow(
      /functions\.trigger maximumRetryAttempts 3 is invalid: Lambda accepts a whole number from 0 to 2/,
    );
    const age = document();
    (age.functions.trigger as Fn).maximumEventAge = 30;
    expect(() => resolveFunctionConfigs(age, resources, options)).toThrow(
      /functions\.trigger maximumEventAge 30 is invalid: Lambda accepts a whole number from 60 to 21600/,
    );
  });

  it('gives each function in a run exactly its own variables: one serverless.yml does not give fails as on AWS', async () => {
    readings.length = 0;
    const { scenario, baseDir } = healthyCanary();
    const result = await runScenario(scenario, baseDir, {
      serverlessDocument: withProbes(),
      functionsFromDocument: true,
    });
    expect(result.outcome).toBe('promoted');
    const probe = readings.find((reading) => reading.fn === 'shipline-sandbox-probe');
    expect(probe).toMatchObject({
      memoryLimitInMB: '1024',
      tableName: expect.stringMatching(/^shipline-sandbox-/),
      // SHIPLINE_CONFIG_PATH (.shipline/shipline.json) found under the task root, as in the package.
      configFound: true,
      // No sandbox-only variable: the DynamoDB endpoint and the log level are not the function's.
      dynamoDbEndpoint: undefined,
      logLevel: 'INFO',
      // Only the trigger and slackInteractions are given the state machine.
      stateMachineArn:
        'MissingEnvironmentError: environment variable SHIPLINE_STATE_MACHINE_ARN is required but not set',
    });
    // The provider's 30 s timeout, counted down on the virtual clock (the invocation is just starting).
    expect(probe?.remainingMs).toBeGreaterThan(29_000);
    expect(probe?.remainingMs).toBeLessThanOrEqual(30_000);
  }, 60_000);

  it('fails the trigger with MissingEnvironmentError when serverless.yml stops giving it the state machine', async () => {
    const { scenario, baseDir } = healthyCanary();
    const result = await runScenario(scenario, baseDir, {
      serverlessDocument: withProbes((doc) => {
        delete (doc.functions.trigger as Fn).environment;
      }),
      functionsFromDocument: true,
    });
    // Nothing starts: the push's event fails in the trigger, is retried twice, then lands in the dead-letter queue.
    expect(result.executions).toEqual([]);
    expect(result.deadLetters).toEqual([
      expect.objectContaining({
        fn: 'trigger',
        error:
          'MissingEnvironmentError: environment variable SHIPLINE_STATE_MACHINE_ARN is required but not set',
      }),
    ]);
  }, 60_000);

  it('stops an invocation at its timeout in virtual time: Sandbox.Timedout, Task timed out after 10.00 seconds', async () => {
    readings.length = 0;
    const { scenario, baseDir } = healthyCanary();
    const result = await runScenario(scenario, baseDir, {
      serverlessDocument: withProbes(),
      functionsFromDocument: true,
    });
    expect(result.outcome).toBe('promoted');
    const failures = result.timeline.filter((entry) => entry.text.startsWith('slowProbe failed'));
    // The first attempt and Lambda's two asynchronous retries each time out after 10 s (the probe needs 40 s).
    expect(failures).toHaveLength(3);
    for (const failure of failures)
      expect(failure.text).toMatch(
        /^slowProbe failed: Sandbox\.Timedout: \S+Z [0-9a-f-]{36} Task timed out after 10\.00 seconds/,
      );
    expect(result.deadLetters.map((letter) => letter.fn)).toEqual(['slowProbe']);
    // The handler went on sleeping past its timeout; what it did after it never reached SNS.
    expect(result.notifications.map((n) => n.message)).not.toContainEqual({ late: true });
    expect(result.notifications).toHaveLength(2);
  }, 60_000);

  it('throttles a function past its reserved concurrency: Lambda.TooManyRequestsException, and the handler never runs', async () => {
    readings.length = 0;
    const { scenario, baseDir } = healthyCanary();
    const result = await runScenario(scenario, baseDir, {
      serverlessDocument: withProbes((doc) => {
        (doc.functions.probe as Fn).reservedConcurrency = 0;
      }),
      functionsFromDocument: true,
    });
    expect(result.outcome).toBe('promoted');
    expect(readings.filter((reading) => reading.fn === 'shipline-sandbox-probe')).toEqual([]);
    const throttled = result.timeline.filter((entry) => entry.text.startsWith('probe failed'));
    expect(throttled[0]?.text).toContain(
      'probe failed: Lambda.TooManyRequestsException: Rate Exceeded. (Reason: ReservedFunctionConcurrentInvocationLimitExceeded; shipline-sandbox-probe reserves 0)',
    );
    // A throttled asynchronous event goes back to Lambda's queue (no function-error retry is spent): tried
    // again after 1 s, doubling up to every 5 minutes, for its maximum age of 6 hours; then, with no
    // on-failure destination, it is lost.
    expect(throttled[0]?.text).toMatch(/\(throttled: back in Lambda's queue, next attempt in 1 s\)$/);
    expect(throttled[9]?.text).toMatch(/next attempt in 5 min\)$/);
    const last = throttled.at(-1);
    expect(last?.text).toMatch(
      /\(older than its maximum event age of 6 h: discarded, the function has no on-failure destination\)$/,
    );
    expect((last?.t ?? 0) - (throttled[0]?.t ?? 0)).toBeGreaterThan(6 * 3600 - 300);
    // Only slowProbe's timed-out event (it has a destination) is a dead letter.
    expect(result.deadLetters.map((letter) => letter.fn)).toEqual(['slowProbe']);
  }, 60_000);
});
