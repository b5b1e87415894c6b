import { describe, expect, it } from 'vitest';
import {
  actorWords,
  answeredReply,
  buttonOfAction,
  buttonsFor,
  escapeMrkdwn,
  parseButtonValue,
  rootMessage,
  transitionReply,
} from '../../lib/domain/slack.ts';
import { slackSignature, verifySlackSignature } from '../../lib/domain/slack-signature.ts';
import { releaseEvent } from './slack-fixtures.ts';

describe('Function: rootMessage', () => {
  it('shows service, versions, state, step n of N, weights and strategy, with the buttons of a bake', () => {
    const message = rootMessage(releaseEvent(), { buttons: true });
    expect(message.text).toBe('checkout v1 → v2: baking, step 4 of 7 (v2 25% · v1 75%)');
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'checkout v1 → v2', emoji: true },
    });
    expect(message.blocks[1]).toEqual({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*State*\n:fire: Baking' },
        { type: 'mrkdwn', text: '*Step*\n4 of 7 · Bake 10m at 25%' },
        { type: 'mrkdwn', text: '*Traffic*\nv2 25% · v1 75%' },
        { type: 'mrkdwn', text: '*Strategy*\ncanary' },
      ],
    });
    expect(message.blocks[2]).toEqual({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: 'default · release checkout-v2-0001 · updated 10:14 UTC · until 10:24 UTC' },
      ],
    });
    const actions = message.blocks[3];
    expect(actions?.type).toBe('actions');
    if (actions?.type !== 'actions') throw new Error('no actions');
    expect(actions.elements.map((e) => [e.action_id, e.text.text, e.style])).toEqual([
      ['shipline_promote', 'Promote now', 'primary'],
      ['shipline_rollback', 'Roll back now', 'danger'],
    ]);
    expect(parseButtonValue(actions.elements[1]?.value)).toEqual({
      service: 'checkout',
      environment: 'default',
      releaseId: 'checkout-v2-0001',
    });
    expect(actions.elements[1]?.confirm?.title.text).toBe('Roll back now?');
  });

  it('offers Approve and Reject on a pause, nothing once the release ended, nothing without an allowlist', () => {
    expect(buttonsFor('paused')).toEqual(['approve', 'reject']);
    expect(buttonsFor('shifting')).toEqual(['rollback']);
    for (const state of ['promoted', 'rolled-back', 'failed', 'superseded', 'rolling-back'] as const)
      expect(buttonsFor(state), state).toEqual([]);
    const ended = rootMessage(releaseEvent({ progress: { state: 'promoted', newPercent: 100 } }), {
      buttons: true,
    });
    expect(ended.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    const noAllowlist = rootMessage(releaseEvent(), { buttons: false });
    expect(noAllowlist.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
  });

  it('escapes what the release says, so a reason cannot mention @channel or forge a link', () => {
    expect(escapeMrkdwn('<!channel> & <http://evil|ok>')).toBe(
      '&lt;!channel&gt; &amp; &lt;http://evil|ok&gt;',
    );
    const reply = transitionReply(
      releaseEvent({ kind: 'rolled_back', outcome: 'rolled_back', reason: '<!here> 5xx' }),
      {
        buttons: true,
      },
    );
    expect(JSON.stringify(reply.blocks)).not.toContain('<!here>');
  });
});

describe('Function: rootMessage, once the release ended', () => {
  const stepField = (message: ReturnType<typeof rootMessage>): string | undefined => {
    const section = message.blocks[1];
    return section?.type === 'section' ? section.fields?.[1]?.text : undefined;
  };
  const ended = (
    state: 'promoted' | 'rolled-back' | 'failed' | 'superseded',
    step: number,
    overrides: Parameters<typeof releaseEvent>[0] = {},
  ) =>
    rootMessage(
      releaseEvent({
        ...overrides,
        progress: {
          state,
          step,
          steps: 9,
          newPercent: state === 'promoted' ? 100 : 0,
          label: step > 0 ? 'Bake 10m at 25%' : undefined,
          ...(step > 0 ? {} : { kind: undefined }),
        },
      }),
      { buttons: true },
    );

  it.each([
    ['promoted', 9, '*Step*\npromoted at step 9 of 9 · Bake 10m at 25%', 'promoted, ended at step 9 of 9'],
    [
      'rolled-back',
      2,
      '*Step*\nrolled back at step 2 of 9 · Bake 10m at 25%',
      'rolled back, ended at step 2 of 9',
    ],
    ['failed', 4, '*Step*\nfailed at step 4 of 9 · Bake 10m at 25%', 'failed, ended at step 4 of 9'],
    [
      'superseded',
      1,
      '*Step*\nsuperseded at step 1 of 9 · Bake 10m at 25%',
      'superseded by a newer release, ended at step 1 of 9',
    ],
  ] as const)('a %s release says so and where it got to, never "steps planned"', (state, step, field, text) => {
    const message = ended(state, step);
    expect(stepField(message)).toBe(field);
    expect(message.text).toContain(text);
    expect(JSON.stringify(message)).not.toContain('planned');
  });

  it.each([
    ['rolled-back', 'rolled back before its first step (of 9)'],
    ['failed', 'failed before its first step (of 9)'],
    ['superseded', 'superseded before its first step (of 9)'],
    ['promoted', 'promoted before its first step (of 9)'],
  ] as const)('a %s release that never reached its first step says it ended before it', (state, words) => {
    const message = ended(state, 0);
    expect(stepField(message)).toBe(`*Step*\n${words}`);
    expect(message.text).toContain('ended before its first step');
    expect(JSON.stringify(message)).not.toContain('planned');
  });

  it('a release aborted or rejected by a person rolled back: the root says so, and who did it', () => {
    const rejected = ended('rolled-back', 5, {
      kind: 'rolled_back',
      outcome: 'rolled_back',
      reason: 'aborted by a person: rejected by alice: Reject pressed in Slack by alice',
      actor: { via: 'slack', id: 'slack:T0SANDBOX/U0ONCALL1', name: 'alice' },
    });
    expect(stepField(rejected)).toBe('*Step*\nrolled back at step 5 of 9 · Bake 10m at 25%');
    expect(rejected.blocks[2]).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'default · release checkout-v2-0001 · by alice via Slack · updated 10:14 UTC',
        },
      ],
    });
    const aborted = ended('rolled-back', 4, {
      kind: 'rolled_back',
      outcome: 'rolled_back',
      actor: { via: 'cli', id: 'arn:aws:sts::123456789012:assumed-role/oncall/bob' },
    });
    expect(JSON.stringify(aborted.blocks[2])).toContain(
      'by arn:aws:sts::123456789012:assumed-role/oncall/bob via the CLI',
    );
  });

  it('a release rolled back after its shifts says how far it had got (the share its shifts reached)', () => {
    const rolled = rootMessage(
      releaseEvent({
        progress: {
          state: 'rolled-back',
          step: 2,
          steps: 9,
          newPercent: 0,
          reachedPercent: 5,
          label: 'Bake 10m at 5%',
        },
      }),
      { buttons: true },
    );
    expect(stepField(rolled)).toBe('*Step*\nrolled back at step 2 of 9 (5%) · Bake 10m at 5%');
    expect(rolled.text).toBe(
      'checkout v1 → v2: rolled back, ended at step 2 of 9 after reaching 5% (v2 0% · v1 100%)',
    );
  });

  it('a failed rollback says so on the root, not just "failed": a person must finish it', () => {
    const message = rootMessage(
      releaseEvent({
        kind: 'rollback_failed',
        outcome: 'failed',
        text: 'ACTION NEEDED: the rollback of v2 failed',
        progress: { state: 'failed', step: 6, steps: 9, newPercent: 25, label: 'Bake 10m at 25%' },
      }),
      { buttons: true },
    );
    const section = message.blocks[1];
    expect(section?.type === 'section' ? section.fields?.slice(0, 2).map((f) => f.text) : []).toEqual([
      '*State*\n:rotating_light: Rollback failed: finish it by hand',
      '*Step*\nrollback failed at step 6 of 9 · Bake 10m at 25%',
    ]);
    expect(message.text).toBe(
      'checkout v1 → v2: rollback failed: finish it by hand, ended at step 6 of 9 (v2 25% · v1 75%)',
    );
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
  });

  it('a release still before its first step says what is planned', () => {
    const queued = rootMessage(releaseEvent({ progress: { state: 'deploying', step: 0, steps: 9 } }), {
      buttons: false,
    });
    expect(stepField(queued)).toBe('*Step*\n9 steps planned');
  });
});

describe('Function: actorWords', () => {
  it('names a Slack user by the name the click carried, else mentions them; a CLI caller by principal', () => {
    expect(actorWords({ via: 'slack', id: 'slack:T1/U0ONCALL1', name: 'alice' })).toBe('by alice via Slack');
    expect(actorWords({ via: 'slack', id: 'slack:T1/U0ONCALL1' })).toBe('by <@U0ONCALL1> via Slack');
    expect(actorWords({ via: 'slack', id: 'slack:T1/U0ONCALL1', name: 'U0ONCALL1' })).toBe(
      'by <@U0ONCALL1> via Slack',
    );
    expect(actorWords({ via: 'slack', id: 'slack:T1/U1', name: '<!channel>' })).toBe(
      'by &lt;!channel&gt; via Slack',
    );
    expect(actorWords({ via: 'cli', id: 'arn:aws:iam::123456789012:user/bob' })).toBe(
      'by arn:aws:iam::123456789012:user/bob via the CLI',
    );
  });
});

describe('Function: transitionReply', () => {
  it('names service and versions in an outcome (it also shows in the channel) and who asked', () => {
    const reply = transitionReply(
      releaseEvent({
        kind: 'rolled_back',
        outcome: 'rolled_back',
        text: 'Rolled back to v1',
        reason: 'Roll back now pressed in Slack',
        actor: { via: 'slack', id: 'slack:T1/U0ONCALL1', name: 'alice' },
        progress: { state: 'rolled-back', newPercent: 0 },
      }),
      { buttons: true },
    );
    expect(reply.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':leftwards_arrow_with_hook: *checkout v1 → v2*: Rolled back to v1\n> Roll back now pressed in Slack',
      },
    });
    expect(reply.blocks[1]).toEqual({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: '10:14 UTC · step 4 of 7 · traffic v2 0% · v1 100% · by alice via Slack' },
      ],
    });
  });

  it('names service and versions when a promoted release was stopped in its window: a person must act on it', () => {
    const reply = transitionReply(
      releaseEvent({
        kind: 'stopped',
        text: 'The release of v2 was stopped during its rollback window: blue is left warm',
        reason: 'no alarm rolls v2 back automatically any more',
        progress: { state: 'promoted', newPercent: 100 },
      }),
      { buttons: true },
    );
    expect(reply.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':octagonal_sign: *checkout v1 → v2*: The release of v2 was stopped during its rollback window: blue is left warm\n> no alarm rolls v2 back automatically any more',
      },
    });
    expect(reply.blocks.map((b) => b.type)).toEqual(['section', 'context']);
  });

  it('puts Approve and Reject on the pause reply', () => {
    const reply = transitionReply(
      releaseEvent({ kind: 'paused', text: 'Paused for approval', progress: { state: 'paused' } }),
      { buttons: true },
    );
    const actions = reply.blocks[2];
    if (actions?.type !== 'actions') throw new Error('no actions on the pause reply');
    expect(actions.elements.map((e) => buttonOfAction(e.action_id))).toEqual(['approve', 'reject']);
  });
});

describe('Function: verifySlackSignature', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const body = Buffer.from('payload=%7B%22type%22%3A%22block_actions%22%7D');
  const now = 1_800_000_000;

  it("accepts Slack's v0 signature of the raw body, naming the secret that signed it", () => {
    const signature = slackSignature(secret, String(now - 10), body);
    expect(signature).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(
      verifySlackSignature({
        signature,
        timestamp: String(now - 10),
        body,
        nowSeconds: now,
        signingSecrets: ['other', secret],
      }),
    ).toEqual({ ok: true, secretIndex: 1 });
  });

  it('refuses a signature of another body, secret or timestamp (forged)', () => {
    const signature = slackSignature('not-the-secret', String(now), body);
    expect(
      verifySlackSignature({
        signature,
        timestamp: String(now),
        body,
        nowSeconds: now,
        signingSecrets: [secret],
      }),
    ).toMatchObject({
      ok: false,
      reason: 'forged',
    });
    const good = slackSignature(secret, String(now), body);
    const tampered = Buffer.from(`${body.toString()}x`);
    expect(
      verifySlackSignature({
        signature: good,
        timestamp: String(now),
        body: tampered,
        nowSeconds: now,
        signingSecrets: [secret],
      }),
    ).toMatchObject({ ok: false, reason: 'forged' });
    expect(
      verifySlackSignature({
        signature: 'v0=short',
        timestamp: String(now),
        body,
        nowSeconds: now,
        signingSecrets: [secret],
      }),
    ).toMatchObject({ ok: false, reason: 'forged' });
  });

  it('refuses a timestamp more than five minutes from now, even correctly signed (expired)', () => {
    const old = String(now - 301);
    const signature = slackSignature(secret, old, body);
    expect(
      verifySlackSignature({ signature, timestamp: old, body, nowSeconds: now, signingSecrets: [secret] }),
    ).toEqual({
      ok: false,
      reason: 'expired',
      detail: "the request was signed 301 s ago, more than Slack's 300 s",
    });
    const edge = String(now - 300);
    expect(
      verifySlackSignature({
        signature: slackSignature(secret, edge, body),
        timestamp: edge,
        body,
        nowSeconds: now,
        signingSecrets: [secret],
      }).ok,
    ).toBe(true);
  });

  it('refuses a request without the headers', () => {
    expect(
      verifySlackSignature({
        signature: undefined,
        timestamp: String(now),
        body,
        nowSeconds: now,
        signingSecrets: [secret],
      }),
    ).toMatchObject({
      ok: false,
      reason: 'missing',
    });
  });
});

describe('Function: answeredReply', () => {
  it('drops the buttons of an answered thread reply and says who answered; leaves a root alone', () => {
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: 'Paused' } },
      { type: 'actions', elements: [] },
    ];
    expect(
      answeredReply(
        { ts: '2.0', thread_ts: '1.0', text: 'Paused', blocks },
        'Reject pressed by <bob>',
        '2026-11-22T10:12:30Z',
      ),
    ).toEqual({
      text: 'Paused',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Paused' } },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: ':ballot_box_with_check: Reject pressed by &lt;bob&gt; · 10:12 UTC' },
          ],
        },
      ],
    });
    expect(answeredReply({ ts: '1.0', text: 'root', blocks }, 'x', '2026-11-22T10:12:30Z')).toBeUndefined();
    expect(
      answeredReply({ ts: '1.0', thread_ts: '1.0', blocks }, 'x', '2026-11-22T10:12:30Z'),
    ).toBeUndefined();
    expect(answeredReply(undefined, 'x', '2026-11-22T10:12:30Z')).toBeUndefined();
  });
});
