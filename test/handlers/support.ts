import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll } from 'vitest';
import {
  RELEASE_EVENTS_TOPIC_ARN,
  repoConfig,
  STATE_MACHINE_ARN,
  TABLE,
  TOPIC_ARN,
} from '../unit/fixtures.ts';

const packagedDirs: string[] = [];

// Registered by every test file that imports this module: its packaged configs go when its tests end.
afterAll(() => {
  for (const dir of packagedDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * The repository's `shipline.yml` as packaging ships it to the functions: validated, then written as
 * `shipline.json` (the functions load the packaged JSON, not the YAML).
 */
export const packagedConfigPath = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-handler-'));
  packagedDirs.push(dir);
  const file = path.join(dir, 'shipline.json');
  writeFileSync(file, JSON.stringify(repoConfig(), null, 2));
  return file;
};

/**
 * The environment every handler reads. Set it before importing a handler module: handlers build their
 * adapters at module scope.
 */
export const setHandlerEnvironment = (): void => {
  process.env.SHIPLINE_CONFIG_PATH = packagedConfigPath();
  process.env.SHIPLINE_TABLE = TABLE;
  process.env.SHIPLINE_TOPIC_ARN = TOPIC_ARN;
  process.env.SHIPLINE_RELEASE_EVENTS_TOPIC_ARN = RELEASE_EVENTS_TOPIC_ARN;
  process.env.SHIPLINE_STATE_MACHINE_ARN = STATE_MACHINE_ARN;
};

/** A minimal Lambda context, enough for the Powertools logger and middy. */
export const lambdaContext = (functionName: string): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2025/03/04/[$LATEST]abcdef0123456789',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** The thrown error (the test fails if nothing is thrown). */
export const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};
