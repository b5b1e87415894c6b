import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
type Plugin = new (
  serverless: unknown,
  options: unknown,
  utils: unknown,
) => { hooks: Record<string, () => void>; writeConfig: () => void };
const ShiplineConfigPlugin = require('../serverless/shipline-config.cjs') as Plugin;

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-plugin-'));
  tempDirs.push(dir);
  return dir;
};

const serviceDirWith = (config: string): string => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'shipline.yml'), config);
  return dir;
};

/** `config` is `custom.shipline.config` as osls resolves it from `${param:config, ''}`. */
const pluginFor = (serviceDir: string, config = '') =>
  new ShiplineConfigPlugin(
    { serviceDir, config: {}, classes: { Error }, service: { custom: { shipline: { config } } } },
    {},
    { log: { notice: () => undefined } },
  );

/** The repository's shipline.yml with its service renamed, written outside any service directory. */
const otherConfig = (service: string): string => {
  const file = path.join(tempDir(), 'other.yml');
  writeFileSync(file, readFileSync(path.join(root, 'shipline.yml'), 'utf8').replaceAll('checkout', service));
  return file;
};
const packagedServices = (serviceDir: string): string[] =>
  Object.keys(JSON.parse(readFileSync(path.join(serviceDir, '.shipline/shipline.json'), 'utf8')).services);

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

  describe('the config to deploy', () => {
    const savedEnv = process.env.SHIPLINE_CONFIG;
    afterEach(() => {
      if (savedEnv === undefined) delete process.env.SHIPLINE_CONFIG;
      else process.env.SHIPLINE_CONFIG = savedEnv;
    });

    it("packages the file SHIPLINE_CONFIG names instead of the service directory's shipline.yml", () => {
      const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
      process.env.SHIPLINE_CONFIG = otherConfig('payments');
      pluginFor(dir).writeConfig();
      expect(packagedServices(dir)).toEqual(['payments']);
    });

    it('packages the file the config param names, over SHIPLINE_CONFIG', () => {
      const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
      process.env.SHIPLINE_CONFIG = otherConfig('payments');
      pluginFor(dir, otherConfig('search')).writeConfig();
      expect(packagedServices(dir)).toEqual(['search']);
    });

    it('resolves a relative path from the working directory', () => {
      const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
      pluginFor(dir, path.relative(process.cwd(), otherConfig('search'))).writeConfig();
      expect(packagedServices(dir)).toEqual(['search']);
    });

    it('stops packaging naming the file when the chosen config does not exist', () => {
      const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
      const missing = path.join(tempDir(), 'missing.yml');
      process.env.SHIPLINE_CONFIG = missing;
      expect(() => pluginFor(dir).writeConfig()).toThrow(
        `Shipline config ${missing} does not exist (chosen by SHIPLINE_CONFIG=${missing}`,
      );
    });
  });
});
