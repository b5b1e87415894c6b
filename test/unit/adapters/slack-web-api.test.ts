import { describe, expect, it } from 'vitest';
import { createSlackWebApi } from '../../../lib/adapters/slack-web-api.ts';
import { SlackApiError } from '../../../lib/ports/slack.ts';

type Call = { url: string; init: RequestInit };

/** A fetch that records each request and answers with the next canned response. */
const stubFetch = (...answers: Array<Response | Error>) => {
  const calls: Call[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    if (answer instanceof Error) throw answer;
    return answer;
  }) as typeof fetch;
  return { calls, fetchFn };
};

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const failure = async (promise: Promise<unknown>): Promise<SlackApiError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SlackApiError) return error;
    throw error;
  }
  throw new Error('expected a SlackApiError');
};

describe('Adapter: slack-web-api', () => {
  describe('Method: post', () => {
    it('POSTs chat.postMessage as JSON with the Bearer token, a reply with thread_ts and reply_broadcast', async () => {
      const { calls, fetchFn } = stubFetch(
        json({ ok: true, channel: 'C0RELEASES', ts: '1700000000.000200' }),
      );
      const slack = createSlackWebApi(fetchFn);
      const ref = await slack.post('xoxb-token', {
        channel: 'C0RELEASES',
        text: 'Promoted',
        blocks: [],
        threadTs: '1700000000.000100',
        broadcast: true,
      });
      expect(ref).toEqual({ channel: 'C0RELEASES', ts: '1700000000.000200' });
      expect(calls[0]?.url).toBe('https://slack.com/api/chat.postMessage');
      expect(calls[0]?.init.method).toBe('POST');
      expect(calls[0]?.init.headers).toEqual({
        authorization: 'Bearer xoxb-token',
        'content-type': 'application/json; charset=utf-8',
      });
      expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
        channel: 'C0RELEASES',
        text: 'Promoted',
        blocks: [],
        unfurl_links: false,
        unfurl_media: false,
        thread_ts: '1700000000.000100',
        reply_broadcast: true,
      });
    });

    it('fails for good on ok:false with a configuration error (invalid_auth, channel_not_found)', async () => {
      for (const code of ['invalid_auth', 'channel_not_found', 'not_in_channel']) {
        const { fetchFn } = stubFetch(json({ ok: false, error: code }));
        const error = await failure(
          createSlackWebApi(fetchFn).post('t', { channel: 'C1', text: 'x', blocks: [] }),
        );
        expect(error).toMatchObject({ method: 'chat.postMessage', code, retryable: false });
        expect(error.message).toBe(`Slack chat.postMessage failed: ${code}`);
      }
    });

    it('may retry a rate limit (429, with its Retry-After), a 5xx, ratelimited and a network failure', async () => {
      const limited = await failure(
        createSlackWebApi(stubFetch(json({ ok: false }, 429, { 'retry-after': '30' })).fetchFn).post('t', {
          channel: 'C1',
          text: 'x',
          blocks: [],
        }),
      );
      expect(limited).toMatchObject({ code: 'http_429', retryable: true, retryAfterSeconds: 30 });
      for (const answer of [
        new Response('upstream', { status: 503 }),
        json({ ok: false, error: 'ratelimited' }),
        new TypeError('fetch failed'),
      ]) {
        const error = await failure(
          createSlackWebApi(stubFetch(answer).fetchFn).post('t', { channel: 'C1', text: 'x', blocks: [] }),
        );
        expect(error.retryable, error.code).toBe(true);
      }
    });
  });

  describe('Method: update', () => {
    it('sends chat.update with channel, ts, text and blocks', async () => {
      const { calls, fetchFn } = stubFetch(json({ ok: true, channel: 'C1', ts: '1.2' }));
      await createSlackWebApi(fetchFn).update('xoxb-token', {
        channel: 'C1',
        ts: '1.2',
        text: 't',
        blocks: [],
      });
      expect(calls[0]?.url).toBe('https://slack.com/api/chat.update');
      expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
        channel: 'C1',
        ts: '1.2',
        text: 't',
        blocks: [],
      });
    });
  });

  describe('Method: respond', () => {
    it('posts an ephemeral message to the response_url without a token', async () => {
      const { calls, fetchFn } = stubFetch(new Response('ok', { status: 200 }));
      await createSlackWebApi(fetchFn).respond('https://hooks.slack.com/actions/T1/1/abc', 'Rolled back');
      expect(calls[0]?.url).toBe('https://hooks.slack.com/actions/T1/1/abc');
      expect(calls[0]?.init.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
      expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
        response_type: 'ephemeral',
        replace_original: false,
        text: 'Rolled back',
      });
    });
  });
});
