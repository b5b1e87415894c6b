import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../lib/clock.ts';

/**
 * The work of one Lambda invocation on the clock: its handler and everything the handler started (a
 * `node:timers` callback among them, virtual-timers.ts) until the invocation answers. As on AWS, the
 * handler may wait for any number of things at once (a Promise.all of SDK calls): the work holds the clock
 * once (its base hold) while its own code runs with nothing of it waiting or under way, and each call it
 * makes (`track`: every SDK call of a function is one, sandbox/intercept.ts) holds the clock on its own
 * while it runs, between its waits. So time moves on only when every strand of the work waits, each wait
 * gives back only what its own strand held, and the work holds the clock again when the last of them
 * resumes. Middy races the handler against its early-timeout timer: whichever strand answers, `stopWork`
 * then gives back every hold the work still has, so a strand left running (the handler middy stopped
 * waiting for) can never keep the clock busy. What the work still waits for on the clock when it stops
 * never resumes: on AWS the execution environment is frozen once the handler answered ("Lambda freezes the
 * execution environment when the runtime and each extension have completed": Lambda Developer Guide,
 * "Understanding the Lambda execution environment lifecycle",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). The same page says such
 * leftover work resumes if Lambda reuses the environment; the sandbox never resumes it, so it reaches no
 * AWS service after its invocation answered, as after a timeout (which resets the environment).
 */
export class InvocationWork {
  /** Its base hold: its own code runs, with none of its waits pending and none of its calls under way. */
  public base = false;
  /** Its waits on the clock that have not ended. */
  public waiting = 0;
  /** Its calls under way (`track`), each a strand with a hold of its own while it runs. */
  public calls = 0;
  /** The calls under way that hold the clock now (they run, between their waits). */
  public readonly holding = new Set<Call>();
  /** The invocation answered (or Lambda stopped it): its waits never end, its timers never fire. */
  public stopped = false;
  /** Cancels of the `node:timers` timers it set that have neither fired nor been cleared. */
  public readonly timers = new Set<() => void>();

  public constructor(public readonly clock: VirtualClock) {}

  /** Holds it has on the clock now. */
  public get held(): number {
    return (this.base ? 1 : 0) + this.holding.size;
  }
}

/** One call of an invocation's work (an SDK call): it holds the clock while it runs, none of its waits pending. */
interface Call {
  held: boolean;
  waiting: number;
}

/**
 * A strand of an invocation's work: its own code (the handler's, or a `node:timers` callback's: middy's
 * early timeout), accounted for by the work's base hold, or one of its calls, which holds on its own.
 */
interface Strand {
  work: InvocationWork;
  call?: Call;
}

const strands = new AsyncLocalStorage<Strand>();

/** The invocation whose work the caller is part of, if any. */
export const currentInvocationWork = (): InvocationWork | undefined => strands.getStore()?.work;

/** Runs `run` (and everything it starts) as the invocation's work. */
export const runAsInvocationWork = <T>(work: InvocationWork, run: () => T): T => strands.run({ work }, run);

/**
 * Runs a `node:timers` callback of the invocation (and everything it starts) as the work's own code: it
 * fires while the clock is idle (every strand of the work waits), so it holds nothing until the work's
 * waits and calls are over or it makes a call of its own.
 */
export const runAsTimerStrand = <T>(work: InvocationWork, run: () => T): T => strands.run({ work }, run);

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

  /** Starts an invocation's work: its code runs, so it holds the clock (see InvocationWork). */
  public holdFor(work: InvocationWork): void {
    this.rebase(work);
  }

  /**
   * Takes or gives back the work's base hold: held while its own code runs, that is while none of its waits
   * is pending and none of its calls is under way (each of those accounts for itself). A resumed wait of
   * its own code while another is still pending runs unheld: only until its next wait or call, in promise
   * continuations that `run` drains before time moves on.
   */
  private rebase(work: InvocationWork): void {
    const running = !work.stopped && work.waiting === 0 && work.calls === 0;
    if (running === work.base) return;
    work.base = running;
    if (running) this.hold();
    else this.release();
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
    work.base = false;
    for (const call of work.holding) call.held = false;
    work.holding.clear();
    for (let i = 0; i < held; i += 1) this.release();
  }

  /**
   * Runs real async work while holding the clock. Within an invocation's work it is one of the work's calls
   * (an SDK call): it holds the clock while it runs, between its own waits, whatever the work's other
   * strands do meanwhile; what a call tracks is part of that call. A call of a work that has stopped holds
   * nothing (it reaches no AWS service).
   */
  public async track<T>(work: () => Promise<T>): Promise<T> {
    const strand = strands.getStore();
    if (!strand) {
      this.hold();
      try {
        return await work();
      } finally {
        this.release();
      }
    }
    const invocation = strand.work;
    // Within a call, what it tracks is part of it: the call waits for it, holding nothing of its own meanwhile.
    if (strand.call) return work();
    if (invocation.stopped) return strands.run({ work: invocation, call: { held: false, waiting: 0 } }, work);
    const call: Call = { held: true, waiting: 0 };
    this.hold();
    invocation.holding.add(call);
    invocation.calls += 1;
    this.rebase(invocation);
    try {
      return await strands.run({ work: invocation, call }, work);
    } finally {
      invocation.calls -= 1;
      // The work's own code holds again (the last call ended) before the call gives its hold back.
      this.rebase(invocation);
      if (call.held) {
        call.held = false;
        invocation.holding.delete(call);
        this.release();
      }
    }
  }

  /**
   * Blocks the caller (which holds the clock) until `executor` settles it, releasing the clock meanwhile.
   * The clock is held again synchronously when it settles, so time cannot slip past the resumption. A wait
   * of an invocation's work gives back only its own strand's hold (see InvocationWork); one of a work that
   * has stopped meanwhile never settles (its execution environment is frozen).
   */
  public block<T>(
    executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
  ): Promise<T> {
    const strand = strands.getStore();
    const work = strand?.work;
    const call = strand?.call;
    if (!work) this.release();
    else {
      work.waiting += 1;
      if (call) call.waiting += 1;
      if (call?.held) {
        call.held = false;
        work.holding.delete(call);
        this.release();
      }
      this.rebase(work);
    }
    return new Promise<T>((resolvePromise, rejectPromise) => {
      let settled = false;
      /** Ends the wait; false when it must not resume (its invocation's work stopped). */
      const resume = (): boolean => {
        if (settled) return false;
        settled = true;
        this.blocked.delete(reject);
        if (!work) {
          this.hold();
          return true;
        }
        work.waiting -= 1;
        if (work.stopped) return false;
        // A call holds again when its last wait resumes: should it wait for two things at once, it holds
        // nothing while either is pending (the other must be able to resume), as the work's own code.
        if (call) call.waiting -= 1;
        if (call && call.waiting === 0 && !call.held) {
          call.held = true;
          work.holding.add(call);
          this.hold();
        }
        this.rebase(work);
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
