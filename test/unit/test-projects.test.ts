import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectOf, testFiles } from '../setup/projects.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** What a file does that another file sharing its process would notice (vitest.config.ts, test/setup/projects.ts). */
const UNIT_LEAKS = [
  /\bvi\.(?:mock|doMock|stubGlobal|stubEnv|useFakeTimers|resetModules)\(/,
  /\bsetHandlerEnvironment\(/,
];
/** The sandbox's SDK clients must reach the simulated account: no client class mocked before them. */
const SANDBOX_LEAKS = [...UNIT_LEAKS, /\bmockClient\(/];
const leaking = (project: string, leaks: RegExp[]): string[] =>
  testFiles(root)
    .filter((file) => projectOf(file) === project)
    .filter((file) => leaks.some((leak) => leak.test(readFileSync(path.join(root, file), 'utf8'))));

describe('Test files that share a process', () => {
  it('in the sandbox project neither mock modules or SDK clients, stub globals, fake timers nor load handlers', () => {
    expect(leaking('sandbox', SANDBOX_LEAKS)).toEqual([]);
  });

  it('in the unit project mock SDK clients at most, never modules, globals or timers', () => {
    expect(leaking('unit', UNIT_LEAKS)).toEqual([]);
  });

  it('include every test file, the handlers and the CLI files in processes of their own', () => {
    const files = testFiles(root);
    expect(files.length).toBeGreaterThan(90);
    const handlers = files.filter((file) => file.startsWith('test/handlers/'));
    expect(handlers.length).toBeGreaterThan(5);
    expect(new Set(handlers.map(projectOf))).toEqual(new Set(['isolated']));
    expect(projectOf('test/sandbox/sfn-validation.test.ts')).toBe('isolated');
    // The CLI as a user runs it, in processes of its own: they start from nothing anyway.
    expect(projectOf('test/cli-usage.test.ts')).toBe('isolated');
    expect(projectOf('test/packaging.test.ts')).toBe('isolated');
    expect(projectOf('test/sandbox/examples.test.ts')).toBe('sandbox');
  });
});
