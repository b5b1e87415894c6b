/**
 * A small typed client of Slack's Web API over `fetch` (no @slack/web-api: it brings axios and more into
 * the bundle). Calls are POSTs of JSON with the bot token as a Bearer token
 * (https://docs.slack.dev/apis/web-api/#posting_json). Slack answers HTTP 200 with `{ ok: true, ... }` or
 * `{ ok: false, error: "<code>" }`; a rate-limited call gets HTTP 429 with a `Retry-After` header in seconds
 * (https://docs.slack.dev/apis/web-api/rate-limits).
 */
import type { SlackBlock } from '../domain/slack.ts';
import { SlackApiError, type SlackChat, type SlackMessageRef, type SlackPost } from '../ports/slack.ts';

/** The Web API's base URL. */
export const SLACK_API_URL = 'https://slack.com/api';

/**
 * `ok: false` codes that say "not now" rather than "never": Slack's documented transient errors
 * (ratelimited, service_unavailable, fatal_error, internal_error, request_timeout). Every other code
 * (invalid_auth, channel_not_found, not_in_channel, msg_too_long, invalid_blocks, ...) fails the same way
 * on every retry until someone changes the configuration.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ratelimited',
  'service_unavailable',
  'fatal_error',
  'internal_error',
  'request_timeout',
]);

type Fetch = typeof fetch;

interface SlackAnswer {
  ok?: boolean;
  error?: string;
  ts?: string;
  channel?: string;
  warning?: string;
}

/** Sends one request and turns every way it can fail into a SlackApiError. */
const send = async (
  fetchFn: Fetch,
  method: string,
  url: string,
  init: RequestInit,
): Promise<{ status: number; answer: SlackAnswer | undefined; text: string }> => {
  let response: Response;
  try {
    response = await fetchFn(url, init);
  } catch (error) {
    throw new SlackApiError(method, 'network', {
      retryable: true,
      detail: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  const text = await response.text();
  if (response.status === 429) {
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new SlackApiError(method, 'http_429', {
      retryable: true,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
      detail: `rate limited${Number.isFinite(retryAfter) ? `, retry after ${retryAfter} s` : ''}`,
    });
  }
  if (response.status >= 500) throw new SlackApiError(method, `http_${response.status}`, { retryable: true });
  if (response.status >= 400)
    throw new SlackApiError(method, `http_${response.status}`, { retryable: false });
  let answer: SlackAnswer | undefined;
  try {
    answer = JSON.parse(text) as SlackAnswer;
  } catch {
    answer = undefined;
  }
  return { status: response.status, answer, text };
};

/** Calls one Web API method; resolves with Slack's answer when `ok` is true. */
const call = async (fetchFn: Fetch, token: string, method: string, body: object): Promise<SlackAnswer> => {
  const { answer, text } = await send(fetchFn, method, `${SLACK_API_URL}/${method}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json; charset=utf-8',
    },
    body: JSON.stringify(body),
  });
  if (!answer)
    throw new SlackApiError(method, 'invalid_response', { retryable: false, detail: text.slice(0, 200) });
  if (answer.ok !== true) {
    const code = answer.error ?? 'unknown_error';
    throw new SlackApiError(method, code, { retryable: RETRYABLE_CODES.has(code) });
  }
  return answer;
};

/** The Slack chat port over the Web API. `fetchFn` defaults to the global fetch (the sandbox answers it). */
export const createSlackWebApi = (fetchFn: Fetch = (input, init) => fetch(input, init)): SlackChat => ({
  post: async (token: string, message: SlackPost): Promise<SlackMessageRef> => {
    const answer = await call(fetchFn, token, 'chat.postMessage', {
      channel: message.channel,
      text: message.text,
      blocks: message.blocks,
      // Links to the console and versions stay short: no previews in the thread.
      unfurl_links: false,
      unfurl_media: false,
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      ...(message.threadTs && message.broadcast ? { reply_broadcast: true } : {}),
    });
    if (!answer.ts || !answer.channel)
      throw new SlackApiError('chat.postMessage', 'invalid_response', {
        retryable: false,
        detail: 'no ts or channel in the answer',
      });
    return { channel: answer.channel, ts: answer.ts };
  },
  update: async (
    token: string,
    message: SlackMessageRef & { text: string; blocks: SlackBlock[] },
  ): Promise<void> => {
    await call(fetchFn, token, 'chat.update', {
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      blocks: message.blocks,
    });
  },
  replaceClicked: async (
    responseUrl: string,
    message: { text: string; blocks: SlackBlock[] },
  ): Promise<void> => {
    const { answer } = await send(fetchFn, 'response_url', responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ replace_original: true, text: message.text, blocks: message.blocks }),
    });
    if (answer && answer.ok === false)
      throw new SlackApiError('response_url', answer.error ?? 'unknown_error', { retryable: false });
  },
  respond: async (responseUrl: string, text: string): Promise<void> => {
    // A response_url takes the message as JSON, no token (the URL itself is the credential, valid 30 minutes);
    // it answers 200, with `{ ok: false }` when it refuses.
    const { answer } = await send(fetchFn, 'response_url', responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    });
    if (answer && answer.ok === false)
      throw new SlackApiError('response_url', answer.error ?? 'unknown_error', { retryable: false });
  },
});
