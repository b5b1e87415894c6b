import { LambdaRuntime } from '../sandbox/lambda-runtime.ts';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { runScenario } from '../sandbox/run-scenario.ts';
import { healthyCanary, queuedPushes } from './scenarios.ts';

/**
 * 50 queued pushes over one push, alone (`node --import tsx bench/queued-pushes.ts`): wall time (median of
 * RUNS after two warm-up runs of each), executions, state transitions and AWS calls of each scenario.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

let invocations = 0;
const invoke = LambdaRuntime.prototype.invoke;
LambdaRuntime.prototype.invoke = function counted(this: LambdaRuntime, key, event) {
  invocations += 1;
  return invoke.call(this, key, event);
};

const { scenario: base, baseDir } = healthyCanary();
const measure = async (pushes: number) => {
  const scenario = queuedPushes(base, pushes);
  const walls: number[] = [];
  let last: Awaited<ReturnType<typeof runScenario>> | undefined;
  for (let i = 0; i < RUNS + 2; i += 1) {
    invocations = 0;
    last = await runScenario(scenario, baseDir);
    if (last.outcome !== 'promoted') throw new Error(`${scenario.name}: ${last.outcome}: ${last.reason}`);
    if (i >= 2) walls.push(last.wallMs);
  }
  if (!last) throw new Error('no run');
  return {
    pushes,
    medianMs: median(walls),
    walls,
    executions: last.executions.length,
    stateTransitions: last.stateTransitions,
    awsCalls: Object.values(last.awsCalls).reduce((sum, n) => sum + n, 0),
    lambdaInvocations: invocations,
    calls: last.awsCalls,
  };
};

try {
  const one = await measure(0);
  const fifty = await measure(50);
  console.log(JSON.stringify({ one, fifty, ratio: fifty.medianMs / one.medianMs }, null, 2));
} finally {
  await stopLocalDynamoDb();
}
