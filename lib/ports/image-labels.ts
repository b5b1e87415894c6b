/** Which image: a digest in a repository of a registry (the pipeline's own account when `registryId` is absent). */
export interface ImageRef {
  registryId?: string;
  repository: string;
  digest: string;
}

/** What an image's label read found: the time it holds, or why there is none (data, never a fault). */
export type ImageTimeLabel = { at: string } | { missing: string };

/** Reads the time labels an image carries in its configuration (lead time's start). */
export interface ImageLabels {
  /** The image's `org.opencontainers.image.created` label, as an ISO 8601 instant. */
  createdAt(image: ImageRef): Promise<ImageTimeLabel>;
}
