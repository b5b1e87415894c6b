import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { parseConfigText } from '../../lib/config/load.ts';
import type { ShiplineConfig } from '../../lib/config/schema.ts';
import type { PlanStep } from '../../lib/domain/plan.ts';
import type { Deployment, EcsAlbTarget, ReleaseRequest, StepCursor } from '../../lib/domain/types.ts';

/** Shared test data: the repository's own `shipline.yml` and the values it declares. */

export const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '../..');
export const CONFIG_PATH = path.join(REPOSITORY_ROOT, 'shipline.yml');
export const configText = (): string => readFileSync(CONFIG_PATH, 'utf8');
export const repoConfig = (): ShiplineConfig => parseConfigText(configText(), CONFIG_PATH);

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const LISTENER_RULE_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
export const BLUE_TG =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067';
export const GREEN_TG =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/8f1e2d6bc24d8a06';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:shipline-release';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:shipline';
/** The pipeline's internal release-events topic. */
export const RELEASE_EVENTS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:shipline-release-events';
export const TABLE = 'shipline-test';
export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** A deterministic OCI digest for a label (`sha256:<64 hex>`). */
export const digestOf = (label: string): string =>
  `sha256:${createHash('sha256').update(label).digest('hex')}`;

export const V1_DIGEST = digestOf('checkout v1');
export const V2_DIGEST = digestOf('checkout v2');
export const V1_IMAGE = `${REGISTRY}/checkout@${V1_DIGEST}`;
export const V2_IMAGE = `${REGISTRY}/checkout@${V2_DIGEST}`;
export const V2_RELEASE_ID = `checkout-${V2_DIGEST.slice(7, 39)}`;

/** The "ECR Image Action" event exactly as EventBridge delivers it for a successful push. */
export const ecrPushEvent = (
  overrides: { digest?: string; tag?: string; repository?: string; time?: string; action?: string } = {},
) => ({
  version: '0',
  id: '13cde686-328b-6117-af20-0e5566167482',
  'detail-type': 'ECR Image Action',
  source: 'aws.ecr',
  account: ACCOUNT,
  time: overrides.time ?? '2025-03-04T10:00:00Z',
  region: REGION,
  resources: [],
  detail: {
    result: 'SUCCESS',
    'repository-name': overrides.repository ?? 'checkout',
    'image-digest': overrides.digest ?? V2_DIGEST,
    'action-type': overrides.action ?? 'PUSH',
    'image-tag': overrides.tag ?? 'v2',
    'manifest-media-type': 'application/vnd.docker.distribution.manifest.v2+json',
    'artifact-media-type': 'application/vnd.docker.container.image.v1+json',
  },
});

/** The "CloudWatch Alarm State Change" event as EventBridge delivers it. */
export const alarmStateChangeEvent = (alarmName: string, value: string, timestamp: string) => ({
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: ACCOUNT,
  time: timestamp.replace(/\.\d+\+0000$/, 'Z'),
  region: REGION,
  resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
  detail: {
    alarmName,
    state: {
      value,
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [12.0] was greater than the threshold (5.0).',
      reasonData: '{"version":"1.0"}',
      timestamp,
    },
    previousState: {
      value: value === 'ALARM' ? 'OK' : 'ALARM',
      reason: 'Threshold Crossed',
      timestamp: '2025-03-04T09:00:00.000+0000',
    },
    configuration: { metrics: [] },
  },
});

export const releaseRequest = (overrides: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
  service: 'checkout',
  image: { repository: 'checkout', digest: V2_DIGEST, tag: 'v2', uri: V2_IMAGE },
  requestedAt: '2025-03-04T10:00:00Z',
  source: 'ecr-push',
  ...overrides,
});

/** The canary plan of checkout (5/25/100, 10-minute bakes) with green as the new slot. */
export const CANARY_STEPS: PlanStep[] = [
  { kind: 'deploy', index: 0, label: 'Deploy the new version to green' },
  { kind: 'await-ready', index: 1, label: 'Wait until green is ready (at most 20m)', timeoutSeconds: 1200 },
  { kind: 'shift', index: 2, label: 'Shift 5% to green', percent: 5 },
  { kind: 'bake', index: 3, label: 'Bake 10m watching 2 alarms', seconds: 600, inconclusive: 'fail' },
  { kind: 'shift', index: 4, label: 'Shift 25% to green', percent: 25 },
  { kind: 'bake', index: 5, label: 'Bake 10m watching 2 alarms', seconds: 600, inconclusive: 'fail' },
  { kind: 'shift', index: 6, label: 'Shift 100% to green', percent: 100 },
  { kind: 'bake', index: 7, label: 'Bake 10m watching 2 alarms', seconds: 600, inconclusive: 'fail' },
  {
    kind: 'retire',
    index: 8,
    label: 'Promote green, watch the 15m rollback window, scale blue down after 15m',
    rollbackWindowSeconds: 900,
    warmAfterWindowSeconds: 0,
  },
];

/** The rollout the deploy step of the fixtures started. */
export const ROLLOUT = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:8',
  deploymentId: 'ecs-svc/1234567890',
};

/** The cursor at step `index` of the fixture plan (rollout set once the deploy ran). */
export const cursorAt = (index: number, overrides: Partial<StepCursor> = {}): StepCursor => {
  const step = CANARY_STEPS[index];
  if (!step) throw new Error(`the fixture plan has no step ${index}`);
  return { index, step, shifts: [], rollout: index > 0 ? ROLLOUT : null, ...overrides };
};

/** The fixture's ecs-alb target: blue stable at v1, green receives v2. */
export const ALB_TARGET: EcsAlbTarget = {
  type: 'ecs-alb',
  cluster: 'prod',
  container: 'app',
  listenerRuleArn: LISTENER_RULE_ARN,
  stable: { name: 'blue', service: 'checkout-blue', targetGroupArn: BLUE_TG },
  canary: { name: 'green', service: 'checkout-green', targetGroupArn: GREEN_TG },
  desiredCount: 4,
  stableTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
};

/** What prepare-release produces for checkout v2 (blue stable at v1, green receives v2). */
export const deploymentFixture = (overrides: Partial<Deployment> = {}): Deployment => ({
  id: V2_RELEASE_ID,
  service: 'checkout',
  requestedAt: '2025-03-04T10:00:00Z',
  startedAt: '2025-03-04T10:00:05.000Z',
  fromVersion: 'v1',
  toVersion: 'v2',
  image: { digest: V2_DIGEST, uri: V2_IMAGE, tag: 'v2' },
  target: ALB_TARGET,
  alarms: ['checkout-latency-p99', 'checkout-green-5xx'],
  plan: {
    strategy: 'canary',
    steps: CANARY_STEPS,
    totalBakeSeconds: 1800,
  },
  topicArn: TOPIC_ARN,
  ...overrides,
});

/** A fixed clock (no real time in tests). */
export const fixedClock = (iso: string) => ({ now: () => new Date(iso) });

/** Runs the enclosing describe block on a clock stopped at `iso`, restoring the previous clock after. */
export const withFixedClock = (iso: string): void => {
  let previous: Clock | undefined;
  beforeAll(() => {
    previous = useClock(fixedClock(iso));
  });
  afterAll(() => {
    if (previous) useClock(previous);
  });
};

/** The PutMetricData input that counts one notification people were not sent (Shipline/NotificationsLost). */
export const notificationsLostInput = (service = 'checkout') => ({
  Namespace: 'Shipline',
  MetricData: [
    {
      MetricName: 'NotificationsLost',
      Dimensions: [{ Name: 'Service', Value: service }],
      Value: 1,
      Unit: 'Count',
    },
  ],
});
