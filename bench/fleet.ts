import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { digestOf, healthyCanary } from './scenarios.ts';

/**
 * Fleet bench: concurrent releases of N services in one simulated world. Each size runs in its own Node
 * process (`node --import tsx bench/fleet.ts --size N`), so sizes never share a heap and the process's
 * peak RSS (`process.resourceUsage().maxRSS`) is that size's alone.
 */

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ALB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;

/** `svc-0001` ... : names sort in creation order. */
export const serviceName = (index: number): string => `svc-${String(index + 1).padStart(4, '0')}`;

const hex = (seed: string, length: number): string =>
  digestOf(seed).slice('sha256:'.length, 'sha256:'.length + length);

/**
 * A shipline.yml (as data) with `n` services, each with everything of its own: ECR repository, ECS
 * cluster, blue/green slot services and target groups, listener rule (on its own load balancer) and a
 * 5xx alarm per slot plus a latency alarm. The strategy is the repository's canary (5/25/100, 10-minute
 * bakes).
 */
export const fleetConfig = (n: number): Record<string, unknown> => {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < n; i += 1) {
    const name = serviceName(i);
    const lb = `app/${name}-web/${hex(`${name}:lb`, 16)}`;
    services[name] = {
      image: { repository: name },
      target: {
        type: 'ecs-alb',
        cluster: `${name}-cluster`,
        container: 'app',
        listenerRuleArn: `${ALB}:listener-rule/${lb}/${hex(`${name}:listener`, 16)}/${hex(`${name}:rule`, 16)}`,
        slots: {
          blue: {
            service: `${name}-blue`,
            targetGroupArn: `${ALB}:targetgroup/${name}-blue/${hex(`${name}:blue`, 16)}`,
            alarms: [`${name}-blue-5xx`],
          },
          green: {
            service: `${name}-green`,
            targetGroupArn: `${ALB}:targetgroup/${name}-green/${hex(`${name}:green`, 16)}`,
            alarms: [`${name}-green-5xx`],
          },
        },
        taskRoleArns: [`arn:aws:iam::${ACCOUNT}:role/${name}-execution`],
        scaleDownDelay: '15m',
        steadyTimeout: '20m',
      },
      alarms: [`${name}-latency-p99`],
      strategy: { type: 'canary', steps: [5, 25, 100], bake: '10m' },
    };
  }
  return { version: 1, services };
};

/**
 * A scenario (as data) where all `n` services serve v1 and each gets a push of v2 in the same minute
 * (one per second): `n` releases run at once in one world. Uses the multi-service scenario fields the
 * "fleet" work adds (`world.services`, `push.service`); the lead finishes this row after merging them.
 */
export const fleetScenario = (n: number): Record<string, unknown> => {
  const { scenario } = healthyCanary();
  const services: Record<string, unknown> = {};
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i += 1) {
    const name = serviceName(i);
    services[name] = {
      serving: 'v1',
      requestsPerMinute: 600,
      alarms: [
        { name: `${name}-blue-5xx`, targetGroup: 'blue', threshold: 10, evaluationPeriods: 2 },
        { name: `${name}-green-5xx`, targetGroup: 'green', threshold: 10, evaluationPeriods: 2 },
        {
          name: `${name}-latency-p99`,
          metric: 'TargetResponseTime',
          statistic: 'Average',
          threshold: 0.5,
          evaluationPeriods: 3,
        },
      ],
    };
    if (i > 0) events.push({ at: `${i % 60}s`, push: { service: name, version: 'v2' } });
  }
  return {
    name: `fleet of ${n}: every service releases v2 at once`,
    config: fleetConfig(n),
    world: { services },
    versions: scenario.versions,
    trigger: { push: { service: serviceName(0), version: 'v2' } },
    events,
    until: '6h',
  };
};

/** What one child process measured. */
export interface FleetMeasure {
  /** Services (and releases) in the world, or sequential single-service runs for `mode: sequential`. */
  size: number;
  mode: 'concurrent' | 'sequential';
  wallMs: number;
  /** Peak resident set size of the measuring process. */
  peakRssMb: number;
  /** Releases that ended promoted. */
  promoted: number;
  /** Why the run could not be measured (e.g. the scenario format is not merged yet). */
  error?: string;
}

const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** In the child: N releases at once in one world. */
const measureConcurrent = async (size: number): Promise<FleetMeasure> => {
  const { parseScenario, runScenario } = await import('../sandbox/run-scenario.ts');
  const { baseDir } = healthyCanary();
  const start = performance.now();
  try {
    const scenario = parseScenario(fleetScenario(size), `fleet of ${size}`);
    const result = await runScenario(scenario, baseDir);
    const perService = (result as { services?: Record<string, { outcome?: string }> }).services;
    const promoted = perService
      ? Object.values(perService).filter((s) => s.outcome === 'promoted').length
      : result.outcome === 'promoted'
        ? 1
        : 0;
    return {
      size,
      mode: 'concurrent',
      wallMs: Math.round(performance.now() - start),
      peakRssMb: peakRssMb(),
      promoted,
    };
  } catch (error) {
    return {
      size,
      mode: 'concurrent',
      wallMs: Math.round(performance.now() - start),
      peakRssMb: peakRssMb(),
      promoted: 0,
      error: (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' '),
    };
  }
};

/** In the child: today's stand-in, N single-service healthy canaries one after another in one process. */
const measureSequential = async (size: number): Promise<FleetMeasure> => {
  const { runScenario } = await import('../sandbox/run-scenario.ts');
  const { scenario, baseDir } = healthyCanary();
  const start = performance.now();
  let promoted = 0;
  for (let i = 0; i < size; i += 1) {
    const result = await runScenario(scenario, baseDir);
    if (result.outcome === 'promoted') promoted += 1;
  }
  return {
    size,
    mode: 'sequential',
    wallMs: Math.round(performance.now() - start),
    peakRssMb: peakRssMb(),
    promoted,
  };
};

const self = fileURLToPath(import.meta.url);

/**
 * V8 options of the fleet's process. A fleet allocates short-lived objects at a high rate (every SDK call
 * builds its middleware stack, request and signing state), and with V8's default young generation (16 MB
 * semi-spaces) a quarter of its CPU went to scavenges and to collecting what they promoted too early: 64 MB
 * semi-spaces took 1,000 concurrent releases from 72 s to 57 s of wall time, for about 70 MB more peak RSS.
 * `node --max-semi-space-size=64` (or NODE_OPTIONS) does the same for a large `shipline simulate`.
 * The old generation is capped at 768 MB: 1,000 concurrent releases keep about 230 MB alive at their peak,
 * but V8 let the heap grow to four times that before collecting (920-984 MB of peak RSS, close to the 1 GiB
 * budget); capped, it collects sooner (about 700 MB of peak RSS, 1-2 s more wall time). A larger world
 * needs a larger cap (`--max-old-space-size`, in MB).
 */
export const FLEET_NODE_OPTIONS = ['--max-semi-space-size=64', '--max-old-space-size=768'] as const;

/** Runs one size in a fresh Node process and returns what it measured. `nodeArgs` e.g. `--cpu-prof`. */
export const measureInChild = async (
  size: number,
  mode: FleetMeasure['mode'],
  nodeArgs: readonly string[] = [],
): Promise<FleetMeasure> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...FLEET_NODE_OPTIONS, ...nodeArgs, '--import', 'tsx', self, `--${mode}`, String(size)],
    {
      cwd: path.resolve(path.dirname(self), '..'),
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, SHIPLINE_LOG_LEVEL: 'SILENT' },
    },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as FleetMeasure;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [flag, value] = process.argv.slice(2);
  const size = Number(value);
  if ((flag !== '--concurrent' && flag !== '--sequential') || !Number.isInteger(size) || size < 1)
    throw new Error('usage: node --import tsx bench/fleet.ts --concurrent N | --sequential N');
  const measure = flag === '--concurrent' ? await measureConcurrent(size) : await measureSequential(size);
  const { stopLocalDynamoDb } = await import('../sandbox/local-dynamodb.ts');
  await stopLocalDynamoDb();
  process.stdout.write(`${JSON.stringify(measure)}\n`);
}
