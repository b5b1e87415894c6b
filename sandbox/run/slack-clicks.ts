import { buttonValue, parseButtonValue, SLACK_BUTTONS } from '../../lib/domain/slack.ts';
import { slackSignature } from '../../lib/domain/slack-signature.ts';
import { DEFAULT_ENVIRONMENT } from '../../lib/ports/service-ref.ts';
import { SimulatedSlack } from '../aws/slack.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import { LambdaInvocationError } from '../lambda-runtime.ts';
import type { SlackClick } from '../scenario/slack-schema.ts';

/** How the interactions function answered one click, and what it told the user. */
export interface ClickResult {
  at: number;
  button: SlackClick['button'];
  user: string;
  signed: SlackClick['signed'];
  service: string;
  status: number;
  body: string;
  /** Virtual time from the request to the answer (Slack gives up after 3000 ms). */
  ms: number;
  /** What the function told the user through the click's response_url. */
  told: string[];
}

/** The interactions function (serverless.yml key). */
const INTERACTIONS_FUNCTION = 'slackInteractions';

/** A secret that is not the app's: what a forger signs with. */
const FORGED_SECRET = 'sandbox-forger-does-not-know-the-signing-secret';

/**
 * The button's value as the thread shows it now: the newest message of the workspace with that button for the
 * service. With no such message (no thread, or a state without that button), the value a button of the
 * service's latest started release would carry: a person may click a button of an older message.
 */
const buttonTarget = (
  world: SimulatedWorld,
  actionId: string,
  service: string,
  releaseOf: () => string | undefined,
) => {
  for (const message of [...world.slack.messages].reverse()) {
    const { blocks } = SimulatedSlack.current(message);
    for (const block of blocks as Array<{ type?: string; elements?: Array<Record<string, unknown>> }>) {
      if (block.type !== 'actions') continue;
      for (const element of block.elements ?? []) {
        const target = parseButtonValue(element.value);
        if (element.action_id === actionId && target?.service === service)
          return { value: String(element.value), message, shown: true };
      }
    }
  }
  const releaseId = releaseOf();
  if (releaseId === undefined) return undefined;
  return {
    value: buttonValue({ service, environment: DEFAULT_ENVIRONMENT, releaseId }),
    message: undefined,
    shown: false,
  };
};

/** A Lambda Function URL request (payload format 2.0) carrying Slack's signed form post. */
const functionUrlRequest = (world: SimulatedWorld, body: string, timestamp: number, secret: string) => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/',
  rawQueryString: '',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, String(timestamp), body),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    host: `sandbox.lambda-url.${world.region}.on.aws`,
  },
  requestContext: {
    accountId: 'anonymous',
    apiId: 'sandbox',
    domainName: `sandbox.lambda-url.${world.region}.on.aws`,
    domainPrefix: 'sandbox',
    http: {
      method: 'POST',
      path: '/',
      protocol: 'HTTP/1.1',
      sourceIp: '52.4.0.1',
      userAgent: 'Slackbot 1.0',
    },
    requestId: world.random.uuid(),
    routeKey: '$default',
    stage: '$default',
    time: world.clock.now().toISOString(),
    timeEpoch: world.clock.nowMillis,
  },
  // Lambda hands a form body over base64-encoded (it is not one of the text types it passes as is).
  body: Buffer.from(body, 'utf8').toString('base64'),
  isBase64Encoded: true,
});

/** Clicks of one run: the last accepted request is what a replay sends again. */
export class SlackClicks {
  public readonly results: ClickResult[] = [];
  private lastRequest: ReturnType<typeof functionUrlRequest> | undefined;

  public constructor(private readonly world: SimulatedWorld) {}

  /** The release of the service's latest started notification (the one its thread would be about). */
  private releaseOf(service: string): string | undefined {
    for (const published of [...this.world.sns.messages].reverse()) {
      try {
        const message = JSON.parse(published.message) as {
          event?: unknown;
          service?: unknown;
          release?: unknown;
        };
        if (message.event === 'started' && message.service === service && typeof message.release === 'string')
          return message.release;
      } catch {
        // not a Shipline notification
      }
    }
    return undefined;
  }

  /** A person clicks a button; Slack posts the click to the interactions function's Function URL. */
  public async click(click: SlackClick, service: string): Promise<void> {
    const world = this.world;
    const workspace = world.slack.workspace;
    const spec = SLACK_BUTTONS[click.button];
    const name = workspace?.users[click.user] ?? click.user;
    let request: ReturnType<typeof functionUrlRequest>;
    let responseUrl: string | undefined;
    if (click.signed === 'replayed') {
      if (!this.lastRequest) {
        world.record(
          'event',
          `a replayed Slack click of ${service}: there is no earlier click to replay`,
          undefined,
          service,
        );
        return;
      }
      request = structuredClone(this.lastRequest);
      world.record(
        'event',
        `someone replays the previous Slack click request (${spec.label}) byte for byte`,
        undefined,
        service,
      );
    } else {
      const target = buttonTarget(world, spec.actionId, service, () => this.releaseOf(service));
      if (!target) {
        world.record(
          'event',
          `${name} clicks "${spec.label}": ${service} has no release to click on`,
          undefined,
          service,
        );
        return;
      }
      responseUrl = world.slack.issueResponseUrl(click.user, target.message);
      const team = workspace?.team ?? 'T0SANDBOX';
      const payload = {
        type: 'block_actions',
        team: { id: team, domain: 'sandbox' },
        user: { id: click.user, username: name, name, team_id: team },
        api_app_id: 'A0SHIPLINE',
        token: 'deprecated-verification-token',
        container: target.message
          ? {
              type: 'message',
              message_ts: target.message.ts,
              channel_id: target.message.channel,
              is_ephemeral: false,
            }
          : { type: 'message' },
        trigger_id: `${world.clock.nowMillis}.sandbox`,
        channel: target.message ? { id: target.message.channel } : undefined,
        // The clicked message as the channel shows it (Slack sends it with a click on a message).
        message: target.message
          ? {
              type: 'message',
              ts: target.message.ts,
              ...(target.message.threadTs ? { thread_ts: target.message.threadTs } : {}),
              ...SimulatedSlack.current(target.message),
            }
          : undefined,
        response_url: responseUrl,
        actions: [
          {
            type: 'button',
            action_id: spec.actionId,
            block_id: 'shipline_actions',
            text: { type: 'plain_text', text: spec.label, emoji: true },
            value: target.value,
            style: spec.style,
            action_ts: `${Math.floor(world.clock.nowMillis / 1000)}.000100`,
          },
        ],
      };
      const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const now = Math.floor(world.clock.nowMillis / 1000);
      const timestamp = click.signed === 'expired' ? now - 600 : now;
      const secret = click.signed === false ? FORGED_SECRET : (workspace?.signingSecret ?? FORGED_SECRET);
      request = functionUrlRequest(world, body, timestamp, secret);
      world.record(
        'event',
        `${click.user} (${name}) clicks "${spec.label}" in ${service}'s Slack thread${target.shown ? '' : ' (an older message)'}${click.signed === true ? '' : click.signed === false ? ' - forged signature' : ' - signed 10 minutes ago'}`,
        undefined,
        service,
      );
    }
    const started = world.clock.nowMillis;
    let status: number;
    let answerBody = '';
    try {
      const answer = (await world.lambda.invoke(INTERACTIONS_FUNCTION, request)) as {
        statusCode?: number;
        body?: string;
      };
      status = answer?.statusCode ?? 200;
      answerBody = answer?.body ?? '';
    } catch (error) {
      // A function error reaches the caller of a Function URL as 502 Bad Gateway.
      status = 502;
      answerBody = error instanceof LambdaInvocationError ? error.errorMessage : (error as Error).message;
    }
    if (click.signed === true) this.lastRequest = request;
    const told = world.slack.responses
      .filter((r) => responseUrl !== undefined && r.url === responseUrl)
      .map((r) => r.text);
    const result: ClickResult = {
      at: started,
      button: click.button,
      user: click.user,
      signed: click.signed,
      service,
      status,
      body: answerBody,
      ms: world.clock.nowMillis - started,
      told,
    };
    this.results.push(result);
    world.record(
      'event',
      `slackInteractions answered the click ${status}${answerBody ? ` (${answerBody})` : ''} in ${result.ms} ms`,
      undefined,
      service,
    );
  }
}
