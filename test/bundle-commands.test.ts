import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** The ECS command modules that contribute bytes to a function's bundle (esbuild metafile). */
const ecsCommandsIn = async (fn: string): Promise<string[]> => {
  const result = await build({
    entryPoints: [path.join(root, 'functions', `${fn}.ts`)],
    bundle: true,
    write: false,
    outdir: path.join(root, '.esbuild', 'bundle-commands'),
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const commands = new Set<string>();
  for (const output of Object.values(result.metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /@aws-sdk\/client-ecs\/dist-es\/commands\/(\w+)Command\.js$/.exec(input);
      if (match?.[1] && bytesInOutput > 0) commands.add(match[1]);
    }
  return [...commands].sort();
};

describe('Functions bundle only the ECS commands (and their schemas) their path can send', () => {
  it.each([
    // DescribeServices: a rolling service's rollback reads the revision it runs before updating it back.
    ['roll-back', ['DescribeServices', 'UpdateService']],
    ['scale-down', ['UpdateService']],
    ['prepare-release', ['DescribeServices', 'DescribeTaskDefinition']],
    [
      'deploy-slot',
      ['DescribeServices', 'DescribeTaskDefinition', 'RegisterTaskDefinition', 'UpdateService'],
    ],
  ])('%s: %j', async (fn, expected) => {
    expect(await ecsCommandsIn(fn)).toEqual(expected);
  });
});

/** The Shipline modules that contribute bytes to a function's bundle (esbuild metafile), by path. */
const shiplineModulesIn = async (fn: string): Promise<string[]> => {
  const result = await build({
    entryPoints: [path.join(root, 'functions', `${fn}.ts`)],
    bundle: true,
    write: false,
    outdir: path.join(root, '.esbuild', 'bundle-modules'),
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const modules: string[] = [];
  for (const output of Object.values(result.metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
      if (input.startsWith('lib/') && bytesInOutput > 0) modules.push(input);
  return modules;
};

describe('Functions bundle only the store parts they touch', () => {
  const absent = [
    'lib/adapters/dynamodb-lock-store.ts',
    'lib/store/lock-queue.ts',
    'lib/adapters/dynamodb-wait-registry.ts',
  ];

  it('prepare-release (service state, history, marks): no lock store, lock queue or wait registry', async () => {
    const modules = await shiplineModulesIn('prepare-release');
    expect(modules).toEqual(
      expect.arrayContaining([
        'lib/adapters/dynamodb-service-state-store.ts',
        'lib/adapters/dynamodb-release-history.ts',
        'lib/adapters/dynamodb-notification-marks.ts',
      ]),
    );
    for (const module of absent) expect(modules).not.toContain(module);
  });

  it('run-check (the release record only): no lock store, lock queue or wait registry', async () => {
    const modules = await shiplineModulesIn('run-check');
    expect(modules).toContain('lib/adapters/dynamodb-release-history.ts');
    for (const module of absent) expect(modules).not.toContain(module);
  });
});
