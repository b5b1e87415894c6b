import type { ServiceConfig } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { Scenario } from '../scenario/schema.ts';
import { type CliRun, type OperatorTerminal, runOperatorCommand } from './cli.ts';
import { ScenarioError } from './errors.ts';
import { SlackClicks } from './slack-clicks.ts';

/** What one trigger invocation answered (or the error it failed with), at virtual time `at`. */
export interface TriggerResult {
  at: number;
  ok: boolean;
  value?: unknown;
  error?: Error;
  /** The service the push or request was for, when the scenario says (raw events name none). */
  service?: string;
}

export interface Schedule {
  /** Trigger invocations' results in the order they ended. */
  triggerResults: TriggerResult[];
  /** The scenario's Slack clicks and how each was answered. */
  slackClicks: SlackClicks;
  /** Scheduled scenario events that have not fired yet (a run is not over while one is pending). */
  pending: () => number;
  /** The CLI commands people ran (`cli`, `approve` and `abort` events), in the order they were given. */
  cliRuns: CliRun[];
  /**
   * Per service, the pushes, raw events and manual requests sent for it (raw events count for the scenario's
   * service), and how many of them no EventBridge rule matched: a service without a release says why.
   */
  requests: Map<string, ServiceRequests>;
}

/** What was sent to a service's trigger (see `Schedule.requests`). */
export interface ServiceRequests {
  sent: number;
  unmatched: number;
}

/** Quotes a value for a command line (the reason of an `abort` event). */
const quoted = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * The shipline commands a scenario's people give, with when (virtual seconds after the start): its `cli`
 * trigger and events, and the commands its `approve` and `abort` events run.
 */
export const commandsGiven = (
  scenario: Scenario,
  serviceName: string,
): Array<{ at: number; command: string }> => [
  ...('cli' in scenario.trigger ? [{ at: 0, command: scenario.trigger.cli }] : []),
  ...scenario.events.flatMap((event) => {
    const at = parseDurationSeconds(event.at) ?? 0;
    if ('cli' in event) return [{ at, command: event.cli }];
    if ('approve' in event) return [{ at, command: `approve ${event.approve.service ?? serviceName}` }];
    if ('abort' in event)
      return [
        {
          at,
          command: `abort ${event.abort.service ?? serviceName} --reason ${quoted(event.abort.reason)}`,
        },
      ];
    return [];
  }),
];

/**
 * Puts the scenario's trigger (at the start) and its events (at their offsets) on the world's clock:
 * ECR pushes as EventBridge delivers them, raw events, manual requests to the trigger function, duplicate
 * deliveries and forced alarm states.
 */
export const scheduleScenario = (
  world: SimulatedWorld,
  scenario: Scenario,
  {
    serviceName,
    services,
    start,
    terminal,
  }: {
    serviceName: string;
    services: ReadonlyMap<string, { declared: ServiceConfig }>;
    start: Date;
    /** The operator's terminal in this world (the CLI commands' region, stack and table). */
    terminal: OperatorTerminal;
  },
): Schedule => {
  const clock = world.clock;
  const { region, account } = scenario.world;
  const triggerResults: TriggerResult[] = [];
  const resultsFor =
    (service: string | undefined) =>
    (fn: string, result: { ok: true; value: unknown } | { ok: false; error: Error }) => {
      if (fn !== 'trigger') return;
      const at = clock.nowMillis;
      triggerResults.push({
        ...(result.ok ? { at, ok: true, value: result.value } : { at, ok: false, error: result.error }),
        ...(service !== undefined ? { service } : {}),
      });
    };
  const pushEvent = (push: { version: string; tag?: string; service?: string }) => {
    const repository = services.get(push.service ?? serviceName)?.declared.image.repository;
    const digest = scenario.versions[push.version]?.digest;
    // The push leaves its tag on the image in ECR (a tag moves to the newest image that carries it).
    if (repository !== undefined && digest !== undefined)
      world.ecr.tagImage(repository, digest, push.tag ?? push.version);
    return pushDetail(push, repository, digest);
  };
  const pushDetail = (
    push: { version: string; tag?: string },
    repository: string | undefined,
    digest: string | undefined,
  ) => ({
    version: '0',
    id: world.random.uuid(),
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account,
    time: clock
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': repository,
      'image-digest': digest,
      'action-type': 'PUSH',
      'image-tag': push.tag ?? push.version,
    },
  });
  const cliRuns: CliRun[] = [];
  /** A person runs a shipline command; the run's result lists it with its output and exit code. */
  let runningCommands = 0;
  const runCommand = (command: string, service?: string) => {
    runningCommands += 1;
    void clock.track(async () => {
      try {
        cliRuns.push(await runOperatorCommand(world, command, terminal, start.getTime(), service));
        cliRuns.sort((a, b) => a.t - b.t);
      } finally {
        runningCommands -= 1;
      }
    });
  };
  /**
   * The service a raw event concerns, for the report: an ECR event's repository's (the trigger would release
   * that service); undefined for any other event (then it counts for the scenario's own service).
   */
  const serviceOfRawEvent = (event: Record<string, unknown>): string | undefined => {
    const repository = (event.detail as Record<string, unknown> | undefined)?.['repository-name'];
    if (event.source !== 'aws.ecr' || typeof repository !== 'string') return undefined;
    for (const [name, { declared }] of services) if (declared.image.repository === repository) return name;
    return undefined;
  };
  const requests = new Map<string, ServiceRequests>();
  const count = (service: string, matched: boolean) => {
    const counts = requests.get(service) ?? { sent: 0, unmatched: 0 };
    counts.sent += 1;
    if (!matched) counts.unmatched += 1;
    requests.set(service, counts);
  };
  let triggerEvent: Record<string, unknown> | undefined;
  let triggerService: string | undefined;
  const fire = (
    event: Record<string, unknown> | undefined,
    manual?: { version: string; requestedBy?: string; service?: string },
    service?: string,
  ) => {
    const onResult = resultsFor(manual ? (manual.service ?? serviceName) : service);
    if (manual) {
      count(manual.service ?? serviceName, true);
      world.record('event', `manual deploy of ${manual.version}`, undefined, manual.service ?? serviceName);
      world.deliver(
        {
          service: manual.service ?? serviceName,
          image: { digest: scenario.versions[manual.version]?.digest, tag: manual.version },
          ...(manual.requestedBy ? { requestedBy: manual.requestedBy } : {}),
        },
        { target: 'trigger', onResult },
      );
      return;
    }
    if (!event) return;
    const detail = event.detail as Record<string, unknown> | undefined;
    world.record(
      'event',
      `${String(event['detail-type'] ?? 'event')} ${String(detail?.['image-tag'] ?? '')} ${String(detail?.['image-digest'] ?? '(no digest)').slice(0, 19)}`.trim(),
      undefined,
      service,
    );
    let matched: number;
    try {
      matched = world.deliver(event, { onResult });
    } catch (error) {
      const refusal = error as Error;
      world.record('event', `EventBridge refused the event: ${refusal.name}: ${refusal.message}`);
      triggerResults.push({
        at: clock.nowMillis,
        ok: false,
        error: refusal,
        ...(service !== undefined ? { service } : {}),
      });
      return;
    }
    count(service ?? serviceName, matched > 0);
    if (matched === 0) world.record('event', 'no EventBridge rule matched the event');
  };
  const slackClicks = new SlackClicks(world);
  let pendingEvents = 1;
  clock.schedule(start.getTime(), () => {
    pendingEvents -= 1;
    const trigger = scenario.trigger;
    if ('push' in trigger) {
      triggerEvent = pushEvent(trigger.push);
      triggerService = trigger.push.service ?? serviceName;
    } else if ('event' in trigger) {
      triggerEvent = trigger.event;
      triggerService = serviceOfRawEvent(trigger.event);
    } else if ('cli' in trigger) {
      runCommand(trigger.cli);
      return;
    }
    fire(triggerEvent, 'manual' in trigger ? trigger.manual : undefined, triggerService);
  });
  scenario.events.forEach((event, index) => {
    pendingEvents += 1;
    clock.schedule(start.getTime() + (parseDurationSeconds(event.at) ?? 0) * 1000, () => {
      pendingEvents -= 1;
      if ('push' in event) fire(pushEvent(event.push), undefined, event.push.service ?? serviceName);
      else if ('event' in event) fire(event.event, undefined, serviceOfRawEvent(event.event));
      else if ('manual' in event) fire(undefined, event.manual);
      else if ('duplicate' in event) fire(triggerEvent, undefined, triggerService);
      else if ('alarm' in event) {
        const alarm = world.cloudwatch.alarms.get(event.alarm.name);
        if (!alarm)
          throw new ScenarioError(
            `events[${index}].alarm.name: alarm ${event.alarm.name} is not declared in the world`,
          );
        if (event.alarm.delete) world.cloudwatch.deleteAlarm(alarm.AlarmName);
        else if (event.alarm.state)
          world.cloudwatch.changeState(alarm, event.alarm.state, event.alarm.reason);
      } else if ('approve' in event) {
        const service = event.approve.service ?? serviceName;
        runCommand(`approve ${service}`, service);
      } else if ('abort' in event) {
        const service = event.abort.service ?? serviceName;
        runCommand(`abort ${service} --reason ${quoted(event.abort.reason)}`, service);
      } else if ('stop' in event) {
        const service = event.stop.service ?? serviceName;
        const digest = scenario.versions[event.stop.version]?.digest;
        const execution = [...world.sfn.executions.values()].find((candidate) => {
          const input = JSON.parse(candidate.input) as { service?: string; image?: { digest?: string } };
          return (
            input.service === service && input.image?.digest === digest && candidate.status === 'RUNNING'
          );
        });
        if (!execution)
          throw new ScenarioError(
            `events[${index}].stop: no release execution of ${event.stop.version} of ${service} runs at ${event.at} to stop`,
          );
        world.record(
          'event',
          `a person stops execution ${execution.name} (StopExecution)`,
          execution.name,
          service,
        );
        world.sfn.stopExecution(execution.executionArn, 'StoppedByPerson', event.stop.cause);
      } else if ('cli' in event) runCommand(event.cli);
      else if ('click' in event)
        void clock.track(() => slackClicks.click(event.click, event.click.service ?? serviceName));
    });
  });
  // A command still running (deploy --wait between two polls) keeps the run going.
  return {
    triggerResults,
    slackClicks,
    pending: () => pendingEvents + runningCommands,
    cliRuns,
    requests,
  };
};
