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
