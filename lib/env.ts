import { MissingEnvironmentError } from './errors.ts';

/**
 * The one place that reads `process.env`. Values are read at call time (not import time) so a
 * warm Lambda and the sandbox both see the environment they run in.
 */
const required = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new MissingEnvironmentError(name);
  return value;
};

const optional = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

export const environment = {
  /**
   * Path of the validated config packaged with the function (JSON, converted from `shipline.yml`).
   * @default 'shipline.json' (relative to the task root)
   */
  configPath: (): string => optional('SHIPLINE_CONFIG_PATH') ?? 'shipline.json',
  /** DynamoDB table holding deployment records, locks and task tokens. */
  tableName: (): string => required('SHIPLINE_TABLE'),
  /** The pipeline's SNS topic, used when a service declares none. */
  topicArn: (): string => required('SHIPLINE_TOPIC_ARN'),
  /** The release state machine started by the trigger function. */
  stateMachineArn: (): string => required('SHIPLINE_STATE_MACHINE_ARN'),
  /** AWS region the pipeline runs in. @default 'us-east-1' */
  region: (): string => optional('AWS_REGION') ?? 'us-east-1',
  /** DynamoDB endpoint override (the sandbox points it at its local DynamoDB server). */
  dynamoDbEndpoint: (): string | undefined => optional('SHIPLINE_DYNAMODB_ENDPOINT'),
  /** Log level for the Powertools logger. @default 'INFO' */
  logLevel: (): string => optional('SHIPLINE_LOG_LEVEL') ?? optional('POWERTOOLS_LOG_LEVEL') ?? 'INFO',
} as const;
