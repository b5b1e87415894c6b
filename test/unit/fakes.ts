import { nowEpochSeconds } from '../../lib/clock.ts';
import { isNewerRequest } from '../../lib/domain/request-order.ts';
import { EcsAlbDriver } from '../../lib/drivers/ecs-alb.ts';
import { ServiceBusyError } from '../../lib/errors.ts';
import type {
  AlarmStatus,
  AlarmWatch,
  AlarmWatcher,
  DeployImageInput,
  DeployImageResult,
  ExecutionStarter,
  LockLease,
  Notification,
  Notifier,
  Receipt,
  ReleaseRecord,
  ReleaseStore,
  ServiceState,
  SlotDeployer,
  SlotStatus,
  SlotWait,
  TaskTokens,
  TrafficRoute,
  TrafficRouter,
  TrafficSplit,
  Waiter,
} from '../../lib/ports/index.ts';

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

const recordKey = (service: string, requestedAt: string, releaseId: string) =>
  `${service}#${requestedAt}#${releaseId}`;

export class InMemoryReleaseStore implements ReleaseStore {
  public readonly locks = new Map<string, LockLease>();
  public readonly waiters = new Map<string, Waiter>();
  public readonly states = new Map<string, Partial<ServiceState> & { service: string }>();
  public readonly records = new Map<string, ReleaseRecord>();
  /** alarmName -> releaseId -> watch */
  public readonly watches = new Map<string, Map<string, AlarmWatch>>();
  public readonly slotWaits = new Map<string, SlotWait>();
  public readonly notified = new Set<string>();
  /** Every method call, by name, in order. */
  public readonly calls: string[] = [];

  public constructor(private readonly journal = new Journal()) {}

  private note(call: string): void {
    this.calls.push(call);
    this.journal.record(`store.${call}`);
  }

  public async acquireLock(
    service: string,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received: Receipt = {},
  ) {
    this.note('acquireLock');
    const now = nowEpochSeconds();
    const current = this.locks.get(service);
    if (current && current.holder !== holder && current.leaseExpiresAt >= now) {
      return { acquired: false as const, holder: { ...current } };
    }
    this.locks.set(service, {
      holder,
      requestedAt,
      ...received,
      acquiredAt: new Date(now * 1000).toISOString(),
      leaseExpiresAt: now + leaseSeconds,
    });
    return { acquired: true as const };
  }

  public async releaseLock(service: string, holder: string) {
    this.note('releaseLock');
    const current = this.locks.get(service);
    const released = current?.holder === holder;
    if (released) this.locks.delete(service);
    const next = this.waiters.get(service);
    return { released, ...(next ? { next: { ...next } } : {}) };
  }

  public async enqueueWaiter(service: string, waiter: Waiter) {
    this.note('enqueueWaiter');
    const existing = this.waiters.get(service);
    if (existing && existing.executionName !== waiter.executionName) {
      const existingIsNewer = isNewerRequest(existing, waiter);
      if (existingIsNewer) return { queued: false as const, newer: { ...existing } };
    }
    this.waiters.set(service, { ...waiter });
    const replaced = existing && existing.executionName !== waiter.executionName ? existing : undefined;
    return { queued: true as const, ...(replaced ? { replaced } : {}) };
  }

  public async readWaiter(service: string) {
    this.note('readWaiter');
    const waiter = this.waiters.get(service);
    return waiter ? { ...waiter } : undefined;
  }

  public async dequeueWaiter(service: string, executionName: string) {
    this.note('dequeueWaiter');
    if (this.waiters.get(service)?.executionName === executionName) this.waiters.delete(service);
  }

  public async readLock(service: string) {
    this.note('readLock');
    const lock = this.locks.get(service);
    return lock ? { ...lock } : undefined;
  }

  public async readServiceState(service: string) {
    this.note('readServiceState');
    const state = this.states.get(service);
    return state?.stableSlot ? ({ ...state } as ServiceState) : undefined;
  }

  public async claimIdleSlot(service: string, releaseId: string) {
    this.note('claimIdleSlot');
    const current = this.states.get(service) as
      | (Partial<ServiceState> & { rollbackFenceUntil?: number })
      | undefined;
    if (
      current?.rollbackFenceUntil !== undefined &&
      current.rollbackFenceUntil >= nowEpochSeconds() &&
      current.latestRelease !== releaseId
    ) {
      throw new ServiceBusyError(
        `a rollback of the previous release of ${service} is still putting its slots back`,
      );
    }
    this.states.set(service, { ...this.states.get(service), service, latestRelease: releaseId });
  }

  public async fenceForRollback(service: string, releaseId: string, seconds: number) {
    this.note('fenceForRollback');
    const current = this.states.get(service);
    if (current?.latestRelease !== releaseId) return false;
    this.states.set(service, {
      ...current,
      rollbackFenceUntil: nowEpochSeconds() + seconds,
    } as typeof current);
    return true;
  }

  public async recordPromotion(state: ServiceState) {
    this.note('recordPromotion');
    const current = this.states.get(state.service);
    if (current?.latestRelease !== undefined && current.latestRelease !== state.latestRelease) return false;
    this.states.set(state.service, { ...state });
    return true;
  }

  public async isLatestRelease(service: string, releaseId: string) {
    this.note('isLatestRelease');
    return this.states.get(service)?.latestRelease === releaseId;
  }

  public async putRecord(record: ReleaseRecord) {
    this.note('putRecord');
    this.records.set(recordKey(record.service, record.requestedAt, record.releaseId), { ...record });
  }

  public async updateRecord(
    service: string,
    requestedAt: string,
    releaseId: string,
    changes: Partial<ReleaseRecord>,
  ) {
    this.note('updateRecord');
    const key = recordKey(service, requestedAt, releaseId);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    this.records.set(key, { ...this.records.get(key), ...defined } as ReleaseRecord);
  }

  public async listRecords(service: string, limit: number) {
    this.note('listRecords');
    return [...this.records.entries()]
      .filter(([key]) => key.startsWith(`${service}#`))
      .sort(([a], [b]) => (a < b ? 1 : -1))
      .slice(0, limit)
      .map(([, record]) => ({ ...record }));
  }

  /** The record of a release, whatever its request time. */
  public record(releaseId: string): ReleaseRecord | undefined {
    return [...this.records.values()].find((record) => record.releaseId === releaseId);
  }

  public async putAlarmWatches(watches: readonly AlarmWatch[], _ttlSeconds: number) {
    this.note('putAlarmWatches');
    for (const watch of watches) {
      const byRelease = this.watches.get(watch.alarmName) ?? new Map<string, AlarmWatch>();
      byRelease.set(watch.releaseId, { ...watch });
      this.watches.set(watch.alarmName, byRelease);
    }
  }

  public async alarmWatches(alarmName: string) {
    this.note('alarmWatches');
    return [...(this.watches.get(alarmName)?.values() ?? [])].map((watch) => ({ ...watch }));
  }

  public async claimAlarmWatch(alarmName: string, releaseId: string, taskToken?: string) {
    this.note('claimAlarmWatch');
    const watch = this.watches.get(alarmName)?.get(releaseId);
    if (!watch || (taskToken !== undefined && watch.taskToken !== taskToken)) return false;
    return this.watches.get(alarmName)?.delete(releaseId) ?? false;
  }

  public async clearAlarmWatches(alarmNames: readonly string[], releaseId: string) {
    this.note('clearAlarmWatches');
    for (const alarmName of alarmNames) this.watches.get(alarmName)?.delete(releaseId);
  }

  /** Every watch still registered, as `alarm/release`. */
  public watchKeys(): string[] {
    return [...this.watches.entries()].flatMap(([alarm, byRelease]) =>
      [...byRelease.keys()].map((release) => `${alarm}/${release}`),
    );
  }

  public async putSlotWait(wait: SlotWait, _ttlSeconds: number) {
    this.note('putSlotWait');
    this.slotWaits.set(wait.deploymentId, { ...wait });
  }

  public async readSlotWait(deploymentId: string) {
    this.note('readSlotWait');
    return this.slotWaits.get(deploymentId);
  }

  public async claimSlotWait(deploymentId: string) {
    this.note('claimSlotWait');
    const wait = this.slotWaits.get(deploymentId);
    this.slotWaits.delete(deploymentId);
    return wait;
  }

  public async markNotified(releaseId: string, kind: string) {
    this.note('markNotified');
    const key = `${releaseId}#${kind}`;
    if (this.notified.has(key)) return false;
    this.notified.add(key);
    return true;
  }

  public async unmarkNotified(releaseId: string, kind: string) {
    this.note('unmarkNotified');
    this.notified.delete(`${releaseId}#${kind}`);
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
}

/** Every fake sharing one journal. */
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
