import { LambdaRuntime } from '../sandbox/lambda-runtime.ts';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { runScenario } from '../sandbox/run-scenario.ts';
import { healthyCanary, queuedPushes } from './scenarios.ts';

/**
 * 50 queued pushes over one push, alone (`node --import tsx bench/queued-pushes.ts`): wall time and the
 * process's CPU time (median of RUNS after two warm-up runs of each: CPU time is what a loaded machine
 * does not inflate), executions, state transitions, Lambda invocations and AWS calls of each scenario.
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
  const cpus: number[] = [];
  let last: Awaited<ReturnType<typeof runScenario>> | undefined;
  for (let i = 0; i < RUNS + 2; i += 1) {
    invocations = 0;
    const cpu = process.cpuUsage();
    last = await runScenario(scenario, baseDir);
    const used = process.cpuUsage(cpu);
    if (i >= 2) cpus.push(Math.round((used.user + used.system) / 1000));
    if (last.outcome !== 'promoted') throw new Error(`${scenario.name}: ${last.outcome}: ${last.reason}`);
    if (i >= 2) walls.push(last.wallMs);
  }
  if (!last) throw new Error('no run');
  return {
    pushes,
    medianMs: median(walls),
    walls,
    medianCpuMs: median(cpus),
    cpus,
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
  console.log(
    JSON.stringify(
      { one, fifty, ratio: fifty.medianMs / one.medianMs, cpuRatio: fifty.medianCpuMs / one.medianCpuMs },
      null,
      2,
    ),
  );
} finally {
  await stopLocalDynamoDb();
}
