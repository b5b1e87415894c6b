/**
 * State that belongs to one Lambda execution environment: SDK clients (each holds its retry quota),
 * caches of secrets, counters. On AWS a module instance is an execution environment, so such state is a
 * plain lazy module-level value. The sandbox imports each handler module once per process and runs every
 * simulated execution environment of every world through it: it installs a key source naming the
 * environment the caller runs in, and each environment then gets a value of its own, built on its first
 * use (a cold start starts empty, as on AWS).
 */

/** Names the execution environment the caller runs in; undefined outside any simulated environment. */
export type EnvironmentKeySource = () => object | undefined;

let keySource: EnvironmentKeySource | undefined;

/**
 * Installs the source asked for the current execution environment on every read (the sandbox's; nothing
 * in Lambda). `undefined` removes it: every value is then the module's own.
 */
export const useEnvironmentKeySource = (next: EnvironmentKeySource | undefined): void => {
  keySource = next;
};

/**
 * A value built on first use, once per execution environment. Without a key source (in Lambda) it is one
 * lazy value per module; with the sandbox's, one per simulated environment, held weakly (a reclaimed
 * environment's values go with it). A read costs one WeakMap lookup.
 */
export const perEnvironment = <T>(build: () => T): (() => T) => {
  let own: { value: T } | undefined;
  const byEnvironment = new WeakMap<object, { value: T }>();
  return () => {
    const key = keySource?.();
    if (key === undefined) {
      own ??= { value: build() };
      return own.value;
    }
    let entry = byEnvironment.get(key);
    if (!entry) {
      entry = { value: build() };
      byEnvironment.set(key, entry);
    }
    return entry.value;
  };
};
