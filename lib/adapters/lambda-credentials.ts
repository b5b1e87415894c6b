import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Lambda puts the function role's credentials in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and the SDK's default chain resolves them there first.
 * The Lambda bundles alias `@aws-sdk/credential-provider-node` to this module (see serverless.yml):
 * the same first link of the chain, without the SSO, INI, process and web-identity links and the
 * nested STS/SSO clients they would bundle (about 100 KB per function).
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
