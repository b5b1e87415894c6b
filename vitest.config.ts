import { statSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';
import { PROJECTS, type ProjectName, projectOf, testFiles } from './test/setup/projects.ts';

const root = import.meta.dirname;
const files = testFiles(root);
const filesOf = (project: ProjectName): string[] => files.filter((file) => projectOf(file) === project);

/**
 * The slowest files, in the order they start: the two that wait longest on child processes (osls package
 * and its esbuild builds, the CLI as a user runs it), the example scenarios, then the files that wait on
 * other processes (the CLI's real processes, Chromium): a file's size says little of how long it waits on
 * the processes it starts. Started first, they run side by side with the rest instead of leaving one worker
 * busy at the end while the other has nothing left to run.
 */
const STARTS_FIRST = [
  'test/packaging.test.ts',
  'test/cli-usage.test.ts',
  'test/sandbox/examples.test.ts',
  'test/cli.test.ts',
  'test/report-browser.test.ts',
];

/**
 * The files in an order drawn from `seed` (SHIPLINE_SHUFFLE_FILES=seed): files that share a process must
 * pass in any order, e.g. `SHIPLINE_SHUFFLE_FILES=7 npx vitest run --project sandbox --maxWorkers 1`.
 */
const shuffled = <T>(items: T[], seed: number): T[] => {
  const result = [...items];
  let state = seed >>> 0 || 1;
  for (let i = result.length - 1; i > 0; i -= 1) {
    // xorshift32: the same seed, the same order.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
};

/**
 * Orders the files without a cache of earlier runs (CI has none): the long child-process files first, then
 * each project's files together (a worker reuses its process for the next file of a shared project only
 * when that file comes next), largest first within a project.
 */
class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seed = process.env.SHIPLINE_SHUFFLE_FILES;
    if (seed) return shuffled(files, Number(seed));
    const rank = (spec: TestSpecification): [number, number, number] => {
      const file = path.relative(root, spec.moduleId);
      const first = STARTS_FIRST.indexOf(file);
      const project = PROJECTS.indexOf(spec.project.name as ProjectName);
      return [
        first === -1 ? STARTS_FIRST.length : first,
        project === -1 ? PROJECTS.length : project,
        -statSync(spec.moduleId).size,
      ];
    };
    const ranked = files.map((spec) => ({ spec, key: rank(spec) }));
    ranked.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
    return ranked.map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Three workers on a 2-core machine: the longest files wait on child processes (osls package and its
    // esbuild builds, the CLI as a user runs it), so a third worker runs sandbox files during those waits
    // (measured on the 2-core CI machine: 64 s with two workers, 55 s with three, 55 s with four).
    maxWorkers: 3,
    sequence: { sequencer: LongestFirstSequencer },
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SHIPLINE_LOG_LEVEL: 'SILENT',
    },
    // Explicit file lists: every test file is in exactly one project.
    projects: PROJECTS.map((name) => ({
      extends: true,
      test: {
        name,
        include: filesOf(name),
        isolate: name === 'isolated',
        ...(name === 'isolated' ? {} : { setupFiles: ['test/setup/shared-process.ts'] }),
      },
    })),
  },
});
