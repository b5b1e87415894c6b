/**
 * Slack's request signatures (version 0), as Slack documents them in "Verifying requests from Slack"
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack): the `X-Slack-Signature` header is
 * `v0=` + the hex HMAC-SHA256, keyed with the app's signing secret, of `v0:<X-Slack-Request-Timestamp>:<raw
 * body>`; a request whose timestamp is more than five minutes from now is refused (a replay).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's window: a request older (or further in the future) than this is refused. */
export const SIGNATURE_MAX_AGE_SECONDS = 5 * 60;

/** Why a request is refused, or that it is authentic (with the secret that signed it). */
export type SignatureCheck =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: 'missing' | 'expired' | 'forged'; detail: string };

/** `v0=<hex>` for a timestamp and a raw body, with one signing secret. */
export const slackSignature = (signingSecret: string, timestamp: string, body: Buffer | string): string => {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
};

/**
 * Checks a request's signature against each signing secret the pipeline knows (a service with its own
 * Slack app has its own), comparing in constant time (`crypto.timingSafeEqual`) so the comparison leaks
 * nothing of the expected signature. The body is the bytes as received, never a re-serialisation.
 */
export const verifySlackSignature = (request: {
  signature: string | undefined;
  timestamp: string | undefined;
  body: Buffer;
  nowSeconds: number;
  signingSecrets: readonly string[];
}): SignatureCheck => {
  const { signature, timestamp, body, nowSeconds, signingSecrets } = request;
  if (!signature || !timestamp)
    return {
      ok: false,
      reason: 'missing',
      detail: 'the request has no X-Slack-Signature or X-Slack-Request-Timestamp header',
    };
  if (!/^\d{1,12}$/.test(timestamp))
    return {
      ok: false,
      reason: 'forged',
      detail: `X-Slack-Request-Timestamp ${JSON.stringify(timestamp)} is not a Unix time`,
    };
  const age = nowSeconds - Number(timestamp);
  if (Math.abs(age) > SIGNATURE_MAX_AGE_SECONDS)
    return {
      ok: false,
      reason: 'expired',
      detail: `the request was signed ${Math.abs(age)} s ${age >= 0 ? 'ago' : 'in the future'}, more than Slack's ${SIGNATURE_MAX_AGE_SECONDS} s`,
    };
  const received = Buffer.from(signature, 'utf8');
  for (const [index, secret] of signingSecrets.entries()) {
    const expected = Buffer.from(slackSignature(secret, timestamp, body), 'utf8');
    // timingSafeEqual needs equal lengths; a length mismatch says nothing about the secret.
    if (received.length === expected.length && timingSafeEqual(received, expected))
      return { ok: true, secretIndex: index };
  }
  return { ok: false, reason: 'forged', detail: 'the signature matches no signing secret of the pipeline' };
};
