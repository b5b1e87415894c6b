import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The vitest projects, in the order their files start (vitest.config.ts). */
export const PROJECTS = ['sandbox', 'isolated', 'unit'] as const;
export type ProjectName = (typeof PROJECTS)[number];

/** Files in test/sandbox that do not share a process: `vi.mock` of a module the sandbox imports, fake timers. */
const ISOLATED_SANDBOX_FILES = new Set(
  ['iam-decisions', 'sfn-validation', 'retries'].map((name) => `test/sandbox/${name}.test.ts`),
);
/**
 * Other files that run scenarios: the report as Chromium shows it, `shipline simulate` run in the test's
 * process (its io injected) on the sandbox the worker has already loaded.
 */
const SANDBOX_FILES = new Set(
  ['asl', 'report-browser', 'cli', 'cli-report'].map((name) => `test/${name}.test.ts`),
);
/** Other files that mock SDK clients at most: the CLI run in the test's process, with its io injected. */
const UNIT_FILES = new Set(
  ['dora-dashboard', 'cli-deploy', 'cli-dora', 'cli-json', 'cli-operate'].map(
    (name) => `test/${name}.test.ts`,
  ),
);

/**
 * Which files share one module graph per worker (`isolate: false`): each worker then imports the AWS SDK, the
 * sandbox and the ASL engine once instead of once per file (that import was most of a sandbox file's cost).
 * A file shares only if it leaves nothing behind that another file could notice: no `vi.mock`, no stubbed
 * global or fake timers, no module that reads the environment once at import (the handlers), no assertion
 * about what a fresh process does (validation once per process, lazy imports). Unit tests mock SDK client
 * classes (aws-sdk-client-mock, never restored), so they never share a process with the sandbox, whose
 * clients must reach the simulated account. Every other file runs in a process of its own (`isolated`).
 *
 * @param file - the test file's path from the repository root, with `/` separators
 */
export const projectOf = (file: string): ProjectName => {
  if (ISOLATED_SANDBOX_FILES.has(file)) return 'isolated';
  if (file.startsWith('test/sandbox/') || file.startsWith('test/contract/') || SANDBOX_FILES.has(file))
    return 'sandbox';
  if (file.startsWith('test/unit/') || UNIT_FILES.has(file)) return 'unit';
  return 'isolated';
};

/**
 * Every test file under `root`/test (`*.test.ts`), from the repository root with `/` separators, sorted.
 *
 * @param root - the repository root
 */
export const testFiles = (root: string): string[] =>
  (readdirSync(path.join(root, 'test'), { recursive: true }) as string[])
    .map((file) => path.posix.join('test', file.split(path.sep).join('/')))
    .filter((file) => file.endsWith('.test.ts'))
    .sort();
