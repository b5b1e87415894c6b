import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../lib/config/load.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import { configText, STATE_MACHINE_ARN, TABLE, TOPIC_ARN } from '../unit/fixtures.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export const BOT_TOKEN_PARAMETER = '/shipline/slack/bot-token';
export const SIGNING_SECRET_ID = 'shipline/slack/signing-secret';
export const SIGNING_SECRET = '8f742231b10e8888abcd99aaabbb85a5';
export const CHANNEL = 'C0RELEASES';
export const ONCALL = 'U0ONCALL1';

/** The repository's shipline.yml with a Slack section: bot token in SSM, signing secret in Secrets Manager. */
export const slackConfig = (): ShiplineConfig => {
  const document = parseYaml(configText()) as Record<string, unknown>;
  return parseConfig({
    ...document,
    slack: {
      channel: CHANNEL,
      botToken: { ssm: BOT_TOKEN_PARAMETER },
      signingSecret: { secretsManager: SIGNING_SECRET_ID },
      allowlist: [ONCALL],
    },
  });
};

/** The environment of a Slack handler, its packaged config holding a slack section. */
export const setSlackHandlerEnvironment = (): void => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipline-slack-'));
  dirs.push(dir);
  const file = path.join(dir, 'shipline.json');
  writeFileSync(file, JSON.stringify(slackConfig(), null, 2));
  process.env.SHIPLINE_CONFIG_PATH = file;
  process.env.SHIPLINE_TABLE = TABLE;
  process.env.SHIPLINE_TOPIC_ARN = TOPIC_ARN;
  process.env.SHIPLINE_STATE_MACHINE_ARN = STATE_MACHINE_ARN;
};

/** A fetch that records Slack calls and answers each from `answer` (default: ok with a new ts). */
export const slackFetch = () => {
  const calls: Array<{ url: string; body: Record<string, unknown>; headers: Record<string, string> }> = [];
  let next = 1;
  let answer: (url: string, body: Record<string, unknown>) => Response = (_url, body) =>
    new Response(JSON.stringify({ ok: true, channel: body.channel, ts: `1795860000.00010${next++}` }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  const fetchFn = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>;
    calls.push({ url: String(url), body, headers: (init?.headers ?? {}) as Record<string, string> });
    return answer(String(url), body);
  };
  return {
    calls,
    fetchFn,
    answerWith: (fn: typeof answer) => {
      answer = fn;
    },
  };
};
