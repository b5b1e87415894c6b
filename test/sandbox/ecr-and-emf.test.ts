import '../../sandbox/polyfills.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientBase, customize } from '../../lib/adapters/aws-clients.ts';
import { createEcrImageLabels } from '../../lib/adapters/ecr-image-labels.ts';
import { EmfDeliveryMetrics } from '../../lib/adapters/emf-delivery-metrics.ts';
import { runInWorld } from '../../sandbox/context.ts';
import { installSandboxClients } from '../../sandbox/intercept.ts';
import { makeWorld, START } from './support.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const UNLABELLED = `sha256:${'d'.repeat(64)}`;
const ENV = { AWS_REGION: 'us-east-1' };

describe('Sandbox: ECR image labels and EMF metrics', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    installSandboxClients();
  });
  afterAll(() => {
    process.env = saved;
  });

  it("reads an image's OCI created label through BatchGetImage, GetDownloadUrlForLayer and the blob's URL", async () => {
    const { clock, world } = makeWorld();
    world.ecr.putImage('checkout', DIGEST, {
      'org.opencontainers.image.created': '2026-11-22T08:30:00+01:00',
    });
    world.ecr.putImage('checkout', UNLABELLED, {});

    const results = await runInWorld({ world, clock, env: ENV }, async () => {
      const labels = createEcrImageLabels();
      return [
        await labels.createdAt({ repository: 'checkout', digest: DIGEST }),
        await labels.createdAt({ repository: 'checkout', digest: UNLABELLED }),
        await labels.createdAt({ repository: 'checkout', digest: `sha256:${'e'.repeat(64)}` }),
        await labels.createdAt({ repository: 'payments', digest: DIGEST }),
      ];
    });

    expect(results).toEqual([
      { at: '2026-11-22T07:30:00.000Z' },
      { missing: 'the image has no org.opencontainers.image.created label' },
      { missing: 'ECR BatchGetImage: ImageNotFound: Requested image not found' },
      {
        missing:
          "ECR BatchGetImage: RepositoryNotFoundException: The repository with name 'payments' does not exist in the registry with id '123456789012'",
      },
    ]);
    expect(world.commands.map((command) => `${command.service}:${command.command}`)).toEqual([
      'ECR:BatchGetImage',
      'ECR:GetDownloadUrlForLayer',
      'ECR:BatchGetImage',
      'ECR:GetDownloadUrlForLayer',
      'ECR:BatchGetImage',
      'ECR:BatchGetImage',
    ]);
  });

  it("follows a multi-platform image (an OCI index, as buildx pushes it) to its platform's label", async () => {
    const { clock, world } = makeWorld();
    world.ecr.putImage(
      'checkout',
      DIGEST,
      { 'org.opencontainers.image.created': '2026-11-22T08:30:00+01:00' },
      { index: true },
    );

    const [label, indexRefused] = await runInWorld({ world, clock, env: ENV }, async () => [
      await createEcrImageLabels().createdAt({ repository: 'checkout', digest: DIGEST }),
      world.ecr.handle('BatchGetImage', {
        repositoryName: 'checkout',
        imageIds: [{ imageDigest: DIGEST }],
        acceptedMediaTypes: ['application/vnd.oci.image.manifest.v1+json'],
      }),
    ]);

    expect(label).toEqual({ at: '2026-11-22T07:30:00.000Z' });
    expect(world.commands.map((command) => `${command.service}:${command.command}`)).toEqual([
      'ECR:BatchGetImage',
      'ECR:BatchGetImage',
      'ECR:GetDownloadUrlForLayer',
    ]);
    // A caller that does not accept indexes is not served one.
    expect(indexRefused).toMatchObject({
      images: [],
      failures: [{ failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
    });
  });

  it('answers only layers an image of the repository references', () => {
    const { world } = makeWorld();
    world.ecr.putImage('checkout', DIGEST, {});
    expect(() =>
      world.ecr.handle('GetDownloadUrlForLayer', { repositoryName: 'checkout', layerDigest: DIGEST }),
    ).toThrow(
      expect.objectContaining({
        name: 'LayersNotFoundException',
      }),
    );
  });

  it('describes images by tag or digest (DescribeImages), a tag naming one image; unknown ids and repositories are refused', async () => {
    const { clock, world } = makeWorld();
    world.ecr.putImage('checkout', DIGEST, {}, { tags: ['v1', 'latest'] });
    world.ecr.putImage('checkout', UNLABELLED, {}, { tags: ['v2', 'latest'] });
    const { DescribeImagesCommand, ECRClient } = await import('@aws-sdk/client-ecr');

    const [byTag, byDigest, all] = await runInWorld({ world, clock, env: ENV }, async () => {
      const ecr = customize(new ECRClient(clientBase()), 'ECR');
      return [
        await ecr.send(
          new DescribeImagesCommand({ repositoryName: 'checkout', imageIds: [{ imageTag: 'v2' }] }),
        ),
        await ecr.send(
          new DescribeImagesCommand({ repositoryName: 'checkout', imageIds: [{ imageDigest: DIGEST }] }),
        ),
        await ecr.send(new DescribeImagesCommand({ repositoryName: 'checkout', maxResults: 1 })),
      ];
    });

    // `latest` moved to the image tagged last.
    expect(byTag.imageDetails).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'checkout',
        imageDigest: UNLABELLED,
        imageTags: ['v2', 'latest'],
        imageSizeInBytes: expect.any(Number),
        imagePushedAt: new Date(START),
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      },
    ]);
    expect(byDigest.imageDetails?.map((image) => [image.imageDigest, image.imageTags])).toEqual([
      [DIGEST, ['v1']],
    ]);
    expect(all).toMatchObject({ imageDetails: [{ imageDigest: DIGEST }], nextToken: expect.any(String) });

    const refused = (input: Record<string, unknown>) => {
      try {
        world.ecr.handle('DescribeImages', input);
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      return 'answered';
    };
    expect(refused({ repositoryName: 'checkout', imageIds: [{ imageTag: 'v9' }] })).toBe(
      "ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'checkout' in the registry with id '123456789012'",
    );
    expect(refused({ repositoryName: 'payments', imageIds: [{ imageTag: 'v2' }] })).toBe(
      "RepositoryNotFoundException: The repository with name 'payments' does not exist in the registry with id '123456789012'",
    );
    expect(refused({ repositoryName: 'checkout', imageIds: [{ imageTag: 'v2' }], maxResults: 5 })).toMatch(
      /^InvalidParameterException: maxResults and nextToken cannot be used/,
    );
  });

  it('turns the EMF line a function writes into CloudWatch datapoints, as CloudWatch Logs extracts them', async () => {
    const { clock, world } = makeWorld();

    await runInWorld({ world, clock, env: ENV }, () =>
      new EmfDeliveryMetrics().publish(
        { service: 'checkout', environment: 'default' },
        [
          { metric: 'Deployments', value: 1, unit: 'Count' },
          { metric: 'LeadTimeSeconds', value: 5400, unit: 'Seconds' },
        ],
        new Date(START),
      ),
    );

    expect(world.cloudwatch.published).toEqual([
      {
        at: START,
        namespace: 'Shipline/DORA',
        metric: 'Deployments',
        dimensions: { service: 'checkout', environment: 'default' },
        value: 1,
      },
      {
        at: START,
        namespace: 'Shipline/DORA',
        metric: 'LeadTimeSeconds',
        dimensions: { service: 'checkout', environment: 'default' },
        value: 5400,
      },
    ]);
  });

  it('leaves a line that breaks the EMF specification as a log line, saying why', () => {
    const { world } = makeWorld();
    const line = JSON.stringify({
      _aws: {
        Timestamp: START,
        CloudWatchMetrics: [
          { Namespace: 'Shipline/DORA', Dimensions: [['service']], Metrics: [{ Name: 'Deployments' }] },
        ],
      },
      Deployments: 1,
    });

    expect(world.cloudwatch.extractEmf(line, 'releaseMetrics')).toBe(0);
    expect(world.cloudwatch.published).toEqual([]);
    expect(world.timeline.at(-1)?.text).toBe(
      'releaseMetrics: EMF log line not extracted (Shipline/DORA: dimension service has no string value)',
    );

    const badUnit = JSON.stringify({
      _aws: {
        Timestamp: START,
        CloudWatchMetrics: [
          {
            Namespace: 'Shipline/DORA',
            Dimensions: [['service']],
            Metrics: [{ Name: 'LeadTimeSeconds', Unit: 'Secs' }],
          },
        ],
      },
      service: 'checkout',
      LeadTimeSeconds: 60,
    });
    expect(world.cloudwatch.extractEmf(badUnit, 'releaseMetrics')).toBe(0);
    expect(world.timeline.at(-1)?.text).toBe(
      'releaseMetrics: EMF log line not extracted (Shipline/DORA/LeadTimeSeconds: Unit "Secs" is not a CloudWatch unit)',
    );
  });
});
