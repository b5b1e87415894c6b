import { AsyncResource } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sandbox/random.ts';
import {
  InvocationWork,
  runAsInvocationWork,
  runAsTimerStrand,
  VirtualClock,
} from '../../sandbox/virtual-clock.ts';

const START = Date.parse('2026-11-22T10:00:00Z');

describe('VirtualClock', () => {
  // Middy races the handler against its early-timeout timer; the timer's strand holds nothing when it fires
  // (the clock was idle) and may wait (a flush) before it answers. Whichever strand answers ends the
  // invocation's work: the holds it still has are given back, and the other strand's wait never resumes.
  const raceOfTwoStrands = (handlerAnswersAt: number | undefined) => {
    const clock = new VirtualClock(new Date(START));
    const work = new InvocationWork(clock);
    const events: string[] = [];
    const at = () => (clock.nowMillis - START) / 1000;
    const answer = (who: string) => {
      if (work.stopped) return;
      events.push(`${who} answered at ${at()}`);
      clock.stopWork(work);
    };
    clock.holdFor(work);
    runAsInvocationWork(work, () => {
      // The handler: resumes at 2 s, then answers at `handlerAnswersAt` or waits until 12 s.
      void (async () => {
        await clock.sleep(2);
        events.push(`handler resumed at ${at()}`);
        await clock.sleep(handlerAnswersAt === undefined ? 10 : handlerAnswersAt - 2);
        events.push(`handler resumed at ${at()}`);
        answer('handler');
      })();
      // Middy's timer at 1 s: a 3 s flush, then its answer.
      clock.schedule(
        START + 1000,
        AsyncResource.bind(() =>
          runAsTimerStrand(work, () => {
            void (async () => {
              events.push(`timer fired at ${at()}`);
              await clock.sleep(3);
              events.push(`timer strand resumed at ${at()}`);
              answer('timer');
            })();
          }),
        ),
      );
    });
    return { clock, work, events, at };
  };

  it.each([
    [
      'the timer answers while the handler waits',
      undefined,
      ['timer fired at 1', 'handler resumed at 2', 'timer strand resumed at 4', 'timer answered at 4'],
    ],
    [
      'the handler answers while the timer strand waits',
      3,
      ['timer fired at 1', 'handler resumed at 2', 'handler resumed at 3', 'handler answered at 3'],
    ],
  ])("gives back every hold of an invocation's work when %s, whose wait never resumes", async (_, answersAt, expected) => {
    const { clock, work, events, at } = raceOfTwoStrands(answersAt);
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    expect(events).toEqual(expected);
    expect({ held: work.held, waiting: work.waiting, stopped: work.stopped }).toEqual({
      held: 0,
      waiting: 0,
      stopped: true,
    });
    // Nothing is left holding the clock: later work runs and time moves on.
    const from = at();
    let later = -1;
    void clock.track(async () => {
      await clock.sleep(5);
      later = at();
    });
    expect(await clock.run(() => later >= 0, START + 3600_000)).toBe('done');
    expect(later).toBe(from + 5);
  });

  // On AWS a handler may wait for any number of calls at once (Promise.all of reads). Each wait of the
  // invocation's work gives back nothing another strand of it still needs; the work holds the clock again
  // when the last of them resumes, so the calls take their time once, side by side, not summed.
  it("lets an invocation's work wait for several things at once, and ends when the last of them resumes", async () => {
    const clock = new VirtualClock(new Date(START));
    const work = new InvocationWork(clock);
    const at = () => (clock.nowMillis - START) / 1000;
    const events: string[] = [];
    clock.holdFor(work);
    runAsInvocationWork(work, () => {
      void (async () => {
        const call = async (name: string, seconds: number) => {
          await clock.sleep(seconds);
          events.push(`${name} at ${at()}`);
        };
        // Direct waits and calls under way (tracked), as a handler's Promise.all of SDK calls makes them.
        await Promise.all([
          call('a', 0.03),
          clock.track(() => call('b', 0.03)),
          call('c', 0.05),
          clock.track(async () => {
            await call('d', 0.01);
            await call('e', 0.02);
          }),
        ]);
        events.push(`answered at ${at()}`);
        clock.stopWork(work);
      })();
    });
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    expect(events).toEqual([
      'd at 0.01',
      'a at 0.03',
      'b at 0.03',
      'e at 0.03',
      'c at 0.05',
      'answered at 0.05',
    ]);
    expect({ held: work.held, waiting: work.waiting }).toEqual({ held: 0, waiting: 0 });
    // Nothing is left holding the clock, and nothing was given back twice.
    let later = -1;
    void clock.track(async () => {
      await clock.sleep(5);
      later = at();
    });
    expect(await clock.run(() => later >= 0, START + 3600_000)).toBe('done');
    expect(later).toBe(5.05);
  });

  // A call (an SDK call) is sequential; should one wait for two things at once, it holds nothing while either
  // is pending, holds again once both resumed, and gives that hold back when it ends.
  it('lets a call wait for two things at once, and gives back its hold when it ends', async () => {
    const clock = new VirtualClock(new Date(START));
    const work = new InvocationWork(clock);
    const at = () => (clock.nowMillis - START) / 1000;
    let answered = -1;
    clock.holdFor(work);
    runAsInvocationWork(work, () => {
      void (async () => {
        await clock.track(async () => {
          await Promise.all([clock.sleep(1), clock.sleep(1)]);
        });
        await clock.sleep(2);
        answered = at();
        clock.stopWork(work);
      })();
    });
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    expect(answered).toBe(3);
    expect(work.held).toBe(0);
  });

  // While one of the work's waits is under way, its other strands still hold the clock while they run.
  it("keeps the clock held while a call of an invocation's work runs, though another of its waits is pending", async () => {
    const clock = new VirtualClock(new Date(START));
    const work = new InvocationWork(clock);
    const at = () => (clock.nowMillis - START) / 1000;
    const events: string[] = [];
    clock.holdFor(work);
    runAsInvocationWork(work, () => {
      void (async () => {
        await Promise.all([
          (async () => {
            await clock.sleep(10);
            events.push(`long wait ended at ${at()}`);
          })(),
          clock.track(async () => {
            await clock.sleep(1);
            // Real work between two waits of the call (a local DynamoDB request): time must not move meanwhile.
            for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
            events.push(`call's real work done at ${at()}`);
          }),
        ]);
        clock.stopWork(work);
      })();
    });
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    expect(events).toEqual(["call's real work done at 1", 'long wait ended at 10']);
  });

  it('fires timers in time order, and timers of the same instant in the order they were scheduled', async () => {
    const clock = new VirtualClock(new Date(START));
    const random = new SeededRandom(3);
    const fired: Array<[number, number]> = [];
    const expected: Array<[number, number]> = [];
    for (let i = 0; i < 500; i += 1) {
      const at = START + Math.floor(random.next() * 50) * 1000;
      expected.push([at, i]);
      clock.schedule(at, () => fired.push([clock.nowMillis, i]));
    }
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(fired).toEqual(expected);
  });

  it('skips cancelled timers and is idle once only background timers are left', async () => {
    const clock = new VirtualClock(new Date(START));
    const fired: string[] = [];
    const cancel = clock.schedule(START + 1000, () => fired.push('cancelled'));
    clock.schedule(START + 2000, () => fired.push('foreground'));
    const tick = (at: number) =>
      clock.schedule(
        at,
        () => {
          fired.push(`tick ${(at - START) / 1000}`);
          tick(at + 1500);
        },
        { background: true },
      );
    tick(START + 500);
    cancel();
    cancel(); // twice changes nothing
    expect(await clock.run(() => false, START + 3600_000)).toBe('idle');
    // At +2 s the foreground timer was scheduled first; once it fired, only the ticks are left.
    expect(fired).toEqual(['tick 0.5', 'foreground']);
  });

  it('stops at the limit without firing a later timer, and a fired timer cannot be cancelled into a miscount', async () => {
    const clock = new VirtualClock(new Date(START));
    const fired: number[] = [];
    const first = clock.schedule(START + 1000, () => fired.push(1));
    clock.schedule(START + 10_000, () => fired.push(10));
    expect(await clock.run(() => fired.length === 1, START + 5000)).toBe('done');
    first(); // already fired
    expect(await clock.run(() => false, START + 5000)).toBe('limit');
    expect(fired).toEqual([1]);
    expect(clock.nowMillis).toBe(START + 1000);
  });

  it('runs synchronous timers that leave it idle without an event-loop turn each, and settles after one that starts work', async () => {
    const clock = new VirtualClock(new Date(START));
    let turns = 0;
    let counting = true;
    const countTurns = () => {
      turns += 1;
      if (counting) setImmediate(countTurns);
    };
    setImmediate(countTurns);
    const order: string[] = [];
    // A day of minute ticks, as the metric publication and alarm evaluation run.
    for (let minute = 1; minute <= 1440; minute += 1)
      clock.schedule(START + minute * 60_000, () => undefined, { background: true, synchronous: true });
    // A synchronous timer that starts tracked work: the work runs before the next timer fires.
    clock.schedule(
      START + 30_000,
      () => {
        void clock.track(async () => {
          await Promise.resolve();
          order.push('tracked work');
        });
      },
      { synchronous: true },
    );
    clock.schedule(START + 30_000, () => order.push('next timer'));
    clock.schedule(START + 1440 * 60_000, () => order.push('end'));
    expect(await clock.run(() => false, START + 2 * 86_400_000)).toBe('idle');
    counting = false;
    expect(order).toEqual(['tracked work', 'next timer', 'end']);
    // One turn per ordinary timer and per settle after work, not one per tick (1,440 before).
    expect(turns).toBeLessThan(20);
  });
});
