import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../lib/clock.ts';

/**
 * The work of one Lambda invocation on the clock: its handler and everything the handler started (a
 * `node:timers` callback among them, virtual-timers.ts) until the invocation answers. The invocation holds
 * the clock once for it when the handler starts (`holdFor`); its waits release and take back that hold as
 * any work's do. It may run several strands at once (middy races the handler against its early-timeout
 * timer): whichever strand answers, `stopWork` then gives back every hold its work still has, so a strand
 * left running (the handler middy stopped waiting for) can never keep the clock busy. What the work still
 * waits for on the clock when it stops never resumes: on AWS the execution environment is frozen once the
 * handler answered ("Lambda freezes the execution environment when the runtime and each extension have
 * completed": Lambda Developer Guide, "Understanding the Lambda execution environment lifecycle",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). The same page says such
 * leftover work resumes if Lambda reuses the environment; the sandbox never resumes it, so it reaches no
 * AWS service after its invocation answered, as after a timeout (which resets the environment).
 */
export class InvocationWork {
  /** Holds its strands have on the clock now. */
  public held = 0;
  /** Its waits on the clock that have not ended. */
  public waiting = 0;
  /** The invocation answered (or Lambda stopped it): its waits never end, its timers never fire. */
  public stopped = false;
  /** Cancels of the `node:timers` timers it set that have neither fired nor been cleared. */
  public readonly timers = new Set<() => void>();

  public constructor(public readonly clock: VirtualClock) {}
}

/**
 * A strand of an invocation's work: the handler's own (everything it starts), or a `node:timers` callback's
 * (middy's early timeout), which fires while the clock is idle and so holds nothing until its first wait.
 */
interface Strand {
  work: InvocationWork;
  timer: boolean;
}

const strands = new AsyncLocalStorage<Strand>();

/** The invocation whose work the caller is part of, if any. */
export const currentInvocationWork = (): InvocationWork | undefined => strands.getStore()?.work;

/** Runs `run` (and everything it starts) as the invocation's work. */
export const runAsInvocationWork = <T>(work: InvocationWork, run: () => T): T =>
  strands.run({ work, timer: false }, run);

/** Runs a `node:timers` callback of the invocation (and everything it starts) as a strand of its work. */
export const runAsTimerStrand = <T>(work: InvocationWork, run: () => T): T =>
  strands.run({ work, timer: true }, run);

/**
 * Runs `run` (and everything it starts) as no invocation's work: a simulated service's own long-lived work
 * that a handler's call starts (a Step Functions execution) outlives the invocation and is never frozen.
 */
export const outsideInvocationWork = <T>(run: () => T): T => strands.exit(run);

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  /** Background timers (metric ticks) do not keep a run alive on their own. */
  background: boolean;
  /** Its callback is synchronous: when it leaves the clock idle, no settle turn follows it. */
  synchronous: boolean;
  cancelled: boolean;
  /** Fired (or dropped by `abandon`): cancelling it changes nothing. */
  done: boolean;
}

const earlier = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * Timers in a binary heap ordered by time, then by scheduling order: a fleet keeps thousands pending, and
 * each schedule and each step is O(log n), not a sort or a scan of all of them.
 */
class TimerHeap {
  private readonly items: Timer[] = [];

  public get size(): number {
    return this.items.length;
  }

  public peek(): Timer | undefined {
    return this.items[0];
  }

  public push(timer: Timer): void {
    const items = this.items;
    items.push(timer);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as Timer;
      if (!earlier(timer, above)) break;
      items[i] = above;
      i = parent;
    }
    items[i] = timer;
  }

  public pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && earlier(items[right] as Timer, items[left] as Timer) ? right : left;
      if (!earlier(items[child] as Timer, last)) break;
      items[i] = items[child] as Timer;
      i = child;
    }
    items[i] = last;
    return top;
  }

  public clear(): Timer[] {
    return this.items.splice(0);
  }
}

/**
 * Virtual time for the sandbox. Time only moves when nothing is running: every piece of real work
 * (an execution between waits, an event delivery) holds the clock; waits release it. When all work is
 * idle, the clock jumps to the next timer. A 10-minute bake costs one timer, not ten minutes.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new TimerHeap();
  /** Foreground timers neither fired nor cancelled: a run with none left has nothing more to wait for. */
  private foreground = 0;
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

  /**
   * Schedules `fire` at virtual time `at` (ms). Returns a cancel function. `synchronous`: `fire` does all
   * its work before it returns (it may schedule timers and hold the clock, but it starts no promise the
   * clock does not hold), so when it leaves the clock idle the run goes on without a settle turn: the
   * per-minute metric publication and alarm evaluation of a 72-hour bake cost no event-loop turn each.
   */
  public schedule(
    at: number,
    fire: () => void,
    options: { background?: boolean; synchronous?: boolean } = {},
  ): () => void {
    const timer: Timer = {
      at: Math.max(at, this.nowMs),
      seq: this.seq++,
      fire,
      background: options.background ?? false,
      synchronous: options.synchronous ?? false,
      cancelled: false,
      done: false,
    };
    this.timers.push(timer);
    if (!timer.background) this.foreground += 1;
    return () => {
      if (timer.cancelled || timer.done) return;
      timer.cancelled = true;
      if (!timer.background) this.foreground -= 1;
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

  /** Holds the clock for an invocation's work (see InvocationWork). */
  public holdFor(work: InvocationWork): void {
    work.held += 1;
    this.hold();
  }

  /**
   * Gives back a hold of the caller's invocation work. A timer's strand that holds none yet (it fired while
   * the clock was idle), or work that has stopped (its holds were given back), gives back nothing. The
   * handler's own strands release as any work does: concurrent waits within one handler (two strands that
   * each release the one hold) are not supported, and fail as they always did.
   */
  private releaseFor(strand: Strand | undefined): void {
    const work = strand?.work;
    if (work && work.held > 0) {
      work.held -= 1;
    } else if (work && (strand?.timer || work.stopped)) {
      return;
    }
    this.release();
  }

  /**
   * Ends an invocation's work (it answered, or Lambda stopped it): every hold it still has is given back,
   * its pending timers are cancelled, and its waits on the clock never resume. Idempotent.
   */
  public stopWork(work: InvocationWork): void {
    if (work.stopped) return;
    work.stopped = true;
    for (const cancel of [...work.timers]) cancel();
    work.timers.clear();
    const held = work.held;
    work.held = 0;
    for (let i = 0; i < held; i += 1) this.release();
  }

  /** Runs real async work while holding the clock. */
  public async track<T>(work: () => Promise<T>): Promise<T> {
    const strand = strands.getStore();
    if (strand) strand.work.held += 1;
    this.hold();
    try {
      return await work();
    } finally {
      this.releaseFor(strand);
    }
  }

  /**
   * Blocks the caller (which holds the clock) until `executor` settles it, releasing the clock meanwhile.
   * The clock is held again synchronously when it settles, so time cannot slip past the resumption. A wait
   * of an invocation's work that has stopped meanwhile never settles (its execution environment is frozen).
   */
  public block<T>(
    executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
  ): Promise<T> {
    const strand = strands.getStore();
    const work = strand?.work;
    if (work) work.waiting += 1;
    this.releaseFor(strand);
    return new Promise<T>((resolvePromise, rejectPromise) => {
      let settled = false;
      /** Ends the wait; false when it must not resume (its invocation's work stopped). */
      const resume = (): boolean => {
        if (settled) return false;
        settled = true;
        this.blocked.delete(reject);
        if (work) {
          work.waiting -= 1;
          if (work.stopped) return false;
          work.held += 1;
        }
        this.hold();
        return true;
      };
      const reject = (error: Error) => {
        if (resume()) rejectPromise(error);
      };
      this.blocked.add(reject);
      executor((value) => {
        if (resume()) resolvePromise(value);
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
    for (const timer of this.timers.clear()) timer.done = true;
    this.foreground = 0;
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
    let settled = false;
    for (;;) {
      // Everything a timer set in motion runs before time moves on; a synchronous timer that left the
      // clock idle set nothing in motion, and the turn before it already drained the event loop.
      if (!settled) await this.settle();
      settled = false;
      if (done()) return 'done';
      while (this.timers.peek()?.cancelled) this.timers.pop();
      if (this.foreground === 0) return 'idle';
      const next = this.timers.peek();
      if (!next) return 'idle';
      if (next.at > limitMs) return 'limit';
      this.timers.pop();
      next.done = true;
      if (!next.background) this.foreground -= 1;
      this.nowMs = Math.max(this.nowMs, next.at);
      next.fire();
      settled = next.synchronous && this.busy === 0;
    }
  }
}
