import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANSI, pkg, root, run, STACK, tempDir } from './cli-support.ts';

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

  // Two CLI processes, run side by side: each imports the whole pipeline, seconds on a loaded 2-core machine.
  // They prove the process's own environment and stdout reach the command (processIo: process.env and
  // process.stdout.isTTY); every case of the colour decision (NO_COLOR, --no-color) is in cli.test.ts, run
  // in-process through the same runCli and the same io.env.
  it('colours the run only when asked, from the real process environment and terminal', {
    timeout: 90_000,
  }, async () => {
    const scenario = ['simulate', '--scenario', 'examples/bad-version-rolled-back.yml'];
    const [forced, piped] = await Promise.all([
      run(scenario, { FORCE_COLOR: '1' }),
      // Not a terminal (a pipe, as here): plain text by default.
      run(scenario),
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(ANSI);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain('Outcome:         ROLLED_BACK');
    expect(piped.stdout).not.toMatch(ANSI);
    expect(piped.stderr).not.toMatch(ANSI);
  });

  // The scenario runs `shipline promote` inside the `shipline simulate` process: the program must have
  // finished loading by then, or importing it again waits on itself forever.
  it('runs a scenario that gives shipline commands, from the terminal', { timeout: 90_000 }, async () => {
    const { FORCE_COLOR, NO_COLOR, SHIPLINE_CONFIG, ...env } = process.env;
    const child = spawn(
      'node',
      [path.join(root, 'bin/shipline.mjs'), 'simulate', '--scenario', 'examples/cli-promote.yml'],
      { cwd: root, env },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect(stdout).toContain('Outcome:         PROMOTED');
    expect(stdout).toContain('Expectations:    all met');
    expect(code).toBe(0);
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

  it('operator commands: --help documents exit code 2 for nothing to act on, and bad usage exits 2 before any AWS call', async () => {
    for (const command of ['approve', 'resume', 'abort', 'promote', 'rollback']) {
      const help = await run([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--release <id>');
      expect(help.stdout).toContain('--stack <name>');
      expect(help.stdout).toContain('--table <name>');
      expect(help.stdout).toContain('nothing to act on (promote, abort, rollback, resume');
    }
    const noReason = await run(['abort', '--release', 'checkout-v2']);
    expect(noReason).toMatchObject({ code: 2 });
    expect(noReason.stderr).toBe(
      'shipline: abort needs --reason TEXT: the rollback notification and the history name it\n',
    );
    const noService = await run(['approve'], { SHIPLINE_TABLE: '' });
    expect(noService).toMatchObject({ code: 2 });
    expect(noService.stderr).toBe('shipline: resume needs the service: shipline resume SERVICE\n');
    expect(noService.stderr).not.toMatch(STACK);
  });
});
