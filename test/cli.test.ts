import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { configJsonSchema } from '../lib/config/load.ts';
import { scenarioSchema } from '../sandbox/scenario/schema.ts';

const root = path.resolve(import.meta.dirname, '..');
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'node',
      [path.join(root, 'bin/shipline.mjs'), ...args],
      { cwd: root },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

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
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-cli-'));
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
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-cli-'));
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
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-cli-'));
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
    expect(stderr).toContain(`${file}:28:14 services.checkout.strategy.steps: the last step must be 100`);
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
