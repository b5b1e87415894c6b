import type { LockLease, LockStore, Receipt, Waiter } from '../ports/lock-store.ts';
import type { NotificationMarks } from '../ports/notification-marks.ts';
import type { ReleaseHistory, ReleaseRecord } from '../ports/release-history.ts';
import type {
  AlarmWatch,
  QueueSnapshot,
  QueueSnapshotRequest,
  ReleaseStore,
  ReleaseStoreParts,
  SlotWait,
} from '../ports/release-store.ts';
import { DEFAULT_ENVIRONMENT, type ServiceRef, serviceRef } from '../ports/service-ref.ts';
import type { ServiceState, ServiceStateStore } from '../ports/service-state-store.ts';
import { lockQueueKey, type Wait, type WaitRegistry } from '../ports/wait-registry.ts';
import { queueWaitOf } from './lock-queue.ts';

/** The registry's form of an alarm watch (a bake, or a rollback window). */
export const alarmWaitOf = (watch: AlarmWatch, environment: string): Wait => ({
  kind: watch.kind ?? 'bake',
  key: watch.alarmName,
  releaseId: watch.releaseId,
  service: watch.service,
  environment,
  taskToken: watch.taskToken,
  data: {
    percent: watch.percent,
    ...(watch.shifts ? { shifts: watch.shifts } : {}),
    watchFrom: watch.watchFrom,
    ...(watch.deploymentId ? { deploymentId: watch.deploymentId } : {}),
  },
});

/** The alarm watch an alarm wait stands for (a bake leaves `kind` out, as before the registry). */
export const alarmWatchOf = (wait: Wait): AlarmWatch => {
  if (wait.kind !== 'bake' && wait.kind !== 'rollback-window' && wait.kind !== 'rollout') {
    throw new Error(`wait ${wait.kind} on ${wait.key} is not an alarm wait`);
  }
  return {
    alarmName: wait.key,
    releaseId: wait.releaseId,
    service: wait.service,
    taskToken: wait.taskToken,
    ...wait.data,
    ...(wait.kind !== 'bake' ? { kind: wait.kind } : {}),
  };
};

/** The registry's form of a wait for an ECS deployment to become ready. */
export const readyWaitOf = (wait: SlotWait, environment: string): Wait => ({
  kind: 'ready',
  key: wait.deploymentId,
  releaseId: wait.releaseId,
  // Old callers did not name the service; the release id still leads to the wait.
  service: wait.service ?? '',
  environment,
  taskToken: wait.taskToken,
});

/** The slot wait a ready wait stands for. */
export const slotWaitOf = (wait: Wait): SlotWait => ({
  deploymentId: wait.key,
  releaseId: wait.releaseId,
  ...(wait.service ? { service: wait.service } : {}),
  taskToken: wait.taskToken,
});

const ALARM_KINDS = ['bake', 'rollback-window', 'rollout'] as const;

/** The store methods that touch only service state and release history (no lock, waits or marks). */
export type ServiceAndHistoryMethods =
  | 'readServiceState'
  | 'claimIdleSlot'
  | 'fenceForRollback'
  | 'recordPromotion'
  | 'isLatestRelease'
  | 'isRollingBack'
  | 'putRecord'
  | 'updateRecord'
  | 'listRecords'
  | 'readRecord';

/**
 * The store's service-state and history methods on those two parts alone, for a function that needs no
 * lock, wait or mark: its bundle then holds neither their adapters nor this class (see
 * ComposedReleaseStore, which implements the same methods the same way).
 */
export const serviceAndHistoryStore = (
  services: ServiceStateStore,
  history: ReleaseHistory,
  environment: string = DEFAULT_ENVIRONMENT,
): Pick<ReleaseStore, ServiceAndHistoryMethods> => {
  const ref = (service: string) => serviceRef(service, environment);
  return {
    readServiceState: (service) => services.read(ref(service)),
    claimIdleSlot: (service, releaseId) => services.claimIdleSlot(ref(service), releaseId),
    fenceForRollback: (service, releaseId, seconds) =>
      services.fenceForRollback(ref(service), releaseId, seconds),
    recordPromotion: (state) => services.recordPromotion(ref(state.service), state),
    isLatestRelease: (service, releaseId) => services.isLatestRelease(ref(service), releaseId),
    isRollingBack: (service, releaseId) => services.isRollingBack(ref(service), releaseId),
    putRecord: (record) => history.put(record),
    updateRecord: (service, requestedAt, releaseId, changes) => {
      const { service: _service, environment: _environment, ...rest } = changes;
      return history.update({ ...ref(service), requestedAt, releaseId }, rest);
    },
    listRecords: (service, limit) => history.listByService(ref(service), limit),
    readRecord: (service, requestedAt, releaseId) =>
      history.read({ ...ref(service), requestedAt, releaseId }),
  };
};

/**
 * The release store as use cases call it today, on the parts by concern, in the default environment.
 * Every wait (alarm watches, slot waits, the lock queue) goes through the wait registry, so each is also
 * found from its release. Adapters and fakes extend it with their parts.
 */
export class ComposedReleaseStore implements ReleaseStore, ReleaseStoreParts {
  public constructor(
    public readonly lock: LockStore,
    public readonly waits: WaitRegistry,
    public readonly history: ReleaseHistory,
    public readonly services: ServiceStateStore,
    public readonly marks: NotificationMarks,
    /** The environment of the old methods, which name only the service. */
    protected readonly environment: string = DEFAULT_ENVIRONMENT,
  ) {
    this.serviceAndHistory = serviceAndHistoryStore(services, history, environment);
  }

  private readonly serviceAndHistory: Pick<ReleaseStore, ServiceAndHistoryMethods>;

  /** Called with each old method's name before it runs (the fake records calls). */
  protected called(_method: string): void {}

  private ref(service: string) {
    return serviceRef(service, this.environment);
  }

  public acquireLock(
    service: string,
    holder: string,
    requestedAt: string,
    leaseSeconds: number,
    received?: Receipt,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockLease }> {
    this.called('acquireLock');
    return this.lock.acquire(this.ref(service), holder, requestedAt, leaseSeconds, received);
  }

  public releaseLock(service: string, holder: string): Promise<{ released: boolean; next?: Waiter }> {
    this.called('releaseLock');
    return this.lock.release(this.ref(service), holder);
  }

  public enqueueWaiter(service: string, waiter: Waiter, known?: { queued: Waiter | undefined }) {
    this.called('enqueueWaiter');
    return this.lock.enqueue(this.ref(service), waiter, known);
  }

  public readWaiter(service: string): Promise<Waiter | undefined> {
    this.called('readWaiter');
    return this.lock.queued(this.ref(service));
  }

  public dequeueWaiter(service: string, executionName: string, taskToken?: string): Promise<void> {
    this.called('dequeueWaiter');
    return this.lock.dequeue(this.ref(service), executionName, taskToken);
  }

  public replaceWaiter(
    service: string,
    expected: Pick<Waiter, 'executionName' | 'taskToken'>,
    next?: Waiter,
  ): Promise<boolean> {
    this.called('replaceWaiter');
    const ref = this.ref(service);
    const current = { releaseId: expected.executionName, taskToken: expected.taskToken };
    if (!next)
      return this.waits.claim(
        { kind: 'lock-queue', key: lockQueueKey(ref), releaseId: current.releaseId },
        current.taskToken,
      );
    return this.waits.replaceSole(queueWaitOf(ref, next), current);
  }

  public readLock(service: string): Promise<LockLease | undefined> {
    this.called('readLock');
    return this.lock.read(this.ref(service));
  }

  public readQueueSnapshot(service: string, request: QueueSnapshotRequest = {}): Promise<QueueSnapshot> {
    this.called('readQueueSnapshot');
    return this.snapshot(this.ref(service), request);
  }

  /** The snapshot read part by part; a store on one table overrides it with one read of the table. */
  protected async snapshot(ref: ServiceRef, request: QueueSnapshotRequest): Promise<QueueSnapshot> {
    const lease = await this.lock.read(ref);
    const queued = request.queued ? await this.lock.queued(ref) : undefined;
    const told = request.told ? await this.marks.isMarked(request.told.releaseId, request.told.kind) : false;
    return { ...(lease ? { lease } : {}), ...(queued ? { queued } : {}), told };
  }

  public readServiceState(service: string): Promise<ServiceState | undefined> {
    this.called('readServiceState');
    return this.serviceAndHistory.readServiceState(service);
  }

  public claimIdleSlot(service: string, releaseId: string): Promise<void> {
    this.called('claimIdleSlot');
    return this.serviceAndHistory.claimIdleSlot(service, releaseId);
  }

  public fenceForRollback(service: string, releaseId: string, seconds: number): Promise<boolean> {
    this.called('fenceForRollback');
    return this.serviceAndHistory.fenceForRollback(service, releaseId, seconds);
  }

  public recordPromotion(state: ServiceState): Promise<boolean> {
    this.called('recordPromotion');
    return this.serviceAndHistory.recordPromotion(state);
  }

  public isLatestRelease(service: string, releaseId: string): Promise<boolean> {
    this.called('isLatestRelease');
    return this.serviceAndHistory.isLatestRelease(service, releaseId);
  }

  public isRollingBack(service: string, releaseId: string): Promise<boolean> {
    this.called('isRollingBack');
    return this.serviceAndHistory.isRollingBack(service, releaseId);
  }

  public putRecord(record: ReleaseRecord): Promise<void> {
    this.called('putRecord');
    return this.serviceAndHistory.putRecord(record);
  }

  public updateRecord(
    service: string,
    requestedAt: string,
    releaseId: string,
    changes: Partial<ReleaseRecord>,
  ): Promise<void> {
    this.called('updateRecord');
    return this.serviceAndHistory.updateRecord(service, requestedAt, releaseId, changes);
  }

  public listRecords(service: string, limit: number): Promise<ReleaseRecord[]> {
    this.called('listRecords');
    return this.serviceAndHistory.listRecords(service, limit);
  }

  public readRecord(
    service: string,
    requestedAt: string,
    releaseId: string,
  ): Promise<ReleaseRecord | undefined> {
    this.called('readRecord');
    return this.serviceAndHistory.readRecord(service, requestedAt, releaseId);
  }

  public putAlarmWatches(watches: readonly AlarmWatch[], ttlSeconds: number): Promise<void> {
    this.called('putAlarmWatches');
    return this.waits.register(
      watches.map((watch) => alarmWaitOf(watch, this.environment)),
      ttlSeconds,
    );
  }

  public async alarmWatches(alarmName: string): Promise<AlarmWatch[]> {
    this.called('alarmWatches');
    return (await this.waits.findByKey(ALARM_KINDS, alarmName)).map(alarmWatchOf);
  }

  public async claimAlarmWatch(alarmName: string, releaseId: string, taskToken?: string): Promise<boolean> {
    this.called('claimAlarmWatch');
    // A bake and a rollback window of one release share the item of each alarm: either kind names it.
    const ref = { kind: 'bake' as const, key: alarmName, releaseId };
    if (taskToken !== undefined) return this.waits.claim(ref, taskToken);
    return (await this.waits.remove(ref)) !== undefined;
  }

  public async clearAlarmWatches(alarmNames: readonly string[], releaseId: string): Promise<void> {
    this.called('clearAlarmWatches');
    for (const alarmName of alarmNames) await this.waits.remove({ kind: 'bake', key: alarmName, releaseId });
  }

  public async clearPauseWait(releaseId: string): Promise<void> {
    this.called('clearPauseWait');
    await this.waits.remove({ kind: 'pause', key: releaseId, releaseId });
  }

  public putSlotWait(wait: SlotWait, ttlSeconds: number): Promise<void> {
    this.called('putSlotWait');
    return this.waits.register([readyWaitOf(wait, this.environment)], ttlSeconds);
  }

  public async readSlotWait(deploymentId: string): Promise<SlotWait | undefined> {
    this.called('readSlotWait');
    const wait = await this.waits.read({ kind: 'ready', key: deploymentId });
    return wait ? slotWaitOf(wait) : undefined;
  }

  public async claimSlotWait(deploymentId: string): Promise<SlotWait | undefined> {
    this.called('claimSlotWait');
    const wait = await this.waits.remove({ kind: 'ready', key: deploymentId });
    return wait ? slotWaitOf(wait) : undefined;
  }

  public markNotified(releaseId: string, kind: string): Promise<boolean> {
    this.called('markNotified');
    return this.marks.mark(releaseId, kind);
  }

  public unmarkNotified(releaseId: string, kind: string): Promise<void> {
    this.called('unmarkNotified');
    return this.marks.unmark(releaseId, kind);
  }

  public wasNotified(releaseId: string, kind: string): Promise<boolean> {
    this.called('wasNotified');
    return this.marks.isMarked(releaseId, kind);
  }
}
