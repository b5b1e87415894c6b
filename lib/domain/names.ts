import { createHash } from 'node:crypto';

/**
 * Step Functions execution names: at most 80 characters; no whitespace, brackets, wildcards,
 * `"#%\^|~$&,;:/`, backticks or control characters. Our names use only `[a-z0-9-]`.
 */
export const EXECUTION_NAME_MAX = 80;
const SERVICE_PART_MAX = 47;
const DIGEST_PART_LENGTH = 32;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** True for an OCI digest of the form `sha256:<64 lowercase hex>`. */
export const isImageDigest = (value: string): boolean => DIGEST_PATTERN.test(value);

/**
 * The execution name for releasing `digest` to `service`: `<service>-<first 32 hex of the digest>`.
 * Deterministic, so a duplicate push event maps onto the execution already started.
 */
export const executionNameFor = (service: string, digest: string): string => {
  const hex = digest.replace(/^sha256:/, '');
  const servicePart = service
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, SERVICE_PART_MAX);
  return `${servicePart}-${hex.slice(0, DIGEST_PART_LENGTH)}`;
};

/** A manual re-release of a digest gets a distinct, still deterministic, name per request id. */
export const manualExecutionNameFor = (service: string, digest: string, requestId: string): string => {
  const base = executionNameFor(service, digest);
  const suffix = createHash('sha256').update(requestId).digest('hex').slice(0, 8);
  return `${base.slice(0, EXECUTION_NAME_MAX - 9)}-${suffix}`;
};

/** A readable version label for an image reference: its tag, else its short digest. */
export const versionLabel = (image: { tag?: string; digest?: string; uri?: string }): string => {
  if (image.tag) return image.tag;
  const digest = image.digest ?? image.uri?.split('@')[1];
  if (digest) return digest.replace(/^sha256:/, 'sha256:').slice(0, 19);
  return image.uri ?? 'unknown';
};

/** Splits an image URI (`repo:tag`, `repo@sha256:...`, `repo:tag@sha256:...`) into its parts. */
export const parseImageUri = (uri: string): { repositoryUri: string; tag?: string; digest?: string } => {
  const at = uri.indexOf('@');
  const reference = at >= 0 ? uri.slice(0, at) : uri;
  const digest = at >= 0 ? uri.slice(at + 1) : undefined;
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.indexOf(':', lastSlash + 1);
  return {
    repositoryUri: colon >= 0 ? reference.slice(0, colon) : reference,
    ...(colon >= 0 ? { tag: reference.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
};
