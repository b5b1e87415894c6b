import { RECORD_RETENTION_SECONDS } from '../../lib/adapters/dynamodb-table.ts';
import { nowEpochSeconds } from '../../lib/clock.ts';
import type { OperatorAction, ReleaseEventMessage } from '../../lib/domain/progress.ts';
import { EcsAlbDriver } from '../../lib/drivers/ecs-alb.ts';
import { ServiceBusyError } from '../../lib/errors.ts';
import type {
  AlarmStatus,
  AlarmWatcher,
  DeployImageInput,
  DeployImageResult,
  EndedPage,
  EndedQuery,
  ExecutionStarter,
  LockLease,
  LockStore,
  Notification,
  NotificationMarks,
  Notifier,
  Receipt,
  ReleaseHistory,
  ReleaseRecord,
  ReleaseRef,
  ServiceRef,
  ServiceState,
  ServiceStateStore,
  SlotDeployer,
  SlotStatus,
  SlotWait,
  TaskTokens,
  TrafficRoute,
  TrafficRouter,
  TrafficSplit,
  Wait,
  Waiter,
  WaitKind,
  WaitRef,
  WaitRegistry,
} from '../../lib/ports/index.ts';
import type { ReleaseEvents } from '../../lib/ports/release-events.ts';
import { DEFAULT_ENVIRONMENT, serviceRef } from '../../lib/ports/service-ref.ts';
import { lockQueueKey, SOLE_WAIT_KINDS, subjectOf, WAIT_SUBJECT } from '../../lib/ports/wait-registry.ts';
import { ComposedReleaseStore, readyWaitOf, slotWaitOf } from '../../lib/store/composed-release-store.ts';
import { endedBounds, sortableTime } from '../../lib/store/history-order.ts';
import { dequeue, enqueueNewest, queueWaitOf, readQueued, waiterOf } from '../../lib/store/lock-queue.ts';

/**
 * In-memory fakes of the ports in lib/ports. They keep state the way the AWS adapters do (a lock
 * with a lease, one queued waiter, conditional deletes) and write what they do to a shared journal,
 * so a test can assert the order of effects across ports.
 */

export class Journal {
  public readonly entries: string[] = [];
  public record(entry: string): void {
    this.entries.push(entry);
  }
}

/** A fake map's key for a service: the bare name in the default environment (as tests write it). */
const serviceKey = (ref: ServiceRef): string =>
  ref.environment === DEFAULT_ENVIRONMENT ? ref.service : `${ref.environment}/${ref.service}`;

const recordKey = (ref: ServiceRef & { requestedAt: string; releaseId: string }) =>
  `${serviceKey(ref)}#${ref.requestedAt}#${ref.releaseId}`;

const waitSlot = (ref: WaitRef): string => {
  if (!SOLE_WAIT_KINDS.has(ref.kind) && ref.releaseId === undefined) {
    throw new Error(`a ${ref.kind} wait on ${ref.key} is one per release: name the release`);
  }
  return `${WAIT_SUBJECT[ref.kind]}#${ref.key}#${SOLE_WAIT_KINDS.has(ref.kind) ? 'SOLE' : ref.releaseId}`;
};

const copyWait = (wait: Wait): Wait => structuredClone(wait);

/** The wait registry in memory: one entry per wait, keyed as the DynamoDB items are. */
export class InMemoryWaitRegistry implements WaitRegistry {
  /** Every registered wait, by its item key. */
  public readonly entries = new Map<string, Wait>();

  /** Puts a wait as is (tests seed waits; views write through it). */
  public put(wait: Wait, ttlSeconds?: number): void {
    const { expiresAt: _ignored, ...fields } = wait;
    this.entries.set(waitSlot(wait), {
      ...structuredClone(fields),
      ...(ttlSeconds !== undefined ? { expiresAt: nowEpochSeconds() + ttlSeconds } : {}),
    } as Wait);
  }

  public peek(ref: WaitRef): Wait | undefined {
    const wait = this.entries.get(waitSlot(ref));
    if (!wait || (ref.releaseId !== undefined && wait.releaseId !== ref.releaseId)) return undefined;
    return copyWait(wait);
  }

  public async read(ref: WaitRef) {
    return this.peek(ref);
  }

  public async register(waits: readonly Wait[], ttlSeconds: number) {
    for (const wait of waits) this.put(wait, ttlSeconds);
  }

  public async replaceSole(
    wait: Wait,
    expected: { releaseId: string; taskToken: string } | undefined,
    ttlSeconds?: number,
  ) {
    if (!SOLE_WAIT_KINDS.has(wait.kind)) {
      throw new Error(
        `${wait.kind} waits are one per release on ${wait.key}, not one per key: register them`,
      );
    }
    const current = this.entries.get(waitSlot(wait));
    const matches = expected
      ? current?.releaseId === expected.releaseId && current.taskToken === expected.taskToken
      : current === undefined;
    if (!matches) return false;
    this.put(wait, ttlSeconds);
    return true;
  }

  public async findByKey(kinds: WaitKind | readonly WaitKind[], key: string) {
    const wanted: readonly WaitKind[] = typeof kinds === 'string' ? [kinds] : kinds;
    const subject = subjectOf(wanted);
    return [...this.entries.values()]
      .filter((wait) => WAIT_SUBJECT[wait.kind] === subject && wait.key === key && wanted.includes(wait.kind))
      .map(copyWait);
  }

  public async findByRelease(releaseId: string) {
    return [...this.entries.values()].filter((wait) => wait.releaseId === releaseId).map(copyWait);
  }

  public async claim(ref: WaitRef, taskToken: string) {
    const wait = this.peek(ref);
    if (!wait || wait.taskToken !== taskToken) return false;
    this.entries.delete(waitSlot(ref));
    return true;
  }

  public async remove(ref: WaitRef) {
    const wait = this.peek(ref);
    if (wait) this.entries.delete(waitSlot(ref));
    return wait;
  }

  public async clearRelease(releaseId: string) {
    const cleared: Wait[] = [];
    for (const wait of await this.findByRelease(releaseId)) {
      const removed = await this.remove({ kind: wait.kind, key: wait.key, releaseId });
      if (removed) cleared.push(removed);
    }
    return cleared;
  }
}

/**
 * A Map-like view of one kind of wait in the registry, in the shape the old store methods use (waiters by
 * service, slot waits by deployment id): tests seed and inspect waits through it.
 */
export class WaitView<V> {
  public constructor(
    private readonly registry: InMemoryWaitRegistry,
    private readonly kind: WaitKind,
    private readonly keyOf: (key: string) => string,
    private readonly toValue: (wait: Wait) => V,
    private readonly toWait: (key: string, value: V) => Wait,
  ) {}

  private waits(): Wait[] {
    return [...this.registry.entries.values()].filter((wait) => wait.kind === this.kind);
  }

  public get(key: string): V | undefined {
    const wait = this.registry.peek({ kind: this.kind, key: this.keyOf(key) });
    return wait ? this.toValue(wait) : undefined;
  }

  public set(key: string, value: V): this {
    this.registry.put(this.toWait(key, value));
    return this;
  }

  public has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  public delete(key: string): boolean {
    return this.registry.entries.delete(waitSlot({ kind: this.kind, key: this.keyOf(key) }));
  }

  public get size(): number {
    return this.waits().length;
  }
}

/** The lock in memory; its queue is the lock-queue wait of the registry, as in the DynamoDB adapter. */
export class InMemoryLockStore implements LockStore {
  public constructor(
    /** Leases by service (`environment/service` outside the default environment). */
    public readonly leases: Map<string, LockLease>,
    private readonly waits: WaitRegistry,
  ) {}

  public async acquire(
    ref: ServiceRef,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received: Receipt = {},
  ) {
    const now = nowEpochSeconds();
    const current = this.leases.get(serviceKey(ref));
    if (current && current.holder !== holder && current.leaseExpiresAt >= now) {
      return { acquired: false as const, holder: { ...current } };
    }
    this.leases.set(serviceKey(ref), {
      holder,
      requestedAt,
      ...received,
      acquiredAt: new Date(now * 1000).toISOString(),
      leaseExpiresAt: now + leaseSeconds,
    });
    return { acquired: true as const };
  }

  public async read(ref: ServiceRef) {
    const lease = this.leases.get(serviceKey(ref));
    return lease ? { ...lease } : undefined;
  }

  public async release(ref: ServiceRef, holder: string) {
    const released = this.leases.get(serviceKey(ref))?.holder === holder;
    if (released) this.leases.delete(serviceKey(ref));
    const next = await readQueued(this.waits, ref);
    return { released, ...(next ? { next } : {}) };
  }

  public enqueue(ref: ServiceRef, waiter: Waiter, known?: { queued: Waiter | undefined }) {
    return enqueueNewest(this.waits, ref, waiter, known);
  }

  public queued(ref: ServiceRef) {
    return readQueued(this.waits, ref);
  }

  public dequeue(ref: ServiceRef, executionName: string, taskToken?: string) {
    return dequeue(this.waits, ref, executionName, taskToken);
  }
}

type StoredState = Partial<ServiceState> & { service: string; rollbackFenceUntil?: number };

/** What serves each service, in memory, with the adapter's conditions. */
export class InMemoryServiceStateStore implements ServiceStateStore {
  public constructor(public readonly states: Map<string, StoredState>) {}

  public async read(ref: ServiceRef) {
    const state = this.states.get(serviceKey(ref));
    if (!state?.stableTaskDefinitionArn) return undefined;
    const { rollbackFenceUntil: _fence, ...rest } = state;
    return { ...rest } as ServiceState;
  }

  public async claimIdleSlot(ref: ServiceRef, releaseId: string) {
    const current = this.states.get(serviceKey(ref));
    if (
      current?.rollbackFenceUntil !== undefined &&
      current.rollbackFenceUntil >= nowEpochSeconds() &&
      current.latestRelease !== releaseId
    ) {
      throw new ServiceBusyError(
        `a rollback of the previous release of ${ref.service} is still putting its slots back`,
      );
    }
    this.states.set(serviceKey(ref), { ...current, service: ref.service, latestRelease: releaseId });
  }

  public async fenceForRollback(ref: ServiceRef, releaseId: string, seconds: number) {
    const current = this.states.get(serviceKey(ref));
    if (current?.latestRelease !== releaseId) return false;
    this.states.set(serviceKey(ref), { ...current, rollbackFenceUntil: nowEpochSeconds() + seconds });
    return true;
  }

  public async recordPromotion(ref: ServiceRef, state: ServiceState) {
    const current = this.states.get(serviceKey(ref));
    if (current?.latestRelease !== undefined && current.latestRelease !== state.latestRelease) return false;
    this.states.set(serviceKey(ref), { ...state });
    return true;
  }

  public async isLatestRelease(ref: ServiceRef, releaseId: string) {
    return this.states.get(serviceKey(ref))?.latestRelease === releaseId;
  }

  public async isRollingBack(ref: ServiceRef, releaseId: string) {
    const state = this.states.get(serviceKey(ref));
    return (
      state?.latestRelease === releaseId &&
      state.rollbackFenceUntil !== undefined &&
      state.rollbackFenceUntil >= nowEpochSeconds()
    );
  }
}

/** Release records in memory, with the history index by end time the adapter keeps. */
export class InMemoryReleaseHistory implements ReleaseHistory {
  /** Retention TTL of each record, by record key (the adapter's `expiresAt`). */
  public readonly expiresAt = new Map<string, number>();

  public constructor(public readonly records: Map<string, ReleaseRecord>) {}

  public async put(record: ReleaseRecord) {
    const key = recordKey({ environment: record.environment ?? DEFAULT_ENVIRONMENT, ...record });
    this.records.set(key, { ...record });
    this.expiresAt.set(key, nowEpochSeconds() + RECORD_RETENTION_SECONDS);
  }

  public async update(ref: ReleaseRef, changes: Partial<Omit<ReleaseRecord, 'service' | 'environment'>>) {
    const key = recordKey(ref);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    this.records.set(key, { ...this.records.get(key), ...defined } as ReleaseRecord);
  }

  public async appendAction(ref: ReleaseRef, action: OperatorAction) {
    const key = recordKey(ref);
    const record = this.records.get(key);
    if (!record)
      throw Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
      });
    this.records.set(key, { ...record, actions: [...(record.actions ?? []), action] });
  }

  public async read(ref: ReleaseRef) {
    const record = this.records.get(recordKey(ref));
    return record ? { ...record } : undefined;
  }

  public async listByService(ref: ServiceRef, limit: number) {
    return [...this.records.entries()]
      .filter(([key]) => key.startsWith(`${serviceKey(ref)}#`))
      .sort(([a], [b]) => (a < b ? 1 : -1))
      .slice(0, limit)
      .map(([, record]) => ({ ...record }));
  }

  public async listEnded(environment: string, query: EndedQuery): Promise<EndedPage> {
    const { from, to } = endedBounds(query);
    const ended = [...this.records.values()]
      .filter((record) => (record.environment ?? DEFAULT_ENVIRONMENT) === environment && record.endedAt)
      .map((record) => ({
        order: `${sortableTime(record.endedAt ?? '', 'endedAt')}#${record.releaseId}`,
        record,
      }))
      .filter(({ order }) => order >= from && order <= to)
      .sort((a, b) => (a.order < b.order ? 1 : -1));
    const after = query.cursor ? Buffer.from(query.cursor, 'base64url').toString('utf8') : undefined;
    const rest = after === undefined ? ended : ended.filter(({ order }) => order < after);
    const page = rest.slice(0, query.limit);
    const last = page.at(-1);
    return {
      records: page.map(({ record }) => ({ ...record })),
      ...(rest.length > query.limit && last
        ? { cursor: Buffer.from(last.order, 'utf8').toString('base64url') }
        : {}),
    };
  }
}

/** Notification markers in memory, as `releaseId#kind`. */
export class InMemoryNotificationMarks implements NotificationMarks {
  public constructor(public readonly notified: Set<string>) {}

  public async mark(releaseId: string, kind: string) {
    const key = `${releaseId}#${kind}`;
    if (this.notified.has(key)) return false;
    this.notified.add(key);
    return true;
  }

  public async unmark(releaseId: string, kind: string) {
    this.notified.delete(`${releaseId}#${kind}`);
  }

  public async isMarked(releaseId: string, kind: string) {
    return this.notified.has(`${releaseId}#${kind}`);
  }
}

/**
 * The release store in memory: the in-memory parts, composed as the DynamoDB store composes its parts, with
 * Map-like views of the state tests seed and inspect (leases, queued waiters, slot waits, states, records,
 * markers) and a record of every old-style method call.
 */
export class InMemoryReleaseStore extends ComposedReleaseStore {
  /** Leases by service. */
  public readonly locks: Map<string, LockLease>;
  public readonly states: Map<string, StoredState>;
  public readonly records: Map<string, ReleaseRecord>;
  public readonly notified: Set<string>;
  /** Queued waiters by service (lock-queue waits of the registry). */
  public readonly waiters: WaitView<Waiter>;
  /** Slot waits by ECS deployment id (ready waits of the registry). */
  public readonly slotWaits: WaitView<SlotWait>;
  /** Every old-style method call, by name, in order. */
  public readonly calls: string[] = [];
  public declare readonly waits: InMemoryWaitRegistry;
  public declare readonly history: InMemoryReleaseHistory;

  public constructor(private readonly journal = new Journal()) {
    const registry = new InMemoryWaitRegistry();
    const leases = new Map<string, LockLease>();
    const states = new Map<string, StoredState>();
    const records = new Map<string, ReleaseRecord>();
    const notified = new Set<string>();
    super(
      new InMemoryLockStore(leases, registry),
      registry,
      new InMemoryReleaseHistory(records),
      new InMemoryServiceStateStore(states),
      new InMemoryNotificationMarks(notified),
    );
    this.locks = leases;
    this.states = states;
    this.records = records;
    this.notified = notified;
    this.waiters = new WaitView<Waiter>(
      registry,
      'lock-queue',
      (service) => lockQueueKey(serviceRef(service)),
      waiterOf,
      (service, waiter) => queueWaitOf(serviceRef(service), waiter),
    );
    this.slotWaits = new WaitView<SlotWait>(
      registry,
      'ready',
      (deploymentId) => deploymentId,
      slotWaitOf,
      (_deploymentId, wait) => readyWaitOf(wait, DEFAULT_ENVIRONMENT),
    );
  }

  protected override called(method: string): void {
    this.calls.push(method);
    this.journal.record(`store.${method}`);
  }

  /** The record of a release, whatever its request time. */
  public record(releaseId: string): ReleaseRecord | undefined {
    return [...this.records.values()].find((record) => record.releaseId === releaseId);
  }

  /** Every alarm watch still registered, as `alarm/release`. */
  public watchKeys(): string[] {
    // Grouped by alarm, in the order alarms were first watched (as the store listed them before the registry).
    const byAlarm = new Map<string, string[]>();
    for (const wait of this.waits.entries.values()) {
      if (wait.kind !== 'bake' && wait.kind !== 'rollback-window') continue;
      byAlarm.set(wait.key, [...(byAlarm.get(wait.key) ?? []), `${wait.key}/${wait.releaseId}`]);
    }
    return [...byAlarm.values()].flat();
  }
}

/** ALB listener rules as weight maps (target group ARN -> weight in percent). */
export class FakeTrafficRouter implements TrafficRouter {
  public readonly rules = new Map<string, Record<string, number>>();
  public readonly splits: TrafficSplit[] = [];

  public constructor(private readonly journal = new Journal()) {}

  public async readWeights(route: TrafficRoute) {
    return { ...(this.rules.get(route.listenerRuleArn) ?? {}) };
  }

  public async setWeights(route: TrafficRoute, split: TrafficSplit) {
    this.splits.push({ ...split });
    this.journal.record(`router.setWeights ${100 - split.canaryPercent}/${split.canaryPercent}`);
    this.rules.set(route.listenerRuleArn, {
      [split.stable]: 100 - split.canaryPercent,
      [split.canary]: split.canaryPercent,
    });
  }
}

/** ECS services by name. */
export class FakeSlotDeployer implements SlotDeployer {
  public readonly slots = new Map<string, SlotStatus>();
  public readonly deployed: DeployImageInput[] = [];
  public readonly scaled: Array<{ cluster: string; service: string; desiredCount: number }> = [];

  public constructor(private readonly journal = new Journal()) {}

  public async describeSlot(_cluster: string, service: string, _container: string) {
    const slot = this.slots.get(service);
    if (!slot) throw new Error(`fake: no slot ${service}`);
    return { ...slot };
  }

  public async deployImage(input: DeployImageInput): Promise<DeployImageResult> {
    this.deployed.push({ ...input });
    this.journal.record(`deployer.deployImage ${input.service}`);
    return {
      taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:${this.deployed.length + 7}`,
      deploymentId: `ecs-svc/${1001 + this.deployed.length}`,
    };
  }

  public async scale(cluster: string, service: string, desiredCount: number) {
    this.scaled.push({ cluster, service, desiredCount });
    this.journal.record(`deployer.scale ${service} ${desiredCount}`);
    const slot = this.slots.get(service);
    if (slot) this.slots.set(service, { ...slot, desiredCount });
  }

  public async runningTaskDefinition(_cluster: string, service: string): Promise<string> {
    return (await this.describeSlot('', service, '')).taskDefinitionArn;
  }

  public async revertTo(_cluster: string, service: string, taskDefinitionArn: string) {
    this.journal.record(`deployer.revertTo ${service} ${taskDefinitionArn}`);
    const slot = this.slots.get(service);
    if (slot) this.slots.set(service, { ...slot, taskDefinitionArn });
  }
}

/** CloudWatch alarms by name. */
export class FakeAlarmWatcher implements AlarmWatcher {
  public readonly alarms = new Map<string, AlarmStatus>();
  public describeCalls = 0;

  public set(name: string, state: AlarmStatus['state'], updatedAt: string, reason = ''): void {
    this.alarms.set(name, { name, state, updatedAt: new Date(updatedAt), reason });
  }

  /** Transitions into ALARM, as DescribeAlarmHistory holds them. */
  public readonly history: Array<{ name: string; at: Date }> = [];
  public historyCalls: Array<{ alarmNames: readonly string[]; since: Date; until: Date }> = [];

  /** Records that the alarm went to ALARM at `at` (it may have recovered since). */
  public fired(name: string, at: string): void {
    this.history.push({ name, at: new Date(at) });
  }

  public async transitionsToAlarm(alarmNames: readonly string[], since: Date, until: Date) {
    this.historyCalls.push({ alarmNames, since, until });
    return this.history
      .filter(
        (t) =>
          alarmNames.includes(t.name) &&
          t.at.getTime() >= since.getTime() &&
          t.at.getTime() <= until.getTime(),
      )
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((t) => ({ ...t }));
  }

  public async describe(alarmNames: readonly string[]) {
    this.describeCalls += 1;
    const found = alarmNames.flatMap((name) => {
      const alarm = this.alarms.get(name);
      return alarm ? [{ ...alarm }] : [];
    });
    return { found, missing: alarmNames.filter((name) => !this.alarms.has(name)) };
  }
}

export class FakeNotifier implements Notifier {
  public readonly published: Array<{ topicArn: string; notification: Notification }> = [];
  /** The next publish throws this error (then the fake works again). */
  public failNext: Error | undefined;

  public constructor(private readonly journal = new Journal()) {}

  public async publish(topicArn: string, notification: Notification) {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.published.push({ topicArn, notification });
    this.journal.record(`notifier.publish ${String(notification.message.event)}`);
  }

  public events(): unknown[] {
    return this.published.map((entry) => entry.notification.message.event);
  }
}

/** Task tokens as Step Functions treats them: each completes once; a second completion returns false. */
export class FakeTaskTokens implements TaskTokens {
  public readonly succeeded: Array<{ token: string; output: unknown }> = [];
  public readonly failed: Array<{ token: string; error: string; cause: string }> = [];
  private readonly completed = new Set<string>();

  public constructor(private readonly journal = new Journal()) {}

  public async succeed(token: string, output: unknown) {
    if (this.completed.has(token)) return false;
    this.completed.add(token);
    this.succeeded.push({ token, output });
    this.journal.record(`tokens.succeed ${token}`);
    return true;
  }

  public async fail(token: string, error: string, cause: string) {
    if (this.completed.has(token)) return false;
    this.completed.add(token);
    this.failed.push({ token, error, cause });
    return true;
  }
}

/** Step Functions executions by name. */
export class FakeExecutionStarter implements ExecutionStarter {
  public readonly executions = new Map<string, unknown>();
  public readonly calls: Array<{ name: string; input: unknown }> = [];

  public constructor(private readonly stateMachineArn: string) {}

  /**
   * As Step Functions answers (and the adapter reports): a name already used by an open execution with
   * the same input succeeds idempotently (`started`, the same execution); any other input is a duplicate.
   */
  public async start(name: string, input: unknown) {
    this.calls.push({ name, input });
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (this.executions.has(name)) {
      const same = JSON.stringify(this.executions.get(name)) === JSON.stringify(input);
      return { executionArn, started: same };
    }
    this.executions.set(name, input);
    return { executionArn, started: true };
  }

  /** Executions that ended (by name): no longer running. */
  public readonly ended = new Set<string>();

  public async executionArn(name: string) {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }

  public async executionState(name: string) {
    if (!this.executions.has(name)) return 'none' as const;
    return this.ended.has(name) ? ('ended' as const) : ('running' as const);
  }
}

/** Every fake sharing one journal. */
/** The release-events topic: records what was published; `failNext` makes the next publish throw. */
export class FakeReleaseEvents implements ReleaseEvents {
  public readonly published: ReleaseEventMessage[] = [];
  public readonly lostMessages: Array<{ message: ReleaseEventMessage; error: Error }> = [];
  public failNext: Error | undefined;

  public constructor(private readonly journal = new Journal()) {}

  public region(): string {
    return 'us-east-1';
  }

  public async publish(message: ReleaseEventMessage): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.published.push(message);
    this.journal.record(`events.publish ${message.kind}`);
  }

  public lost(message: ReleaseEventMessage, error: Error): void {
    this.lostMessages.push({ message, error });
  }

  /** What was published, as `kind state sequence` lines. */
  public summary(): string[] {
    return this.published.map((m) => `${m.kind} ${m.progress.state} ${m.progress.sequence}`);
  }
}

export const createFakePorts = () => {
  const journal = new Journal();
  const router = new FakeTrafficRouter(journal);
  const deployer = new FakeSlotDeployer(journal);
  return {
    journal,
    store: new InMemoryReleaseStore(journal),
    router,
    deployer,
    /** The real ecs-alb driver over the fake router and deployer. */
    driver: new EcsAlbDriver({ router, slots: deployer }),
    alarms: new FakeAlarmWatcher(),
    notifier: new FakeNotifier(journal),
    tokens: new FakeTaskTokens(journal),
  };
};
