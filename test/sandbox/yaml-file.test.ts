import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readYamlFile } from '../../sandbox/yaml-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('readYamlFile', () => {
  it('gives each caller its own copy, and reads a changed file again', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-yaml-'));
    dirs.push(dir);
    const file = path.join(dir, 'serverless.yml');
    writeFileSync(file, 'functions:\n  trigger: { handler: functions/trigger.handler }\n');
    const first = readYamlFile(file) as { functions: Record<string, unknown> };
    first.functions.changed = true;
    expect(readYamlFile(file)).toEqual({ functions: { trigger: { handler: 'functions/trigger.handler' } } });
    writeFileSync(file, 'functions: {}\n');
    expect(readYamlFile(file)).toEqual({ functions: {} });
  });
});
