import type { TimelineEntry } from './aws/services.ts';
import { formatOffset, type ScenarioResult } from './run-scenario.ts';

/** The few styles the CLI uses: ANSI SGR codes (on, off). */
const STYLES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  bold: [1, 22],
} as const;

/** A style name; `Paint` applies one to a piece of text. */
export type Style = keyof typeof STYLES;

/** Styles text for a terminal, or leaves it as is: the CLI picks one per run (NO_COLOR, `--no-color`, TTY). */
export type Paint = (style: Style, text: string) => string;

/** Leaves text untouched: the default, so output is plain unless the caller decided colour is wanted. */
export const plain: Paint = (_style, text) => text;

/** Wraps text in ANSI escape codes. */
export const ansi: Paint = (style, text) => `\u001b[${STYLES[style][0]}m${text}\u001b[${STYLES[style][1]}m`;

const KIND_STYLES: Partial<Record<TimelineEntry['kind'], Style>> = {
  fault: 'red',
  alarm: 'yellow',
  retry: 'yellow',
  execution: 'bold',
};

const OUTCOME_STYLES: Record<string, Style> = { promoted: 'green', rolled_back: 'red', failed: 'red' };

/** The word the text output prints for each kind of timeline entry. */
export const KIND_LABELS: Record<TimelineEntry['kind'], string> = {
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
  retry: 'retry',
};

/** One timeline line: `+00:05:00  traffic  blue 95% / green 5%` (`[payments p2] ...` with several services). */
export const formatEntry = (
  entry: TimelineEntry,
  start: number,
  label: (execution?: string) => string,
  paint: Paint = plain,
): string => {
  // The service is named only when set: the runner sets it in worlds of several services.
  const release = [entry.service, entry.execution ? label(entry.execution) : undefined].filter(Boolean);
  const who = release.length > 0 ? `[${release.join(' ')}] ` : '';
  const kind = KIND_LABELS[entry.kind].padEnd(7);
  const style = KIND_STYLES[entry.kind];
  return `${formatOffset((entry.at - start) / 1000)}  ${style ? paint(style, kind) : kind}  ${who}${entry.text}`;
};

/** The Slack workspace at the end of a run: each thread's root and replies, each click's answer. */
const formatSlack = (slack: NonNullable<ScenarioResult['slack']>): string[] => {
  const lines = [`Slack:           ${slack.threads.length} thread${slack.threads.length === 1 ? '' : 's'}`];
  for (const thread of slack.threads) {
    const broadcasts = thread.replies.filter((reply) => reply.broadcast).length;
    const state = thread.root.split('\n').find((_line, index, all) => all[index - 1] === '*State*') ?? '';
    lines.push(
      `  ${thread.channel} ${thread.ts}: ${thread.root.split('\n')[0]}, ${state.replace(/^:[a-z_]+: /, '')}; ${thread.replies.length} replies (${broadcasts} also in the channel), root updated ${thread.updates} times`,
    );
  }
  for (const [refusal, count] of Object.entries(slack.refusals))
    lines.push(`  refused ${count}x: ${refusal}`);
  for (const click of slack.clicks)
    lines.push(
      `  ${formatOffset(click.t)}  ${click.user} clicks ${click.button}${click.signed === true ? '' : ` (${click.signed === false ? 'forged' : click.signed})`}: ${click.status}${click.body ? ` ${click.body}` : ''} in ${click.ms} ms${click.told.length > 0 ? `; told: ${click.told.join(' / ')}` : ''}`,
    );
  return lines;
};

/** The closing summary of a run, for people. */
export const formatSummary = (result: ScenarioResult, paint: Paint = plain): string => {
  const outcome = result.outcome.toUpperCase();
  const outcomeStyle = OUTCOME_STYLES[result.outcome] ?? 'yellow';
  const lines = [
    '',
    `Scenario:        ${result.scenario}`,
    `Outcome:         ${paint(outcomeStyle, outcome)}${result.reason ? ` (${result.reason})` : ''}`,
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
    ...(result.detectionSeconds !== null
      ? [
          `Detected after:  ${result.detectionSeconds}s (virtual) from regression onset; ${result.exposedRequests} requests served by the regressed version`,
        ]
      : []),
    `Virtual time:    ${formatOffset(result.virtualSeconds)}   wall: ${result.wallMs} ms`,
    `Seed:            ${result.seed}   (repeat with --seed ${result.seed})`,
  ];
  const services = Object.entries(result.services ?? {});
  if (services.length > 1) {
    lines.push('Services:');
    for (const [name, service] of services) {
      const style = OUTCOME_STYLES[service.outcome] ?? 'yellow';
      lines.push(
        `  ${name.padEnd(14)} ${paint(style, service.outcome.toUpperCase())}  ${service.fromVersion ?? '?'} -> ${service.toVersion ?? '?'}, serving ${service.servingVersion ?? 'SPLIT'}${service.reason ? ` (${service.reason})` : ''}`,
      );
    }
  }
  if (result.slack) lines.push(...formatSlack(result.slack));
  if (result.unusedFaults.length > 0)
    lines.push(
      `Unused faults:   ${paint('yellow', `${result.unusedFaults.length} never applied`)}`,
      ...result.unusedFaults.map((text) => `  - ${text}`),
    );
  if (result.expectations) {
    lines.push(
      result.expectations.passed
        ? `Expectations:    ${paint('green', 'all met')}`
        : `Expectations:    ${paint('red', 'FAILED')}\n${result.expectations.failures.map((f) => `  - ${f}`).join('\n')}`,
    );
  }
  return lines.join('\n');
};
