import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/load.ts';
import type { PlanStep } from '../../lib/domain/plan.ts';
import { ConfigError } from '../../lib/errors.ts';
import { buildPlan, leaseSecondsOf } from '../../lib/strategies/index.ts';
import { BLUE_TG, GREEN_TG, LISTENER_RULE_ARN } from './fixtures.ts';

const TEST_RULE_ARN = LISTENER_RULE_ARN.replace(/[0-9a-f]{16}$/, '1111222233334444');

/** A parsed ecs-alb service: 1 service alarm, 1 alarm per slot (2 watched whichever slot is new). */
const albService = (fields: Record<string, unknown>, target: Record<string, unknown> = {}) => {
  const service = parseConfig({
    services: {
      checkout: {
        image: { repository: 'checkout' },
        target: {
          type: 'ecs-alb',
          cluster: 'prod',
          container: 'app',
          listenerRuleArn: LISTENER_RULE_ARN,
          slots: {
            blue: { service: 'checkout-blue', targetGroupArn: BLUE_TG, alarms: ['checkout-blue-5xx'] },
            green: { service: 'checkout-green', targetGroupArn: GREEN_TG, alarms: ['checkout-green-5xx'] },
          },
          ...target,
        },
        alarms: ['checkout-latency-p99'],
        ...fields,
      },
    },
  }).services.checkout;
  if (!service) throw new Error('expected checkout');
  return service;
};

/** A parsed ecs-rolling service watching 3 alarms. */
const rollingService = (fields: Record<string, unknown>, target: Record<string, unknown> = {}) => {
  const service = parseConfig({
    services: {
      checkout: {
        image: { repository: 'checkout' },
        target: { type: 'ecs-rolling', cluster: 'prod', service: 'checkout', container: 'app', ...target },
        alarms: ['checkout-5xx', 'checkout-latency-p99', 'checkout-errors'],
        ...fields,
      },
    },
  }).services.checkout;
  if (!service) throw new Error('expected checkout');
  return service;
};

const deploy = (index: number, slot = 'green'): PlanStep => ({
  kind: 'deploy',
  index,
  label: `Deploy the new version to ${slot}`,
});
const ready = (index: number, slot = 'green'): PlanStep => ({
  kind: 'await-ready',
  index,
  timeoutSeconds: 1200,
  label: `Wait until ${slot} is ready (at most 20m)`,
});
const shift = (index: number, percent: number, slot = 'green'): PlanStep => ({
  kind: 'shift',
  index,
  percent,
  label: `Shift ${percent}% to ${slot}`,
});
const bake = (index: number, seconds: number, label: string, inconclusive = 'fail'): PlanStep =>
  ({ kind: 'bake', index, seconds, inconclusive, label: `Bake ${label} watching 2 alarms` }) as PlanStep;
const retire = (index: number): PlanStep => ({
  kind: 'retire',
  index,
  rollbackWindowSeconds: 900,
  warmAfterWindowSeconds: 0,
  label: 'Promote green, watch the 15m rollback window, scale blue down after 15m',
});

describe('Function: buildPlan', () => {
  it('plans a canary as deploy, ready, then a shift and a bake per share, then retire', () => {
    const plan = buildPlan(albService({ strategy: { type: 'canary', steps: [5, 25, 100], bake: '10m' } }), {
      newSlot: 'green',
    });

    expect(plan).toEqual({
      strategy: 'canary',
      steps: [
        deploy(0),
        ready(1),
        shift(2, 5),
        bake(3, 600, '10m'),
        shift(4, 25),
        bake(5, 600, '10m'),
        shift(6, 100),
        bake(7, 600, '10m'),
        retire(8),
      ],
      totalBakeSeconds: 1800,
    });
  });

  it("bakes a canary step for its own bake when it declares one, the strategy's otherwise", () => {
    const plan = buildPlan(
      albService({
        strategy: {
          type: 'canary',
          steps: [{ percent: 1, bake: '90s' }, { percent: 50 }, 100],
          bake: '1h30m',
        },
      }),
      { newSlot: 'blue' },
    );

    expect(
      plan.steps.filter((step) => step.kind === 'shift' || step.kind === 'bake').map((step) => step.label),
    ).toEqual([
      'Shift 1% to blue',
      'Bake 1m30s watching 2 alarms',
      'Shift 50% to blue',
      'Bake 1h30m watching 2 alarms',
      'Shift 100% to blue',
      'Bake 1h30m watching 2 alarms',
    ]);
    expect(plan.totalBakeSeconds).toBe(90 + 5400 + 5400);
  });

  it('plans linear 10% every 3m as shifts of 10, 20, ..., 100, each baked 3m', () => {
    const plan = buildPlan(albService({ strategy: { type: 'linear', stepPercent: 10, interval: '3m' } }), {
      newSlot: 'green',
    });

    const middle = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].flatMap((percent, n) => [
      shift(2 + 2 * n, percent),
      bake(3 + 2 * n, 180, '3m'),
    ]);
    expect(plan).toEqual({
      strategy: 'linear',
      steps: [deploy(0), ready(1), ...middle, retire(22)],
      totalBakeSeconds: 1800,
    });
  });

  it('plans all-at-once on ecs-alb as one shift to 100% and one bake', () => {
    const plan = buildPlan(albService({ strategy: { type: 'all-at-once', bake: '15m' } }), {
      newSlot: 'green',
    });

    expect(plan).toEqual({
      strategy: 'all-at-once',
      steps: [deploy(0), ready(1), shift(2, 100), bake(3, 900, '15m'), retire(4)],
      totalBakeSeconds: 900,
    });
  });

  it('runs checks after ready and before any production traffic, on the test route when the target has one', () => {
    const checks = [
      { name: 'login-smoke', lambda: 'checkout-smoke' },
      { name: 'health', http: { path: '/health' }, timeout: '2m' },
    ];
    const withRoute = buildPlan(
      albService(
        { strategy: { type: 'canary', steps: [50, 100], bake: '5m', checks } },
        { testListenerRuleArn: TEST_RULE_ARN, testUrl: 'https://test.example.com' },
      ),
      { newSlot: 'green' },
    );

    expect(withRoute.steps.slice(2, 7)).toEqual([
      { kind: 'test-traffic', index: 2, on: true, label: 'Send test traffic to green' },
      {
        kind: 'check',
        index: 3,
        name: 'login-smoke',
        test: { type: 'lambda', functionName: 'checkout-smoke' },
        timeoutSeconds: 60,
        label: 'Check login-smoke: Lambda checkout-smoke',
      },
      {
        kind: 'check',
        index: 4,
        name: 'health',
        test: { type: 'http', path: '/health', expectStatus: 200 },
        timeoutSeconds: 120,
        label: 'Check health: GET /health expects 200',
      },
      { kind: 'test-traffic', index: 5, on: false, label: 'Send test traffic back to blue' },
      shift(6, 50),
    ]);

    const lambdaOnly = buildPlan(
      albService({ strategy: { type: 'all-at-once', bake: '5m', checks: [checks[0]] } }),
      { newSlot: 'green' },
    );
    expect(lambdaOnly.steps.map((step) => step.kind)).toEqual([
      'deploy',
      'await-ready',
      'check',
      'shift',
      'bake',
      'retire',
    ]);
  });

  it('plans blue-green: test traffic on, checks, pause, one swap, test traffic off, bake, retire', () => {
    const plan = buildPlan(
      albService(
        {
          strategy: {
            type: 'blue-green',
            bake: '10m',
            pause: { timeout: '1h', onTimeout: 'continue' },
            checks: [{ name: 'health', http: { path: '/health', expectStatus: 204 } }],
          },
          inconclusive: 'pause',
        },
        { testListenerRuleArn: TEST_RULE_ARN, testUrl: 'https://test.example.com' },
      ),
      { newSlot: 'blue' },
    );

    expect(plan).toEqual({
      strategy: 'blue-green',
      steps: [
        deploy(0, 'blue'),
        ready(1, 'blue'),
        { kind: 'test-traffic', index: 2, on: true, label: 'Send test traffic to blue' },
        {
          kind: 'check',
          index: 3,
          name: 'health',
          test: { type: 'http', path: '/health', expectStatus: 204 },
          timeoutSeconds: 60,
          label: 'Check health: GET /health expects 204',
        },
        {
          kind: 'pause',
          index: 4,
          timeoutSeconds: 3600,
          onTimeout: 'continue',
          label: 'Wait for approval to swap (at most 1h, then swap)',
        },
        { kind: 'swap', index: 5, label: 'Swap production traffic to blue' },
        { kind: 'test-traffic', index: 6, on: false, label: 'Send test traffic back to green' },
        // The default inconclusive pause timeout (1h), carried on the bake for an inconclusive outcome.
        { ...bake(7, 600, '10m', 'pause'), inconclusivePauseSeconds: 3600 } as PlanStep,
        {
          kind: 'retire',
          index: 8,
          rollbackWindowSeconds: 900,
          warmAfterWindowSeconds: 0,
          label: 'Promote blue, watch the 15m rollback window, scale green down after 15m',
        },
      ],
      totalBakeSeconds: 600,
    });
  });

  it('plans blue-green without a pause straight from the checks to the swap', () => {
    const plan = buildPlan(
      albService({ strategy: { type: 'blue-green', bake: '5m' } }, { testListenerRuleArn: TEST_RULE_ARN }),
      { newSlot: 'green' },
    );

    expect(plan.steps.map((step) => step.kind)).toEqual([
      'deploy',
      'await-ready',
      'test-traffic',
      'swap',
      'test-traffic',
      'bake',
      'retire',
    ]);
  });

  it('plans all-at-once on ecs-rolling: the rollout watched, checks, one bake, retire with no warm period', () => {
    const plan = buildPlan(
      rollingService(
        {
          strategy: {
            type: 'all-at-once',
            bake: '10m',
            checks: [{ name: 'smoke', lambda: 'checkout-smoke' }],
          },
          inconclusive: 'pass',
        },
        { steadyTimeout: '30m', rollbackWindow: '20m' },
      ),
      {},
    );

    expect(plan).toEqual({
      strategy: 'all-at-once',
      steps: [
        { kind: 'deploy', index: 0, label: 'Start a rolling update of checkout to the new version' },
        {
          kind: 'await-ready',
          index: 1,
          timeoutSeconds: 1800,
          watchAlarms: true,
          label: 'Wait until the rollout completes (at most 30m), watching 3 alarms',
        },
        {
          kind: 'check',
          index: 2,
          name: 'smoke',
          test: { type: 'lambda', functionName: 'checkout-smoke' },
          timeoutSeconds: 60,
          label: 'Check smoke: Lambda checkout-smoke',
        },
        { kind: 'bake', index: 3, seconds: 600, inconclusive: 'pass', label: 'Bake 10m watching 3 alarms' },
        {
          kind: 'retire',
          index: 4,
          rollbackWindowSeconds: 1200,
          warmAfterWindowSeconds: 0,
          label: 'Promote, then watch 3 alarms for the 20m rollback window',
        },
      ],
      totalBakeSeconds: 600,
    });
    expect(
      buildPlan(rollingService({ strategy: { type: 'all-at-once', bake: '10m' } }), {}).steps.at(-1),
    ).toEqual({
      kind: 'retire',
      index: 3,
      rollbackWindowSeconds: 0,
      warmAfterWindowSeconds: 0,
      label: 'Promote',
    });
  });

  it('keeps the old slot warm after a shorter rollback window, and names the slots generically when the new one is unknown', () => {
    const plan = buildPlan(
      albService(
        { strategy: { type: 'all-at-once', bake: '5m' } },
        { scaleDownDelay: '20m', rollbackWindow: '5m', steadyTimeout: '90s' },
      ),
      {},
    );

    expect(plan.steps.map((step) => step.label)).toEqual([
      'Deploy the new version to the new slot',
      'Wait until the new slot is ready (at most 1m30s)',
      'Shift 100% to the new slot',
      'Bake 5m watching 2 alarms',
      'Promote the new slot, watch the 5m rollback window, scale the old slot down after 20m',
    ]);
    expect(plan.steps.at(-1)).toMatchObject({ rollbackWindowSeconds: 300, warmAfterWindowSeconds: 900 });
  });

  it('counts alarms as the slot would: service alarms plus the new slot’s, a range when the slot is unknown', () => {
    const service = albService(
      { strategy: { type: 'all-at-once', bake: '5m' }, alarms: ['checkout-latency-p99'] },
      {
        slots: {
          blue: { service: 'checkout-blue', targetGroupArn: BLUE_TG },
          green: { service: 'checkout-green', targetGroupArn: GREEN_TG, alarms: ['a', 'b'] },
        },
      },
    );
    const bakeLabel = (newSlot?: 'blue' | 'green') =>
      buildPlan(service, newSlot ? { newSlot } : {}).steps.find((step) => step.kind === 'bake')?.label;

    expect(bakeLabel('blue')).toBe('Bake 5m watching 1 alarm');
    expect(bakeLabel('green')).toBe('Bake 5m watching 3 alarms');
    expect(bakeLabel()).toBe('Bake 5m watching 1 to 3 alarms');
  });

  it('refuses a strategy a rolling target does not take', () => {
    const service = rollingService({ strategy: { type: 'all-at-once', bake: '5m' } });

    expect(() =>
      buildPlan({ ...service, strategy: { type: 'blue-green', bake: 300, checks: [] } }, {}),
    ).toThrow(new ConfigError('an ecs-rolling target takes only all-at-once, not blue-green'));
  });
});

describe('Function: leaseSecondsOf', () => {
  it('covers the steady timeout, every bake and the warm period, plus an hour', () => {
    const service = albService({ strategy: { type: 'canary', steps: [5, 25, 100], bake: '10m' } });

    expect(leaseSecondsOf(service, buildPlan(service, {}))).toBe(1200 + 1800 + 900 + 3600);
  });

  it('covers check timeouts, pauses, and a pause after each bake when inconclusive pauses', () => {
    const service = albService(
      {
        strategy: {
          type: 'blue-green',
          bake: '10m',
          pause: { timeout: '2h' },
          checks: [{ name: 'smoke', lambda: 'f', timeout: '5m' }],
        },
        inconclusive: 'pause',
        inconclusivePauseTimeout: '30m',
      },
      { testListenerRuleArn: TEST_RULE_ARN, scaleDownDelay: '20m', rollbackWindow: '5m' },
    );

    expect(leaseSecondsOf(service, buildPlan(service, {}))).toBe(
      1200 + 300 + 7200 + 600 + 1800 + 1200 + 3600,
    );
  });

  it('covers the rollout and the rollback window of a rolling target', () => {
    const service = rollingService(
      { strategy: { type: 'all-at-once', bake: '10m' } },
      { rollbackWindow: '15m' },
    );

    expect(leaseSecondsOf(service, buildPlan(service, {}))).toBe(1200 + 600 + 900 + 3600);
  });
});
