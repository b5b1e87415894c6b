import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadScenario, REPOSITORY_ROOT } from '../sandbox/run-scenario.ts';
import type { Scenario } from '../sandbox/scenario/schema.ts';

/** A healthy canary (examples/healthy-canary.yml) with the repository's shipline.yml inline, so bench rows can vary it. */
export const healthyCanary = (): { scenario: Scenario; baseDir: string } => {
  const healthy = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));
  const config = parse(readFileSync(path.join(REPOSITORY_ROOT, 'shipline.yml'), 'utf8')) as Record<
    string,
    unknown
  >;
  return { scenario: { ...healthy.scenario, config }, baseDir: healthy.baseDir };
};

/** The scenario with every service's bake set to `bake`; `until` grows so three bakes and the scale-down fit. */
export const withBake = (scenario: Scenario, bake: string, until?: string): Scenario => {
  const config = structuredClone(scenario.config);
  if (typeof config === 'string') throw new Error('bench scenarios use an inline config');
  const services = config.services as Record<string, { strategy: { bake: string } }>;
  for (const service of Object.values(services)) service.strategy.bake = bake;
  return { ...scenario, name: `${scenario.name} (bake ${bake})`, config, ...(until ? { until } : {}) };
};

/** A deterministic image digest for a bench version label. */
export const digestOf = (label: string): string =>
  `sha256:${createHash('sha256').update(`shipline-bench:${label}`).digest('hex')}`;

/**
 * `pushes` ECR pushes of new versions arriving while the first release runs (one every 10 seconds from
 * minute 1): each newer push queues behind the lock and supersedes the one waiting before it, so the run
 * ends with the first release and the newest push promoted. `pushes: 0` is the same scenario with the
 * triggering push alone.
 */
export const queuedPushes = (scenario: Scenario, pushes: number): Scenario => {
  const versions: Scenario['versions'] = { ...scenario.versions };
  const events: Scenario['events'] = [];
  for (let i = 0; i < pushes; i += 1) {
    const label = `q${i + 1}`;
    versions[label] = { ...scenario.versions.v2, digest: digestOf(label) } as Scenario['versions'][string];
    events.push({ at: `${60 + i * 10}s`, push: { version: label } } as Scenario['events'][number]);
  }
  return {
    ...scenario,
    name: `${scenario.name} (${pushes} queued pushes)`,
    versions,
    events,
    until: '6h',
    expect: {},
  };
};
