import { createHash } from 'node:crypto';
import { BatchGetImageCommand, ECRClient, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { useEmfSink } from '../../lib/adapters/emf-delivery-metrics.ts';
import type { ReleaseEventMessage } from '../../lib/domain/progress.ts';
import type { ReleaseRecord } from '../../lib/ports/release-history.ts';
import { TABLE, V1_DIGEST, V2_DIGEST, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const ecr = mockClient(ECRClient);
const context = lambdaContext('shipline-release-metrics');

const CONFIG_BLOB = JSON.stringify({
  config: { Labels: { 'org.opencontainers.image.created': '2026-11-20T08:00:00Z' } },
});
const CONFIG_DIGEST = `sha256:${createHash('sha256').update(CONFIG_BLOB).digest('hex')}`;
const BLOB_URL = 'https://starport-layer-bucket.s3.us-east-1.amazonaws.com/config?X-Amz-Signature=s';

/** checkout's previous release (promoted v1 -> v2... here v0 -> v1) and the one the event ends. */
const previous: ReleaseRecord = {
  service: 'checkout',
  environment: 'default',
  releaseId: `checkout-${V1_DIGEST.slice(7, 39)}`,
  requestedAt: '2026-11-19T09:00:00.000Z',
  status: 'promoted',
  fromVersion: 'v0',
  toVersion: 'v1',
  peakPercent: 100,
  promotedAt: '2026-11-19T09:40:00.000Z',
  endedAt: '2026-11-19T09:40:00.000Z',
  changeTime: { at: '2026-11-19T08:00:00.000Z', source: 'oci-label' },
};
const promoted: ReleaseRecord = {
  service: 'checkout',
  environment: 'default',
  releaseId: V2_RELEASE_ID,
  requestedAt: '2026-11-20T10:00:00.000Z',
  status: 'promoted',
  fromVersion: 'v1',
  toVersion: 'v2',
  peakPercent: 100,
  promotedAt: '2026-11-20T10:45:00.000Z',
  endedAt: '2026-11-20T10:45:00.000Z',
};

const message = (kind: ReleaseEventMessage['kind'], extra: Partial<ReleaseEventMessage> = {}) => ({
  version: 1,
  kind,
  service: 'checkout',
  environment: 'default',
  releaseId: V2_RELEASE_ID,
  region: 'us-east-1',
  strategy: 'canary',
  fromVersion: 'v1',
  toVersion: 'v2',
  digest: V2_DIGEST,
  text: 'v2 promoted',
  progress: {
    sequence: 9,
    step: 9,
    steps: 9,
    state: 'promoted',
    newPercent: 100,
    stepStartedAt: '2026-11-20T10:45:00.000Z',
    updatedAt: '2026-11-20T10:45:00.000Z',
  },
  outcome: 'promoted',
  requestedAt: promoted.requestedAt,
  endedAt: promoted.endedAt,
  changeTime: { at: '2026-11-20T09:30:00.000Z', source: 'push' },
  at: '2026-11-20T10:45:00.000Z',
  ...extra,
});

const snsEvent = (body: unknown) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:shipline-release-events:0b6941c3',
      Sns: {
        Type: 'Notification',
        MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:shipline-release-events',
        Message: typeof body === 'string' ? body : JSON.stringify(body),
        Timestamp: '2026-11-20T10:45:01.000Z',
        MessageAttributes: { event: { Type: 'String', Value: 'promoted' } },
      },
    },
  ],
});

const conditionFailed = () =>
  Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

let handler: typeof import('../../functions/release-metrics.ts')['handler'];
const documents: string[] = [];
const blobRequests: string[] = [];

describe('Handler: release-metrics', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    useEmfSink((document) => documents.push(document));
    vi.stubGlobal('fetch', async (url: string) => {
      blobRequests.push(url);
      return new Response(CONFIG_BLOB, { status: 200 });
    });
    ({ handler } = await import('../../functions/release-metrics.ts'));
  });

  afterAll(() => {
    useEmfSink(undefined);
    vi.unstubAllGlobals();
  });

  beforeEach(() => {
    ddb.reset();
    ecr.reset();
    documents.length = 0;
    blobRequests.length = 0;
    ddb.on(QueryCommand).resolves({ Items: [promoted, previous] });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: V2_DIGEST },
          imageManifest: JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: CONFIG_DIGEST, size: 1 },
            layers: [],
          }),
        },
      ],
    });
    ecr.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: BLOB_URL, layerDigest: CONFIG_DIGEST });
  });

  afterEach(() => {
    vi.clearAllMocks();
  });

  it('publishes a promotion as one EMF document: a deployment and its lead time from the OCI label', async () => {
    const result = await handler(snsEvent(message('promoted')), context);

    expect(result).toEqual({
      results: [
        {
          status: 'published',
          releaseId: V2_RELEASE_ID,
          service: 'checkout',
          environment: 'default',
          points: [
            { metric: 'Deployments', value: 1, unit: 'Count' },
            // 08:00 (label) -> 10:45 (promotion)
            { metric: 'LeadTimeSeconds', value: 9900, unit: 'Seconds' },
          ],
          changeTime: { at: '2026-11-20T08:00:00.000Z', source: 'oci-label' },
        },
      ],
    });
    expect(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'checkout',
      imageIds: [{ imageDigest: V2_DIGEST }],
      acceptedMediaTypes: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ],
    });
    expect(blobRequests).toEqual([BLOB_URL]);
    // The change time is recorded on the release, so `shipline dora` reads the same start.
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      TableName: TABLE,
      Key: { pk: 'SERVICE#default#checkout', sk: `RELEASE#${promoted.requestedAt}#${V2_RELEASE_ID}` },
      ExpressionAttributeNames: { '#f0': 'changeTime' },
      ExpressionAttributeValues: { ':v0': { at: '2026-11-20T08:00:00.000Z', source: 'oci-label' } },
    });
    expect(documents).toHaveLength(1);
    expect(JSON.parse(documents[0] ?? '')).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'Shipline/DORA',
            Dimensions: [['service', 'environment']],
            Metrics: [
              { Name: 'Deployments', Unit: 'Count' },
              { Name: 'LeadTimeSeconds', Unit: 'Seconds' },
            ],
          },
        ],
      },
      service: 'checkout',
      environment: 'default',
      Deployments: 1,
      LeadTimeSeconds: 9900,
    });
  });

  it('publishes nothing twice when SNS delivers the same event again', async () => {
    ddb.on(PutCommand).rejects(conditionFailed());

    const result = await handler(snsEvent(message('promoted')), context);

    expect(result).toMatchObject({ results: [{ status: 'published', points: [] }] });
    expect(documents).toEqual([]);
  });

  it('starts lead time at the deploy request when the image has no label, and says why', async () => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
    });

    const result = await handler(
      snsEvent(
        message('promoted', { changeTime: { at: '2026-11-20T09:30:00.000Z', source: 'deploy-request' } }),
      ),
      context,
    );

    expect(result).toMatchObject({
      results: [
        {
          points: [
            { metric: 'Deployments', value: 1 },
            { metric: 'LeadTimeSeconds', value: 4500 },
          ],
          changeTime: {
            at: '2026-11-20T09:30:00.000Z',
            source: 'deploy-request',
            labelMissing: 'ECR BatchGetImage: ImageNotFound: Requested image not found',
          },
        },
      ],
    });
  });

  it('publishes a rollback as a failed deployment with its recovery time, and the fix after it as rework', async () => {
    const rolledBack: ReleaseRecord = {
      ...promoted,
      status: 'rolled_back',
      peakPercent: 5,
      promotedAt: undefined,
      rollbackStartedAt: '2026-11-20T10:20:00.000Z',
      endedAt: '2026-11-20T10:21:30.000Z',
      changeTime: { at: '2026-11-20T09:00:00.000Z', source: 'push' },
    };
    ddb.on(QueryCommand).resolves({ Items: [rolledBack, previous] });

    const result = await handler(
      snsEvent(message('rolled_back', { outcome: 'rolled_back', endedAt: rolledBack.endedAt })),
      context,
    );

    expect(result).toMatchObject({
      results: [
        {
          points: [
            { metric: 'Deployments', value: 1 },
            { metric: 'FailedDeployments', value: 1 },
            { metric: 'RecoveryTimeSeconds', value: 90, unit: 'Seconds' },
          ],
        },
      ],
    });
    // Its change time was already recorded: no label read, no update.
    expect(ecr.commandCalls(BatchGetImageCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);

    const fix: ReleaseRecord = {
      ...promoted,
      releaseId: 'checkout-fix',
      requestedAt: '2026-11-20T11:00:00.000Z',
      fromVersion: 'v1',
      toVersion: 'v3',
      promotedAt: '2026-11-20T11:30:00.000Z',
      endedAt: '2026-11-20T11:30:00.000Z',
      changeTime: { at: '2026-11-20T10:50:00.000Z', source: 'deploy-request' },
    };
    ddb.on(QueryCommand).resolves({ Items: [fix, rolledBack, previous] });
    const fixed = await handler(
      snsEvent(message('promoted', { releaseId: 'checkout-fix', requestedAt: fix.requestedAt })),
      context,
    );
    expect(fixed).toMatchObject({
      results: [
        {
          points: [
            { metric: 'Deployments', value: 1 },
            { metric: 'ReworkDeployments', value: 1 },
            { metric: 'LeadTimeSeconds', value: 2400 },
          ],
        },
      ],
    });
  });

  it('skips the kinds that do not end a release without reading anything', async () => {
    const result = await handler(snsEvent(message('step')), context);

    expect(result).toEqual({
      results: [{ status: 'skipped', reason: 'a step event does not end a release' }],
    });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a message that is not a release event, naming the bad field', async () => {
    const error = await rejection(handler(snsEvent({ version: 1, kind: 'promoted' }), context));

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('service');
  });
});
