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
