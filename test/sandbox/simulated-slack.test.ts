import { describe, expect, it } from 'vitest';
import { createSlackWebApi } from '../../lib/adapters/slack-web-api.ts';
import { SlackApiError } from '../../lib/ports/slack.ts';
import { SimulatedSlack } from '../../sandbox/aws/slack.ts';
import { SeededRandom } from '../../sandbox/random.ts';
import { VirtualClock } from '../../sandbox/virtual-clock.ts';

const START = new Date('2026-11-22T10:00:00Z');

/** A workspace with one channel, and the pipeline's client pointed at it. */
const workspace = (
  outages: Array<{ from: number; until: number; status: number; retryAfterSeconds: number }> = [],
) => {
  const clock = new VirtualClock(START);
  const timeline: string[] = [];
  const slack = new SimulatedSlack({
    clock,
    region: 'us-east-1',
    account: '123456789012',
    random: new SeededRandom(1),
    record: (_kind, text) => timeline.push(text),
    serviceOf: () => undefined,
    emitEvent: () => ({}),
  });
  slack.workspace = {
    team: 'T0SANDBOX',
    botToken: 'xoxb-right',
    signingSecret: 's',
    channels: ['C0RELEASES'],
    users: {},
    outages,
  };
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) =>
    slack.answer(new URL(String(input)), init, init?.method ?? 'GET')) as typeof fetch;
  return { slack, api: createSlackWebApi(fetchFn), clock, timeline };
};

const refusal = async (promise: Promise<unknown>): Promise<SlackApiError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SlackApiError) return error;
    throw error;
  }
  throw new Error('expected Slack to refuse');
};

const message = { channel: 'C0RELEASES', text: 'Release started', blocks: [] };

describe('Sandbox: the simulated Slack Web API', () => {
  it('records a root, a reply in its thread (broadcast) and an update of the root', async () => {
    const { slack, api } = workspace();
    const root = await api.post('xoxb-right', message);
    expect(root).toEqual({ channel: 'C0RELEASES', ts: '1795341600.000001' });
    await api.post('xoxb-right', { ...message, text: 'Promoted', threadTs: root.ts, broadcast: true });
    await api.update('xoxb-right', { ...root, text: 'Promoted (root)', blocks: [] });
    expect(slack.messages.map((m) => [m.ts, m.threadTs, m.broadcast, m.text])).toEqual([
      ['1795341600.000001', undefined, false, 'Release started'],
      ['1795341600.000002', '1795341600.000001', true, 'Promoted'],
    ]);
    expect(SimulatedSlack.current(slack.messages[0] as (typeof slack.messages)[0]).text).toBe(
      'Promoted (root)',
    );
  });

  it('answers like Slack: invalid_auth, channel_not_found, message_not_found, invalid_blocks (never retried)', async () => {
    const { api } = workspace();
    expect(await refusal(api.post('xoxb-wrong', message))).toMatchObject({
      code: 'invalid_auth',
      retryable: false,
    });
    expect(await refusal(api.post('xoxb-right', { ...message, channel: 'C0OTHER' }))).toMatchObject({
      code: 'channel_not_found',
      retryable: false,
    });
    expect(
      await refusal(
        api.update('xoxb-right', { channel: 'C0RELEASES', ts: '1.000009', text: 'x', blocks: [] }),
      ),
    ).toMatchObject({ code: 'message_not_found' });
    const tooLong = [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }] as never;
    expect(await refusal(api.post('xoxb-right', { ...message, blocks: tooLong }))).toMatchObject({
      code: 'invalid_blocks',
    });
  });

  it('answers 503 or 429 with Retry-After while the scenario says Slack is down (retryable)', async () => {
    const down = workspace([
      { from: START.getTime(), until: START.getTime() + 60_000, status: 503, retryAfterSeconds: 30 },
    ]);
    expect(await refusal(down.api.post('xoxb-right', message))).toMatchObject({
      code: 'http_503',
      retryable: true,
    });
    const limited = workspace([
      { from: START.getTime(), until: Number.POSITIVE_INFINITY, status: 429, retryAfterSeconds: 30 },
    ]);
    expect(await refusal(limited.api.post('xoxb-right', message))).toMatchObject({
      code: 'http_429',
      retryable: true,
      retryAfterSeconds: 30,
    });
  });
});
