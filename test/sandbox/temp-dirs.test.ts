import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario, ScenarioError } from '../../sandbox/run-scenario.ts';

// The runner asks os.tmpdir() for its directories; pointed at a private directory (TMPDIR is read on every
// call), whatever a run leaves behind shows up here and nowhere else, whatever other test files do.
const savedTmpdir = process.env.TMPDIR;
let privateTmp: string;

beforeAll(() => {
  privateTmp = mkdtempSync(path.join(tmpdir(), 'shipline-tmp-test-'));
  process.env.TMPDIR = privateTmp;
});

afterAll(async () => {
  await stopLocalDynamoDb();
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(privateTmp, { recursive: true, force: true });
});

describe('Function: runScenario', () => {
  it('removes the packaged config it wrote once the run ends', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/malformed-event.yml'));
    expect(tmpdir()).toBe(privateTmp);
    const result = await runScenario(scenario, baseDir);
    expect(result.expectations?.passed).toBe(true);
    expect(readdirSync(privateTmp)).toEqual([]);
  });

  it('removes it too when the run fails', async () => {
    const { scenario, baseDir } = loadScenario(path.join(REPOSITORY_ROOT, 'examples/malformed-event.yml'));
    await expect(runScenario({ ...scenario, service: 'no-such-service' }, baseDir)).rejects.toThrow(
      ScenarioError,
    );
    expect(readdirSync(privateTmp)).toEqual([]);
  });
});
