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
import type { SecretRef } from '../config/slack.ts';
import { environment } from '../env.ts';
import { isTransientAwsError } from '../errors.ts';
import { type SecretReader, SlackSecretError } from '../ports/slack.ts';
import { clientBase, customize } from './aws-clients.ts';

/** How long a secret stays cached: a rotated token is picked up within this time. */
export const SECRET_CACHE_SECONDS = 300;

interface Providers {
  ssm?: SSMProvider;
  secrets?: SecretsProvider;
}

/**
 * One pair of providers (and their caches) per pipeline table. A Lambda function serves one pipeline, so
 * this is one pair; the sandbox runs several simulated accounts in one process, each with its own table and
 * its own secrets under the same names, and a cache shared between them would hand one account's token to
 * another.
 */
const providersByPipeline = new Map<string, Providers>();

const providers = (): Providers => {
  const key = environment.tableName();
  let entry = providersByPipeline.get(key);
  if (!entry) {
    entry = {};
    providersByPipeline.set(key, entry);
  }
  return entry;
};

const describe = (ref: SecretRef): string =>
  'ssm' in ref ? `SSM parameter ${ref.ssm}` : `Secrets Manager secret ${ref.secretsManager}`;

/** The secret reader over SSM Parameter Store and Secrets Manager (clients built on first use). */
export const createSlackSecretReader = (): SecretReader => ({
  read: async (ref: SecretRef): Promise<string> => {
    const entry = providers();
    let value: unknown;
    try {
      if ('ssm' in ref) {
        entry.ssm ??= new SSMProvider({ awsSdkV3Client: customize(new SSMClient(clientBase()), 'SSM') });
        value = await entry.ssm.get(ref.ssm, { decrypt: true, maxAge: SECRET_CACHE_SECONDS });
      } else {
        entry.secrets ??= new SecretsProvider({
          awsSdkV3Client: customize(new SecretsManagerClient(clientBase()), 'SecretsManager'),
        });
        value = await entry.secrets.get(ref.secretsManager, { maxAge: SECRET_CACHE_SECONDS });
      }
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
