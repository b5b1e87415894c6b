import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';

/** What the CLI test files share: running the CLI as a user would, temp dirs, output patterns. */
export const root = path.resolve(import.meta.dirname, '..');
export const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

/** Runs the CLI as a user would; colour variables come only from `env`, never from the test runner's. */
export const run = async (
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

/**
 * Runs the CLI through its own entry (`runCli`) in the test's process, its io injected: what a command
 * prints, where (stdout or stderr), its exit code and the files it writes, without starting a process that
 * loads the sandbox again. The environment the command reads is `env` only, and it writes to no terminal.
 * The real process (bin/shipline.mjs: its startup, exit codes, streams, environment, a pipe closed early) is
 * what `run` and test/cli-usage.test.ts, test/cli-startup.test.ts prove.
 */
export const runInProcess = async (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> => {
  const { runCli } = await import('../cli/shipline.ts');
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, {
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    env,
    // The commands run here never poll (simulate runs in virtual time): a real wait would be a bug.
    sleep: () => Promise.reject(new Error('the CLI run in the test process waits in real time')),
    isTTY: false,
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
};

const tempDirs: string[] = [];
export const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-cli-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what is looked for
export const ANSI = /\u001b\[/;
/** A stack trace line, as Node prints it. */
export const STACK = /^\s+at /m;
