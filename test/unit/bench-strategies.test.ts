import { describe, expect, it } from 'vitest';
import {
  callsByService,
  checkPricedArchitecture,
  flatnessProblems,
  functionMemoryMb,
  PRICES_USD,
  type ReleaseUsage,
  releaseCost,
  type StrategyRun,
  strategyRows,
} from '../../bench/strategies.ts';

const usage = (overrides: Partial<ReleaseUsage> = {}): ReleaseUsage => ({
  stateTransitions: 34,
  lambdaInvocations: 21,
  lambdaGbSeconds: 10,
  dynamoDbWriteUnits: 30,
  dynamoDbReadUnits: 9,
  awsCalls: {
    'CloudWatch:DescribeAlarms': 9,
    'CloudWatch:DescribeAlarmHistory': 8,
    'DynamoDB:PutItem': 14,
    'ECS:UpdateService': 2,
    'SNS:Publish': 2,
  },
  ...overrides,
});

describe('bench cost per release', () => {
  it('prices each line at the cited us-east-1 list prices, free tier ignored', () => {
    // $0.025 per 1,000 transitions; $0.20 per 1M requests; arm64 $0.0000133334 per GB-s; DynamoDB on-demand
    // $0.625 per 1M WRU and $0.125 per 1M RRU; CloudWatch $0.01 per 1,000 requests; SNS $0.50 per 1M publishes.
    const cost = releaseCost(usage());
    expect(cost.stepFunctions).toBeCloseTo(34 * 0.000025, 12);
    expect(cost.lambdaRequests).toBeCloseTo(21 * 0.0000002, 12);
    expect(cost.lambdaDuration).toBeCloseTo(10 * 0.0000133334, 12);
    expect(cost.dynamoDb).toBeCloseTo(30 * 0.000000625 + 9 * 0.000000125, 12);
    expect(cost.cloudWatch).toBeCloseTo(17 * 0.00001, 12);
    expect(cost.sns).toBeCloseTo(2 * 0.0000005, 12);
    expect(cost.total).toBeCloseTo(
      cost.stepFunctions +
        cost.lambdaRequests +
        cost.lambdaDuration +
        cost.dynamoDb +
        cost.cloudWatch +
        cost.sns,
      12,
    );
  });

  it('charges nothing for ECS, ELB and Step Functions API calls (only transitions)', () => {
    const free = releaseCost(
      usage({
        stateTransitions: 0,
        lambdaInvocations: 0,
        lambdaGbSeconds: 0,
        dynamoDbWriteUnits: 0,
        dynamoDbReadUnits: 0,
        awsCalls: {
          'ECS:UpdateService': 3,
          'ElasticLoadBalancingV2:ModifyRule': 3,
          'SFN:SendTaskSuccess': 5,
        },
      }),
    );
    expect(free.total).toBe(0);
  });

  it('a release of 1,000 transitions costs the published $0.025 in Step Functions', () => {
    expect(PRICES_USD.stepFunctionsPerTransition * 1000).toBeCloseTo(0.025, 12);
  });

  it('groups API calls by service', () => {
    expect(callsByService(usage().awsCalls)).toEqual({ CloudWatch: 17, DynamoDB: 14, ECS: 2, SNS: 2 });
  });

  it("reads each function's memory from serverless.yml, the provider's when it sets none", () => {
    const memory = functionMemoryMb({
      provider: { memorySize: 1024 },
      functions: { trigger: {}, scaleDown: { memorySize: 256 } },
    });
    expect(Object.fromEntries(memory)).toEqual({ trigger: 1024, scaleDown: 256 });
  });
});

describe('bench Lambda price', () => {
  it('refuses a serverless.yml that deploys another architecture than the arm64 it prices', () => {
    expect(() => checkPricedArchitecture({ provider: { architecture: 'arm64' } })).not.toThrow();
    expect(() => checkPricedArchitecture({ provider: { architecture: 'x86_64' } })).toThrow(
      /prices Lambda duration for arm64, but serverless.yml provider.architecture is x86_64/,
    );
    expect(() => checkPricedArchitecture({ provider: {} })).toThrow(/is not set \(x86_64\)/);
  });
});

describe('bench flatness in bake length', () => {
  const run = (strategy: string, bake: string, transitions: number): StrategyRun => {
    const u = usage({ stateTransitions: transitions });
    return { strategy, bake, usage: u, cost: releaseCost(u) };
  };

  it('names a strategy whose transitions change with the bake, and only that one', () => {
    const problems = flatnessProblems([
      run('canary', '1m', 34),
      run('canary', '10m', 34),
      run('canary', '60m', 34),
      run('linear', '1m', 39),
      run('linear', '10m', 41),
      run('linear', '60m', 45),
    ]);
    expect(problems).toEqual([
      'linear: state transitions differ across bake lengths (1m: 39, 10m: 41, 60m: 45)',
    ]);
  });

  it('reports a strategy whose runs failed as not measured, with the reason, and never as flat', () => {
    const failed = (bake: string): StrategyRun => ({
      strategy: 'all-at-once (ecs-rolling)',
      bake,
      notMeasured: 'TargetStateError: the ecs-alb driver cannot release an ecs-rolling target',
    });
    const runs = [failed('1m'), failed('10m'), failed('60m')];
    expect(flatnessProblems(runs)).toEqual([]);
    expect(strategyRows(runs)).toEqual([
      {
        measure: 'all-at-once (ecs-rolling): cost per release',
        value: 'not measured: TargetStateError: the ecs-alb driver cannot release an ecs-rolling target',
        target: 'flat in bake length',
        pending: true,
      },
    ]);
  });

  it('prints transitions, Lambda, API calls and cost per bake for a measured strategy', () => {
    const rows = strategyRows([run('canary', '1m', 34), run('canary', '10m', 34), run('canary', '60m', 34)]);
    expect(rows.map((r) => [r.measure, r.value, r.pass])).toEqual([
      ['canary: state transitions, bake 1m / 10m / 60m', '34 / 34 / 34', true],
      [
        'canary: Lambda invocations, billed GB-s, bake 1m / 10m / 60m',
        '21, 10.00 / 21, 10.00 / 21, 10.00',
        undefined,
      ],
      [
        'canary: AWS API calls by service at bake 1m; total, bake 1m / 10m / 60m',
        'CloudWatch 17, DynamoDB 14, ECS 2, SNS 2; 35 / 35 / 35',
        undefined,
      ],
      [
        'canary: cost per release (USD, us-east-1 list prices), bake 1m / 10m / 60m',
        '$0.001178 / $0.001178 / $0.001178',
        undefined,
      ],
    ]);
  });
});
