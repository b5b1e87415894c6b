import type { MetricAlarm } from '../../sandbox/aws/cloudwatch.ts';
import { VersionCatalog } from '../../sandbox/aws/traffic.ts';
import { SimulatedWorld, type WorldOptions } from '../../sandbox/aws/world.ts';
import { LambdaRuntime } from '../../sandbox/lambda-runtime.ts';
import { VirtualClock } from '../../sandbox/virtual-clock.ts';

/** The virtual start of the unit-level sandbox tests. */
export const START = Date.parse('2026-11-22T10:00:00Z');

/**
 * A bare simulated world on its own virtual clock at START: no functions, versions or traffic unless the
 * test gives them (`options` override any field).
 */
export const makeWorld = (
  options: Partial<WorldOptions> = {},
): { clock: VirtualClock; world: SimulatedWorld } => {
  const clock = options.clock ?? new VirtualClock(new Date(START));
  const world = new SimulatedWorld({
    lambda: new LambdaRuntime([]),
    region: 'us-east-1',
    account: '123456789012',
    versions: new VersionCatalog([]),
    requestsPerMinute: 0,
    ecsDeploySeconds: 60,
    loadBalancerDimension: 'app/lb/1',
    ...options,
    clock,
  });
  return { clock, world };
};

/** A function that returns at once (a token task then waits for a token nobody sends). */
export class IdleLambda extends LambdaRuntime {
  public constructor() {
    super([]);
  }
  public override forWorld(): LambdaRuntime {
    return this;
  }
  public override async invoke(): Promise<unknown> {
    return null;
  }
}

/**
 * A bare world (functions idle) whose state machine `m` waits in its one state on a task token nobody sends
 * (`bake`: it runs until a person stops it or it times out) or fails at once with ReleaseFailed (`fail`).
 */
export const worldWithMachineM = (first: 'bake' | 'fail'): ReturnType<typeof makeWorld> => {
  const made = makeWorld({ lambda: new IdleLambda() });
  made.world.sfn.createStateMachine('m', {
    StartAt: 'Step',
    States: {
      Step:
        first === 'bake'
          ? {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              Parameters: {
                FunctionName: { 'Fn::GetAtt': ['watch', 'Arn'] },
                Payload: { 't.$': '$$.Task.Token' },
              },
              End: true,
            }
          : { Type: 'Fail', Error: 'ReleaseFailed', Cause: 'it failed' },
    },
  });
  return made;
};

/**
 * A metric alarm on the load balancer's 5xx count: 2 of 2 one-minute periods over 10, OK for an hour before
 * START (`overrides` change any field).
 */
export const metricAlarm = (overrides: Partial<MetricAlarm> = {}): Omit<MetricAlarm, 'AlarmArn'> => ({
  AlarmName: 'errors',
  Namespace: 'AWS/ApplicationELB',
  MetricName: 'HTTPCode_Target_5XX_Count',
  Dimensions: [{ Name: 'LoadBalancer', Value: 'app/lb/1' }],
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 2,
  DatapointsToAlarm: 2,
  Threshold: 10,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'notBreaching',
  StateValue: 'OK',
  StateReason: 'initial',
  StateUpdatedTimestamp: new Date(START - 3600_000),
  StateTransitionedTimestamp: new Date(START - 3600_000),
  ...overrides,
});
