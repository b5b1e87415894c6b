import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findService, parseConfig, parseConfigText } from '../../lib/config/load.ts';
import type { ServiceConfig, ShiplineConfig } from '../../lib/config/schema.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { Scenario } from '../scenario/schema.ts';
import { ScenarioError } from './errors.ts';

/** The config as `serverless package` writes it, and where the functions load it from. */
export interface PackagedConfig {
  config: ShiplineConfig;
  configPath: string;
}

/** What `serverless package` does: the validated config written as the JSON the functions load. */
const packaged = (config: ShiplineConfig): PackagedConfig => {
  const configPath = path.join(mkdtempSync(path.join(tmpdir(), 'shipline-')), 'shipline.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { config, configPath };
};

/** Reads (or takes inline) the scenario's shipline config and packages it; a bad config is a ScenarioError. */
export const resolveConfig = (scenario: Scenario, baseDir: string): PackagedConfig => {
  try {
    if (typeof scenario.config === 'string') {
      const configPath = path.resolve(baseDir, scenario.config);
      let text: string;
      try {
        text = readFileSync(configPath, 'utf8');
      } catch (error) {
        throw new ScenarioError(`config: cannot read ${configPath}: ${(error as Error).message}`);
      }
      return packaged(parseConfigText(text, configPath));
    }
    return packaged(parseConfig(scenario.config, 'scenario config'));
  } catch (error) {
    if (error instanceof ConfigError) throw new ScenarioError(error.message);
    throw error;
  }
};

/** The scenario's service as the config declares it, and the version it serves at the start. */
export interface ValidatedScenario {
  serviceName: string;
  declared: ServiceConfig;
  serving: Scenario['versions'][string];
}

/** Checks the scenario's cross-references (its service, every version it names) against the config. */
export const validateScenario = (scenario: Scenario, config: ShiplineConfig): ValidatedScenario => {
  const serviceName = scenario.service ?? Object.keys(config.services)[0];
  const declared = serviceName ? findService(config, serviceName) : undefined;
  if (!serviceName || !declared)
    throw new ScenarioError(`service: "${scenario.service}" is not declared in the config`);
  // Own keys only: a version named `constructor` must not resolve to Object's.
  const serving = Object.hasOwn(scenario.versions, scenario.world.serving)
    ? scenario.versions[scenario.world.serving]
    : undefined;
  if (!serving)
    throw new ScenarioError(
      `world.serving: version "${scenario.world.serving}" is not declared under versions`,
    );
  const referenced = [
    ...('push' in scenario.trigger ? [scenario.trigger.push.version] : []),
    ...('manual' in scenario.trigger ? [scenario.trigger.manual.version] : []),
    ...scenario.events.flatMap((event) =>
      'push' in event ? [event.push.version] : 'manual' in event ? [event.manual.version] : [],
    ),
  ];
  for (const version of referenced) {
    if (!Object.hasOwn(scenario.versions, version))
      throw new ScenarioError(`version "${version}" is used but not declared under versions`);
  }
  return { serviceName, declared, serving };
};
