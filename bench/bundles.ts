import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(import.meta.dirname, '..');

/** Fresh Node processes per bundle; the median is reported. */
const RUNS = 15;

/** serverless-esbuild options that are not esbuild options. */
const PLUGIN_ONLY_OPTIONS = new Set([
  'exclude',
  'packager',
  'packagerOptions',
  'outputFileExtension',
  'concurrency',
  'zipConcurrency',
  'nativeZip',
  'keepOutputDirectory',
  'installExtraArgs',
  'watch',
]);

export interface BundleMeasure {
  /** Handler file name without extension, e.g. `prepare-release`. */
  fn: string;
  /** Size of the minified bundle. */
  bytes: number;
  /** Median time of `await import(bundle)` in a fresh Node process, measured inside that process. */
  coldImportMs: number;
  /** Fastest of those runs: the import with the least interference from other load on the machine. */
  coldImportMinMs: number;
  /**
   * Median CPU time (user + system) the importing process spent on the import: the work of parsing,
   * compiling and evaluating the bundle, which waiting for a core on a loaded machine does not inflate
   * as it inflates wall time.
   */
  coldImportCpuMs: number;
}

/**
 * The esbuild options the deployed functions are bundled with (serverless.yml `custom.esbuild`), with
 * `plugins` loaded from the file it names, as serverless-esbuild loads it.
 */
export const deployedBuildOptions = (): BuildOptions => {
  const document = parseYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as {
    custom?: { esbuild?: Record<string, unknown> };
  };
  const options = document.custom?.esbuild;
  if (!options) throw new Error('serverless.yml has no custom.esbuild section');
  const { plugins, ...rest } = options;
  const esbuildOptions: BuildOptions = Object.fromEntries(
    Object.entries(rest).filter(([key]) => !PLUGIN_ONLY_OPTIONS.has(key)),
  );
  if (typeof plugins === 'string')
    esbuildOptions.plugins = createRequire(import.meta.url)(
      path.join(root, plugins),
    ) as BuildOptions['plugins'];
  else if (plugins !== undefined)
    throw new Error('custom.esbuild.plugins: expected the path of a plugins file');
  return esbuildOptions;
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Imports the bundle in a new Node process and returns the wall and CPU time that process measured. */
const coldImport = async (file: string): Promise<{ wallMs: number; cpuMs: number }> => {
  const script = `const cpu = process.cpuUsage();
const start = performance.now();
await import(${JSON.stringify(pathToFileURL(file).href)});
const wallMs = performance.now() - start;
const { user, system } = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wallMs, cpuMs: (user + system) / 1000 }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: path.dirname(file),
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      SHIPLINE_LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const measured = JSON.parse(stdout) as { wallMs: unknown; cpuMs: unknown };
  const { wallMs, cpuMs } = measured;
  if (typeof wallMs !== 'number' || typeof cpuMs !== 'number')
    throw new Error(`importing ${file} printed ${JSON.stringify(stdout)}`);
  return { wallMs, cpuMs };
};

/**
 * Bundles every handler in `functions/` as it is deployed (minified ESM, SDK bundled) and measures, per
 * bundle, its size and the median cold import time over fresh Node processes.
 */
export async function measureBundles(extraEntries: readonly string[] = []): Promise<BundleMeasure[]> {
  const functionsDir = path.join(root, 'functions');
  const entries = [
    ...readdirSync(functionsDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
      .map((entry) => path.join(functionsDir, entry.name))
      .sort(),
    ...extraEntries,
  ];
  const outdir = mkdtempSync(path.join(tmpdir(), 'shipline-bundles-'));
  try {
    await build({
      ...deployedBuildOptions(),
      // Named entry points: every bundle lands flat in outdir as `<name>.mjs`, wherever its source is.
      entryPoints: Object.fromEntries(entries.map((entry) => [path.basename(entry, '.ts'), entry])),
      outdir,
      outExtension: { '.js': '.mjs' },
      logLevel: 'error',
    });
    const files = entries.map((entry) => {
      const fn = path.basename(entry, '.ts');
      return { fn, file: path.join(outdir, `${fn}.mjs`), times: [] as number[], cpuTimes: [] as number[] };
    });
    // Round-robin over the bundles, so a burst of load on the machine hits all of them alike.
    for (let run = 0; run < RUNS; run += 1) {
      for (const bundle of files) {
        const { wallMs, cpuMs } = await coldImport(bundle.file);
        bundle.times.push(wallMs);
        bundle.cpuTimes.push(cpuMs);
      }
    }
    const tenths = (ms: number): number => Math.round(ms * 10) / 10;
    return files.map(({ fn, file, times, cpuTimes }) => ({
      fn,
      bytes: statSync(file).size,
      coldImportMs: tenths(median(times)),
      coldImportMinMs: tenths(Math.min(...times)),
      coldImportCpuMs: tenths(median(cpuTimes)),
    }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const printTable = (measures: BundleMeasure[]): void => {
  const rows = [
    ['function', 'bundle', `cold import (median of ${RUNS})`, 'fastest', 'CPU (median)'],
    ...measures.map((m) => [
      m.fn,
      `${(m.bytes / 1024).toFixed(0)} KB`,
      `${m.coldImportMs.toFixed(1)} ms`,
      `${m.coldImportMinMs.toFixed(1)} ms`,
      `${m.coldImportCpuMs.toFixed(1)} ms`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
};

/** The one-client baseline (bench/baseline-one-client.ts), measured alongside the functions. */
export const BASELINE_ENTRY = path.join(root, 'bench/baseline-one-client.ts');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const measures = await measureBundles([BASELINE_ENTRY]);
  printTable(measures);
  const baseline = measures.find((m) => m.fn === path.basename(BASELINE_ENTRY, '.ts'));
  if (baseline)
    for (const m of measures)
      if (m !== baseline)
        process.stdout.write(
          `${m.fn}: ${(m.coldImportMs / baseline.coldImportMs).toFixed(2)}x the baseline (fastest ${(m.coldImportMinMs / baseline.coldImportMinMs).toFixed(2)}x, CPU ${(m.coldImportCpuMs / baseline.coldImportCpuMs).toFixed(2)}x)\n`,
        );
}
