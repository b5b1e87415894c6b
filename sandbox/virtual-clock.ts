import type { Clock } from '../lib/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  /** Background timers (metric ticks) do not keep a run alive on their own. */
  background: boolean;
  cancelled: boolean;
}

/**
 * Virtual time for the sandbox. Time only moves when nothing is running: every piece of real work
 * (an execution between waits, an event delivery) holds the clock; waits release it. When all work is
 * idle, the clock jumps to the next timer. A 10-minute bake costs one timer, not ten minutes.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private busy = 0;
  private idleWaiters: Array<() => void> = [];
  /** Rejecters of everything blocked on the clock, for `abandon`. */
  private readonly blocked = new Set<(error: Error) => void>();
  private abandoned = false;

  public constructor(start: Date) {
    this.nowMs = start.getTime();
  }

  public now(): Date {
    return new Date(this.nowMs);
  }

  public get nowMillis(): number {
    return this.nowMs;
  }

  /** Schedules `fire` at virtual time `at` (ms). Returns a cancel function. */
  public schedule(at: number, fire: () => void, options: { background?: boolean } = {}): () => void {
    const timer: Timer = {
      at: Math.max(at, this.nowMs),
      seq: this.seq++,
      fire,
      background: options.background ?? false,
      cancelled: false,
    };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return () => {
      timer.cancelled = true;
    };
  }

  public hold(): void {
    if (this.abandoned) return;
    this.busy += 1;
  }

  public release(): void {
    if (this.abandoned) return;
    this.busy -= 1;
    if (this.busy < 0) throw new Error('virtual clock released more often than held');
    if (this.busy === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** Runs real async work while holding the clock. */
  public async track<T>(work: () => Promise<T>): Promise<T> {
    this.hold();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /**
   * Blocks the caller (which holds the clock) until `executor` settles it, releasing the clock meanwhile.
   * The clock is held again synchronously when it settles, so time cannot slip past the resumption.
   */
  public block<T>(
    executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
  ): Promise<T> {
    this.release();
    return new Promise<T>((resolvePromise, rejectPromise) => {
      let settled = false;
      const reject = (error: Error) => {
        if (settled) return;
        settled = true;
        this.blocked.delete(reject);
        this.hold();
        rejectPromise(error);
      };
      this.blocked.add(reject);
      executor((value) => {
        if (settled) return;
        settled = true;
        this.blocked.delete(reject);
        this.hold();
        resolvePromise(value);
      }, reject);
    });
  }

  /** Virtual sleep for a caller that holds the clock. */
  public sleep(seconds: number): Promise<void> {
    return this.block<void>((resolve) => {
      this.schedule(this.nowMs + seconds * 1000, () => resolve());
    });
  }

  /**
   * Ends the run for good (its time limit was reached): everything still blocked on the clock is rejected
   * so the engine's tasks finish, and the clock stops counting work.
   */
  public abandon(reason: string): void {
    this.abandoned = true;
    this.timers.length = 0;
    for (const reject of [...this.blocked])
      reject(Object.assign(new Error(reason), { name: 'SandboxTimeLimit' }));
  }

  private async settle(): Promise<void> {
    do {
      if (this.busy > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
    } while (this.busy > 0);
  }

  /**
   * Advances virtual time until `done()` holds (checked whenever everything is idle), no foreground
   * timer is left, or `limitMs` is reached.
   */
  public async run(done: () => boolean, limitMs: number): Promise<'done' | 'idle' | 'limit'> {
    for (;;) {
      await this.settle();
      if (done()) return 'done';
      const live = this.timers.filter((timer) => !timer.cancelled);
      this.timers.length = 0;
      this.timers.push(...live);
      if (!live.some((timer) => !timer.background)) return 'idle';
      const next = this.timers.shift();
      if (!next) return 'idle';
      if (next.at > limitMs) return 'limit';
      this.nowMs = Math.max(this.nowMs, next.at);
      next.fire();
    }
  }
}
