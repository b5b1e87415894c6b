import { createHash } from 'node:crypto';
import { SimulatedAwsError } from './errors.ts';
import type { AwsServiceContext } from './services.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/**
 * The `acceptedMediaTypes` of BatchGetImage: the API reference lists the three manifest types, and ECR
 * also stores and serves Docker manifest lists and OCI image indexes ("Container image manifest format
 * support in Amazon ECR"; the containerd ECR resolver asks for them).
 */
const ACCEPTED_MEDIA_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST_LIST,
]);

interface StoredImage {
  manifest: string;
  mediaType: string;
  /** The image's tags (a tag names one image of a repository: tagging another image moves it). */
  tags: string[];
  pushedAt: Date;
}

/** An image id's tag: 1 to 300 characters (ImageIdentifier, ECR API reference). */
const TAG = /^.{1,300}$/s;

const sha256 = (bytes: string | Buffer): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * ECR repositories of the account, holding the scenario's images (each version's digest, with the labels
 * its configuration carries), and the S3 host their blobs download from. Answers BatchGetImage and
 * GetDownloadUrlForLayer as the ECR API reference describes them; the pre-signed URL is answered through
 * the world's `fetch` (sandbox/test-route-fetch.ts).
 */
export class SimulatedEcr {
  private readonly repositories = new Map<string, Map<string, StoredImage>>();
  /** Blobs by digest, per repository (a blob is only served for a repository whose image references it). */
  private readonly blobs = new Map<string, Buffer>();
  private readonly urls = new Map<string, string>();

  public constructor(private readonly world: AwsServiceContext) {}

  /** The host pre-signed layer URLs point at (ECR's S3 bucket of the region). */
  public get blobHost(): string {
    return `prod-${this.world.region}-starport-layer-bucket.s3.${this.world.region}.amazonaws.com`;
  }

  public createRepository(name: string): void {
    if (!this.repositories.has(name)) this.repositories.set(name, new Map());
  }

  /**
   * Stores an image as a push leaves it: an OCI manifest naming a configuration blob whose `config.Labels`
   * hold `labels`. The manifest's own digest is the version's (the sandbox keeps the scenario's digests).
   * With `index`, the version's digest is an OCI image index as `docker buildx` pushes it: the platform's
   * manifest and a provenance attestation manifest (platform unknown/unknown).
   */
  public putImage(
    repository: string,
    digest: string,
    labels: Record<string, string>,
    options: { index?: boolean; tags?: string[] } = {},
  ): void {
    this.createRepository(repository);
    const pushedAt = this.world.clock.now();
    // Pushing a digest the repository holds again adds the new tags to it.
    const tags = [...(this.repositories.get(repository)?.get(digest)?.tags ?? [])];
    for (const tag of options.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
    this.untag(repository, tags);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'arm64',
        os: 'linux',
        config: { Labels: Object.keys(labels).length > 0 ? labels : null },
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    );
    const configDigest = sha256(config);
    this.blobs.set(`${repository}@${configDigest}`, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [],
    });
    if (!options.index) {
      this.repositories
        .get(repository)
        ?.set(digest, { manifest, mediaType: OCI_MANIFEST, tags: [...tags], pushedAt });
      return;
    }
    const platformDigest = sha256(manifest);
    this.repositories
      .get(repository)
      ?.set(platformDigest, { manifest, mediaType: OCI_MANIFEST, tags: [], pushedAt });
    const attestation = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256('{}'), size: 2 },
      layers: [],
    });
    const attestationDigest = sha256(attestation);
    this.repositories.get(repository)?.set(attestationDigest, {
      manifest: attestation,
      mediaType: OCI_MANIFEST,
      tags: [],
      pushedAt,
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: platformDigest,
          size: manifest.length,
          platform: { architecture: 'arm64', os: 'linux' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: attestationDigest,
          size: attestation.length,
          annotations: {
            'vnd.docker.reference.digest': platformDigest,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
      ],
    });
    this.repositories
      .get(repository)
      ?.set(digest, { manifest: index, mediaType: OCI_INDEX, tags: [...tags], pushedAt });
  }

  /**
   * Tags a stored image as a push of an existing digest with a new tag does (PutImage of the same manifest):
   * the tag leaves whichever image held it. Returns false when the repository holds no such image.
   */
  public tagImage(repository: string, digest: string, tag: string): boolean {
    const image = this.repositories.get(repository)?.get(digest);
    if (!image) return false;
    this.untag(repository, [tag]);
    image.tags.push(tag);
    return true;
  }

  /** Takes `tags` off every image of the repository (a tag names at most one image). */
  private untag(repository: string, tags: string[]): void {
    for (const image of this.repositories.get(repository)?.values() ?? [])
      image.tags = image.tags.filter((each) => !tags.includes(each));
  }

  /** The blob a pre-signed URL this service issued points at, or undefined for any other URL. */
  public blobAt(url: URL): Buffer | undefined {
    if (url.hostname !== this.blobHost) return undefined;
    const key = this.urls.get(url.pathname.slice(1));
    return key === undefined ? undefined : this.blobs.get(key);
  }

  /** The repository named in the call, in this account's registry; RepositoryNotFoundException otherwise. */
  private repository(input: Record<string, unknown>): { name: string; images: Map<string, StoredImage> } {
    const name = String(input.repositoryName ?? '');
    if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name))
      throw new SimulatedAwsError(
        'InvalidParameterException',
        `Invalid parameter at 'repositoryName' failed to satisfy constraint: '${name}'`,
      );
    const registry = input.registryId === undefined ? this.world.account : String(input.registryId);
    const images = registry === this.world.account ? this.repositories.get(name) : undefined;
    if (!images)
      throw new SimulatedAwsError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${registry}'`,
      );
    return { name, images };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    switch (command) {
      case 'BatchGetImage':
        return this.batchGetImage(input);
      case 'GetDownloadUrlForLayer':
        return this.getDownloadUrlForLayer(input);
      case 'DescribeImages':
        return this.describeImages(input);
      default:
        return undefined;
    }
  }

  /**
   * BatchGetImage: each image id (digest or tag; this sandbox stores images by digest) is answered with its
   * manifest or a failure (ImageNotFound, InvalidImageDigest); `acceptedMediaTypes` holds the manifest and
   * index types ECR serves.
   */
  private batchGetImage(input: Record<string, unknown>): unknown {
    const { images } = this.repository(input);
    const ids = input.imageIds as Array<{ imageDigest?: string; imageTag?: string }> | undefined;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100)
      throw new SimulatedAwsError(
        'InvalidParameterException',
        "Invalid parameter at 'imageIds' failed to satisfy constraint: Member must have length between 1 and 100",
      );
    const accepted = input.acceptedMediaTypes as string[] | undefined;
    for (const type of accepted ?? [])
      if (!ACCEPTED_MEDIA_TYPES.has(type))
        throw new SimulatedAwsError(
          'InvalidParameterException',
          `Invalid parameter: acceptedMediaTypes ${type}`,
        );
    const found: unknown[] = [];
    const failures: unknown[] = [];
    for (const id of ids) {
      const digest = id.imageDigest;
      if (digest !== undefined && !DIGEST.test(digest)) {
        failures.push({
          imageId: id,
          failureCode: 'InvalidImageDigest',
          failureReason: 'Invalid image digest',
        });
        continue;
      }
      const image = digest === undefined ? undefined : images.get(digest);
      // An image whose manifest type the caller does not accept is not served (a registry answers such a
      // pull with 404): a caller that never asks for indexes does not get a multi-platform image's.
      if (!image || (accepted !== undefined && accepted.length > 0 && !accepted.includes(image.mediaType))) {
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
        continue;
      }
      found.push({
        registryId: this.world.account,
        repositoryName: String(input.repositoryName),
        imageId: { imageDigest: digest },
        imageManifest: image.manifest,
        imageManifestMediaType: image.mediaType,
      });
    }
    return { images: found, failures };
  }

  /**
   * DescribeImages (ECR API reference): with `imageIds` (1 to 100, each a tag or a digest) the images they
   * name, and ImageNotFoundException naming the first id the repository does not hold (unlike BatchGetImage,
   * which reports failures per id); without, every image of the repository, filtered by `filter.tagStatus`
   * (TAGGED, UNTAGGED, ANY), `maxResults` (1 to 1000) at a time with a `nextToken`. `maxResults` and
   * `nextToken` cannot be used with `imageIds`. Each detail carries registryId, repositoryName, imageDigest,
   * imageTags (only when it has any), imageSizeInBytes, imagePushedAt, imageManifestMediaType.
   */
  private describeImages(input: Record<string, unknown>): unknown {
    const { name, images } = this.repository(input);
    const registry = this.world.account;
    const detail = (digest: string, image: StoredImage) => ({
      registryId: registry,
      repositoryName: name,
      imageDigest: digest,
      ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
      imageSizeInBytes: image.manifest.length,
      imagePushedAt: image.pushedAt,
      imageManifestMediaType: image.mediaType,
    });
    const ids = input.imageIds as Array<{ imageDigest?: string; imageTag?: string }> | undefined;
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100)
        throw new SimulatedAwsError(
          'InvalidParameterException',
          "Invalid parameter at 'imageIds' failed to satisfy constraint: Member must have length between 1 and 100",
        );
      if (input.maxResults !== undefined || input.nextToken !== undefined)
        throw new SimulatedAwsError(
          'InvalidParameterException',
          'maxResults and nextToken cannot be used when you specify images with imageIds',
        );
      const found = new Map<string, ReturnType<typeof detail>>();
      for (const id of ids) {
        const { imageDigest: digest, imageTag: tag } = id;
        if (digest === undefined && tag === undefined)
          throw new SimulatedAwsError(
            'InvalidParameterException',
            'Invalid parameter at imageIds: an image id needs an imageDigest or an imageTag',
          );
        if (digest !== undefined && !DIGEST.test(digest))
          throw new SimulatedAwsError(
            'InvalidParameterException',
            `Invalid parameter at 'imageDigest' failed to satisfy constraint: '${digest}'`,
          );
        if (tag !== undefined && !TAG.test(tag))
          throw new SimulatedAwsError(
            'InvalidParameterException',
            `Invalid parameter at 'imageTag' failed to satisfy constraint: '${tag}'`,
          );
        const match = [...images].find(
          ([key, image]) =>
            (digest === undefined || key === digest) && (tag === undefined || image.tags.includes(tag)),
        );
        if (!match)
          throw new SimulatedAwsError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${digest ?? 'null'}', imageTag:'${tag ?? 'null'}'} does not exist within the repository with name '${name}' in the registry with id '${registry}'`,
          );
        found.set(match[0], detail(match[0], match[1]));
      }
      return { imageDetails: [...found.values()] };
    }
    const filter = input.filter as { tagStatus?: string } | undefined;
    const status = filter?.tagStatus ?? 'ANY';
    if (!['TAGGED', 'UNTAGGED', 'ANY'].includes(status))
      throw new SimulatedAwsError(
        'InvalidParameterException',
        `Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]`,
      );
    const maxResults = input.maxResults === undefined ? 100 : Number(input.maxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 1000)
      throw new SimulatedAwsError(
        'InvalidParameterException',
        "Invalid parameter at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000",
      );
    const all = [...images]
      .filter(([, image]) => status === 'ANY' || (status === 'TAGGED') === image.tags.length > 0)
      .map(([digest, image]) => detail(digest, image));
    const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new SimulatedAwsError('InvalidParameterException', 'Invalid parameter at nextToken');
    const page = all.slice(start, start + maxResults);
    const next = start + maxResults;
    return { imageDetails: page, ...(next < all.length ? { nextToken: String(next) } : {}) };
  }

  /**
   * GetDownloadUrlForLayer: "You can only get URLs for image layers that are referenced in an image";
   * anything else is LayersNotFoundException. The URL is a pre-signed S3 URL of the region's layer bucket.
   */
  private getDownloadUrlForLayer(input: Record<string, unknown>): unknown {
    const { name } = this.repository(input);
    const layerDigest = String(input.layerDigest ?? '');
    if (!DIGEST.test(layerDigest))
      throw new SimulatedAwsError(
        'InvalidParameterException',
        `Invalid parameter at 'layerDigest' failed to satisfy constraint: '${layerDigest}'`,
      );
    const key = `${name}@${layerDigest}`;
    if (!this.blobs.has(key))
      throw new SimulatedAwsError(
        'LayersNotFoundException',
        `The specified layers could not be found, or the specified layer is not valid for this repository: ${layerDigest}`,
      );
    const path = `${name.replaceAll('/', '-')}-${layerDigest.slice(7, 23)}-${this.urls.size + 1}`;
    this.urls.set(path, key);
    return {
      downloadUrl: `https://${this.blobHost}/${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=sandbox`,
      layerDigest,
    };
  }
}
