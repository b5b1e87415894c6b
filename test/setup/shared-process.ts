/**
 * Runs before each file of a project whose files share a process (`isolate: false` in vitest.config.ts).
 *
 * Some files put back the environment they saved with `process.env = saved`: that leaves a plain object in
 * place of Node's environment, which the next file in the process then writes to without effect on what
 * Node reads natively (`os.tmpdir()` reads TMPDIR from the real environment). The real environment is put
 * back here, holding what the plain object held, so each file starts as it would in a process of its own.
 */
const realEnvKey = Symbol.for('shipline.test.realEnv');
const holder = globalThis as unknown as Record<symbol, NodeJS.ProcessEnv | undefined>;
holder[realEnvKey] ??= process.env;
const real = holder[realEnvKey];
if (process.env !== real) {
  const current = process.env;
  for (const name of Object.keys(real)) if (!(name in current)) delete real[name];
  for (const [name, value] of Object.entries(current)) if (value !== undefined) real[name] = value;
  process.env = real;
}
