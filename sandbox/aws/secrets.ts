import { createHash } from 'node:crypto';
import { SimulatedAwsError } from './errors.ts';
import type { AwsServiceContext } from './services.ts';

/**
 * A secret's ARN: Secrets Manager appends a hyphen and six random characters to the name
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html); the sandbox
 * derives them from the name, so the IAM check and the service agree on it. An ARN is taken as it is.
 */
export const secretArnOf = (secretId: string, region: string, account: string): string => {
  if (secretId.startsWith('arn:')) return secretId;
  const suffix = createHash('sha256').update(secretId).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${account}:secret:${secretId}-${suffix}`;
};

/** SSM Parameter Store: the parameters the scenario declares (`world.parameters`), all SecureString. */
export class SimulatedSsm {
  public readonly parameters = new Map<string, string>();

  public constructor(private readonly world: AwsServiceContext) {}

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command !== 'GetParameter') return undefined;
    const name = String(input.Name ?? '');
    const value = this.parameters.get(name);
    // GetParameter of a name that does not exist: ParameterNotFound (400); the name is matched exactly, so
    // "/a/b" and "a/b" are different parameters.
    if (value === undefined) throw new SimulatedAwsError('ParameterNotFound', `Parameter ${name} not found.`);
    const decrypted = input.WithDecryption === true;
    return {
      Parameter: {
        Name: name,
        Type: 'SecureString',
        // Without WithDecryption, a SecureString's value comes back encrypted (base64 ciphertext).
        Value: decrypted ? value : Buffer.from(`kms:aws/ssm:${name}`).toString('base64'),
        Version: 1,
        ARN: `arn:aws:ssm:${this.world.region}:${this.world.account}:parameter/${name.replace(/^\//, '')}`,
        DataType: 'text',
      },
    };
  }
}

/** Secrets Manager: the secrets the scenario declares (`world.secrets`), each a SecretString. */
export class SimulatedSecretsManager {
  public readonly secrets = new Map<string, string>();

  public constructor(private readonly world: AwsServiceContext) {}

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command !== 'GetSecretValue') return undefined;
    const secretId = String(input.SecretId ?? '');
    const { region, account } = this.world;
    // A secret is found by its name or its full ARN.
    const name = [...this.secrets.keys()].find(
      (candidate) => candidate === secretId || secretArnOf(candidate, region, account) === secretId,
    );
    if (name === undefined)
      throw new SimulatedAwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    return {
      ARN: secretArnOf(name, region, account),
      Name: name,
      VersionId: 'sandbox-version-1',
      SecretString: this.secrets.get(name),
      VersionStages: ['AWSCURRENT'],
    };
  }
}
