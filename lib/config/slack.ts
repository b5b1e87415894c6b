import type { ShiplineConfig } from './schema.ts';
import type { SecretRef } from './slack-schema.ts';

export type { SecretRef } from './slack-schema.ts';

/** One service's Slack settings, the service's own fields over the pipeline's. */
export interface SlackSettings {
  channel: string;
  botToken: SecretRef;
  signingSecret: SecretRef;
  /** Slack user IDs allowed to press this service's buttons. */
  allowlist: string[];
}

/**
 * The Slack settings a service's releases use, or undefined when they go to no Slack channel (no slack
 * section, or `slack: false` on the service). The schema guarantees a complete result when one applies.
 */
export const slackSettingsFor = (config: ShiplineConfig, service: string): SlackSettings | undefined => {
  const own = Object.hasOwn(config.services, service) ? config.services[service]?.slack : undefined;
  if (own === false) return undefined;
  const pipeline = config.slack;
  const channel = own?.channel ?? pipeline?.channel;
  const botToken = own?.botToken ?? pipeline?.botToken;
  const signingSecret = own?.signingSecret ?? pipeline?.signingSecret;
  if (!channel || !botToken || !signingSecret) return undefined;
  return { channel, botToken, signingSecret, allowlist: own?.allowlist ?? pipeline?.allowlist ?? [] };
};

/** A reference's identity, to compare two references (the same secret read once). */
export const secretRefKey = (ref: SecretRef): string =>
  'ssm' in ref ? `ssm:${ref.ssm}` : `secretsmanager:${ref.secretsManager}`;

/** Every distinct Slack secret reference the config names, of one kind (the IAM grants and the verifier). */
export const slackSecretRefs = (config: ShiplineConfig, which: 'botToken' | 'signingSecret'): SecretRef[] => {
  const refs = new Map<string, SecretRef>();
  for (const name of Object.keys(config.services)) {
    const settings = slackSettingsFor(config, name);
    if (settings) refs.set(secretRefKey(settings[which]), settings[which]);
  }
  return [...refs.values()];
};
