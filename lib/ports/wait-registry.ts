import type { StepShift } from '../domain/types.ts';
import type { Waiter } from './lock-store.ts';

/**
 * Every kind of task that waits on a task token:
 * - `bake`: a bake step, keyed by the alarm it watches (one wait per watched alarm);
 * - `rollback-window`: the warm period after promotion, keyed by the alarm it watches;
 * - `rollout`: a rolling update whose new tasks take production traffic as they start (its await-ready step),
 *   keyed by the alarm it watches (the same task also waits as `ready` on its ECS deployment);
 * - `ready`: a deployment becoming ready, keyed by the ECS deployment id;
 * - `lock-queue`: the newest push queued behind the service lock, keyed by service (see {@link lockQueueKey});
 * - `pause`: a pause step waiting for a person, keyed by release id.
 */
export const WAIT_KINDS = ['bake', 'rollback-window', 'rollout', 'ready', 'lock-queue', 'pause'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

/**
 * What a wait's key names. Kinds with the same subject share one wait per key and release: a release's
 * rollback window on an alarm replaces its last bake's watch of that alarm (they never overlap), and an
 * alarm event finds both kinds with one read.
 */
export const WAIT_SUBJECT = {
  bake: 'ALARM',
  'rollback-window': 'ALARM',
  rollout: 'ALARM',
  ready: 'DEPLOYMENT',
  'lock-queue': 'QUEUE',
  pause: 'RELEASE',
} as const satisfies Record<WaitKind, string>;

/**
 * Kinds with at most one wait per key, whatever the release: an ECS deployment belongs to one release, and
 * a service's queue holds only the newest push. The others hold one wait per key and release (several
 * releases may watch one alarm).
 */
export const SOLE_WAIT_KINDS: ReadonlySet<WaitKind> = new Set<WaitKind>(['ready', 'lock-queue']);

/** The key of a service's lock-queue wait: the service within its environment. */
export const lockQueueKey = (ref: { environment: string; service: string }): string =>
  `${ref.environment}/${ref.service}`;

/** What a bake or rollback-window wait keeps to judge an alarm event (today's AlarmWatch fields). */
export interface AlarmWaitData {
  percent: number;
  /** The release's shifts so far: an alarm's event names the step during which it transitioned. */
  shifts?: StepShift[];
  /** Only alarm transitions at or after this instant fail the release (see README: pre-existing alarms). */
  watchFrom: string;
  /** A rollout's: the ECS deployment its task also waits on (that `ready` wait ends with it). */
  deploymentId?: string;
}

/** What a lock-queue wait keeps to order pushes (see request-order.ts). */
export interface QueueWaitData {
  requestedAt: string;
  receivedAt?: string;
  receivedSeq?: number;
  /** A pending push's execution input (JSON text): no execution waits yet (see Waiter in lock-store.ts). */
  pendingInput?: string;
  /** The pending push this waiter replaced (see Waiter in lock-store.ts). */
  supersedes?: Omit<Waiter, 'supersedes'>;
}

interface WaitBase {
  key: string;
  releaseId: string;
  service: string;
  environment: string;
  taskToken: string;
  /** Epoch seconds after which DynamoDB TTL removes a wait nobody claimed (set by the store on register). */
  expiresAt?: number;
}

/** A waiting task, registered with its release, kind, key and task token. */
export type Wait =
  | (WaitBase & { kind: 'bake' | 'rollback-window' | 'rollout'; data: AlarmWaitData })
  | (WaitBase & { kind: 'lock-queue'; data: QueueWaitData })
  | (WaitBase & { kind: 'ready' | 'pause'; data?: undefined });

/** Which wait: `releaseId` is required for kinds holding one wait per key and release. */
export interface WaitRef {
  kind: WaitKind;
  key: string;
  /** For a sole kind, a condition: only this release's wait is touched. */
  releaseId?: string;
}

/**
 * The one registry of waiting tasks. A wait is found by kind and key (an event: an alarm finds every
 * release watching it; an ECS event finds the release it readies) and from its release (a later `promote`,
 * `abort` or `approve` command resumes whichever wait the release is in). A wait is claimed only by the
 * holder of its token, so a stale event never removes a later wait of the same release.
 */
export interface WaitRegistry {
  /**
   * Registers waits (re-registering a wait of the same kind subject, key and release replaces it, with its
   * new token). They expire `ttlSeconds` from now if nobody claims them.
   */
  register(waits: readonly Wait[], ttlSeconds: number): Promise<void>;
  /**
   * Registers `wait` as the only wait on its key (a sole kind), on condition that the wait there now is
   * `expected` (same release and token) or, when `expected` is undefined, that there is none. False if the
   * wait there changed meanwhile: read again and decide again. Without `ttlSeconds` the wait stays until
   * it is claimed or removed (a queued push waits as long as the lock holder runs).
   */
  replaceSole(
    wait: Wait,
    expected: { releaseId: string; taskToken: string } | undefined,
    ttlSeconds?: number,
  ): Promise<boolean>;
  /** One wait, if registered (a consistent read); for a sole kind, only if it is `ref.releaseId`'s when named. */
  read(ref: WaitRef): Promise<Wait | undefined>;
  /** The waits of these kinds on `key` (a consistent read: a wait registered before is always found). */
  findByKey(kinds: WaitKind | readonly WaitKind[], key: string): Promise<Wait[]>;
  /**
   * Every wait of a release. Served by an index that DynamoDB updates asynchronously: a wait registered
   * within the last second may be missing (fine for a person's command; events use `findByKey`).
   */
  findByRelease(releaseId: string): Promise<Wait[]>;
  /** Deletes the wait only if it still holds `taskToken`; false if it is gone or was registered again. */
  claim(ref: WaitRef, taskToken: string): Promise<boolean>;
  /** Deletes the wait whatever its token; returns what was there (undefined if nothing, or another release's). */
  remove(ref: WaitRef): Promise<Wait | undefined>;
  /** Deletes every wait of a release (found as by `findByRelease`); returns what it deleted. */
  clearRelease(releaseId: string): Promise<Wait[]>;
}

/** The subject the kinds name, refusing kinds of different subjects in one look-up (they live under different keys). */
export const subjectOf = (kinds: WaitKind | readonly WaitKind[]): string => {
  const list: readonly WaitKind[] = typeof kinds === 'string' ? [kinds] : kinds;
  const subjects = new Set(list.map((kind) => WAIT_SUBJECT[kind]));
  const [subject] = subjects;
  if (subjects.size !== 1 || subject === undefined) {
    throw new Error(
      `wait kinds ${list.join(', ')} name different things: look them up one subject at a time`,
    );
  }
  return subject;
};
