import { createHash } from 'node:crypto';
import { BatchGetImageCommand, ECRClient, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import type { ImageLabels, ImageRef, ImageTimeLabel } from '../ports/image-labels.ts';
import { clientBase, customize } from './aws-clients.ts';

/** The OCI pre-defined annotation, used by image builders as a config label too (docker/metadata-action). */
export const OCI_CREATED_LABEL = 'org.opencontainers.image.created';

/**
 * The manifest types BatchGetImage may return: the ones its `acceptedMediaTypes` documents (Docker schema 1
 * has no config blob and no labels to read, so it is not asked for).
 */
export const IMAGE_MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

/**
 * A multi-platform image is an index naming one manifest per platform (ECR stores Docker manifest lists and
 * OCI image indexes: "Container image manifest format support in Amazon ECR"). `docker buildx` pushes an
 * OCI index even for one platform when it adds provenance attestations (its default), so the digest of a
 * push is often an index's: it is asked for too, and followed to a platform's manifest.
 */
export const IMAGE_INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

interface IndexEntry {
  mediaType?: unknown;
  digest?: unknown;
  platform?: { os?: unknown; architecture?: unknown };
  annotations?: Record<string, unknown>;
}

/**
 * The index entry whose configuration holds the image's labels: the first platform's manifest (one build
 * writes the same labels on every platform), never a buildx attestation manifest (platform
 * `unknown/unknown`, annotation `vnd.docker.reference.type: attestation-manifest`).
 */
const platformManifestOf = (entries: readonly IndexEntry[]): string | undefined => {
  const entry = entries.find(
    (candidate) =>
      typeof candidate.digest === 'string' &&
      (IMAGE_MANIFEST_MEDIA_TYPES as readonly unknown[]).includes(candidate.mediaType) &&
      candidate.platform?.os !== 'unknown' &&
      candidate.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
  );
  return entry?.digest as string | undefined;
};

/** `fetch` as the blob download uses it (injectable: the sandbox answers the pre-signed URL). */
export type BlobFetch = (url: string) => Promise<{ status: number; arrayBuffer: () => Promise<ArrayBuffer> }>;

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** RFC 3339 as the label holds it, checked and turned into one ISO 8601 form; undefined if it is not a date. */
const instantOf = (value: unknown): string | undefined => {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(value)) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
};

/**
 * The image's labels from ECR, as `docker pull` reads them: BatchGetImage returns the manifest (OCI or
 * Docker schema 2; an image index is followed to its first platform's manifest with a second BatchGetImage),
 * whose `config.digest` names the configuration blob; GetDownloadUrlForLayer returns a
 * pre-signed URL for that blob ("You can only get URLs for image layers that are referenced in an image":
 * the config blob is); the blob's `config.Labels` hold the label. The blob is checked against its digest.
 * Every way of not finding the label is returned as `missing` with the reason, so the caller falls back to
 * another change time and says so. IAM: ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository.
 */
export class EcrImageLabels implements ImageLabels {
  public constructor(
    private readonly ecr: ECRClient,
    private readonly fetchBlob: BlobFetch = (url) => fetch(url),
  ) {}

  public async createdAt(image: ImageRef): Promise<ImageTimeLabel> {
    const where = {
      ...(image.registryId ? { registryId: image.registryId } : {}),
      repositoryName: image.repository,
    };
    const getManifest = async (
      digest: string,
      types: readonly string[],
    ): Promise<
      { manifest: { config?: { digest?: unknown }; manifests?: unknown } } | { missing: string }
    > => {
      let text: string | undefined;
      try {
        const { images, failures } = await this.ecr.send(
          new BatchGetImageCommand({
            ...where,
            imageIds: [{ imageDigest: digest }],
            acceptedMediaTypes: [...types],
          }),
        );
        const failure = failures?.[0];
        if (failure)
          return {
            missing:
              `ECR BatchGetImage: ${failure.failureCode ?? 'failure'}: ${failure.failureReason ?? ''}`.trim(),
          };
        text = images?.[0]?.imageManifest;
      } catch (error) {
        return { missing: `ECR BatchGetImage: ${describe(error)}` };
      }
      if (!text) return { missing: `ECR returned no manifest for ${image.repository}@${digest}` };
      try {
        return { manifest: JSON.parse(text) as { config?: { digest?: unknown }; manifests?: unknown } };
      } catch {
        return { missing: 'the image manifest is not JSON' };
      }
    };
    let got = await getManifest(image.digest, [...IMAGE_MANIFEST_MEDIA_TYPES, ...IMAGE_INDEX_MEDIA_TYPES]);
    if ('missing' in got) return got;
    if (Array.isArray(got.manifest.manifests) && got.manifest.config === undefined) {
      const platform = platformManifestOf(got.manifest.manifests as IndexEntry[]);
      if (!platform) return { missing: `the image index ${image.digest} names no platform's image manifest` };
      got = await getManifest(platform, IMAGE_MANIFEST_MEDIA_TYPES);
      if ('missing' in got) return got;
    }
    const configDigest = got.manifest.config?.digest;
    if (typeof configDigest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(configDigest))
      return {
        missing: 'the image manifest names no sha256 configuration blob (an index or a schema 1 manifest)',
      };
    let url: string | undefined;
    try {
      ({ downloadUrl: url } = await this.ecr.send(
        new GetDownloadUrlForLayerCommand({ ...where, layerDigest: configDigest }),
      ));
    } catch (error) {
      return { missing: `ECR GetDownloadUrlForLayer: ${describe(error)}` };
    }
    if (!url) return { missing: `ECR returned no download URL for ${configDigest}` };
    let blob: Buffer;
    try {
      const response = await this.fetchBlob(url);
      if (response.status !== 200)
        return { missing: `the configuration blob download answered ${response.status}` };
      blob = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      return { missing: `the configuration blob download failed: ${describe(error)}` };
    }
    if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== configDigest)
      return { missing: `the configuration blob does not match its digest ${configDigest}` };
    let labels: Record<string, unknown> | undefined;
    try {
      labels =
        (JSON.parse(blob.toString('utf8')) as { config?: { Labels?: Record<string, unknown> | null } }).config
          ?.Labels ?? undefined;
    } catch {
      return { missing: 'the configuration blob is not JSON' };
    }
    const label = labels?.[OCI_CREATED_LABEL];
    if (label === undefined) return { missing: `the image has no ${OCI_CREATED_LABEL} label` };
    const at = instantOf(label);
    return at
      ? { at }
      : { missing: `the image's ${OCI_CREATED_LABEL} label "${String(label)}" is not an RFC 3339 time` };
  }
}

/** The label reader on a new ECR client. */
export const createEcrImageLabels = (): EcrImageLabels =>
  new EcrImageLabels(customize(new ECRClient(clientBase()), 'ECR'));
