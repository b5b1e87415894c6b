import { createHash } from 'node:crypto';
import { BatchGetImageCommand, ECRClient, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type BlobFetch, EcrImageLabels } from '../../../lib/adapters/ecr-image-labels.ts';

const ecr = mockClient(ECRClient);

const IMAGE_DIGEST = `sha256:${'a'.repeat(64)}`;
const CONFIG = JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  config: { Labels: { 'org.opencontainers.image.created': '2026-11-20T09:15:00+01:00' } },
});
const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const manifestFor = (configDigest: string) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: 100 },
    layers: [],
  });
const URL_OF_BLOB =
  'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/blob?X-Amz-Signature=x';

/** A blob server answering one URL with `body`. */
const serving = (body: string, status = 200): BlobFetch & { urls: string[] } => {
  const urls: string[] = [];
  const fetchBlob = async (url: string) => {
    urls.push(url);
    return { status, arrayBuffer: async () => new TextEncoder().encode(body).buffer as ArrayBuffer };
  };
  return Object.assign(fetchBlob, { urls });
};

describe('Class: EcrImageLabels', () => {
  beforeEach(() => {
    ecr.reset();
    ecr.on(BatchGetImageCommand).resolves({
      images: [{ imageId: { imageDigest: IMAGE_DIGEST }, imageManifest: manifestFor(digestOf(CONFIG)) }],
      failures: [],
    });
    ecr
      .on(GetDownloadUrlForLayerCommand)
      .resolves({ downloadUrl: URL_OF_BLOB, layerDigest: digestOf(CONFIG) });
  });

  describe('Method: createdAt', () => {
    it('reads the label from the configuration blob the manifest names, as ISO 8601 UTC', async () => {
      const blobs = serving(CONFIG);
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), blobs);

      await expect(
        labels.createdAt({ registryId: '123456789012', repository: 'checkout', digest: IMAGE_DIGEST }),
      ).resolves.toEqual({ at: '2026-11-20T08:15:00.000Z' });

      expect(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input).toEqual({
        registryId: '123456789012',
        repositoryName: 'checkout',
        imageIds: [{ imageDigest: IMAGE_DIGEST }],
        acceptedMediaTypes: [
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
        ],
      });
      expect(ecr.commandCalls(GetDownloadUrlForLayerCommand)[0]?.args[0].input).toEqual({
        registryId: '123456789012',
        repositoryName: 'checkout',
        layerDigest: digestOf(CONFIG),
      });
      expect(blobs.urls).toEqual([URL_OF_BLOB]);
    });

    it('says the label is missing when the image has none', async () => {
      const config = JSON.stringify({ config: { Labels: null } });
      ecr.on(BatchGetImageCommand).resolves({ images: [{ imageManifest: manifestFor(digestOf(config)) }] });
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(config));

      await expect(labels.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing: 'the image has no org.opencontainers.image.created label',
      });
      expect(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input.registryId).toBeUndefined();
    });

    it('names the failure BatchGetImage reports for the digest', async () => {
      ecr.on(BatchGetImageCommand).resolves({
        images: [],
        failures: [
          {
            imageId: { imageDigest: IMAGE_DIGEST },
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          },
        ],
      });
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(CONFIG));

      await expect(labels.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing: 'ECR BatchGetImage: ImageNotFound: Requested image not found',
      });
      expect(ecr.commandCalls(GetDownloadUrlForLayerCommand)).toHaveLength(0);
    });

    it('names an AWS error instead of failing (the caller falls back to another change time)', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).rejects(
        Object.assign(new Error('not authorized to perform: ecr:GetDownloadUrlForLayer'), {
          name: 'AccessDeniedException',
        }),
      );
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(CONFIG));

      await expect(labels.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing:
          'ECR GetDownloadUrlForLayer: AccessDeniedException: not authorized to perform: ecr:GetDownloadUrlForLayer',
      });
    });

    it('refuses a blob that does not match its digest, and a label that is not a time', async () => {
      const tampered = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(`${CONFIG} `));
      await expect(tampered.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing: `the configuration blob does not match its digest ${digestOf(CONFIG)}`,
      });

      const config = JSON.stringify({
        config: { Labels: { 'org.opencontainers.image.created': 'yesterday' } },
      });
      ecr.on(BatchGetImageCommand).resolves({ images: [{ imageManifest: manifestFor(digestOf(config)) }] });
      const notATime = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(config));
      await expect(notATime.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing: 'the image\'s org.opencontainers.image.created label "yesterday" is not an RFC 3339 time',
      });
    });

    it("says an image index that names no platform's manifest has no label to read", async () => {
      ecr.on(BatchGetImageCommand).resolves({
        images: [{ imageManifest: JSON.stringify({ schemaVersion: 2, manifests: [] }) }],
      });
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(CONFIG));

      await expect(labels.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        missing: `the image index ${IMAGE_DIGEST} names no platform's image manifest`,
      });
    });

    it("follows a multi-platform image index (buildx, with its attestation) to a platform's manifest", async () => {
      const platform = `sha256:${'b'.repeat(64)}`;
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${'f'.repeat(64)}`,
            size: 566,
            annotations: {
              'vnd.docker.reference.digest': platform,
              'vnd.docker.reference.type': 'attestation-manifest',
            },
            platform: { architecture: 'unknown', os: 'unknown' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: platform,
            size: 1054,
            platform: { architecture: 'arm64', os: 'linux' },
          },
        ],
      });
      ecr
        .on(BatchGetImageCommand, { imageIds: [{ imageDigest: IMAGE_DIGEST }] })
        .resolves({
          images: [
            {
              imageManifest: index,
              imageManifestMediaType: 'application/vnd.oci.image.index.v1+json',
            },
          ],
        })
        .on(BatchGetImageCommand, { imageIds: [{ imageDigest: platform }] })
        .resolves({ images: [{ imageManifest: manifestFor(digestOf(CONFIG)) }] });
      const labels = new EcrImageLabels(new ECRClient({ region: 'us-east-1' }), serving(CONFIG));

      await expect(labels.createdAt({ repository: 'checkout', digest: IMAGE_DIGEST })).resolves.toEqual({
        at: '2026-11-20T08:15:00.000Z',
      });
      expect(ecr.commandCalls(BatchGetImageCommand).map((call) => call.args[0].input)).toEqual([
        expect.objectContaining({ imageIds: [{ imageDigest: IMAGE_DIGEST }] }),
        {
          repositoryName: 'checkout',
          imageIds: [{ imageDigest: platform }],
          acceptedMediaTypes: [
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.docker.distribution.manifest.v2+json',
          ],
        },
      ]);
    });
  });
});
