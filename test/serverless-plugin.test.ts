import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
type Plugin = new (
  serverless: unknown,
  options: unknown,
  utils: unknown,
) => { hooks: Record<string, () => void>; writeConfig: () => void };
const ShiplineConfigPlugin = require('../serverless/shipline-config.cjs') as Plugin;

const serviceDirWith = (config: string): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-plugin-'));
  writeFileSync(path.join(dir, 'shipline.yml'), config);
  return dir;
};

const pluginFor = (serviceDir: string) =>
  new ShiplineConfigPlugin(
    { serviceDir, config: {}, classes: { Error } },
    {},
    { log: { notice: () => undefined } },
  );

describe('Class: ShiplineConfigPlugin', () => {
  it('runs before serverless-esbuild packages the functions', () => {
    expect(Object.keys(pluginFor(root).hooks)).toContain('before:package:createDeploymentArtifacts');
  });

  it('writes the validated config, defaults applied, as the JSON the functions load', () => {
    const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
    pluginFor(dir).writeConfig();
    const written = JSON.parse(readFileSync(path.join(dir, '.shipline/shipline.json'), 'utf8'));
    expect(written.services.checkout.target).toMatchObject({ scaleDownDelay: '15m', steadyTimeout: '20m' });
    expect(written.services.checkout.strategy).toEqual({ type: 'canary', steps: [5, 25, 100], bake: '10m' });
  });

  it('stops packaging with the path of the bad field when shipline.yml is invalid', () => {
    const broken = readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace('bake: 10m', 'bake: soon');
    expect(() => pluginFor(serviceDirWith(broken)).writeConfig()).toThrow(
      'services.checkout.strategy.bake: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "soon"',
    );
  });
});
