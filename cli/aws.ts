import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { customize } from '../lib/adapters/aws-clients.ts';
import { DynamoDbReleaseHistory } from '../lib/adapters/dynamodb-release-history.ts';
import { DynamoDbServiceStateStore } from '../lib/adapters/dynamodb-service-state-store.ts';
import { DynamoDbWaitRegistry } from '../lib/adapters/dynamodb-wait-registry.ts';
import { LambdaReleaseStarter, TriggerFunctionError } from '../lib/adapters/lambda-release-starter.ts';
import { SfnTaskTokens } from '../lib/adapters/sfn-workflow.ts';
import type { Actor } from '../lib/domain/progress.ts';
import type { QueuedPushes } from '../lib/ports/queued-pushes.ts';
import type { ReleaseHistory } from '../lib/ports/release-history.ts';
import type { ServiceStateStore } from '../lib/ports/service-state-store.ts';
import type { OperatePorts } from '../lib/use-cases/operate.ts';
import { type CliIo, CliUsageError } from './io.ts';

/** The stack osls deploys for the default stage (`<service>-<stage>`). */
export const DEFAULT_STACK = 'shipline-dev';

/** How a command finds the pipeline and the account: every operator command takes these options. */
export interface AwsOptions {
  stack?: string;
  table?: string;
  region?: string;
  profile?: string;
}

/** The stack outputs the CLI reads (serverless.yml `resources.Outputs`). */
export const STACK_OUTPUTS = {
  table: 'ReleaseTableName',
  stateMachine: 'ReleaseStateMachineArn',
  trigger: 'TriggerFunctionName',
} as const;

/** AWS errors a person fixes (permissions, credentials, names), as their SDK `name`s. */
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationErrorException',
]);
const NO_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);

/**
 * Turns an AWS error a person can fix into a usage error naming what to fix (exit 2): access denied names
 * the operator policy, missing or expired credentials name the profile. Anything else is rethrown.
 */
export const explainAwsError = (error: unknown, doing: string): never => {
  if (error instanceof CliUsageError) throw error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (ACCESS_DENIED.has(name))
    throw new CliUsageError(
      `access denied while ${doing}: ${message} (the operator policy in the README lists what the CLI needs)`,
    );
  if (NO_CREDENTIALS.has(name))
    throw new CliUsageError(
      `no valid AWS credentials while ${doing}: ${message} (log in, or pass --profile / set AWS_PROFILE)`,
    );
  throw error;
};

/**
 * One command's view of an AWS account and its Shipline pipeline: clients on the usual region and profile
 * resolution (`--region`/`--profile`, else AWS_REGION/AWS_PROFILE, else the SDK's default chain), the
 * pipeline's stack outputs (read once, only when a command needs one), and who is asking (STS).
 */
export class AwsSession {
  private regionAnswer?: Promise<string>;
  private outputsAnswer?: Promise<Record<string, string>>;
  private callerAnswer?: Promise<Actor>;
  private readonly clients = new Map<string, unknown>();

  public constructor(
    private readonly options: AwsOptions,
    private readonly io: CliIo,
  ) {}

  /** The pipeline's stack: `--stack`, else SHIPLINE_STACK, else `shipline-dev`. */
  public get stack(): string {
    return this.options.stack ?? this.io.env.SHIPLINE_STACK ?? DEFAULT_STACK;
  }

  private get profile(): string | undefined {
    return this.options.profile ?? (this.io.env.AWS_PROFILE || undefined);
  }

  /** The region every call goes to; a usage error naming the ways to set one when none is found. */
  public region(): Promise<string> {
    this.regionAnswer ??= (async () => {
      const named = this.options.region ?? (this.io.env.AWS_REGION || this.io.env.AWS_DEFAULT_REGION);
      if (named) return named;
      try {
        const profile = this.profile;
        const { STSClient } = await import('@aws-sdk/client-sts');
        return await new STSClient(profile ? { profile } : {}).config.region();
      } catch (error) {
        throw new CliUsageError(
          `no AWS region: pass --region, or set AWS_REGION or a region in your AWS profile (${error instanceof Error ? error.message : String(error)})`,
        );
      }
    })();
    return this.regionAnswer;
  }

  /** One client per kind, on the session's region and profile (the sandbox answers it from its account). */
  public async client<C extends { middlewareStack: { add: (...args: never[]) => void } }>(
    name: string,
    make: (config: { region: string; profile?: string }) => C,
    /** Another region than the session's (an ECR registry elsewhere). */
    inRegion?: string,
  ): Promise<C> {
    const region = inRegion ?? (await this.region());
    const key = `${name}@${region}`;
    const made = this.clients.get(key);
    if (made) return made as C;
    const profile = this.profile;
    const client = customize(make({ region, ...(profile ? { profile } : {}) }), name);
    this.clients.set(key, client);
    return client;
  }

  /** The pipeline stack's outputs (DescribeStacks), read once. */
  public outputs(): Promise<Record<string, string>> {
    this.outputsAnswer ??= (async () => {
      // The clients only some commands use load when first used (every operator command uses the table,
      // Step Functions and Lambda clients): `deploy` needs no CloudWatch, `status` no ECR.
      const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
      const cloudformation = await this.client(
        'CloudFormation',
        (config) => new CloudFormationClient(config),
      );
      const region = await this.region();
      try {
        const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: this.stack }));
        const outputs = Stacks?.[0]?.Outputs ?? [];
        return Object.fromEntries(
          outputs.flatMap((output) =>
            output.OutputKey && output.OutputValue !== undefined
              ? [[output.OutputKey, output.OutputValue]]
              : [],
          ),
        );
      } catch (error) {
        if (
          error instanceof Error &&
          error.name === 'ValidationError' &&
          /does not exist/.test(error.message)
        )
          throw new CliUsageError(
            `stack "${this.stack}" was not found in ${region}: pass --stack or set SHIPLINE_STACK to the pipeline's stack (osls names it shipline-<stage>), and check --region`,
          );
        return explainAwsError(error, `reading the outputs of stack ${this.stack}`);
      }
    })();
    return this.outputsAnswer;
  }

  /** One output of the pipeline's stack; a usage error naming it when the stack has none (an older deploy). */
  public async output(key: string): Promise<string> {
    const value = (await this.outputs())[key];
    if (value === undefined || value === '')
      throw new CliUsageError(
        `stack "${this.stack}" has no output ${key}: deploy the current Shipline version (serverless.yml declares it)`,
      );
    return value;
  }

  /** The release table: `--table`, else SHIPLINE_TABLE, else the stack output ReleaseTableName. */
  public async table(): Promise<string> {
    const named = this.options.table ?? (this.io.env.SHIPLINE_TABLE || undefined);
    return named ?? this.output(STACK_OUTPUTS.table);
  }

  /** Who is asking: the caller's principal ARN (STS GetCallerIdentity needs no permission). */
  public caller(): Promise<Actor> {
    this.callerAnswer ??= (async () => {
      const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
      const sts = await this.client('STS', (config) => new STSClient(config));
      try {
        const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
        return { via: 'cli', id: Arn ?? 'unknown' } as const;
      } catch (error) {
        return explainAwsError(error, 'asking STS who you are');
      }
    })();
    return this.callerAnswer;
  }

  public async documentClient(): Promise<DynamoDBDocumentClient> {
    const endpoint = this.io.env.SHIPLINE_DYNAMODB_ENDPOINT;
    const dynamo = await this.client(
      'DynamoDB',
      (config) => new DynamoDBClient({ ...config, ...(endpoint ? { endpoint } : {}) }),
    );
    return DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  }

  public sfn(): Promise<SFNClient> {
    return this.client('SFN', (config) => new SFNClient(config));
  }

  public async cloudwatch(): Promise<CloudWatchClient> {
    const { CloudWatchClient } = await import('@aws-sdk/client-cloudwatch');
    return this.client('CloudWatch', (config) => new CloudWatchClient(config));
  }

  /** ECR in the registry's region (default: the session's). */
  public async ecr(region?: string): Promise<ECRClient> {
    const { ECRClient } = await import('@aws-sdk/client-ecr');
    return this.client('ECR', (config) => new ECRClient(config), region);
  }

  public lambda(): Promise<LambdaClient> {
    return this.client('Lambda', (config) => new LambdaClient(config));
  }

  /** The ports `operate` acts through: the pipeline's table, Step Functions and its trigger function. */
  public async operatePorts(): Promise<
    OperatePorts & { table: string; history: ReleaseHistory; services: ServiceStateStore }
  > {
    const table = await this.table();
    const documents = await this.documentClient();
    const tableName = () => table;
    const trigger = new LambdaReleaseStarter(await this.lambda(), () => this.output(STACK_OUTPUTS.trigger));
    return {
      table,
      waits: new DynamoDbWaitRegistry(documents, tableName),
      tokens: new SfnTaskTokens(await this.sfn()),
      history: new DynamoDbReleaseHistory(documents, tableName),
      services: new DynamoDbServiceStateStore(documents, tableName),
      releases: trigger,
      // A queued push is withdrawn by the trigger function: it has the config and the topics to tell.
      queue: explainedWithdrawals(trigger),
    };
  }
}

/**
 * A withdrawal the trigger function failed (its DynamoDB throttled, its role denied, its own error) is said
 * as such, with the error it gave (exit 2, as a deploy request it refused), not as an internal error of
 * the CLI with a bare message: the person learns the withdrawal did not go through and how to check.
 */
const explainedWithdrawals = (queue: QueuedPushes): QueuedPushes => ({
  withdraw: async (request) => {
    try {
      return await queue.withdraw(request);
    } catch (error) {
      if (!(error instanceof TriggerFunctionError)) throw error;
      throw new CliUsageError(
        `the pipeline's trigger function could not withdraw queued push ${request.releaseId} of ${request.service}: ${error.errorType}: ${error.message} (run the command again: it says whether the push is still queued)`,
      );
    }
  },
});
