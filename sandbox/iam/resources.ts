import { SANDBOX_STACK_ID } from '../aws/cloudformation.ts';
import { secretArnOf } from '../aws/secrets.ts';

/** One authorization AWS makes for a command: the IAM action, the resource ARN, and request context keys. */
export interface IamCheck {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** Where the command is sent: ARNs are built for this account and region. */
export interface RequestScope {
  region: string;
  account: string;
  /** The state machine that issued task tokens: AWS authorizes SendTask* against it (see serverless.yml). */
  stateMachineArn: string;
  /**
   * The run's own DynamoDB table (a fresh name per run): the IAM enforcer shares decisions across runs
   * with this name renamed where the renaming cannot change a decision (see IamEnforcer).
   */
  tableName?: string;
}

/** The command has no IAM mapping: the sandbox refuses to guess (it never silently allows). */
export class UnmappedCommandError extends Error {
  public constructor(service: string, command: string) {
    super(
      `the sandbox cannot authorize ${service}:${command}: no IAM mapping (add it to sandbox/iam/resources.ts)`,
    );
    this.name = 'SandboxUnmappedIamCommand';
  }
}

/** IAM service prefix per SDK client name. */
const PREFIX: Record<string, string> = {
  DynamoDB: 'dynamodb',
  ECS: 'ecs',
  ElasticLoadBalancingV2: 'elasticloadbalancing',
  CloudWatch: 'cloudwatch',
  ECR: 'ecr',
  SNS: 'sns',
  SFN: 'states',
  Lambda: 'lambda',
  SSM: 'ssm',
  SecretsManager: 'secretsmanager',
  CloudFormation: 'cloudformation',
  STS: 'sts',
};

/**
 * Every AWS API action the pipeline sends, as `prefix:Command` (the cases `iamChecksFor` maps). A scenario
 * fault may name any of these commands; naming another is an error (it could never fire).
 */
export const PIPELINE_ACTIONS = [
  'dynamodb:GetItem',
  // The trigger: the lease, the queue and a notification mark in one read.
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'ecs:DescribeServices',
  'ecs:UpdateService',
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:ModifyRule',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:DescribeAlarmHistory',
  'cloudwatch:PutMetricData',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'sns:Publish',
  // The trigger's release events, published together (authorized as sns:Publish).
  'sns:PublishBatch',
  'states:StartExecution',
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
  // The trigger: whether the lock's holder still runs (a push queues as data behind a running one only).
  'states:DescribeExecution',
  // The reconciler: the executions that ended abnormally (resource type stateMachine).
  'states:ListExecutions',
  'lambda:Invoke',
  'ssm:GetParameter',
  'secretsmanager:GetSecretValue',
] as const;

/** The command names (`ModifyRule`, `PutItem`, ...) of `PIPELINE_ACTIONS`. */
export const PIPELINE_COMMANDS: readonly string[] = PIPELINE_ACTIONS.map((a) => a.slice(a.indexOf(':') + 1));

/**
 * The ARN Lambda authorizes an invocation on: the function's ARN, qualified when the call names a version or
 * alias (a policy on the unqualified ARN does not cover a qualified one; Lambda Developer Guide, "Resources and
 * conditions for Lambda actions"). FunctionName may be a name, `name:qualifier`, `account:function:name` or an ARN.
 */
const lambdaFunctionArn = (functionName: string, qualifier: unknown, scope: RequestScope): string => {
  const parts = functionName.startsWith('arn:') ? functionName.split(':').slice(6) : functionName.split(':');
  // `account:function:name[:qualifier]` (a partial ARN) or `name[:qualifier]`.
  const [name = '', nameQualifier] = parts[1] === 'function' ? parts.slice(2) : parts;
  const version = nameQualifier ?? (qualifier === undefined ? undefined : String(qualifier));
  return `arn:aws:lambda:${scope.region}:${scope.account}:function:${name}${version ? `:${version}` : ''}`;
};

const lastSegment = (nameOrArn: string): string => nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1);

/**
 * Maps one SDK command (client name + command name, `Command` suffix dropped) to the authorizations AWS
 * makes for it. DocumentClient commands arrive here as the DynamoDB commands they send (GetItem, ...).
 */
export const iamChecksFor = (
  service: string,
  command: string,
  input: Record<string, unknown>,
  scope: RequestScope,
): IamCheck[] => {
  const prefix = PREFIX[service];
  if (!prefix) throw new UnmappedCommandError(service, command);
  // Lambda's Invoke API is authorized as the IAM action lambda:InvokeFunction (Service Authorization Reference);
  // SNS's PublishBatch as sns:Publish ("sns:Publish: Grants permission to both publish and publish batch to a
  // topic", Amazon SNS API permissions: Actions and resources reference).
  const action =
    service === 'Lambda' && command === 'Invoke'
      ? 'lambda:InvokeFunction'
      : service === 'SNS' && command === 'PublishBatch'
        ? 'sns:Publish'
        : `${prefix}:${command}`;
  const { region, account } = scope;
  const one = (resource: string): IamCheck[] => [{ action, resource }];
  switch (action) {
    case 'dynamodb:GetItem':
    case 'dynamodb:PutItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem':
    case 'dynamodb:Query': {
      const table = `arn:aws:dynamodb:${region}:${account}:table/${String(input.TableName)}`;
      return one(input.IndexName ? `${table}/index/${String(input.IndexName)}` : table);
    }
    // One authorization per table the batch reads: BatchGetItem's resource is the table
    // (Service Authorization Reference for Amazon DynamoDB).
    case 'dynamodb:BatchGetItem':
      return Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {}).map((table) => ({
        action,
        resource: `arn:aws:dynamodb:${region}:${account}:table/${table}`,
      }));
    case 'ecs:DescribeServices': {
      const cluster = lastSegment(String(input.cluster ?? 'default'));
      return (input.services as string[]).map((name) => ({
        action,
        resource: `arn:aws:ecs:${region}:${account}:service/${cluster}/${lastSegment(name)}`,
      }));
    }
    case 'ecs:UpdateService': {
      const cluster = lastSegment(String(input.cluster ?? 'default'));
      return one(`arn:aws:ecs:${region}:${account}:service/${cluster}/${lastSegment(String(input.service))}`);
    }
    // Neither supports resource-level permissions (Service Authorization Reference for Amazon ECS).
    case 'ecs:DescribeTaskDefinition':
      return one('*');
    case 'ecs:RegisterTaskDefinition': {
      const checks: IamCheck[] = [{ action, resource: '*' }];
      const family = String(input.family);
      // Tag on create: AWS also authorizes ecs:TagResource on the new task definition.
      if (Array.isArray(input.tags) && input.tags.length > 0)
        checks.push({
          action: 'ecs:TagResource',
          resource: `arn:aws:ecs:${region}:${account}:task-definition/${family}:*`,
          context: { 'ecs:CreateAction': 'RegisterTaskDefinition' },
        });
      // Naming a task or execution role passes it to ECS tasks.
      for (const role of [input.taskRoleArn, input.executionRoleArn])
        if (typeof role === 'string')
          checks.push({
            action: 'iam:PassRole',
            resource: role,
            context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
          });
      return checks;
    }
    // Describe* actions of Elastic Load Balancing do not support resource-level permissions.
    case 'elasticloadbalancing:DescribeRules':
      return one('*');
    case 'elasticloadbalancing:ModifyRule':
      return one(String(input.RuleArn));
    case 'cloudwatch:DescribeAlarms': {
      const names = input.AlarmNames as string[] | undefined;
      if (!names || names.length === 0) return one(`arn:aws:cloudwatch:${region}:${account}:alarm:*`);
      return names.map((name) => ({
        action,
        resource: `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`,
      }));
    }
    // DescribeAlarmHistory is authorized on the alarm ARN (on alarm:* when no AlarmName is given).
    case 'cloudwatch:DescribeAlarmHistory':
      return one(
        `arn:aws:cloudwatch:${region}:${account}:alarm:${input.AlarmName === undefined ? '*' : String(input.AlarmName)}`,
      );
    // PutMetricData supports no resource-level permission; a policy may limit it by namespace.
    case 'cloudwatch:PutMetricData':
      return [{ action, resource: '*', context: { 'cloudwatch:namespace': String(input.Namespace) } }];
    // Both on the repository, in the registry the call names (the caller's account when none).
    case 'ecr:BatchGetImage':
    case 'ecr:GetDownloadUrlForLayer':
      return one(
        `arn:aws:ecr:${region}:${input.registryId === undefined ? account : String(input.registryId)}:repository/${String(input.repositoryName)}`,
      );
    case 'sns:Publish':
      return one(String(input.TopicArn));
    case 'states:StartExecution':
    case 'states:ListExecutions':
      return one(String(input.stateMachineArn));
    case 'states:SendTaskSuccess':
    case 'states:SendTaskFailure':
      return one(scope.stateMachineArn);
    // The operator's CLI (`shipline deploy`, `status`, `history`, `promote`, ...).
    case 'cloudformation:DescribeStacks': {
      const named = String(input.StackName ?? '*');
      return one(
        named.startsWith('arn:')
          ? named
          : `arn:aws:cloudformation:${region}:${account}:stack/${named}/${SANDBOX_STACK_ID}`,
      );
    }
    // GetCallerIdentity needs no permission, and an explicit deny does not stop it (STS API reference).
    case 'sts:GetCallerIdentity':
      return [];
    case 'states:DescribeExecution':
      return one(String(input.executionArn));
    case 'ecr:DescribeImages':
      return one(
        `arn:aws:ecr:${region}:${String(input.registryId ?? account)}:repository/${String(input.repositoryName)}`,
      );
    case 'lambda:InvokeFunction':
      return one(lambdaFunctionArn(String(input.FunctionName), input.Qualifier, scope));
    // A parameter's ARN holds its name without the leading slash. Decrypting a SecureString with the AWS
    // managed key aws/ssm needs no grant of its own (a customer managed key would need kms:Decrypt).
    case 'ssm:GetParameter':
      return one(`arn:aws:ssm:${region}:${account}:parameter/${String(input.Name).replace(/^\//, '')}`);
    // Authorized on the secret's ARN, which ends in six random characters a policy matches with `-??????`.
    case 'secretsmanager:GetSecretValue':
      return one(secretArnOf(String(input.SecretId), region, account));
    default:
      throw new UnmappedCommandError(service, command);
  }
};
