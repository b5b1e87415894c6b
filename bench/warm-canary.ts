import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { stopLocalDynamoDb } from '../sandbox/local-dynamodb.ts';
import { runScenario } from '../sandbox/run-scenario.ts';
import { healthyCanary, withBake } from './scenarios.ts';
import { installUsageMeter } from './strategies.ts';

/** The bench's warm-canary row alone (`node bench/warm-canary.ts`): WARMUP runs, then ROUNDS x median of 5. */
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const main = async () => {
  installUsageMeter();
  const { scenario, baseDir } = healthyCanary();
  const warm = withBake(scenario, '10m');
  for (let i = 0; i < Number(process.env.WARMUP ?? 12); i += 1) await runScenario(warm, baseDir);
  const session = process.env.PROFILE ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round += 1) {
    const walls: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < 5; i += 1) {
      const result = await runScenario(warm, baseDir);
      if (result.outcome !== 'promoted') throw new Error(`expected promoted, got ${result.outcome}`);
      walls.push(result.wallMs);
    }
    const used = process.cpuUsage(cpu);
    console.log(
      `median ${median(walls).toFixed(1)} ms  cpu/run ${((used.user + used.system) / 5000).toFixed(1)} ms  runs ${walls.map((w) => w.toFixed(0)).join(' ')}`,
    );
  }
  if (session && process.env.PROFILE) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  }
  await stopLocalDynamoDb();
};
await main();
