import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { type CliRun, checkCliExpectations, splitCommandLine } from '../../sandbox/run/cli.ts';
import { parseScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: a scenario cli command line', () => {
  it.each([
    ["promote checkout --reason 'looks good'", ['promote', 'checkout', '--reason', 'looks good']],
    [
      'shipline abort checkout --reason "p99 \\"up\\" again"',
      ['abort', 'checkout', '--reason', 'p99 "up" again'],
    ],
    ["rollback checkout --reason it\\'s\\ slow", ['rollback', 'checkout', '--reason', "it's slow"]],
    ["history  checkout   --limit 5 ''", ['history', 'checkout', '--limit', '5', '']],
    ['status --reason \'a "b" c\'', ['status', '--reason', 'a "b" c']],
  ])('splits %s as a shell would', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it('refuses an unclosed quote, naming it', () => {
    expect(() => splitCommandLine("promote checkout --reason 'looks good")).toThrow(
      "unclosed single quote in: promote checkout --reason 'looks good",
    );
  });
});

describe('Sandbox: expectations on cli commands', () => {
  const runs: CliRun[] = [
    { t: 720, command: 'promote checkout', exitCode: 0, stdout: 'ended the bake\n', stderr: '', endedT: 720 },
    {
      t: 900,
      command: 'resume checkout',
      exitCode: 2,
      stdout: '',
      stderr: 'shipline: nothing to resume\n',
      endedT: 900,
    },
  ];
  const seconds = (at: string | number) => (typeof at === 'number' ? at : Number.parseInt(at, 10) * 60);

  it('passes when the command named by at or by text exited and printed as expected', () => {
    expect(
      checkCliExpectations(
        [
          { at: '12m', exitCode: 0, stdoutContains: 'ended the bake' },
          { command: 'resume checkout', exitCode: 2, stderrContains: ['nothing to resume'] },
        ],
        runs,
        seconds,
      ),
    ).toEqual([]);
  });

  it('names the command and what differs', () => {
    expect(
      checkCliExpectations(
        [{ at: '12m', exitCode: 2, stdoutContains: 'promoted' }, { command: 'abort checkout' }],
        runs,
        seconds,
      ),
    ).toEqual([
      'cli at 12m: expected exit code 2, got 0 (stderr: empty)',
      'cli at 12m: stdout does not contain "promoted" (stdout: ended the bake)',
      'cli "abort checkout": no such command ran (ran: "promote checkout", "resume checkout")',
    ]);
  });
});

describe("Sandbox: the operator's terminal names the scenario's config", () => {
  // A person's SHIPLINE_CONFIG names the shipline.yml they wrote: validate and plan read it from the
  // command's environment (not the test runner's process), and it is the config as written, not the
  // packaged JSON (defaults filled in and normalised, which validate would refuse).
  it('validate and plan in a cli event read the inline config of the scenario', async () => {
    const config = parse(
      readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8').replaceAll('checkout', 'payments'),
    );
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const result = await runScenario(
      parseScenario({
        name: 'operator validate',
        config,
        world: { serving: 'v1' },
        versions: { v1: { digest: digest('a') }, v2: { digest: digest('b') } },
        trigger: { push: { version: 'v2' } },
        events: [
          { at: '1m', cli: 'validate' },
          { at: '1m', cli: 'plan --json' },
        ],
        until: '2m',
      }),
      path.join(REPOSITORY_ROOT, 'examples'),
    );
    const [validate, plan] = result.cli;
    expect(validate).toMatchObject({ exitCode: 0, stderr: '' });
    expect(validate?.stdout).toMatch(/shipline\.yml is valid: payments \(canary: 5% -> 25% -> 100%\)\n$/);
    expect(plan).toMatchObject({ exitCode: 0, stderr: '' });
    expect(JSON.parse(plan?.stdout ?? '')).toMatchObject({
      services: [{ name: 'payments', strategy: 'canary' }],
    });
  });
});
