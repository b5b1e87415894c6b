import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { root, tempDir } from './cli-support.ts';

/**
 * Runs the CLI as a user would, with a loader hook that records every module it resolves: which modules a
 * command loads, not how long it takes (timing on a shared machine is noise).
 */
const runRecording = async (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; modules: string[] }> => {
  const log = path.join(tempDir(), 'modules.log');
  const { FORCE_COLOR, NO_COLOR, SHIPLINE_DEBUG, SHIPLINE_CONFIG, ...inherited } = process.env;
  let code = 0;
  try {
    await promisify(execFile)(
      'node',
      [
        '--import',
        path.join(root, 'test/fixtures/record-modules.mjs'),
        path.join(root, 'bin/shipline.mjs'),
        ...args,
      ],
      { cwd: root, env: { ...inherited, ...env, SHIPLINE_MODULE_LOG: log } },
    );
  } catch (error) {
    code = (error as { code: number }).code;
  }
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter((url) => url !== '');
  return { code, modules };
};

/** What only a command that runs a scenario, reads a config or talks to AWS needs. */
const HEAVY = [
  /\/node_modules\/@aws-sdk\//,
  /\/node_modules\/@smithy\//,
  /\/node_modules\/zod\//,
  /\/node_modules\/yaml\//,
  /\/node_modules\/aws-local-stepfunctions\//,
  /\/node_modules\/asl-validator\//,
  /\/sandbox\//,
  /\/lib\/adapters\//,
  /\/lib\/config\//,
];
const heavyIn = (modules: string[]): string[] =>
  modules.filter((url) => HEAVY.some((pattern) => pattern.test(url)));

describe('CLI: starting loads only what the command needs', () => {
  it.each([
    { args: ['--version'], code: 0 },
    { args: ['--help'], code: 0 },
    { args: ['status', '--help'], code: 0 },
    { args: ['bogus'], code: 2 },
    { args: ['simulate'], code: 2 },
  ])('shipline $args loads neither the AWS SDK, the config schema nor the sandbox', async ({
    args,
    code,
  }) => {
    const run = await runRecording(args);
    expect(run.code).toBe(code);
    expect(run.modules.some((url) => url.endsWith('/cli/shipline.ts'))).toBe(true);
    expect(heavyIn(run.modules)).toEqual([]);
  });

  it('validate loads the config schema but neither the SDK clients nor the sandbox', async () => {
    // The control: the hook sees what a command loads lazily.
    const run = await runRecording(['validate', '--config', 'shipline.yml']);
    expect(run.code).toBe(0);
    expect(run.modules.some((url) => /\/node_modules\/zod\//.test(url))).toBe(true);
    expect(run.modules.filter((url) => /@aws-sdk\/client-|\/sandbox\//.test(url))).toEqual([]);
  });

  it('status loads the clients it calls, not those of other commands (ECR, CloudFormation, STS)', async () => {
    // The table and region are named, and the table endpoint refuses the connection at once (127.0.0.1,
    // port 9): status fails as an internal error after creating its clients, without any network beyond.
    const run = await runRecording(['status', 'web', '--table', 'releases', '--region', 'us-east-1'], {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_MAX_ATTEMPTS: '1',
      SHIPLINE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(run.code).toBe(3);
    const clients = new Set(run.modules.flatMap((url) => url.match(/@aws-sdk\/client-[a-z0-9-]+/g) ?? []));
    expect([...clients].sort()).toEqual([
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-lambda',
      '@aws-sdk/client-sfn',
    ]);
  });
});
