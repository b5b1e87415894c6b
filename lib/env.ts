import { isAbsolute, join } from 'node:path';
import { MissingEnvironmentError } from './errors.ts';

/** A set of environment variables, as `process.env` holds them. */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

let source: (() => EnvironmentVariables | undefined) | undefined;

/**
 * Installs a source asked for the environment on every read, before `process.env`: the sandbox answers
 * with the variables of the world the caller runs in (several worlds share one process, each with its
 * own table, topic and config), and with undefined outside any world. `undefined` removes the source.
 */
export const useEnvironmentSource = (next: (() => EnvironmentVariables | undefined) | undefined): void => {
  source = next;
};

/**
 * The one place that reads the environment. Values are read at call time (not import time) so a
 * warm Lambda and the sandbox both see the environment they run in.
 */
const read = (name: string): string | undefined => (source?.() ?? process.env)[name];

const required = (name: string): string => {
  const value = read(name);
  if (value === undefined || value === '') throw new MissingEnvironmentError(name);
  return value;
};

const optional = (name: string): string | undefined => {
  const value = read(name);
  return value === undefined || value === '' ? undefined : value;
};

export const environment = {
  /**
   * Path of the validated config packaged with the function (JSON, converted from `shipline.yml`). A
   * relative path is relative to the task root (LAMBDA_TASK_ROOT, which Lambda sets to /var/task, also
   * its working directory); with no task root, to the working directory.
   * @default 'shipline.json' (relative to the task root)
   */
  configPath: (): string => {
    const configured = optional('SHIPLINE_CONFIG_PATH') ?? 'shipline.json';
    const taskRoot = optional('LAMBDA_TASK_ROOT');
    return taskRoot && !isAbsolute(configured) ? join(taskRoot, configured) : configured;
  },
  /** DynamoDB table holding deployment records, locks and task tokens. */
  tableName: (): string => required('SHIPLINE_TABLE'),
  /** The pipeline's SNS topic, used when a service declares none. */
  topicArn: (): string => required('SHIPLINE_TOPIC_ARN'),
  /** The pipeline's internal release-events topic (every transition of every release; Slack and metrics subscribe). */
  releaseEventsTopicArn: (): string => required('SHIPLINE_RELEASE_EVENTS_TOPIC_ARN'),
  /** The release state machine started by the trigger function. */
  stateMachineArn: (): string => required('SHIPLINE_STATE_MACHINE_ARN'),
  /** The trigger function (name or ARN): a rollback from Slack past the warm slot starts a release through it. */
  /** AWS region the pipeline runs in. @default 'us-east-1' */
  region: (): string => optional('AWS_REGION') ?? 'us-east-1',
  /** DynamoDB endpoint override (the sandbox points it at its local DynamoDB server). */
  dynamoDbEndpoint: (): string | undefined => optional('SHIPLINE_DYNAMODB_ENDPOINT'),
  /** Log level for the Powertools logger. @default 'INFO' */
  logLevel: (): string => optional('SHIPLINE_LOG_LEVEL') ?? optional('POWERTOOLS_LOG_LEVEL') ?? 'INFO',
} as const;
