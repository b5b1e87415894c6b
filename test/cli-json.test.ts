import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/shipline.ts';

const cli = async (args: string[]) => {
  const out: string[] = [];
  const code = await runCli(args, {
    out: (text) => out.push(text),
    err: () => undefined,
    env: {},
    sleep: async () => undefined,
  });
  return { code, stdout: out.join('') };
};

describe('CLI: --json on the local commands', () => {
  it('validate --json names the config and its services', async () => {
    const { code, stdout } = await cli(['validate', '--config', 'shipline.yml', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      config: 'shipline.yml',
      valid: true,
      services: [{ name: 'checkout', strategy: 'canary', target: 'ecs-alb' }],
    });
  });

  it('schema --json lists the files it wrote', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-schema-'));
    try {
      const { code, stdout } = await cli(['schema', '--out', dir, '--json']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({
        wrote: [path.join(dir, 'shipline.schema.json'), path.join(dir, 'scenario.schema.json')],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
