import { createRequire } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const plugins = createRequire(import.meta.url)(path.join(root, 'serverless/esbuild-plugins.cjs')) as Plugin[];

/** One SDK client bundled as the functions are (minified ESM, SDK bundled), with or without the plugins. */
const bundle = async (withPlugins: boolean): Promise<string> => {
  const result = await build({
    stdin: {
      contents: "import { SNSClient } from '@aws-sdk/client-sns'; export const client = new SNSClient({});",
      resolveDir: root,
    },
    bundle: true,
    minify: true,
    write: false,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: withPlugins ? plugins : [],
  });
  return result.outputFiles[0]?.text ?? '';
};

describe('esbuild plugins the functions are bundled with (serverless.yml custom.esbuild.plugins)', () => {
  it('bundle only the package.json fields an SDK client reads and no event-stream codec', async () => {
    const [plain, shipped] = await Promise.all([bundle(false), bundle(true)]);
    // The client still reports its version in the user agent.
    // (Booleans, not toContain: a failure would print the whole bundle.)
    expect(shipped.includes('version:"3.')).toBe(true);
    expect([plain.includes('devDependencies'), shipped.includes('devDependencies')]).toEqual([true, false]);
    // Event-stream support is replaced by a module that names why it is missing.
    const codec = 'header name exceeds 255 bytes';
    expect([plain.includes(codec), shipped.includes(codec)]).toEqual([true, false]);
    expect(shipped.includes('bundled without SDK event-stream support')).toBe(true);
    expect(shipped.length).toBeLessThan(plain.length - 15_000);
  });
});
