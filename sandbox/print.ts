import type { TimelineEntry } from './aws/world.ts';
import { formatOffset, type ScenarioResult } from './run-scenario.ts';

const KIND_LABELS: Record<TimelineEntry['kind'], string> = {
  state: 'state',
  traffic: 'traffic',
  alarm: 'alarm',
  notify: 'notify',
  ecs: 'ecs',
  event: 'event',
  fault: 'FAULT',
  execution: 'end',
  lambda: 'lambda',
  metric: 'metric',
};

/** One timeline line: `+00:05:00  traffic  blue 95% / green 5%`. */
export const formatEntry = (
  entry: TimelineEntry,
  start: number,
  label: (execution?: string) => string,
): string => {
  const who = entry.execution ? `[${label(entry.execution)}] ` : '';
  return `${formatOffset((entry.at - start) / 1000)}  ${KIND_LABELS[entry.kind].padEnd(7)}  ${who}${entry.text}`;
};

/** The closing summary of a run, for people. */
export const formatSummary = (result: ScenarioResult): string => {
  const lines = [
    '',
    `Scenario:        ${result.scenario}`,
    `Outcome:         ${result.outcome.toUpperCase()}${result.reason ? ` (${result.reason})` : ''}`,
    `Service:         ${result.service}  ${result.fromVersion ?? '?'} -> ${result.toVersion ?? '?'}`,
    `Serving now:     ${result.servingVersion ?? 'SPLIT'}  (${Object.entries(result.traffic)
      .map(([slot, w]) => `${slot} ${w}%`)
      .join(', ')})`,
    `Executions:      ${result.executions.map((e) => `${e.version}: ${e.status} ${e.outcome}`).join('; ') || 'none'}`,
    `Notifications:   ${result.notifications.length}`,
    ...result.notifications.map((n) => `  ${formatOffset(n.t)}  ${n.subject}`),
    `State entered:   ${result.stateTransitions}`,
    ...(result.rollbackReactionSeconds !== null
      ? [`Rollback took:   ${result.rollbackReactionSeconds}s (virtual) after the alarm fired`]
      : []),
    `Virtual time:    ${formatOffset(result.virtualSeconds)}   wall: ${result.wallMs} ms`,
  ];
  if (result.expectations) {
    lines.push(
      result.expectations.passed
        ? 'Expectations:    all met'
        : `Expectations:    FAILED\n${result.expectations.failures.map((f) => `  - ${f}`).join('\n')}`,
    );
  }
  return lines.join('\n');
};
