import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** The functions this file reads the bundles of. */
const FUNCTIONS = ['roll-back', 'scale-down', 'prepare-release', 'deploy-slot', 'run-check'];

/**
 * Each function's bundle, as esbuild's metafile lists it: the input modules that contribute bytes to the
 * function's output. One build with every function as an entry point: without code splitting each entry's
 * output holds exactly what a build of that entry alone would (the same inputs, the same bytes), and the SDK's
 * modules are parsed once instead of once per function.
 */
let bundles: Promise<Map<string, Record<string, { bytesInOutput: number }>>> | undefined;
const bundledInputs = async (fn: string): Promise<Record<string, { bytesInOutput: number }>> => {
  bundles ??= build({
    entryPoints: FUNCTIONS.map((name) => path.join(root, 'functions', `${name}.ts`)),
    bundle: true,
    write: false,
    outdir: path.join(root, '.esbuild', 'bundle-commands'),
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  }).then(
    (result) =>
      new Map(
        Object.values(result.metafile.outputs).flatMap((output) =>
          output.entryPoint ? [[path.basename(output.entryPoint, '.ts'), output.inputs] as const] : [],
        ),
      ),
  );
  const inputs = (await bundles).get(fn);
  if (!inputs) throw new Error(`no bundle of functions/${fn}.ts: add it to FUNCTIONS`);
  return inputs;
};

/** The ECS command modules that contribute bytes to a function's bundle (esbuild metafile). */
const ecsCommandsIn = async (fn: string): Promise<string[]> => {
  const commands = new Set<string>();
  for (const [input, { bytesInOutput }] of Object.entries(await bundledInputs(fn))) {
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
  const modules: string[] = [];
  for (const [input, { bytesInOutput }] of Object.entries(await bundledInputs(fn)))
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
