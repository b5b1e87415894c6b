/**
 * A click on a release button, as Slack sends it to the interactions function (a Lambda Function URL with
 * no AWS auth: Slack signs its requests instead). In order: the signature (v0, constant-time compare) and its
 * timestamp (within five minutes), a signature already accepted (a replay), the payload, the service's
 * allowlist; then the command, through `operate`, the same use case as the CLI's, with the clicking user as
 * the actor. Each refusal is logged with why.
 *
 * Slack wants an answer within 3 seconds. The command runs inside the invocation before the answer: `operate`
 * is a handful of DynamoDB and Step Functions calls (well under a second, even with a cold start), so the
 * click is acknowledged with the command done, and its result is told to the user through the click's
 * `response_url` (visible only to them); the thread itself shows the transition when the release publishes
 * it. Handing the work to a second invocation would add a function and a Lambda permission for no gain.
 */
import { now, nowEpochSeconds } from '../clock.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { type SecretRef, secretRefKey, slackSecretRefs, slackSettingsFor } from '../config/slack.ts';
import type { Operate, OperationResult } from '../domain/operations.ts';
import { answeredReply, buttonOfAction, parseButtonValue, SLACK_BUTTONS } from '../domain/slack.ts';
import { SIGNATURE_MAX_AGE_SECONDS, verifySlackSignature } from '../domain/slack-signature.ts';
import type { ReplayGuard, SecretReader, SlackChat } from '../ports/slack.ts';
import type { SlackLog } from './slack-notify.ts';

/** What a click goes through: the signing secrets, the replay guard, Slack's response URL, operate. */
export interface SlackInteractionPorts {
  secrets: SecretReader;
  replays: ReplayGuard;
  chat: Pick<SlackChat, 'respond' | 'replaceClicked'>;
  operate: Operate;
  config: () => ShiplineConfig;
  log: SlackLog;
}

/** The HTTP request as received: header names lowercase, the body's bytes as Slack sent them. */
export interface SlackHttpRequest {
  method: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/** Why a click was refused, or what it did. */
export type SlackClickOutcome =
  | 'done'
  | 'nothing-to-act-on'
  | 'forged'
  | 'expired'
  | 'replayed'
  | 'unlisted'
  | 'bad-request'
  | 'failed';

/** The HTTP answer, and what the click came to (for the log and the tests). */
export interface SlackHttpAnswer {
  statusCode: number;
  body: string;
  outcome: SlackClickOutcome;
}

/** The part of a block_actions payload read here (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload). */
interface BlockActionsPayload {
  type?: unknown;
  team?: { id?: unknown } | null;
  user?: { id?: unknown; username?: unknown; name?: unknown; team_id?: unknown };
  response_url?: unknown;
  actions?: Array<{ action_id?: unknown; value?: unknown }>;
  /** The message whose button was clicked (for a click on a message). */
  message?: { ts?: unknown; thread_ts?: unknown; text?: unknown; blocks?: unknown };
}

/** Only Slack's own hooks receive a response: a payload cannot make the function post elsewhere. */
const isSlackResponseUrl = (url: unknown): url is string =>
  typeof url === 'string' && url.startsWith('https://hooks.slack.com/');

const answer = (statusCode: number, outcome: SlackClickOutcome, body: string): SlackHttpAnswer => ({
  statusCode,
  outcome,
  body,
});

/** Verifies, checks and carries out one click; never throws for a refusal (it answers 4xx and logs why). */
export const handleSlackInteraction = async (
  ports: SlackInteractionPorts,
  request: SlackHttpRequest,
): Promise<SlackHttpAnswer> => {
  const { log } = ports;
  if (request.method !== 'POST') {
    log.warn('refused a request: not a POST', { method: request.method });
    return answer(405, 'bad-request', 'Slack interactions are POST requests');
  }
  const config = ports.config();
  const refs = slackSecretRefs(config, 'signingSecret');
  // Each Slack app's secret on its own: one service's missing or unreadable secret must not refuse the
  // clicks of every other service's app.
  const reads = await Promise.allSettled(refs.map((ref) => ports.secrets.read(ref)));
  const readable: Array<{ ref: SecretRef; secret: string }> = [];
  const unreadable: string[] = [];
  for (const [index, read] of reads.entries()) {
    const ref = refs[index] as SecretRef;
    if (read.status === 'fulfilled') readable.push({ ref, secret: read.value });
    else {
      const error = read.reason instanceof Error ? read.reason.message : String(read.reason);
      unreadable.push(error);
      log.error('could not read a Slack signing secret', { error });
    }
  }
  const signature = request.headers['x-slack-signature'];
  const timestamp = request.headers['x-slack-request-timestamp'];
  const check = verifySlackSignature({
    signature,
    timestamp,
    body: request.body,
    nowSeconds: nowEpochSeconds(),
    signingSecrets: readable.map((entry) => entry.secret),
  });
  if (!check.ok && check.reason === 'forged' && unreadable.length > 0) {
    // The click may be signed by the app whose secret could not be read: not a forgery, a fault to fix.
    log.error('could not verify a Slack request: a signing secret is unreadable', {
      unreadable: unreadable.length,
    });
    return answer(503, 'failed', 'cannot verify the request now');
  }
  if (!check.ok) {
    const outcome = check.reason === 'expired' ? 'expired' : 'forged';
    log.warn('refused a Slack request: bad signature', { outcome, detail: check.detail });
    return answer(401, outcome, check.reason === 'expired' ? 'request expired' : 'invalid signature');
  }
  // Slack's window bounds how long a signature can be replayed: remember it that long (and a little more,
  // for clocks that disagree).
  const expiresAt = Number(timestamp) + SIGNATURE_MAX_AGE_SECONDS + 60;
  if (!(await ports.replays.firstUse(String(signature), expiresAt))) {
    log.warn('refused a Slack request: replayed signature', { timestamp });
    return answer(401, 'replayed', 'request already processed');
  }

  let payload: BlockActionsPayload;
  try {
    const form = new URLSearchParams(request.body.toString('utf8'));
    payload = JSON.parse(form.get('payload') ?? 'null') as BlockActionsPayload;
  } catch {
    log.warn('refused a Slack request: its payload is not JSON', { timestamp });
    return answer(400, 'bad-request', 'no payload');
  }
  const action = payload?.type === 'block_actions' ? payload.actions?.[0] : undefined;
  const button = typeof action?.action_id === 'string' ? buttonOfAction(action.action_id) : undefined;
  const target = parseButtonValue(action?.value);
  const userId = typeof payload?.user?.id === 'string' ? payload.user.id : undefined;
  if (!button || !target || !userId) {
    log.warn('refused a Slack request: not a Shipline button', { type: payload?.type });
    return answer(400, 'bad-request', 'not a Shipline button');
  }
  const teamId =
    typeof payload.team?.id === 'string'
      ? payload.team.id
      : typeof payload.user?.team_id === 'string'
        ? payload.user.team_id
        : 'unknown';
  const userName =
    typeof payload.user?.username === 'string'
      ? payload.user.username
      : typeof payload.user?.name === 'string'
        ? payload.user.name
        : userId;
  const responseUrl = isSlackResponseUrl(payload.response_url) ? payload.response_url : undefined;
  const tell = async (text: string): Promise<void> => {
    if (!responseUrl) return;
    try {
      await ports.chat.respond(responseUrl, text);
    } catch (error) {
      log.warn('could not answer the click through its response_url', { error: (error as Error).message });
    }
  };

  const spec = SLACK_BUTTONS[button];
  const settings = slackSettingsFor(config, target.service);
  const signedBy = readable[check.secretIndex]?.ref;
  // A click counts only if signed by the Slack app of the service it acts on.
  if (!settings || !signedBy || secretRefKey(settings.signingSecret) !== secretRefKey(signedBy)) {
    log.warn("refused a Slack click: not signed by the service's Slack app", {
      service: target.service,
      user: userId,
    });
    return answer(403, 'unlisted', 'not allowed');
  }
  if (!settings.allowlist.includes(userId)) {
    log.warn('refused a Slack click: user not on the allowlist', {
      service: target.service,
      releaseId: target.releaseId,
      button,
      user: userId,
      team: teamId,
    });
    await tell(
      `You may not press "${spec.label}" on ${target.service}: your Slack user ID ${userId} is not on its allowlist (slack.allowlist in shipline.yml).`,
    );
    return answer(403, 'unlisted', 'not allowed');
  }

  let result: OperationResult;
  try {
    result = await ports.operate({
      command: spec.command,
      service: target.service,
      environment: target.environment,
      releaseId: target.releaseId,
      actor: { via: 'slack', id: `slack:${teamId}/${userId}`, name: userName },
      reason: `${spec.label} pressed in Slack by ${userName}`,
    });
  } catch (error) {
    log.error('a Slack click failed', {
      service: target.service,
      releaseId: target.releaseId,
      button,
      user: userId,
      error: (error as Error).message,
    });
    await tell(`"${spec.label}" on ${target.service} failed: ${(error as Error).message}`);
    return answer(500, 'failed', 'failed');
  }
  log.info('Slack click', {
    service: target.service,
    releaseId: target.releaseId,
    button,
    user: userId,
    status: result.status,
    message: result.message,
  });
  await tell(result.message);
  // A pause's reply keeps its question until answered: then its buttons go, and it says who answered.
  const answered =
    result.status === 'done' && responseUrl
      ? answeredReply(payload.message, `${spec.label} pressed by ${userName} via Slack`, now().toISOString())
      : undefined;
  if (answered && responseUrl) {
    try {
      await ports.chat.replaceClicked(responseUrl, answered);
    } catch (error) {
      log.warn('could not take the buttons off the answered message', { error: (error as Error).message });
    }
  }
  return answer(200, result.status === 'done' ? 'done' : 'nothing-to-act-on', '');
};
