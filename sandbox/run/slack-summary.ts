import { SimulatedSlack } from '../aws/slack.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { SlackExpectation } from '../scenario/slack-schema.ts';
import type { ClickResult } from './slack-clicks.ts';

/** One release thread as the channel shows it at the end of the run. */
export interface SlackThreadSummary {
  channel: string;
  ts: string;
  /** The root message as it shows now, and the labels of its buttons. */
  root: string;
  buttons: string[];
  /** chat.update calls on the root. */
  updates: number;
  replies: Array<{ t: number; text: string; broadcast: boolean; buttons: string[] }>;
}

/** What the Slack workspace saw during the run. */
export interface SlackSummary {
  threads: SlackThreadSummary[];
  /** Web API calls Slack refused, e.g. `{ "chat.postMessage: invalid_auth": 2 }`. */
  refusals: Record<string, number>;
  clicks: Array<Omit<ClickResult, 'at'> & { t: number }>;
}

const textOf = (value: unknown): string =>
  typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string'
    ? (value as { text: string }).text
    : '';

/** Everything a person reads in a message: its blocks' texts, fields and context, one line each. */
const readable = (blocks: unknown[], fallback: string): string => {
  const lines: string[] = [];
  for (const block of blocks as Array<Record<string, unknown>>) {
    if (block.text) lines.push(textOf(block.text));
    for (const field of (block.fields as unknown[] | undefined) ?? []) lines.push(textOf(field));
    if (block.type === 'context')
      for (const element of (block.elements as unknown[] | undefined) ?? []) lines.push(textOf(element));
  }
  return lines.length > 0 ? lines.join('\n') : fallback;
};

const buttonsOf = (blocks: unknown[]): string[] =>
  (blocks as Array<Record<string, unknown>>)
    .filter((block) => block.type === 'actions')
    .flatMap((block) => (block.elements as unknown[] | undefined) ?? [])
    .map((element) => textOf((element as { text?: unknown }).text));

/** The run's Slack workspace for the result, or undefined when the world had none and nobody clicked. */
export const summariseSlack = (
  world: SimulatedWorld,
  clicks: readonly ClickResult[],
  start: Date,
): SlackSummary | undefined => {
  if (!world.slack.workspace && clicks.length === 0 && world.slack.calls.length === 0) return undefined;
  const t = (at: number) => (at - start.getTime()) / 1000;
  const roots = world.slack.messages.filter((message) => message.threadTs === undefined);
  const refusals: Record<string, number> = {};
  for (const call of world.slack.calls)
    if (!call.ok)
      refusals[`${call.method}: ${call.error}`] = (refusals[`${call.method}: ${call.error}`] ?? 0) + 1;
  return {
    threads: roots.map((root) => {
      const shown = SimulatedSlack.current(root);
      return {
        channel: root.channel,
        ts: root.ts,
        root: readable(shown.blocks, shown.text),
        buttons: buttonsOf(shown.blocks),
        updates: root.updates.length,
        replies: world.slack.messages
          .filter((message) => message.channel === root.channel && message.threadTs === root.ts)
          .map((reply) => {
            // A reply as it shows now: a pause's, once answered, without its buttons.
            const now = SimulatedSlack.current(reply);
            return {
              t: t(reply.postedAt),
              text: readable(now.blocks, now.text),
              broadcast: reply.broadcast,
              buttons: buttonsOf(now.blocks),
            };
          }),
      };
    }),
    refusals,
    clicks: clicks.map(({ at, ...click }) => ({ t: t(at), ...click })),
  };
};

/** Slack gives up on an interactivity request not answered within 3 seconds. */
const SLACK_ANSWER_MS = 3000;

const countFails = (what: string, actual: number, expected: number | { atLeast: number }): string[] => {
  if (typeof expected === 'number')
    return actual === expected ? [] : [`slack.${what}: expected ${expected}, got ${actual}`];
  return actual >= expected.atLeast
    ? []
    : [`slack.${what}: expected at least ${expected.atLeast}, got ${actual}`];
};

/** Compares the run's Slack workspace with `expect.slack`; each failure says what differed. */
export const checkSlackExpectations = (
  expect: SlackExpectation | undefined,
  slack: SlackSummary | undefined,
): string[] => {
  if (!expect) return [];
  if (!slack) return ['slack: expected a Slack workspace (world.slack), the run had none'];
  const failures: string[] = [];
  const thread = slack.threads.at(-1);
  if (expect.threads !== undefined && slack.threads.length !== expect.threads)
    failures.push(`slack.threads: expected ${expect.threads}, got ${slack.threads.length}`);
  const needsThread =
    expect.rootUpdates !== undefined ||
    expect.replies !== undefined ||
    expect.broadcasts !== undefined ||
    expect.rootContains !== undefined ||
    expect.rootButtons !== undefined ||
    expect.repliesContain !== undefined;
  if (needsThread && !thread) failures.push('slack: expected a release thread, none was posted');
  if (thread) {
    if (expect.rootUpdates !== undefined)
      failures.push(...countFails('rootUpdates', thread.updates, expect.rootUpdates));
    if (expect.replies !== undefined)
      failures.push(...countFails('replies', thread.replies.length, expect.replies));
    const broadcasts = thread.replies.filter((reply) => reply.broadcast).length;
    if (expect.broadcasts !== undefined && broadcasts !== expect.broadcasts)
      failures.push(`slack.broadcasts: expected ${expect.broadcasts}, got ${broadcasts}`);
    for (const text of expect.rootContains ?? [])
      if (!thread.root.includes(text))
        failures.push(
          `slack.rootContains: expected the root to show "${text}", it shows: ${thread.root.replace(/\n/g, ' | ')}`,
        );
    if (
      expect.rootButtons !== undefined &&
      JSON.stringify(thread.buttons) !== JSON.stringify(expect.rootButtons)
    )
      failures.push(
        `slack.rootButtons: expected [${expect.rootButtons.join(', ')}], got [${thread.buttons.join(', ')}]`,
      );
    let from = 0;
    for (const text of expect.repliesContain ?? []) {
      const found = thread.replies.findIndex((reply, index) => index >= from && reply.text.includes(text));
      if (found < 0) {
        failures.push(
          `slack.repliesContain: no reply after #${from} contains "${text}" (replies: ${thread.replies.map((r) => r.text.split('\n')[0]).join(' / ')})`,
        );
        break;
      }
      from = found + 1;
    }
  }
  if (expect.clicks !== undefined) {
    const got = slack.clicks.map((click) => click.status);
    if (JSON.stringify(got) !== JSON.stringify(expect.clicks.map((click) => click.status)))
      failures.push(
        `slack.clicks: expected statuses [${expect.clicks.map((c) => c.status).join(', ')}], got [${got.join(', ')}]${slack.clicks.map((c) => ` (${c.button} by ${c.user}: ${c.status} ${c.body})`).join('')}`,
      );
    expect.clicks.forEach((wanted, index) => {
      const click = slack.clicks[index];
      if (!click) return;
      if (
        wanted.toldContains !== undefined &&
        !click.told.some((text) => text.includes(wanted.toldContains ?? ''))
      )
        failures.push(
          `slack.clicks[${index}]: expected the user to be told "${wanted.toldContains}", was told: ${click.told.join(' / ') || 'nothing'}`,
        );
    });
  }
  for (const [index, click] of slack.clicks.entries())
    if (click.ms > SLACK_ANSWER_MS)
      failures.push(
        `slack.clicks[${index}]: answered after ${click.ms} ms; Slack gives up after ${SLACK_ANSWER_MS} ms`,
      );
  return failures;
};
