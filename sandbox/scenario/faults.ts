import path from 'node:path';
import { parseDurationSeconds } from '../../lib/duration.ts';
import { PIPELINE_COMMANDS } from '../iam/resources.ts';
import { readYamlFile } from '../yaml-file.ts';
import { didYouMean } from './did-you-mean.ts';
import type { Scenario } from './schema.ts';

export { didYouMean };

type AslStates = Record<
  string,
  { Type?: string; Branches?: unknown[]; ItemProcessor?: unknown; Iterator?: unknown }
>;

/** Every state of an ASL document with its Type, those inside Parallel branches and Map processors included. */
const statesOf = (asl: unknown): Array<[name: string, type: string]> => {
  const states = (asl as { States?: AslStates } | undefined)?.States ?? {};
  return Object.entries(states).flatMap(
    ([name, state]): Array<[string, string]> => [
      [name, state.Type ?? ''],
      ...(state.Branches ?? []).flatMap(statesOf),
      ...statesOf(state.ItemProcessor ?? state.Iterator),
    ],
  );
};

/** Every state name of an ASL document, those inside Parallel branches and Map processors included. */
export const stateNamesOf = (asl: unknown): string[] => statesOf(asl).map(([name]) => name);

/** The Task states of an ASL document: the only states whose invocation a fault can fail. */
export const taskStateNamesOf = (asl: unknown): string[] =>
  statesOf(asl)
    .filter(([, type]) => type === 'Task')
    .map(([name]) => name);

/**
 * What a misspelt command most likely means: `dynamodb:PutItem` (an IAM action) and `PutItemCommand` (the
 * SDK class) both name PutItem, which is how a fault names it.
 */
const bareCommand = (command: string): string =>
  command
    .trim()
    .replace(/^[a-z0-9-]+:/, '')
    .replace(/Command$/, '');

/** Every alarm the world declares, with where: the shorthand's (`world.alarms`) and each service's. */
const declaredAlarms = (scenario: Scenario): Array<{ name: string; path: string }> => [
  ...scenario.world.alarms.map((alarm, index) => ({ name: alarm.name, path: `world.alarms[${index}]` })),
  ...Object.entries(scenario.world.services).flatMap(([service, state]) =>
    state.alarms.map((alarm, index) => ({
      name: alarm.name,
      path: `world.services.${service}.alarms[${index}]`,
    })),
  ),
];

/**
 * The alarms a scenario names: each declared once in the world (an account and Region hold one alarm of a
 * name; PutMetricAlarm with a taken name replaces that alarm, so the second would silently win), and each
 * alarm event naming a declared alarm that an earlier event has not deleted (SetAlarmState and DeleteAlarms
 * on a deleted alarm fail with ResourceNotFound).
 */
const alarmNameProblems = (scenario: Scenario): string[] => {
  const problems: string[] = [];
  const declared = declaredAlarms(scenario);
  const firstPath = new Map<string, string>();
  for (const alarm of declared) {
    const earlier = firstPath.get(alarm.name);
    if (earlier === undefined) firstPath.set(alarm.name, alarm.path);
    else
      problems.push(
        `${alarm.path}.name: alarm "${alarm.name}" is already declared at ${earlier} (an account and Region hold one alarm of a name)`,
      );
  }
  const names = [...firstPath.keys()];
  const where =
    Object.keys(scenario.world.services).length === 0
      ? 'under world.alarms'
      : 'in the world (world.alarms, world.services.<service>.alarms)';
  // Events run in time order, those at the same time in file order.
  const alarmEvents = scenario.events
    .map((event, index) => ({ event, index, at: parseDurationSeconds(event.at) ?? 0 }))
    .filter((entry) => 'alarm' in entry.event)
    .sort((a, b) => a.at - b.at || a.index - b.index);
  const deletedBy = new Map<string, number>();
  for (const { event, index } of alarmEvents) {
    if (!('alarm' in event)) continue;
    const name = event.alarm.name;
    if (!firstPath.has(name)) {
      problems.push(
        `events[${index}].alarm.name: alarm "${name}" is not declared ${where}${didYouMean(name, names)}`,
      );
      continue;
    }
    const deleter = deletedBy.get(name);
    if (deleter !== undefined)
      problems.push(
        `events[${index}].alarm.name: alarm "${name}" is already deleted by events[${deleter}] (SetAlarmState and DeleteAlarms on a deleted alarm fail with ResourceNotFound)`,
      );
    else if (event.alarm.delete) deletedBy.set(name, index);
  }
  // An expected alarm change is written as the timeline shows it; another shape, or an alarm the world
  // does not declare, could never be met.
  scenario.expect?.alarmChanges?.forEach((change, index) => {
    const match = ALARM_CHANGE.exec(change);
    const name = match?.[1] ?? match?.[2];
    if (name === undefined)
      problems.push(
        `expect.alarmChanges[${index}]: "${change}" is no alarm change: write NAME FROM -> TO (states OK, ALARM, INSUFFICIENT_DATA) or NAME deleted`,
      );
    else if (!firstPath.has(name))
      problems.push(
        `expect.alarmChanges[${index}]: alarm "${name}" is not declared ${where}${didYouMean(name, names)}`,
      );
  });
  return problems;
};

/** `NAME FROM -> TO` or `NAME deleted`, as the timeline shows an alarm change. */
const ALARM_CHANGE =
  /^(?:(.+) (?:OK|ALARM|INSUFFICIENT_DATA) -> (?:OK|ALARM|INSUFFICIENT_DATA)|(.+) deleted)$/;

/**
 * What a scenario names that does not exist, one message per mistake, each with its path: a fault on a
 * state the state machine does not have or an AWS command the pipeline never sends (it could never fire,
 * so the scenario would pass for the wrong reason), an alarm declared twice, an alarm event on an alarm the
 * world does not declare (by any of its services) or that an earlier event deleted.
 */
export const unknownNames = (
  scenario: Scenario,
  stateNames: readonly string[],
  taskStateNames: readonly string[] = stateNames,
): string[] => {
  const problems: string[] = [];
  scenario.faults.forEach((fault, index) => {
    if ('command' in fault) {
      const command = fault.command;
      if (!PIPELINE_COMMANDS.includes(command))
        problems.push(
          `faults[${index}].command: the pipeline never sends "${fault.command}"${didYouMean(bareCommand(command), PIPELINE_COMMANDS)}; it sends ${PIPELINE_COMMANDS.join(', ')}`,
        );
    } else if (!stateNames.includes(fault.state)) {
      problems.push(
        `faults[${index}].state: the state machine has no state "${fault.state}"${didYouMean(fault.state, stateNames)}`,
      );
    } else if (!taskStateNames.includes(fault.state)) {
      // A fault fails a Task's invocation: on a Choice, Pass or Wait state it could never fire.
      problems.push(
        `faults[${index}].state: "${fault.state}" is not a Task state, so no invocation of it can fail${didYouMean(fault.state, taskStateNames)}`,
      );
    }
  });
  problems.push(...alarmNameProblems(scenario));
  return problems;
};

/** Refuses (as one message, each mistake on its line) a scenario naming states, commands or alarms that do not exist. */
export const checkNames = (scenario: Scenario, repositoryRoot: string): string | undefined => {
  const asl = readYamlFile(path.join(repositoryRoot, 'statemachines/release.asl.yaml'));
  const unknown = unknownNames(scenario, stateNamesOf(asl), taskStateNamesOf(asl));
  return unknown.length > 0 ? `scenario is invalid:\n  ${unknown.join('\n  ')}` : undefined;
};
