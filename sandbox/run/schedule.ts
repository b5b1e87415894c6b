import { createDynamoDbDocumentClient } from '../../lib/adapters/dynamodb-release-store.ts';
import { DynamoDbWaitRegistry } from '../../lib/adapters/dynamodb-wait-registry.ts';
import { createSfnTaskTokens } from '../../lib/adapters/sfn-workflow.ts';
import type { ServiceConfig } from '../../lib/config/schema.ts';
import { parseDurationSeconds } from '../../lib/duration.ts';
import { environment } from '../../lib/env.ts';
import { abortRelease, approveRelease } from '../../lib/use-cases/resume.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import type { Scenario } from '../scenario/schema.ts';
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
}

/** The release a person would name: the one of the service's latest started notification. */
const startedRelease = (world: SimulatedWorld, service: string): string | undefined => {
  for (const published of [...world.sns.messages].reverse()) {
    try {
      const message = JSON.parse(published.message) as {
        event?: unknown;
        service?: unknown;
        release?: unknown;
      };
      if (message.event === 'started' && message.service === service && typeof message.release === 'string')
        return message.release;
    } catch {
      // not a Shipline notification
    }
  }
  return undefined;
};

/**
 * A person runs `shipline approve` or `shipline abort` on the service's release: the same use case as the
 * CLI, on the world's table and Step Functions (a person's calls are not a function's, so no role applies).
 */
const actAsPerson = async (
  world: SimulatedWorld,
  command: 'approve' | 'abort',
  service: string,
  reason?: string,
): Promise<void> => {
  const releaseId = startedRelease(world, service);
  if (releaseId === undefined) {
    world.record(
      'event',
      `a person runs shipline ${command} for ${service}: no started release to name`,
      undefined,
      service,
    );
    return;
  }
  world.record(
    'event',
    `a person runs shipline ${command} --release ${releaseId}${reason ? ` --reason "${reason}"` : ''}`,
    undefined,
    service,
  );
  const ports = {
    waits: new DynamoDbWaitRegistry(createDynamoDbDocumentClient(), environment.tableName),
    tokens: createSfnTaskTokens(),
  };
  const report =
    command === 'approve'
      ? await approveRelease(ports, { releaseId, service })
      : await abortRelease(ports, { releaseId, service, reason: reason ?? '' });
  world.record(
    'event',
    report.status === 'done'
      ? `shipline ${command}: ${report.waits.map((wait) => `${wait.kind}${wait.kind === 'pause' ? '' : ` on ${wait.key}`} ${wait.result === 'already-ended' ? 'had already ended' : command === 'approve' ? 'resumed' : 'aborted'}`).join(', ')}`
      : `shipline ${command}: nothing to resume (exit 4)${report.found.length > 0 ? `; the release waits on ${report.found.join(', ')}` : ''}`,
    undefined,
    service,
  );
};

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
  }: { serviceName: string; services: ReadonlyMap<string, { declared: ServiceConfig }>; start: Date },
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
  const pushEvent = (push: { version: string; tag?: string; service?: string }) => ({
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
      'repository-name': services.get(push.service ?? serviceName)?.declared.image.repository,
      'image-digest': scenario.versions[push.version]?.digest,
      'action-type': 'PUSH',
      'image-tag': push.tag ?? push.version,
    },
  });
  let triggerEvent: Record<string, unknown> | undefined;
  let triggerService: string | undefined;
  const fire = (
    event: Record<string, unknown> | undefined,
    manual?: { version: string; requestedBy?: string; service?: string },
    service?: string,
  ) => {
    const onResult = resultsFor(manual ? (manual.service ?? serviceName) : service);
    if (manual) {
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
    if (matched === 0) world.record('event', 'no EventBridge rule matched the event');
  };
  const slackClicks = new SlackClicks(world, (service) => startedRelease(world, service));
  let pendingEvents = 1;
  clock.schedule(start.getTime(), () => {
    pendingEvents -= 1;
    const trigger = scenario.trigger;
    if ('push' in trigger) {
      triggerEvent = pushEvent(trigger.push);
      triggerService = trigger.push.service ?? serviceName;
    } else if ('event' in trigger) triggerEvent = trigger.event;
    fire(triggerEvent, 'manual' in trigger ? trigger.manual : undefined, triggerService);
  });
  for (const event of scenario.events) {
    pendingEvents += 1;
    clock.schedule(start.getTime() + (parseDurationSeconds(event.at) ?? 0) * 1000, () => {
      pendingEvents -= 1;
      if ('push' in event) fire(pushEvent(event.push), undefined, event.push.service ?? serviceName);
      else if ('event' in event) fire(event.event);
      else if ('manual' in event) fire(undefined, event.manual);
      else if ('duplicate' in event) fire(triggerEvent, undefined, triggerService);
      else if ('alarm' in event) {
        const alarm = world.cloudwatch.alarms.get(event.alarm.name);
        if (!alarm)
          throw new ScenarioError(`events: alarm ${event.alarm.name} is not declared under world.alarms`);
        if (event.alarm.delete) world.cloudwatch.deleteAlarm(alarm.AlarmName);
        else if (event.alarm.state)
          world.cloudwatch.changeState(alarm, event.alarm.state, event.alarm.reason);
      } else if ('approve' in event)
        void clock.track(() => actAsPerson(world, 'approve', event.approve.service ?? serviceName));
      else if ('abort' in event)
        void clock.track(() =>
          actAsPerson(world, 'abort', event.abort.service ?? serviceName, event.abort.reason),
        );
      else if ('click' in event)
        void clock.track(() => slackClicks.click(event.click, event.click.service ?? serviceName));
    });
  }
  return { triggerResults, slackClicks, pending: () => pendingEvents };
};
