import { now } from '../clock.ts';
import type { ReleaseEventKind, ReleaseEventMessage, ReleaseProgress } from '../domain/progress.ts';
import {
  progressAt,
  type ReleaseSubject,
  releaseEventOf,
  subjectOfDeployment,
  type TransitionFacts,
} from '../domain/release-progress.ts';
import type { Deployment, StepCursor } from '../domain/types.ts';
import { asError } from '../errors.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import type { ReleaseRecord } from '../ports/release-history.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import { DEFAULT_ENVIRONMENT } from '../ports/service-ref.ts';

/**
 * What a function needs to record a transition: the release record, and the release-events topic. Every
 * deployed function passes both; a use case called without one (a unit test of other behaviour) skips it.
 */
export interface TransitionPorts {
  store?: Pick<ReleaseStore, 'updateRecord'>;
  events?: ReleaseEvents;
}

/** One transition as a use case describes it. */
export interface Transition {
  kind: ReleaseEventKind;
  text: string;
  facts: Omit<TransitionFacts, 'at'> & { at?: string };
  reason?: string;
  actor?: ReleaseEventMessage['actor'];
}

/**
 * Publishes a release event without letting a failure change the release: the port is told (it logs the
 * loss as an error) and the release goes on, as a notification's failure does (notifyBestEffort).
 */
export const announce = async (events: ReleaseEvents, message: ReleaseEventMessage): Promise<void> => {
  try {
    await events.publish(message);
  } catch (error) {
    events.lost(message, asError(error));
  }
};

/**
 * The release events of one invocation, held until `flush` and then published together: a function that
 * announces several transitions (the trigger: the push it replaced superseded, this one queued) sends them
 * in one request. Publishing stays best effort: what could not be published is told to the port as lost.
 * A flush ends once every flush before it has ended (the trigger's timeout flushes while its `finally` may
 * be flushing: functions/trigger.ts), so when one returns, everything held before it was published or told
 * lost. Made per invocation, never shared between invocations (`flush` sends what this one announced).
 */
export const heldReleaseEvents = (events: ReleaseEvents): ReleaseEvents & { flush(): Promise<void> } => {
  const held: ReleaseEventMessage[] = [];
  const send = async (messages: ReleaseEventMessage[]): Promise<void> => {
    if (messages.length < 2 || !events.publishAll) {
      for (const message of messages) await announce(events, message);
      return;
    }
    try {
      for (const { message, error } of await events.publishAll(messages)) events.lost(message, error);
    } catch (error) {
      for (const message of messages) events.lost(message, asError(error));
    }
  };
  let flushed: Promise<void> = Promise.resolve();
  return {
    region: () => events.region(),
    publish: async (message) => {
      held.push(message);
    },
    lost: (message, error) => events.lost(message, error),
    flush: () => {
      // Each flush sends what is held when it starts (never twice), after the flushes before it.
      const messages = held.splice(0);
      const next = () => send(messages);
      flushed = flushed.then(next, next);
      return flushed;
    },
  };
};

/** The message of a transition of a release, with its progress. */
export const messageOf = (
  subject: ReleaseSubject,
  progress: ReleaseProgress,
  transition: Pick<Transition, 'kind' | 'text' | 'reason' | 'actor'>,
  region: string,
  executionArn?: string,
): ReleaseEventMessage =>
  releaseEventOf(subject, {
    kind: transition.kind,
    text: transition.text,
    progress,
    region,
    environment: DEFAULT_ENVIRONMENT,
    ...(executionArn ? { executionArn } : {}),
    ...(transition.reason ? { reason: transition.reason } : {}),
    ...(transition.actor ? { actor: transition.actor } : {}),
  });

/** The progress of a planned release at a transition (now, unless the facts say when). */
export const progressOf = (
  deployment: Pick<Deployment, 'plan'>,
  cursor: Pick<StepCursor, 'index' | 'step' | 'shifts'> | undefined,
  facts: Transition['facts'],
): ReleaseProgress => progressAt(deployment.plan, cursor, { ...facts, at: facts.at ?? now().toISOString() });

/**
 * Records a transition of a planned release: its progress on the release record (with the other `changes`
 * the function writes anyway, in the same update), then the message on the release-events topic (best
 * effort). Returns the progress recorded.
 *
 * Progress alone never changes the release: when nothing but progress is written, a failed write is
 * reported as the transition's loss (logged as an error, `ProgressNotRecorded`) and the message is still
 * published, so a person's promotion never turns into a rollback, nor a done scale-down into a failed one,
 * because a record could not be written. With `changes`, the write was the step's own before it carried
 * progress, and its failure fails the step as it always did.
 */
export const recordTransition = async (
  ports: TransitionPorts,
  deployment: Deployment,
  cursor: Pick<StepCursor, 'index' | 'step' | 'shifts'> | undefined,
  transition: Transition,
  changes: Partial<Omit<ReleaseRecord, 'service' | 'environment' | 'progress'>> = {},
  executionArn?: string,
): Promise<ReleaseProgress> => {
  const progress = progressOf(deployment, cursor, transition.facts);
  const subject = subjectOfDeployment(deployment);
  try {
    await ports.store?.updateRecord(deployment.service, deployment.requestedAt, deployment.id, {
      ...changes,
      progress,
    });
  } catch (error) {
    if (Object.keys(changes).length > 0) throw error;
    const cause = asError(error);
    ports.events?.lost(
      messageOf(subject, progress, transition, ports.events.region(), executionArn),
      Object.assign(
        new Error(
          `the progress could not be recorded on the release record: ${cause.name}: ${cause.message}`,
        ),
        { name: 'ProgressNotRecorded', cause },
      ),
    );
  }
  await publishTransition(ports.events, subject, progress, transition, executionArn);
  return progress;
};

/** Publishes a transition whose progress the caller recorded itself (best effort; nothing without a topic). */
export const publishTransition = async (
  events: ReleaseEvents | undefined,
  subject: ReleaseSubject,
  progress: ReleaseProgress,
  transition: Pick<Transition, 'kind' | 'text' | 'reason' | 'actor'>,
  executionArn?: string,
): Promise<void> => {
  if (!events) return;
  await announce(events, messageOf(subject, progress, transition, events.region(), executionArn));
};
