/**
 * Reads the Slack secrets the config references with Powertools Parameters: an SSM SecureString parameter
 * (GetParameter WithDecryption) or a Secrets Manager secret (GetSecretValue), cached for a few minutes per
 * execution environment so a burst of release events does not read the same secret each time.
 *
 * Permissions: exactly ssm:GetParameter on the named parameters, secretsmanager:GetSecretValue on the named
 * secrets (serverless/role-resources.cjs derives both from shipline.yml). A SecureString encrypted with the
 * AWS managed key `aws/ssm` (or a secret with `aws/secretsmanager`) needs nothing more; one encrypted with a
 * customer managed KMS key also needs kms:Decrypt on that key, in the key policy or the function's role.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { now } from '../clock.ts';
import type { SecretRef } from '../config/slack.ts';
import { isTransientAwsError } from '../errors.ts';
import { perEnvironment } from '../per-environment.ts';
import { type SecretReader, SlackSecretError } from '../ports/slack.ts';
import { clientBase, customize } from './aws-clients.ts';

/** How long a secret stays cached: a rotated token is picked up within this time. */
export const SECRET_CACHE_SECONDS = 300;

interface Providers {
  ssm?: SSMProvider;
  secrets?: SecretsProvider;
  /** When each secret was last read from AWS (epoch ms on lib's clock), by `describe(ref)`. */
  readAt: Map<string, number>;
}

/**
 * The providers (their caches) of the execution environment: in Lambda, the container's. The
 * sandbox runs every simulated environment of several worlds through this module, each world with its own
 * secrets under the same names: a cache shared between them would hand one world's token to another, and
 * a cold start would find values AWS would read again.
 */
const providers = perEnvironment((): Providers => ({ readAt: new Map() }));

/**
 * The SDK clients, built on first use, one per container: a provider's cache is its own, and a client's
 * only state of its environment, the retry quota, the sandbox keeps per simulated environment itself.
 */
let ssmClient: SSMClient | undefined;
let secretsManagerClient: SecretsManagerClient | undefined;

const describe = (ref: SecretRef): string =>
  'ssm' in ref ? `SSM parameter ${ref.ssm}` : `Secrets Manager secret ${ref.secretsManager}`;

/** The secret reader over SSM Parameter Store and Secrets Manager (clients built on first use). */
export const createSlackSecretReader = (): SecretReader => ({
  read: async (ref: SecretRef): Promise<string> => {
    const entry = providers();
    const what = describe(ref);
    // Powertools times its cache with Date.now(); the age is also judged on lib's clock, the same one in
    // Lambda (the result is Powertools' own) and the virtual one in the sandbox, where a run's minutes pass
    // in milliseconds: a value older than the cache's time is read again there too, as on AWS.
    const readAt = entry.readAt.get(what);
    const started = now().getTime();
    const forceFetch = readAt !== undefined && started - readAt >= SECRET_CACHE_SECONDS * 1000;
    let value: unknown;
    try {
      if ('ssm' in ref) {
        ssmClient ??= customize(new SSMClient(clientBase()), 'SSM');
        entry.ssm ??= new SSMProvider({ awsSdkV3Client: ssmClient });
        value = await entry.ssm.get(ref.ssm, { decrypt: true, maxAge: SECRET_CACHE_SECONDS, forceFetch });
      } else {
        secretsManagerClient ??= customize(new SecretsManagerClient(clientBase()), 'SecretsManager');
        entry.secrets ??= new SecretsProvider({ awsSdkV3Client: secretsManagerClient });
        value = await entry.secrets.get(ref.secretsManager, { maxAge: SECRET_CACHE_SECONDS, forceFetch });
      }
      if (readAt === undefined || forceFetch) entry.readAt.set(what, started);
    } catch (error) {
      // Powertools wraps the SDK's error (GetParameterError); its cause says what AWS answered.
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const name = cause instanceof Error ? cause.name : 'Error';
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new SlackSecretError(`cannot read the ${describe(ref)}: ${name}: ${message}`, {
        retryable: isTransientAwsError(cause),
        cause,
      });
    }
    if (typeof value !== 'string' || value === '')
      throw new SlackSecretError(`the ${describe(ref)} holds no text value`, { retryable: false });
    return value.trim();
  },
});
