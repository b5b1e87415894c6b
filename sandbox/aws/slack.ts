import type { AwsServiceContext } from './services.ts';

/**
 * A Slack workspace as the pipeline meets it: the Web API at https://slack.com/api (chat.postMessage,
 * chat.update) and the response URLs of clicks at https://hooks.slack.com. It answers like Slack: HTTP 200
 * with `{ ok: false, error }` for what Slack refuses (not_authed, invalid_auth, channel_not_found,
 * message_not_found, no_text, invalid_blocks, msg_too_long, unknown_method), HTTP 429 with `Retry-After` or a
 * 5xx while the scenario says Slack is down, and records every message, update and reply per channel and thread.
 * Documented at https://docs.slack.dev/reference/methods/chat.postMessage and .../chat.update.
 */

/** The workspace a scenario declares (`world.slack`). */
export interface SlackWorkspace {
  team: string;
  /** The bot token Slack accepts (the one the parameter or secret should hold). */
  botToken: string;
  /** The app's signing secret: the sandbox signs clicks with it. */
  signingSecret: string;
  channels: string[];
  /** User IDs and their names. */
  users: Record<string, string>;
  /** When Slack answers every call with `status` (503, or 429 with Retry-After), virtual milliseconds. */
  outages: Array<{ from: number; until: number; status: number; retryAfterSeconds: number }>;
}

/** One message in a channel, with what updated it since. */
export interface SlackMessageRecord {
  channel: string;
  ts: string;
  /** The thread it replies in (the root's ts). */
  threadTs?: string;
  broadcast: boolean;
  text: string;
  blocks: unknown[];
  postedAt: number;
  updates: Array<{ at: number; text: string; blocks: unknown[] }>;
}

/** A message a click's response_url received: only the clicking user sees it. */
export interface SlackResponseRecord {
  at: number;
  /** The response URL it came through (one per click). */
  url: string;
  user: string;
  text: string;
}

/** The hosts the workspace answers; the world's DNS resolves them to it. */
export const SLACK_HOSTS: ReadonlySet<string> = new Set(['slack.com', 'hooks.slack.com']);

/** Block Kit limits Slack enforces (invalid_blocks): https://docs.slack.dev/reference/block-kit/blocks. */
const BLOCK_LIMITS = {
  blocks: 50,
  header: 150,
  section: 3000,
  fields: 10,
  field: 2000,
  button: 75,
  value: 2000,
  actionId: 255,
};

const text = (value: unknown): string =>
  typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string'
    ? (value as { text: string }).text
    : '';

/** What is wrong with the blocks, as Slack's invalid_blocks names it; undefined when they are valid. */
const blockProblem = (blocks: unknown): string | undefined => {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > BLOCK_LIMITS.blocks) return `more than ${BLOCK_LIMITS.blocks} blocks`;
  for (const [index, block] of blocks.entries()) {
    const b = block as Record<string, unknown>;
    if (b.type === 'header' && text(b.text).length > BLOCK_LIMITS.header)
      return `blocks[${index}]: header text longer than ${BLOCK_LIMITS.header}`;
    if (b.type === 'section') {
      if (text(b.text).length > BLOCK_LIMITS.section) return `blocks[${index}]: section text too long`;
      const fields = (b.fields as unknown[] | undefined) ?? [];
      if (fields.length > BLOCK_LIMITS.fields)
        return `blocks[${index}]: more than ${BLOCK_LIMITS.fields} fields`;
      if (fields.some((field) => text(field).length > BLOCK_LIMITS.field))
        return `blocks[${index}]: field too long`;
      if (b.text === undefined && fields.length === 0)
        return `blocks[${index}]: section needs text or fields`;
    }
    if (b.type === 'actions')
      for (const element of (b.elements as Array<Record<string, unknown>> | undefined) ?? []) {
        if (text(element.text).length > BLOCK_LIMITS.button) return `blocks[${index}]: button text too long`;
        if (String(element.value ?? '').length > BLOCK_LIMITS.value)
          return `blocks[${index}]: button value too long`;
        if (String(element.action_id ?? '').length > BLOCK_LIMITS.actionId)
          return `blocks[${index}]: action_id too long`;
      }
  }
  return undefined;
};

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

/** The simulated workspace of one world. */
export class SimulatedSlack {
  /** Undefined until the scenario declares a workspace: then slack.com answers every call invalid_auth. */
  public workspace: SlackWorkspace | undefined;
  public readonly messages: SlackMessageRecord[] = [];
  public readonly responses: SlackResponseRecord[] = [];
  /** Every Web API call and how Slack answered it. */
  public readonly calls: Array<{ at: number; method: string; ok: boolean; error?: string }> = [];
  private readonly responseUrls = new Map<
    string,
    { user: string; issuedAt: number; uses: number; message?: SlackMessageRecord }
  >();
  private counter = 0;

  public constructor(private readonly world: AwsServiceContext) {}

  /** A response URL for one click of `user` (valid 30 minutes, up to five uses, as Slack documents). */
  public issueResponseUrl(user: string, message?: SlackMessageRecord): string {
    this.counter += 1;
    const url = `https://hooks.slack.com/actions/${this.workspace?.team ?? 'T0SANDBOX'}/${this.counter}/${this.world.random.uuid().replace(/-/g, '')}`;
    this.responseUrls.set(url, {
      user,
      issuedAt: this.world.clock.nowMillis,
      uses: 0,
      ...(message ? { message } : {}),
    });
    return url;
  }

  /** Answers one request to a Slack host. */
  public async answer(url: URL, init: RequestInit | undefined, method: string): Promise<Response> {
    const outage = this.workspace?.outages.find(
      (o) => this.world.clock.nowMillis >= o.from && this.world.clock.nowMillis < o.until,
    );
    const apiMethod = url.hostname === 'slack.com' ? url.pathname.replace(/^\/api\//, '') : 'response_url';
    if (outage) {
      this.calls.push({
        at: this.world.clock.nowMillis,
        method: apiMethod,
        ok: false,
        error: `http_${outage.status}`,
      });
      this.world.record('fault', `Slack ${apiMethod}: HTTP ${outage.status} (Slack is down)`);
      return outage.status === 429
        ? json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(outage.retryAfterSeconds) })
        : new Response('<html><body>Slack is unavailable</body></html>', { status: outage.status });
    }
    const body = typeof init?.body === 'string' ? init.body : '';
    if (url.hostname === 'hooks.slack.com') return this.respond(url.href, body);
    if (method !== 'POST') return json({ ok: false, error: 'invalid_request' });
    const headers = new Headers(init?.headers);
    const answer = this.call(apiMethod, headers, body);
    this.calls.push({
      at: this.world.clock.nowMillis,
      method: apiMethod,
      ok: answer.ok === true,
      ...(answer.ok === true ? {} : { error: String(answer.error) }),
    });
    if (answer.ok !== true) this.world.record('fault', `Slack ${apiMethod}: ${String(answer.error)}`);
    return json(answer);
  }

  private respond(url: string, body: string): Response {
    const issued = this.responseUrls.get(url);
    // A response URL is good for 30 minutes and five responses.
    if (!issued || this.world.clock.nowMillis - issued.issuedAt > 30 * 60_000 || issued.uses >= 5)
      return new Response('no_response_url', { status: 404 });
    issued.uses += 1;
    let message: Record<string, unknown> = {};
    try {
      message = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return json({ ok: false, error: 'invalid_payload' });
    }
    // replace_original: the message whose button was clicked becomes this one (for everyone in the channel).
    if (message.replace_original === true) {
      if (!issued.message) return json({ ok: false, error: 'no_original_message' });
      const problem = message.blocks === undefined ? undefined : blockProblem(message.blocks);
      if (problem) return json({ ok: false, error: 'invalid_blocks', errors: [problem] });
      const current = SimulatedSlack.current(issued.message);
      issued.message.updates.push({
        at: this.world.clock.nowMillis,
        text: typeof message.text === 'string' ? message.text : current.text,
        blocks: (message.blocks as unknown[] | undefined) ?? current.blocks,
      });
      this.world.record(
        'event',
        `Slack ${issued.message.channel} message ${issued.message.ts} replaced after the click`,
      );
      return new Response('ok', { status: 200 });
    }
    this.responses.push({
      at: this.world.clock.nowMillis,
      url,
      user: issued.user,
      text: String(message.text ?? ''),
    });
    this.world.record('event', `Slack tells ${issued.user} (only them): ${String(message.text ?? '')}`);
    return new Response('ok', { status: 200 });
  }

  private call(method: string, headers: Headers, body: string): Record<string, unknown> {
    const workspace = this.workspace;
    const authorization = headers.get('authorization');
    if (!authorization) return { ok: false, error: 'not_authed' };
    if (!workspace || authorization !== `Bearer ${workspace.botToken}`)
      return { ok: false, error: 'invalid_auth' };
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return { ok: false, error: 'invalid_json' };
    }
    const channel = String(args.channel ?? '');
    if (method === 'chat.postMessage') return this.post(workspace, channel, args);
    if (method === 'chat.update') return this.update(channel, args);
    return { ok: false, error: 'unknown_method' };
  }

  private post(
    workspace: SlackWorkspace,
    channel: string,
    args: Record<string, unknown>,
  ): Record<string, unknown> {
    if (!workspace.channels.includes(channel)) return { ok: false, error: 'channel_not_found' };
    const messageText = typeof args.text === 'string' ? args.text : '';
    if (messageText === '' && args.blocks === undefined) return { ok: false, error: 'no_text' };
    if (messageText.length > 40_000) return { ok: false, error: 'msg_too_long' };
    const problem = args.blocks === undefined ? undefined : blockProblem(args.blocks);
    if (problem) return { ok: false, error: 'invalid_blocks', errors: [problem] };
    this.counter += 1;
    const ts = `${Math.floor(this.world.clock.nowMillis / 1000)}.${String(this.counter).padStart(6, '0')}`;
    const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
    const record: SlackMessageRecord = {
      channel,
      ts,
      ...(threadTs ? { threadTs } : {}),
      broadcast: threadTs !== undefined && args.reply_broadcast === true,
      text: messageText,
      blocks: (args.blocks as unknown[] | undefined) ?? [],
      postedAt: this.world.clock.nowMillis,
      updates: [],
    };
    this.messages.push(record);
    this.world.record(
      'event',
      `Slack ${channel}${threadTs ? ` thread ${threadTs}${record.broadcast ? ' (also to the channel)' : ''}` : ''}: ${messageText}`,
    );
    return { ok: true, channel, ts, message: { type: 'message', text: messageText, ts } };
  }

  private update(channel: string, args: Record<string, unknown>): Record<string, unknown> {
    const message = this.messages.find((m) => m.channel === channel && m.ts === args.ts);
    if (!message) return { ok: false, error: 'message_not_found' };
    const problem = args.blocks === undefined ? undefined : blockProblem(args.blocks);
    if (problem) return { ok: false, error: 'invalid_blocks', errors: [problem] };
    const update = {
      at: this.world.clock.nowMillis,
      text: typeof args.text === 'string' ? args.text : message.text,
      blocks: (args.blocks as unknown[] | undefined) ?? message.blocks,
    };
    message.updates.push(update);
    this.world.record('event', `Slack ${channel} root ${message.ts} updated: ${update.text}`);
    return { ok: true, channel, ts: message.ts, text: update.text };
  }

  /** The message as it shows now (its last update). */
  public static current(message: SlackMessageRecord): { text: string; blocks: unknown[] } {
    return message.updates.at(-1) ?? { text: message.text, blocks: message.blocks };
  }
}
