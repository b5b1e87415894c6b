import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseArn } from '@aws-sdk/util-arn-parser';
import * as z from 'zod';
import { describeIssues } from '../../lib/config/issues.ts';
import { findService, parseConfigText } from '../../lib/config/load.ts';
import { type ServiceConfig, type ShiplineConfig, shiplineConfigSchema } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { Scenario, ServiceWorldState } from '../scenario/schema.ts';
import { splitCommandLine } from './cli.ts';
import { ScenarioError } from './errors.ts';
import { commandsGiven } from './schedule.ts';

/** The config as `serverless package` writes it, and where the functions load it from. */
export interface PackagedConfig {
  config: ShiplineConfig;
  configPath: string;
  /** The package's root, the functions' task root (Lambda's /var/task): the config is in it. */
  taskRoot: string;
  /**
   * The shipline.yml a person's terminal names (SHIPLINE_CONFIG, read by validate, plan and status): the
   * scenario's config file, or its inline config as written, in the package's directory. Never the packaged
   * JSON, which is the config after defaults and normalisation, not what a person writes.
   */
  sourcePath: string;
}

/**
 * What `serverless package` does: the validated config written as the JSON the functions load, where the
 * shipline-config plugin puts it in the package (`.shipline/shipline.json`, serverless/shipline-config.cjs).
 */
const packaged = (config: ShiplineConfig, source: { file: string } | { inline: unknown }): PackagedConfig => {
  const taskRoot = mkdtempSync(path.join(tmpdir(), 'shipline-'));
  mkdirSync(path.join(taskRoot, '.shipline'));
  const configPath = path.join(taskRoot, '.shipline', 'shipline.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  let sourcePath: string;
  if ('file' in source) sourcePath = source.file;
  else {
    // JSON is YAML: the inline config as the scenario wrote it, removed with the package.
    mkdirSync(path.join(taskRoot, 'operator'));
    sourcePath = path.join(taskRoot, 'operator', 'shipline.yml');
    writeFileSync(sourcePath, `${JSON.stringify(source.inline, null, 2)}\n`);
  }
  return { config, configPath, taskRoot, sourcePath };
};

/** An inline config as a field of the scenario: its issues' paths start at `config`. */
const inlineConfigSchema = z.object({ config: shiplineConfigSchema });

/**
 * The file each scenario read from a file came from, and where its fields are in it (set by loadScenario),
 * so a mistake found after parsing, in its inline config, is located as the scenario's own are.
 */
export const scenarioSources = new WeakMap<
  Scenario,
  { file: string; locate: (path: readonly PropertyKey[]) => string | undefined }
>();

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
      return packaged(parseConfigText(text, configPath), { file: configPath });
    }
    // The config is part of the scenario: each issue names its path from the scenario's root, and where
    // it is in the scenario's file when the scenario was read from one.
    const result = inlineConfigSchema.safeParse({ config: scenario.config });
    if (!result.success) {
      const source = scenarioSources.get(scenario);
      throw new ScenarioError(
        `${source?.file ?? 'scenario'} is invalid:\n  ${describeIssues(result.error, source?.locate).join('\n  ')}`,
      );
    }
    return packaged(result.data.config, { inline: scenario.config });
  } catch (error) {
    if (error instanceof ConfigError) throw new ScenarioError(error.message);
    throw error;
  }
};

/** One service of the world: as the config declares it, and its state at the start. */
export interface ServicePlan {
  name: string;
  declared: ServiceConfig;
  state: ServiceWorldState;
  /** Where the scenario describes it (`world` for the shorthand, `world.services.<name>`), for errors. */
  path: string;
}

/** The scenario's cross-references resolved: its own (default) service, and every service of the world. */
export interface ValidatedScenario {
  serviceName: string;
  declared: ServiceConfig;
  /** Every service the world holds, the scenario's own first, then in `world.services` order. */
  services: Map<string, ServicePlan>;
}

/** Shorthand fields that only mean something with `world.serving`: set without it, they would be ignored. */
const SHORTHAND_ONLY = [
  'alarms',
  'taskDefinitionTags',
  'idleServing',
  'weights',
  'lock',
  'history',
  'testRoute',
  'deploymentConfiguration',
] as const;

const declaredVersion = (scenario: Scenario, version: string, where: string): void => {
  // Own keys only: a version named `constructor` must not resolve to Object's.
  if (!Object.hasOwn(scenario.versions, version))
    throw new ScenarioError(`${where}: version "${version}" is not declared under versions`);
};

const isSet = (value: unknown): boolean =>
  value !== undefined &&
  !(Array.isArray(value) && value.length === 0) &&
  !(typeof value === 'object' && value !== null && Object.keys(value).length === 0);

/**
 * A service's earlier releases must describe the world they lead to: listed oldest first (the newest
 * promoted one is what the pipeline's service state records), and the newest promoted release is of the
 * version the stable slot serves (the pipeline would otherwise report releases from a version that is not
 * serving).
 */
const historyProblem = (plan: ServicePlan): void => {
  const history = plan.state.history;
  const agoSeconds = history.map((entry) => parseDurationSeconds(entry.ago) ?? 0);
  agoSeconds.forEach((ago, index) => {
    const before = agoSeconds[index - 1];
    if (before !== undefined && ago > before)
      throw new ScenarioError(
        `${plan.path}.history[${index}].ago: ${history[index]?.ago} ago is before history[${index - 1}] (${history[index - 1]?.ago} ago); list earlier releases oldest first`,
      );
  });
  // A release id is the record's key in the release table: a second record of the same id would silently
  // replace the first.
  const firstIndex = new Map<string, number>();
  history.forEach((entry, index) => {
    // The id the record gets: its own, else history-<index>.
    const id = entry.releaseId ?? `history-${index}`;
    const earlier = firstIndex.get(id);
    if (earlier !== undefined)
      throw new ScenarioError(
        `${plan.path}.history[${index}]${entry.releaseId === undefined ? '' : '.releaseId'}: "${id}" is already the id of history[${earlier}] (the release table holds one record per release id)`,
      );
    firstIndex.set(id, index);
  });
  const newest = history.findLastIndex((entry) => entry.status === 'promoted');
  const promoted = history[newest];
  if (promoted && promoted.toVersion !== plan.state.serving)
    throw new ScenarioError(
      `${plan.path}.history[${newest}].toVersion: the newest promoted release is of ${promoted.toVersion}, but ${plan.path}.serving is ${plan.state.serving} (the stable slot serves what the last promotion released)`,
    );
};

/** Scenarios whose world did not name its account or Region (each took the schema's default). */
export const unnamedPlacement = new WeakMap<Scenario, { account: boolean; region: boolean }>();

/**
 * A world that names no account or Region is the one its config's load balancers are in, when they agree:
 * a team simulating its own shipline.yml need not repeat them. A world that names them is held to them
 * (placementProblem).
 */
export const adoptConfigPlacement = (scenario: Scenario, config: ShiplineConfig): void => {
  const unnamed = unnamedPlacement.get(scenario);
  if (!unnamed || (!unnamed.account && !unnamed.region)) return;
  const places = new Set<string>();
  for (const service of Object.values(config.services)) {
    const target = service.target as { listenerRuleArn?: unknown; targetGroupArn?: unknown };
    const text = typeof target.listenerRuleArn === 'string' ? target.listenerRuleArn : target.targetGroupArn;
    if (typeof text !== 'string') continue;
    try {
      const arn = parseArn(text);
      places.add(`${arn.accountId}\u0000${arn.region}`);
    } catch {
      // the config's schema refused it already
    }
  }
  const [only] = places;
  if (places.size !== 1 || only === undefined) return;
  const [account = '', region = ''] = only.split('\u0000');
  if (unnamed.account) scenario.world.account = account;
  if (unnamed.region) scenario.world.region = region;
};

/**
 * The world is the account and Region the pipeline is deployed in, and its functions' clients call that
 * Region's endpoints with that account's roles: a service whose load balancer the config places in another
 * account or Region names resources the world does not hold (the sandbox would seed them all the same).
 */
const placementProblem = (plan: ServicePlan, world: Scenario['world']): void => {
  const target = plan.declared.target as { listenerRuleArn?: unknown; targetGroupArn?: unknown };
  const field = typeof target.listenerRuleArn === 'string' ? 'listenerRuleArn' : 'targetGroupArn';
  const text = target[field];
  if (typeof text !== 'string') return;
  let arn: { region: string; accountId: string };
  try {
    arn = parseArn(text);
  } catch {
    return; // the config's schema refused it already
  }
  const where = `services.${plan.name}.target.${field} (in the config)`;
  if (arn.region !== world.region)
    throw new ScenarioError(
      `world.region: the world is ${world.region}, but ${where} is in ${arn.region}: set world.region to the Region of the service's load balancer`,
    );
  if (arn.accountId !== world.account)
    throw new ScenarioError(
      `world.account: the world is account ${world.account}, but ${where} is in account ${arn.accountId}: set world.account to the account of the service's load balancer`,
    );
};

/**
 * Fields that describe another kind of target than the service's would be ignored: slots, their weights and
 * a test route on a rolling service (one ECS service behind one target group), an ECS deployment
 * configuration on a blue/green service (each slot's service is created by the team, and the pipeline only
 * updates its task definition and count).
 */
const targetKindProblem = (plan: ServicePlan): void => {
  const { state, path: where, name } = plan;
  if (plan.declared.target.type === 'ecs-rolling') {
    const slotted = [
      ...(state.weights !== undefined ? ['weights'] : []),
      ...(state.idleServing !== undefined ? ['idleServing'] : []),
      ...(state.stableSlot !== 'blue' ? ['stableSlot'] : []),
      ...(state.testRoute !== undefined ? ['testRoute'] : []),
      ...(state.listenerRule.authenticate !== undefined ? ['listenerRule.authenticate'] : []),
    ];
    const [first] = slotted;
    if (first !== undefined)
      throw new ScenarioError(
        `${where}.${first}: ${name} is a rolling service (target ecs-rolling: one ECS service, no slots); ${slotted.join(', ')} describe${slotted.length === 1 ? 's' : ''} only a blue/green service (target ecs-alb)`,
      );
  } else if (state.deploymentConfiguration !== undefined)
    throw new ScenarioError(
      `${where}.deploymentConfiguration: ${name} is a blue/green service (target ${plan.declared.target.type}: two slots); deploymentConfiguration describes a rolling service's ECS deployment`,
    );
};

/**
 * A person stops the release execution of a version: one the scenario never pushed nor requested for that
 * service by then could not be running. (Raw events and shipline commands may start any version: with
 * them, only the run can tell.)
 */
const stopProblems = (scenario: Scenario, serviceName: string): void => {
  const opaque =
    'event' in scenario.trigger ||
    'cli' in scenario.trigger ||
    scenario.events.some((event) => 'event' in event || 'cli' in event);
  if (opaque) return;
  const seconds = (at: string | number) => parseDurationSeconds(at) ?? 0;
  const releases = [
    ...('push' in scenario.trigger ? [{ at: 0, ...scenario.trigger.push }] : []),
    ...('manual' in scenario.trigger ? [{ at: 0, ...scenario.trigger.manual }] : []),
    ...scenario.events.flatMap((event) =>
      'push' in event
        ? [{ at: seconds(event.at), ...event.push }]
        : 'manual' in event
          ? [{ at: seconds(event.at), ...event.manual }]
          : [],
    ),
  ];
  scenario.events.forEach((event, index) => {
    if (!('stop' in event)) return;
    const service = event.stop.service ?? serviceName;
    const released = releases.some(
      (release) =>
        release.version === event.stop.version &&
        (release.service ?? serviceName) === service &&
        release.at < seconds(event.at),
    );
    if (!released)
      throw new ScenarioError(
        `events[${index}].stop.version: no release of ${event.stop.version} of ${service} can run at ${event.at}: nothing pushes or requests it before then`,
      );
  });
};

/**
 * Checks the scenario's cross-references against the config: its services (each with one initial state,
 * from `world.services` or the single-service shorthand, never both), and every version it names.
 */
export const validateScenario = (scenario: Scenario, config: ShiplineConfig): ValidatedScenario => {
  const serviceName = scenario.service ?? Object.keys(config.services)[0];
  const declared = serviceName ? findService(config, serviceName) : undefined;
  if (!serviceName || !declared)
    throw new ScenarioError(`service: "${scenario.service}" is not declared in the config`);
  const world = scenario.world;
  const services = new Map<string, ServicePlan>();
  if (world.serving !== undefined) {
    if (Object.hasOwn(world.services, serviceName))
      throw new ScenarioError(
        `world.services.${serviceName}: the scenario's service ${serviceName} is already described by world.serving (the single-service shorthand); describe it in one place`,
      );
    const {
      start: _s,
      account: _a,
      region: _r,
      ecsDeploySeconds: _e,
      dropEvents: _d,
      services: _x,
      functions: _f,
      ...state
    } = world;
    services.set(serviceName, {
      name: serviceName,
      declared,
      state: { ...state, serving: world.serving },
      path: 'world',
    });
  } else {
    if (!Object.hasOwn(world.services, serviceName))
      throw new ScenarioError(
        `world.serving: the scenario's service ${serviceName} has no initial state: set world.serving, or describe it under world.services.${serviceName}`,
      );
    const stray = SHORTHAND_ONLY.find((field) => isSet(world[field]));
    if (stray)
      throw new ScenarioError(
        `world.${stray}: shorthand fields describe the scenario's service only with world.serving; put them under world.services.${serviceName}`,
      );
  }
  for (const [name, state] of Object.entries(world.services)) {
    const service = findService(config, name);
    if (!service)
      throw new ScenarioError(`world.services.${name}: service "${name}" is not declared in the config`);
    services.set(name, { name, declared: service, state, path: `world.services.${name}` });
  }
  // The operator works in the world's account (the policy it is given is an identity policy there).
  const operatorArn = world.operator?.arn;
  if (operatorArn !== undefined && operatorArn.split(':')[4] !== world.account)
    throw new ScenarioError(
      `world.operator.arn: ${operatorArn} is of account ${operatorArn.split(':')[4]}, but the world is account ${world.account}`,
    );
  for (const plan of services.values()) {
    targetKindProblem(plan);
    placementProblem(plan, world);
    declaredVersion(scenario, plan.state.serving, `${plan.path}.serving`);
    if (plan.state.idleServing !== undefined)
      declaredVersion(scenario, plan.state.idleServing, `${plan.path}.idleServing`);
    historyProblem(plan);
    const idle = plan.state.stableSlot === 'blue' ? 'green' : 'blue';
    const idleWeight = plan.state.weights?.[idle] ?? 0;
    if (idleWeight > 0 && plan.state.idleServing === undefined)
      throw new ScenarioError(
        `${plan.path}.weights: the idle slot ${idle} gets ${idleWeight}% but runs no task; set ${plan.path}.idleServing`,
      );
  }
  const references: Array<{ where: string; version: string; service?: string }> = [
    ...('push' in scenario.trigger ? [{ where: 'trigger.push', ...scenario.trigger.push }] : []),
    ...('manual' in scenario.trigger ? [{ where: 'trigger.manual', ...scenario.trigger.manual }] : []),
    ...scenario.events.flatMap((event, index) =>
      'push' in event
        ? [{ where: `events[${index}].push`, ...event.push }]
        : 'manual' in event
          ? [{ where: `events[${index}].manual`, ...event.manual }]
          : 'stop' in event
            ? [{ where: `events[${index}].stop`, ...event.stop }]
            : [],
    ),
  ];
  for (const reference of references) {
    declaredVersion(scenario, reference.version, `${reference.where}.version`);
    if (reference.service !== undefined && !services.has(reference.service))
      throw new ScenarioError(
        `${reference.where}.service: service "${reference.service}" is not in the world (describe it under world.services.${reference.service})`,
      );
  }
  if ('cli' in scenario.trigger) {
    try {
      if (splitCommandLine(scenario.trigger.cli).length === 0) throw new Error('no command');
    } catch (error) {
      throw new ScenarioError(`trigger.cli: ${(error as Error).message}`);
    }
  }
  stopProblems(scenario, serviceName);
  scenario.events.forEach((event, index) => {
    // Only an EventBridge event can be delivered again: a manual request or a command has none.
    if ('duplicate' in event && !('push' in scenario.trigger || 'event' in scenario.trigger))
      throw new ScenarioError(
        `events[${index}].duplicate: the trigger is ${'manual' in scenario.trigger ? 'a manual request' : 'a shipline command'}, not an EventBridge event: there is nothing to deliver again`,
      );
    if ('cli' in event) {
      try {
        if (splitCommandLine(event.cli).length === 0) throw new Error('no command');
      } catch (error) {
        throw new ScenarioError(`events[${index}].cli: ${(error as Error).message}`);
      }
      return;
    }
    const [kind, person] =
      'approve' in event
        ? ['approve', event.approve]
        : 'abort' in event
          ? ['abort', event.abort]
          : 'click' in event
            ? ['click', event.click]
            : [];
    const where = `events[${index}].${kind}.service`;
    if (person?.service !== undefined && !services.has(person.service))
      throw new ScenarioError(
        `${where}: service "${person.service}" is not in the world (describe it under world.services.${person.service})`,
      );
  });
  for (const [name, fn] of Object.entries(world.functions)) {
    if (fn.service !== undefined && !services.has(fn.service))
      throw new ScenarioError(
        `world.functions.${name}.service: service "${fn.service}" is not in the world (describe it under world.services.${fn.service})`,
      );
    for (const version of Object.keys(fn.answers))
      declaredVersion(scenario, version, `world.functions.${name}.answers`);
  }
  // An expectation of a command nobody gives could never be met: name one by its time or its exact text.
  const given = commandsGiven(scenario, serviceName);
  scenario.expect?.cli?.forEach((expected, index) => {
    const at = expected.at === undefined ? undefined : parseDurationSeconds(expected.at);
    if (
      given.some(
        (each) =>
          (at === undefined || each.at === at) &&
          (expected.command === undefined || each.command === expected.command),
      )
    )
      return;
    const which = [
      ...(expected.at !== undefined ? [`at ${expected.at}`] : []),
      ...(expected.command !== undefined ? [`"${expected.command}"`] : []),
    ].join(' ');
    throw new ScenarioError(
      `expect.cli[${index}]: no command ${which} is given (the scenario gives ${given.map((each) => `"${each.command}" at ${each.at}s`).join(', ') || 'none'})`,
    );
  });
  // An expectation of a version the scenario does not have could never be met.
  if (scenario.expect?.servingVersion !== undefined)
    declaredVersion(scenario, scenario.expect.servingVersion, 'expect.servingVersion');
  for (const [name, expected] of Object.entries(scenario.expect?.services ?? {})) {
    if (!services.has(name))
      throw new ScenarioError(`expect.services.${name}: service "${name}" is not in the world`);
    if (expected.servingVersion !== undefined)
      declaredVersion(scenario, expected.servingVersion, `expect.services.${name}.servingVersion`);
  }
  return { serviceName, declared, services };
};
