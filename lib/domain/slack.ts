/**
 * A release's Slack thread, as data: the root message (what the release is and where it stands, updated in
 * place), one reply per transition, and the buttons people press. Block Kit JSON
 * (https://docs.slack.dev/reference/block-kit/blocks) kept to what a phone shows well: a header, a few
 * two-column fields, one line of context, the buttons.
 */
import type { OperationRequest } from './operations.ts';
import type { ReleaseEventMessage, ReleaseState } from './progress.ts';

/** One Block Kit text object. */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/** A Block Kit button element. */
export interface SlackButtonElement {
  type: 'button';
  action_id: string;
  text: SlackText;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: {
    title: SlackText;
    text: SlackText;
    confirm: SlackText;
    deny: SlackText;
    style?: 'primary' | 'danger';
  };
}

/** The blocks Shipline posts. */
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'actions'; block_id?: string; elements: SlackButtonElement[] };

/** A message: `text` is what notifications and screen readers show; `blocks` what the channel shows. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** The buttons, each the command it gives through the `operate` use case (the same as the CLI's). */
export const SLACK_BUTTONS = {
  rollback: { actionId: 'shipline_rollback', command: 'rollback', label: 'Roll back now', style: 'danger' },
  promote: { actionId: 'shipline_promote', command: 'promote', label: 'Promote now', style: 'primary' },
  approve: { actionId: 'shipline_approve', command: 'resume', label: 'Approve', style: 'primary' },
  reject: { actionId: 'shipline_reject', command: 'reject', label: 'Reject', style: 'danger' },
} as const satisfies Record<
  string,
  { actionId: string; command: OperationRequest['command']; label: string; style: 'primary' | 'danger' }
>;
export type SlackButton = keyof typeof SLACK_BUTTONS;

/** The button an `action_id` names, or undefined for an action Shipline never posted. */
export const buttonOfAction = (actionId: string): SlackButton | undefined =>
  (Object.keys(SLACK_BUTTONS) as SlackButton[]).find((button) => SLACK_BUTTONS[button].actionId === actionId);

/** What a button's `value` carries: the release it acts on (Slack echoes it back in the click). */
export interface ButtonTarget {
  service: string;
  environment: string;
  releaseId: string;
}

/** A button value: JSON, well under Block Kit's 2000 characters (service and release ids are short). */
export const buttonValue = (target: ButtonTarget): string =>
  JSON.stringify({ s: target.service, e: target.environment, r: target.releaseId });

/** Reads a button value back; undefined when it is not one Shipline wrote. */
export const parseButtonValue = (value: unknown): ButtonTarget | undefined => {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const { s, e, r } = parsed;
    if (typeof s === 'string' && typeof e === 'string' && typeof r === 'string' && s && e && r)
      return { service: s, environment: e, releaseId: r };
  } catch {
    // not JSON: not ours
  }
  return undefined;
};

/**
 * Slack's mrkdwn treats `&`, `<` and `>` as control characters: text from a release (a reason, a version)
 * is escaped so it shows as written and cannot mention `@channel` or forge a link
 * (https://docs.slack.dev/messaging/formatting-message-text#escaping).
 */
export const escapeMrkdwn = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Cuts text to Block Kit's limit for a field, with an ellipsis. */
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Block Kit limits: header 150 characters, a section's text 3000, a field 2000, a button's text 75. */
const LIMITS = { header: 150, section: 3000, field: 2000, context: 2000 } as const;

const STATE_WORDS: Record<ReleaseState, { emoji: string; words: string }> = {
  queued: { emoji: ':hourglass:', words: 'Queued behind another release' },
  deploying: { emoji: ':package:', words: 'Deploying' },
  'waiting-ready': { emoji: ':hourglass_flowing_sand:', words: 'Waiting for the new tasks' },
  shifting: { emoji: ':twisted_rightwards_arrows:', words: 'Shifting traffic' },
  baking: { emoji: ':fire:', words: 'Baking' },
  checking: { emoji: ':mag:', words: 'Running checks' },
  paused: { emoji: ':double_vertical_bar:', words: 'Paused, waiting for a person' },
  swapping: { emoji: ':arrows_counterclockwise:', words: 'Swapping' },
  'rollback-window': { emoji: ':eyes:', words: 'Promoted, watching (rollback window)' },
  'rolling-back': { emoji: ':rewind:', words: 'Rolling back' },
  promoted: { emoji: ':white_check_mark:', words: 'Promoted' },
  'rolled-back': { emoji: ':leftwards_arrow_with_hook:', words: 'Rolled back' },
  failed: { emoji: ':x:', words: 'Failed' },
  superseded: { emoji: ':fast_forward:', words: 'Superseded by a newer release' },
};

/** The states a release never leaves: its thread shows no button any more. */
const ENDED: ReadonlySet<ReleaseState> = new Set(['promoted', 'rolled-back', 'failed', 'superseded']);

/** The buttons a release in `state` offers (none once it ended or while it rolls back). */
export const buttonsFor = (state: ReleaseState): SlackButton[] => {
  if (ENDED.has(state) || state === 'rolling-back') return [];
  if (state === 'paused') return ['approve', 'reject'];
  if (state === 'baking' || state === 'rollback-window') return ['promote', 'rollback'];
  return ['rollback'];
};

const plain = (text: string): SlackText => ({ type: 'plain_text', text, emoji: true });
const mrkdwn = (text: string): SlackText => ({ type: 'mrkdwn', text });

/** `10:14 UTC` (with the date when the caller wants it): Slack shows it as written, to everyone. */
const clockTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(11, 16)} UTC`;
};

const versions = (event: ReleaseEventMessage): string =>
  event.fromVersion ? `${event.fromVersion} → ${event.toVersion}` : event.toVersion;

/** Who serves how much: `v2 25% · v1 75%`. */
const weights = (event: ReleaseEventMessage): string => {
  const newPercent = Math.max(0, Math.min(100, event.progress.newPercent));
  if (!event.fromVersion) return `${event.toVersion} ${newPercent}%`;
  return `${event.toVersion} ${newPercent}% · ${event.fromVersion} ${100 - newPercent}%`;
};

/** How an ended release ended, in the words of its step line ("rolled back at step 6 of 9"). */
const ENDED_WORDS: Partial<Record<ReleaseState, string>> = {
  promoted: 'promoted',
  'rolled-back': 'rolled back',
  failed: 'failed',
  superseded: 'superseded',
};

/**
 * Where the release is in its plan. A release that ended says how and where it got to (a plan it never
 * started is no longer "planned"); one that has not reached its first step yet says what is planned.
 */
const stepLine = (event: ReleaseEventMessage): string => {
  const { step, steps, label, state, reachedPercent } = event.progress;
  const ended = event.kind === 'rollback_failed' ? 'rollback failed' : ENDED_WORDS[state];
  if (ended !== undefined) {
    if (step <= 0) return `${ended} before its first step${steps > 0 ? ` (of ${steps})` : ''}`;
    const reached = reachedPercent !== undefined && reachedPercent > 0 ? ` (${reachedPercent}%)` : '';
    return `${ended} at step ${step} of ${steps}${reached}${label ? ` · ${label}` : ''}`;
  }
  if (step <= 0) return `${steps} steps planned`;
  return `${step} of ${steps}${label ? ` · ${label}` : ''}`;
};

/** The step part of a root's one-line text: the step line without its label. */
const stepSummary = (event: ReleaseEventMessage): string => {
  const { step, steps, state } = event.progress;
  const ended = ENDED_WORDS[state];
  if (ended !== undefined)
    return step <= 0
      ? 'ended before its first step'
      : `ended at step ${step} of ${steps}${event.progress.reachedPercent ? ` after reaching ${event.progress.reachedPercent}%` : ''}`;
  return step > 0 ? `step ${step} of ${steps}` : `${steps} steps planned`;
};

/**
 * Who gave the command that caused a transition, as mrkdwn: "by alice via Slack" with the Slack user's name
 * when the click carried it, else a mention of the user (`<@U0ONCALL1>`, which Slack renders as their
 * current display name: https://docs.slack.dev/messaging/formatting-message-text#mentioning-users); "by
 * <principal> via the CLI" for an operator's AWS principal. Everything but the mention is escaped.
 */
export const actorWords = (actor: NonNullable<ReleaseEventMessage['actor']>): string => {
  if (actor.via === 'slack') {
    const user = /^slack:[^/]*\/([A-Z0-9]+)$/.exec(actor.id)?.[1];
    // A click without a user name carries the user ID as the name (slack-interaction): mention them then.
    const name = actor.name;
    const named = name !== undefined && name !== '' && name !== user;
    const who = named ? escapeMrkdwn(name) : user ? `<@${user}>` : escapeMrkdwn(actor.id);
    return `by ${who} via Slack`;
  }
  return `by ${escapeMrkdwn(actor.name ?? actor.id)} via the CLI`;
};

const confirmFor = (button: SlackButton, target: ButtonTarget): SlackButtonElement['confirm'] => {
  if (button === 'rollback' || button === 'reject')
    return {
      title: plain(button === 'rollback' ? 'Roll back now?' : 'Reject this release?'),
      text: mrkdwn(
        `All traffic goes back to the previous version of *${escapeMrkdwn(target.service)}*; the new version stops serving.`,
      ),
      confirm: plain(button === 'rollback' ? 'Roll back' : 'Reject'),
      deny: plain('Cancel'),
      style: 'danger',
    };
  if (button === 'promote')
    return {
      title: plain('Promote now?'),
      text: mrkdwn(
        `The current bake of *${escapeMrkdwn(target.service)}* ends as passed; the release goes on.`,
      ),
      confirm: plain('Promote'),
      deny: plain('Cancel'),
      style: 'primary',
    };
  return undefined;
};

/** An actions block with the given buttons, each carrying the release it acts on. */
export const actionsBlock = (buttons: SlackButton[], target: ButtonTarget): SlackBlock | undefined => {
  if (buttons.length === 0) return undefined;
  return {
    type: 'actions',
    block_id: 'shipline_actions',
    elements: buttons.map((button) => {
      const spec = SLACK_BUTTONS[button];
      const confirm = confirmFor(button, target);
      return {
        type: 'button',
        action_id: spec.actionId,
        text: plain(spec.label),
        value: buttonValue(target),
        style: spec.style,
        ...(confirm ? { confirm } : {}),
      };
    }),
  };
};

const targetOf = (event: ReleaseEventMessage): ButtonTarget => ({
  service: event.service,
  environment: event.environment,
  releaseId: event.releaseId,
});

/**
 * The root message of a release's thread: service and versions in the header; state, step n of N,
 * traffic weights and strategy as fields; the buttons its state offers when someone may press them.
 */
export const rootMessage = (event: ReleaseEventMessage, options: { buttons: boolean }): SlackMessage => {
  // A failed rollback is no plain failure: traffic may still be split, and a person must finish it.
  const state =
    event.kind === 'rollback_failed'
      ? { emoji: ':rotating_light:', words: 'Rollback failed: finish it by hand' }
      : STATE_WORDS[event.progress.state];
  const header = `${event.service} ${versions(event)}`;
  const fields = [
    mrkdwn(`*State*\n${state.emoji} ${state.words}`),
    mrkdwn(`*Step*\n${escapeMrkdwn(stepLine(event))}`),
    mrkdwn(`*Traffic*\n${escapeMrkdwn(weights(event))}`),
    mrkdwn(`*Strategy*\n${escapeMrkdwn(event.strategy)}`),
  ].map((field) => ({ ...field, text: cut(field.text, LIMITS.field) }));
  const context = [
    `${escapeMrkdwn(event.environment)} · release ${escapeMrkdwn(event.releaseId)}`,
    // An ending a person caused says who, on the root too: it is what the channel reads last.
    ...(event.actor && ENDED.has(event.progress.state) ? [actorWords(event.actor)] : []),
    `updated ${clockTime(event.at)}`,
    ...(event.progress.endsAt && !ENDED.has(event.progress.state)
      ? [`until ${clockTime(event.progress.endsAt)}`]
      : []),
  ].join(' · ');
  const actions = options.buttons
    ? actionsBlock(buttonsFor(event.progress.state), targetOf(event))
    : undefined;
  return {
    text: cut(
      `${event.service} ${versions(event)}: ${state.words.toLowerCase()}, ${stepSummary(event)} (${weights(event)})`,
      LIMITS.section,
    ),
    blocks: [
      { type: 'header', text: plain(cut(header, LIMITS.header)) },
      { type: 'section', fields },
      { type: 'context', elements: [mrkdwn(cut(context, LIMITS.context))] },
      ...(actions ? [actions] : []),
    ],
  };
};

/** The kinds that end a release, or leave a person something to do: their reply is also posted to the channel (reply_broadcast). */
export const isOutcome = (event: ReleaseEventMessage): boolean =>
  // A promoted release stopped in its rollback window is no new outcome, but a person must act on it (a
  // slot left warm, alarms no longer watched): the channel sees it too.
  event.outcome !== undefined || event.kind === 'rollback_failed' || event.kind === 'stopped';

const KIND_EMOJI: Partial<Record<ReleaseEventMessage['kind'], string>> = {
  started: ':rocket:',
  promoted: ':white_check_mark:',
  rolled_back: ':leftwards_arrow_with_hook:',
  failed: ':x:',
  superseded: ':fast_forward:',
  rollback_failed: ':rotating_light:',
  paused: ':double_vertical_bar:',
  stopped: ':octagonal_sign:',
  step: ':small_blue_diamond:',
};

/**
 * One transition, as a reply in the release's thread: what happened, why, who asked. A pause offers
 * Approve and Reject right there; an outcome names the service and versions, since it also shows in the
 * channel.
 */
export const transitionReply = (event: ReleaseEventMessage, options: { buttons: boolean }): SlackMessage => {
  const emoji = KIND_EMOJI[event.kind] ?? ':small_blue_diamond:';
  const outcome = isOutcome(event);
  const headline = outcome
    ? `*${escapeMrkdwn(event.service)} ${escapeMrkdwn(versions(event))}*: ${escapeMrkdwn(event.text)}`
    : escapeMrkdwn(event.text);
  const lines = [
    `${emoji} ${headline}`,
    ...(event.reason ? [`> ${escapeMrkdwn(event.reason).replace(/\n/g, '\n> ')}`] : []),
  ];
  const context = [
    escapeMrkdwn(clockTime(event.at)),
    ...(event.progress.step > 0 ? [`step ${event.progress.step} of ${event.progress.steps}`] : []),
    `traffic ${escapeMrkdwn(weights(event))}`,
    ...(event.actor ? [actorWords(event.actor)] : []),
  ].join(' · ');
  const actions =
    options.buttons && event.kind === 'paused'
      ? actionsBlock(['approve', 'reject'], targetOf(event))
      : undefined;
  return {
    text: cut(`${event.service}: ${event.text}${event.reason ? ` (${event.reason})` : ''}`, LIMITS.section),
    blocks: [
      { type: 'section', text: mrkdwn(cut(lines.join('\n'), LIMITS.section)) },
      { type: 'context', elements: [mrkdwn(cut(context, LIMITS.context))] },
      ...(actions ? [actions] : []),
    ],
  };
};

/** The key a reply is remembered by, so a redelivered event is not posted twice. */
export const replyKey = (event: ReleaseEventMessage): string => `${event.progress.sequence}:${event.kind}`;

/**
 * A clicked reply once its question is answered (a pause's Approve or Reject): the same message without its
 * buttons, with who answered and when, so nobody presses a stale button. Undefined for a message that is not
 * a thread reply (the root is updated by the thread function, to the release's newest state).
 */
export const answeredReply = (
  message: { ts?: unknown; thread_ts?: unknown; text?: unknown; blocks?: unknown } | undefined,
  note: string,
  at: string,
): SlackMessage | undefined => {
  if (!message || typeof message.thread_ts !== 'string' || message.thread_ts === message.ts) return undefined;
  if (!Array.isArray(message.blocks)) return undefined;
  const blocks = (message.blocks as Array<{ type?: unknown }>).filter(
    (block): block is SlackBlock => typeof block?.type === 'string' && block.type !== 'actions',
  );
  return {
    text: typeof message.text === 'string' ? message.text : note,
    blocks: [
      ...blocks,
      {
        type: 'context',
        elements: [mrkdwn(`:ballot_box_with_check: ${escapeMrkdwn(note)} · ${clockTime(at)}`)],
      },
    ],
  };
};
