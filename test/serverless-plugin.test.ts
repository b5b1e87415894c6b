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

  it('writes the validated config, defaults applied, durations in seconds, as the JSON the functions load', () => {
    const dir = serviceDirWith(readFileSync(path.join(root, 'shipline.yml'), 'utf8'));
    pluginFor(dir).writeConfig();
    const written = JSON.parse(readFileSync(path.join(dir, '.shipline/shipline.json'), 'utf8'));
    expect(written.services.checkout.target).toMatchObject({
      scaleDownDelay: 900,
      rollbackWindow: 900,
      steadyTimeout: 1200,
    });
    expect(written.services.checkout.strategy).toEqual({
      type: 'canary',
      steps: [
        { percent: 5, bakeSeconds: 600 },
        { percent: 25, bakeSeconds: 600 },
        { percent: 100, bakeSeconds: 600 },
      ],
      bake: 600,
      checks: [],
    });
    expect(written.services.checkout.inconclusive).toBe('fail');
  });

  it('stops packaging with the path of the bad field when shipline.yml is invalid', () => {
    const broken = readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace('bake: 10m', 'bake: soon');
    expect(() => pluginFor(serviceDirWith(broken)).writeConfig()).toThrow(
      'services.checkout.strategy.bake: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "soon"',
    );
  });

  describe('the notification topic region', () => {
    /** The repository's config, its resources moved to the topic's region (the config keeps them together). */
    const notifiedOn = (topicArn: string) =>
      serviceDirWith(
        readFileSync(path.join(root, 'shipline.yml'), 'utf8')
          .replaceAll(':us-east-1:', `:${topicArn.split(':')[3]}:`)
          .replace('      bake: 10m\n', `      bake: 10m\n    notify:\n      topicArn: ${topicArn}\n`),
      );
    /** The plugin as osls runs it: provider.region resolved, the AWS provider answering getRegion(). */
    const pluginIn = (serviceDir: string, region: string, cliRegion?: string) =>
      new ShiplineConfigPlugin(
        {
          serviceDir,
          config: {},
          classes: { Error },
          service: { custom: { shipline: { config: '' } }, provider: { region } },
          getProvider: () => ({ getRegion: () => cliRegion ?? region }),
        },
        {},
        { log: { notice: () => undefined } },
      );

    it('stops packaging when a service is notified on a topic of another region, naming both regions', () => {
      const dir = notifiedOn('arn:aws:sns:eu-west-1:123456789012:releases');
      expect(() => pluginIn(dir, 'us-east-1').writeConfig()).toThrow(
        'services.checkout.notify.topicArn: arn:aws:sns:eu-west-1:123456789012:releases is in eu-west-1, but the stack deploys to us-east-1',
      );
    });

    it('packages a topic of the deploy region', () => {
      const dir = notifiedOn('arn:aws:sns:eu-west-1:123456789012:releases');
      pluginIn(dir, 'eu-west-1').writeConfig();
      expect(packagedServices(dir)).toEqual(['checkout']);
    });

    it('compares with the region the deploy goes to (--region over provider.region)', () => {
      const dir = notifiedOn('arn:aws:sns:us-east-1:123456789012:releases');
      expect(() => pluginIn(dir, 'us-east-1', 'eu-west-1').writeConfig()).toThrow('deploys to eu-west-1');
    });

    it('checks no region when the provider gives none', () => {
      const dir = notifiedOn('arn:aws:sns:eu-west-1:123456789012:releases');
      pluginFor(dir).writeConfig();
      expect(packagedServices(dir)).toEqual(['checkout']);
    });
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
