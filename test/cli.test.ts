import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { configJsonSchema } from '../lib/config/load.ts';
import { scenarioSchema } from '../sandbox/scenario/schema.ts';

const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

/** Runs the CLI as a user would; colour variables come only from `env`, never from the test runner's. */
const run = async (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> => {
  const { FORCE_COLOR, NO_COLOR, SHIPLINE_DEBUG, SHIPLINE_CONFIG, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'node',
      [path.join(root, 'bin/shipline.mjs'), ...args],
      { cwd: root, env: { ...inherited, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-cli-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what is looked for
const ANSI = /\u001b\[/;
/** A stack trace line, as Node prints it. */
const STACK = /^\s+at /m;

describe('CLI: shipline', () => {
  it('simulate --json prints one JSON document and exits 0 when expectations hold', async () => {
    const { code, stdout } = await run(['simulate', '--scenario', 'examples/malformed-event.yml', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      outcome: 'rejected',
      servingVersion: 'v1',
      executions: [],
      expectations: { passed: true, failures: [] },
    });
    for (const key of [
      'service',
      'fromVersion',
      'toVersion',
      'timeline',
      'notifications',
      'stateTransitions',
      'rollbackReactionSeconds',
      'wallMs',
    ]) {
      expect(result).toHaveProperty(key);
    }
  });

  it('simulate exits 1 and names the expectation that failed', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'wrong.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'examples/malformed-event.yml'), 'utf8')
        .replace('config: ../shipline.yml', `config: ${path.join(root, 'shipline.yml')}`)
        .replace('outcome: rejected', 'outcome: promoted'),
    );
    const { code, stdout } = await run(['simulate', '--scenario', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('outcome: expected promoted, got rejected');
  });

  it('simulate exits 2 with the path of the bad field when the scenario is invalid', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'invalid.yml');
    writeFileSync(
      file,
      'name: broken\nworld: { serving: v1, desiredCount: zero }\nversions: {}\ntrigger: { push: { version: v2 } }\n',
    );
    const { code, stderr } = await run(['simulate', '--scenario', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('world.desiredCount');
  });

  it('validate accepts the example shipline.yml and rejects a broken one naming the field', async () => {
    expect((await run(['validate'])).stdout).toContain(
      'shipline.yml is valid: checkout (canary: 5% -> 25% -> 100%)',
    );
    const dir = tempDir();
    const file = path.join(dir, 'shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace(
        'steps: [5, 25, 100]',
        'steps: [5, 25, 90]',
      ),
    );
    const { code, stderr } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:30:14 services.checkout.strategy.steps: the last step must be 100`);
  });

  it("plan prints each service's strategy, target and numbered steps, as text or JSON", async () => {
    const text = await run(['plan']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      [
        'checkout: canary on ecs-alb (blue and green slots behind an ALB listener rule; the new version goes to the idle slot)',
        '   1. Deploy the new version to the new slot',
        '   2. Wait until the new slot is ready (at most 20m)',
        '   3. Shift 5% to the new slot',
        '   4. Bake 10m watching 2 alarms',
        '   5. Shift 25% to the new slot',
        '   6. Bake 10m watching 2 alarms',
        '   7. Shift 100% to the new slot',
        '   8. Bake 10m watching 2 alarms',
        '   9. Promote the new slot, watch the 15m rollback window, scale the old slot down after 15m',
        '  bakes 30m in all; a bake without alarm data rolls back',
        '',
      ].join('\n'),
    );
    const json = await run(['plan', '--service', 'checkout', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      config: 'shipline.yml',
      services: [
        {
          name: 'checkout',
          strategy: 'canary',
          target: 'ecs-alb',
          inconclusive: 'fail',
          plan: { strategy: 'canary', totalBakeSeconds: 1800, steps: expect.arrayContaining([]) },
        },
      ],
    });
    expect(JSON.parse(json.stdout).services[0].plan.steps.map((step: { kind: string }) => step.kind)).toEqual(
      ['deploy', 'await-ready', 'shift', 'bake', 'shift', 'bake', 'shift', 'bake', 'retire'],
    );
  });

  it('plan exits 2 with the config issues of an invalid config, or naming an undeclared service', async () => {
    const file = path.join(tempDir(), 'shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace(
        /strategy:\n(.*\n)*/,
        'strategy:\n      type: linear\n      stepPercent: 10\n      interval: soon\n',
      ),
    );
    const invalid = await run(['plan', '--config', file]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(
      'services.checkout.strategy.interval: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "soon"',
    );
    const unknown = await run(['plan', '--service', 'payments']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'shipline: service "payments" is not declared in shipline.yml (declared: checkout)\n',
    );
  });

  it('validate checks the file SHIPLINE_CONFIG names, the one a deploy packages', async () => {
    const file = path.join(tempDir(), 'my-shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replaceAll('checkout', 'payments'),
    );
    const { code, stdout } = await run(['validate'], { SHIPLINE_CONFIG: file });
    expect(code).toBe(0);
    expect(stdout).toContain(`${file} is valid: payments (canary: 5% -> 25% -> 100%)`);
  });

  it('the committed JSON Schemas match the config and scenario schemas', () => {
    const committed = (file: string) =>
      JSON.parse(readFileSync(path.join(root, 'schema', file), 'utf8')) as unknown;
    expect(committed('shipline.schema.json')).toEqual(configJsonSchema());
    expect(committed('scenario.schema.json')).toEqual(
      z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    );
  });
});

describe('CLI: usage, help and exit codes', () => {
  it('--version prints the version of package.json', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the commands and documents the exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const text of ['simulate', 'validate', 'schema', 'Exit codes:', '3  internal error'])
      expect(stdout).toContain(text);
  });

  it('simulate --help describes its options and exits 0', async () => {
    const { code, stdout } = await run(['simulate', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: shipline simulate');
    expect(stdout).toContain('--scenario <file>');
    expect(stdout).toContain('--json');
  });

  it('an unknown flag exits 2 with the usage on stderr and no stack trace', async () => {
    const { code, stdout, stderr } = await run([
      'simulate',
      '--scenario',
      'examples/healthy-canary.yml',
      '--bogus',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain("unknown option '--bogus'");
    expect(stderr).toContain('Usage: shipline simulate');
    expect(stderr).not.toMatch(STACK);
  });

  it('--scenario without a value exits 2 naming the option', async () => {
    const { code, stderr } = await run(['simulate', '--scenario']);
    expect(code).toBe(2);
    expect(stderr).toContain("option '-s, --scenario <file>' argument missing");
    expect(stderr).toContain('Usage: shipline simulate');
    expect(stderr).not.toMatch(STACK);
  });

  it('an unknown command exits 2 with the usage on stderr', async () => {
    const { code, stderr } = await run(['simulat']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'simulat'");
    expect(stderr).toContain('(Did you mean simulate?)');
    expect(stderr).toContain('Usage: shipline');
    expect(stderr).not.toMatch(STACK);
  });

  it('no command at all exits 2 with the usage on stderr', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: shipline');
  });

  // Four CLI processes, run side by side: each imports the whole pipeline, seconds on a loaded 2-core machine.
  it('colours the run only when asked, and never with NO_COLOR or --no-color', {
    timeout: 90_000,
  }, async () => {
    const scenario = ['simulate', '--scenario', 'examples/bad-version-rolled-back.yml'];
    const [forced, noColor, flag, piped] = await Promise.all([
      run(scenario, { FORCE_COLOR: '1' }),
      run(scenario, { FORCE_COLOR: '1', NO_COLOR: '1' }),
      run([...scenario, '--no-color'], { FORCE_COLOR: '1' }),
      // Not a terminal (a pipe, as here): plain text by default.
      run(scenario),
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(ANSI);
    expect(noColor.code).toBe(0);
    expect(noColor.stdout).toContain('Outcome:         ROLLED_BACK');
    expect(noColor.stdout).not.toMatch(ANSI);
    expect(noColor.stderr).not.toMatch(ANSI);
    expect(flag.stdout).not.toMatch(ANSI);
    expect(piped.stdout).not.toMatch(ANSI);
  });

  it('ends quietly when the reader closes its end of stdout early (| head)', async () => {
    const { FORCE_COLOR, NO_COLOR, ...env } = process.env;
    const child = spawn('node', [path.join(root, 'bin/shipline.mjs'), '--help'], { cwd: root, env });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(STACK);
    expect(code).toBe(0);
  });

  it('an internal error exits 3 with one line, and the stack trace only with --debug or SHIPLINE_DEBUG=1', async () => {
    const notADirectory = path.join(tempDir(), 'file');
    writeFileSync(notADirectory, '');
    const args = ['schema', '--out', path.join(notADirectory, 'schema')];
    const plainRun = await run(args);
    expect(plainRun.code).toBe(3);
    expect(plainRun.stderr).toMatch(/^shipline: internal error: ENOTDIR: .*\n$/);
    expect(plainRun.stderr.trim().split('\n')).toHaveLength(1);
    const debug = await run([...args, '--debug']);
    expect(debug.code).toBe(3);
    expect(debug.stderr).toMatch(STACK);
    const debugEnv = await run(args, { SHIPLINE_DEBUG: '1' });
    expect(debugEnv.code).toBe(3);
    expect(debugEnv.stderr).toMatch(STACK);
  });

  it('approve and abort: --help documents exit code 4, and bad usage exits 2 before any AWS call', async () => {
    for (const command of ['approve', 'abort']) {
      const help = await run([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--release <id>');
      expect(help.stdout).toContain('--table <name>');
      expect(help.stdout).toContain('4  approve, abort: nothing to resume');
    }
    const noReason = await run(['abort', '--release', 'checkout-v2']);
    expect(noReason).toMatchObject({ code: 2 });
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    const noTable = await run(['approve', '--release', 'checkout-v2'], { SHIPLINE_TABLE: '' });
    expect(noTable).toMatchObject({ code: 2 });
    expect(noTable.stderr).toMatch(/^shipline: which release table\? Pass --table or set SHIPLINE_TABLE/);
    expect(noTable.stderr).not.toMatch(STACK);
  });
});
