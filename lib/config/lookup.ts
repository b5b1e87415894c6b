import { readFileSync } from 'node:fs';
import { parseDurationSeconds } from '../duration.ts';
import { ConfigError, UnknownServiceError } from '../errors.ts';
import type { EcsAlbTargetConfig, ServiceConfig, ShiplineConfig } from './schema.ts';

/**
 * Config lookups for the functions. The functions load the config as the JSON that packaging wrote after
 * validating `shipline.yml` against the schema, so neither the YAML parser nor the config schema is in
 * their bundles.
 */

const bundled = new Map<string, ShiplineConfig>();

/** Loads the packaged config (`shipline.json`), once per container. */
export const loadBundledConfig = (path: string): ShiplineConfig => {
  const cached = bundled.get(path);
  if (cached) return cached;
  let config: ShiplineConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as ShiplineConfig;
  } catch (error) {
    throw new ConfigError(`cannot read the packaged config ${path}: ${(error as Error).message}`, [], {
      cause: error,
    });
  }
  if (config?.version !== 1 || typeof config.services !== 'object' || config.services === null) {
    throw new ConfigError(
      `${path} is not a packaged Shipline config (version 1 with services); run the package step again`,
    );
  }
  bundled.set(path, config);
  return config;
};

/**
 * Finds a declared service by a name that came from a user or an event. Own properties only: a name such
 * as `constructor` or `__proto__` must not resolve to something inherited from `Object.prototype`.
 */
export const findService = (config: ShiplineConfig, service: string): ServiceConfig | undefined =>
  Object.hasOwn(config.services, service) ? config.services[service] : undefined;

/** Looks up a declared service, or throws `UnknownServiceError` naming the declared ones. */
export const serviceConfig = (config: ShiplineConfig, service: string): ServiceConfig => {
  const found = findService(config, service);
  if (!found) throw new UnknownServiceError(service, Object.keys(config.services));
  return found;
};

/** Finds the service released by pushes to an ECR repository. */
export const serviceForRepository = (
  config: ShiplineConfig,
  repository: string,
): { name: string; service: ServiceConfig } | undefined => {
  for (const [name, service] of Object.entries(config.services)) {
    if (service.image.repository === repository) return { name, service };
  }
  return undefined;
};

/**
 * The rollback window after promotion, in seconds: `rollbackWindow`, else the scale-down delay (the old
 * slot is warm that long anyway), at least 1 s (a Step Functions task timeout must be positive).
 */
export const rollbackWindowSecondsOf = (
  target: Pick<EcsAlbTargetConfig, 'rollbackWindow' | 'scaleDownDelay'>,
): number =>
  Math.max(
    1,
    parseDurationSeconds(target.rollbackWindow ?? target.scaleDownDelay) ??
      parseDurationSeconds(target.scaleDownDelay) ??
      900,
  );

/** How long the new version may take to become ready, in seconds (`target.steadyTimeout`). */
export const steadyTimeoutSecondsOf = (target: Pick<EcsAlbTargetConfig, 'steadyTimeout'>): number =>
  Math.max(1, parseDurationSeconds(target.steadyTimeout) ?? 1200);

/** How long the old version stays warm after promotion, in seconds (`target.scaleDownDelay`). */
export const scaleDownDelaySecondsOf = (target: Pick<EcsAlbTargetConfig, 'scaleDownDelay'>): number =>
  parseDurationSeconds(target.scaleDownDelay) ?? 900;
