import { createRequire } from 'node:module';
import path from 'node:path';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { readYamlFile } from '../yaml-file.ts';

/** The same computations serverless/variables.cjs makes for the deployed template, from the run's config. */
const roleResources = createRequire(import.meta.url)('../../serverless/role-resources.cjs') as Record<
  string,
  (config: ShiplineConfig) => unknown
>;

/** One IAM statement as the packaged template holds it, intrinsics resolved. */
export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  /** Empty when the statement names its actions by NotAction (an operator's policy may). */
  Action: string[];
  /** Empty when the statement names its resources by NotResource (an operator's policy may). */
  Resource: string[];
  NotAction?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** The names the sandbox gives the resources serverless.yml declares, so its ARNs resolve as CloudFormation would. */
export interface SandboxResources {
  region: string;
  account: string;
  tableName: string;
  topicArn: string;
  /** The internal release-events topic (`ReleaseEventsTopic`); by default `shipline-sandbox-release-events`. */
  releaseEventsTopicArn?: string;
  stateMachineArn: string;
  /** The run's validated config: `${file(./serverless/variables.cjs):X}` variables are computed from it. */
  config: ShiplineConfig;
}

/** One resource of serverless.yml's `resources.Resources`, as CloudFormation reads it. */
export interface TemplateResource {
  Type?: string;
  Properties?: Record<string, unknown>;
}

type ServerlessDocument = {
  service?: string;
  custom?: { arns?: Record<string, unknown> };
  functions?: Record<string, { iamRoleStatements?: Array<Record<string, unknown>> }>;
};

/** The sandbox's release-events topic: the one the resources name, else the stack's default name. */
export const releaseEventsTopicOf = (
  resources: Pick<SandboxResources, 'region' | 'account' | 'releaseEventsTopicArn'>,
): string =>
  resources.releaseEventsTopicArn ??
  `arn:aws:sns:${resources.region}:${resources.account}:shipline-sandbox-release-events`;

/** One function's subscription to an SNS topic (`events: - sns: ...`), as the packaged template holds it. */
export interface SnsSubscription {
  topicArn: string;
  /** The subscription's filter policy on message attributes, when it declares one. */
  filterPolicy?: Record<string, unknown>;
}

/**
 * The SNS subscriptions of each function's `sns` events, resolved as the packaged template holds them: an
 * `arn` (a string or an intrinsic such as `Ref: ReleaseEventsTopic`), with its `filterPolicy`. A bare topic
 * name (`- sns: dispatch`, a topic osls would create) names a topic of the sandbox's account and region.
 */
export const resolveSnsSubscriptions = (
  document: unknown,
  resources: SandboxResources,
): Map<string, SnsSubscription[]> => {
  const resolve = templateResolver(document, resources);
  const functions = (document as { functions?: Record<string, { events?: Array<Record<string, unknown>> }> })
    .functions;
  const topicOfName = (name: string) => `arn:aws:sns:${resources.region}:${resources.account}:${name}`;
  return new Map(
    Object.entries(functions ?? {}).map(([key, fn]) => [
      key,
      (fn.events ?? [])
        .map((event) => event.sns)
        .filter((sns) => sns !== undefined)
        .map((sns): SnsSubscription => {
          if (typeof sns === 'string') return { topicArn: sns.startsWith('arn:') ? sns : topicOfName(sns) };
          const declared = sns as { arn?: unknown; topicName?: string; filterPolicy?: unknown };
          const topicArn =
            declared.arn !== undefined
              ? String(resolve(declared.arn))
              : topicOfName(String(declared.topicName));
          return {
            topicArn,
            ...(declared.filterPolicy
              ? { filterPolicy: resolve(declared.filterPolicy) as Record<string, unknown> }
              : {}),
          };
        }),
    ]),
  );
};

/** Reads serverless.yml as the sandbox's default policy source. */
export const readServerlessDocument = (root: string): unknown =>
  readYamlFile(path.join(root, 'serverless.yml'));

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/**
 * osls's logical ID of a function's resource: the key with its first letter upper-cased, `-` spelled
 * `Dash` and `_` spelled `Underscore`, then `LambdaFunction` (so `trigger` is `TriggerLambdaFunction`).
 */
const functionLogicalId = (key: string): string =>
  `${key.charAt(0).toUpperCase()}${key.slice(1).replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;

/**
 * Resolves a serverless.yml value as the packaged template holds it: `${self:...}`, `${sls:stage}`,
 * `${aws:region}`/`${aws:accountId}` and `${file(./serverless/variables.cjs):X}` substituted (a whole value
 * keeps its type; inside a longer string it is interpolated), then `Fn::Sub`/`Fn::Join`/`Fn::GetAtt`/`Ref`
 * resolved for the sandbox's account, region and resource names. What it cannot resolve fails loudly.
 */
export const templateResolver = (
  document: unknown,
  resources: SandboxResources,
): ((value: unknown) => unknown) => {
  const doc = document as ServerlessDocument;
  const { region, account } = resources;
  const service = doc.service ?? 'shipline';
  // The sandbox's state machine is `shipline-sandbox-release`: the stage is "sandbox".
  const stage = 'sandbox';

  /** `self:a.b.c`: the document's own value at that path (provider.region and .stage: the sandbox's). */
  const selfValue = (path: string, whole: string): unknown => {
    if (path === 'provider.region') return region;
    if (path === 'provider.stage') return stage;
    let value: unknown = doc;
    for (const part of path.split('.')) {
      if (typeof value !== 'object' || value === null || !(part in value))
        throw new Error(`serverless.yml: ${path} is not defined (in ${whole})`);
      value = (value as Record<string, unknown>)[part];
    }
    return resolve(value);
  };
  const variable = (name: string, whole: string): unknown => {
    const self = /^self:([A-Za-z0-9_.-]+)$/.exec(name);
    if (self?.[1]) return selfValue(self[1], whole);
    if (name === 'sls:stage' || name === 'opt:stage') return stage;
    if (name === 'aws:region') return region;
    if (name === 'aws:accountId') return account;
    const file = /^file\(\.\/serverless\/variables\.cjs\):(\w+)$/.exec(name);
    if (file?.[1]) {
      const compute = roleResources[file[1]];
      if (!compute)
        throw new Error(`the sandbox cannot resolve ${whole}: no ${file[1]} in role-resources.cjs`);
      return resolve(compute(resources.config));
    }
    throw new Error(`the sandbox cannot resolve the variable in "${whole}"`);
  };
  const resolveString = (value: string): unknown => {
    if (!value.includes('${')) return value;
    const whole = /^\$\{([^{}]+)\}$/.exec(value);
    if (whole?.[1]) return variable(whole[1].trim(), value);
    return value.replace(/\$\{([^{}]+)\}/g, (_, name: string) => {
      const resolved = variable(name.trim(), value);
      if (typeof resolved === 'object' && resolved !== null)
        throw new Error(`serverless.yml: \${${name}} in "${value}" is not a string`);
      return String(resolved);
    });
  };
  const sub = (template: string): string =>
    template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      switch (name) {
        case 'AWS::Partition':
          return 'aws';
        case 'AWS::Region':
          return region;
        case 'AWS::AccountId':
          return account;
        case 'self:service':
          return service;
        case 'sls:stage':
          return stage;
        default:
          throw new Error(`the sandbox cannot resolve \${${name}} in Fn::Sub "${template}"`);
      }
    });
  const queueName = `shipline-${stage}-failed-events`;
  const refs: Record<string, string> = {
    NotificationsTopic: resources.topicArn,
    ReleaseEventsTopic: releaseEventsTopicOf(resources),
    ReleaseStateMachine: resources.stateMachineArn,
    ReleaseTable: resources.tableName,
    // Ref of an AWS::SQS::Queue is its URL.
    EventsDeadLetterQueue: `https://sqs.${region}.amazonaws.com/${account}/${queueName}`,
  };
  const attributes: Record<string, string> = {
    'ReleaseTable.Arn': `arn:aws:dynamodb:${region}:${account}:table/${resources.tableName}`,
    'EventsDeadLetterQueue.Arn': `arn:aws:sqs:${region}:${account}:${queueName}`,
    'EventsDeadLetterQueue.QueueName': queueName,
    'NotificationsTopic.TopicArn': resources.topicArn,
    'ReleaseEventsTopic.TopicArn': releaseEventsTopicOf(resources),
    'ReleaseStateMachine.Name': resources.stateMachineArn.split(':').at(-1) ?? '',
  };
  // Every function osls deploys: Ref is its name, Arn its ARN, and a Function URL's FunctionUrl its URL
  // (looked up only when a value names one: most documents resolve no function reference at all).
  let functionIds: Map<string, string> | undefined;
  const functionNamed = (id: string): string | undefined => {
    functionIds ??= new Map(Object.keys(doc.functions ?? {}).map((key) => [functionLogicalId(key), key]));
    const key = functionIds.get(id);
    return key === undefined ? undefined : `${service}-${stage}-${key}`;
  };
  const functionRef = (id: string): string | undefined => functionNamed(id);
  /** Ref of another AWS::SNS::Topic the template declares (the execution-ends topic): its ARN, from its TopicName. */
  const topicRef = (id: string): string | undefined => {
    const declared = (doc as { resources?: { Resources?: Record<string, TemplateResource> } }).resources
      ?.Resources?.[id];
    if (declared?.Type !== 'AWS::SNS::Topic' || declared.Properties?.TopicName === undefined)
      return undefined;
    return `arn:aws:sns:${region}:${account}:${String(resolve(declared.Properties.TopicName))}`;
  };
  const functionAttribute = (path: string): string | undefined => {
    const [id = '', attribute] = path.split('.');
    if (attribute === 'Arn') {
      const name = functionNamed(id);
      return name && `arn:aws:lambda:${region}:${account}:function:${name}`;
    }
    if (attribute === 'FunctionUrl' && id.endsWith('Url')) {
      const name = functionNamed(id.slice(0, -'Url'.length));
      return name && `https://${name}.lambda-url.${region}.on.aws/`;
    }
    return undefined;
  };
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') return resolveString(value);
    if (Array.isArray(value)) return value.flatMap((item) => asList(resolve(item)));
    if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if ('Fn::Sub' in record) return sub(String(record['Fn::Sub']));
      if ('Fn::Join' in record) {
        const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
        return parts.map((part) => String(resolve(part))).join(separator);
      }
      if ('Ref' in record) {
        const ref =
          refs[String(record.Ref)] ?? functionRef(String(record.Ref)) ?? topicRef(String(record.Ref));
        if (ref === undefined) throw new Error(`the sandbox cannot resolve Ref ${String(record.Ref)}`);
        return ref;
      }
      if ('Fn::GetAtt' in record) {
        const key = asList(record['Fn::GetAtt']).join('.');
        const attribute = attributes[key] ?? functionAttribute(key);
        if (attribute === undefined) throw new Error(`the sandbox cannot resolve Fn::GetAtt ${key}`);
        return attribute;
      }
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  return resolve;
};

/**
 * The EventBridge patterns of each function's `eventBridge` events, resolved as the packaged template
 * holds them (variables computed from the run's config, intrinsics for the sandbox's account and region).
 */
export const resolveEventPatterns = (
  document: unknown,
  resources: SandboxResources,
): Map<string, Record<string, unknown>[]> => {
  const resolve = templateResolver(document, resources);
  const functions = (document as { functions?: Record<string, { events?: Array<Record<string, unknown>> }> })
    .functions;
  return new Map(
    Object.entries(functions ?? {}).map(([key, fn]) => [
      key,
      (fn.events ?? [])
        .map((event) => (event.eventBridge as { pattern?: unknown } | undefined)?.pattern)
        .filter((pattern) => pattern !== undefined)
        .map((pattern) => resolve(pattern) as Record<string, unknown>),
    ]),
  );
};

/**
 * Resolves the roles serverless.yml declares, per function, exactly as the packaged template would hold
 * them: `${self:custom.arns.*}` and `${file(./serverless/variables.cjs):notifyTopics}` substituted, then
 * `Fn::Sub`/`Fn::GetAtt`/`Ref` resolved for the sandbox's account, region and resource names, plus the
 * CloudWatch Logs statement serverless-iam-roles-per-function adds to every role. An intrinsic or
 * variable the sandbox cannot resolve fails loudly rather than silently granting or denying.
 */
export const resolveRolePolicies = (
  document: unknown,
  resources: SandboxResources,
): Map<string, PolicyStatement[]> => {
  const doc = document as ServerlessDocument;
  const { region, account } = resources;
  const service = doc.service ?? 'shipline';
  const stage = 'sandbox';
  const resolve = templateResolver(document, resources);

  const roles = new Map<string, PolicyStatement[]>();
  for (const [key, fn] of Object.entries(doc.functions ?? {})) {
    const statements: PolicyStatement[] = (fn.iamRoleStatements ?? []).map((statement) => ({
      Effect: statement.Effect === 'Deny' ? 'Deny' : 'Allow',
      Action: asList(statement.Action).map(String),
      Resource: asList(resolve(statement.Resource)).map(String),
      ...(statement.Condition
        ? { Condition: resolve(statement.Condition) as PolicyStatement['Condition'] }
        : {}),
    }));
    // serverless-iam-roles-per-function adds this statement to every role it creates.
    statements.push({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource', 'logs:PutLogEvents'],
      Resource: [`arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${service}-${stage}-${key}:*`],
    });
    roles.set(key, statements);
  }
  return roles;
};
