import { describe, expect, it } from 'vitest';
import type { ReleaseEventMessage } from '../../../lib/domain/progress.ts';
import type { ReleaseEvents } from '../../../lib/ports/release-events.ts';
import { heldReleaseEvents } from '../../../lib/use-cases/transitions.ts';

const message = (releaseId: string): ReleaseEventMessage =>
  ({ releaseId, kind: 'step', service: 'checkout' }) as unknown as ReleaseEventMessage;

/** A topic port that records what it was asked to publish, and what it was told was lost. */
const recorder = (behaviour: { batch?: boolean; failing?: string[]; throwing?: Error }) => {
  const calls: string[][] = [];
  const lost: Array<[string, string]> = [];
  const events: ReleaseEvents = {
    region: () => 'us-east-1',
    publish: async (m) => {
      if (behaviour.throwing) throw behaviour.throwing;
      calls.push([m.releaseId]);
    },
    ...(behaviour.batch
      ? {
          publishAll: async (messages: readonly ReleaseEventMessage[]) => {
            if (behaviour.throwing) throw behaviour.throwing;
            calls.push(messages.map((m) => m.releaseId));
            return messages
              .filter((m) => behaviour.failing?.includes(m.releaseId))
              .map((m) => ({
                message: m,
                error: Object.assign(new Error('no'), { name: 'InvalidParameter' }),
              }));
          },
        }
      : {}),
    lost: (m, error) => lost.push([m.releaseId, error.name]),
  };
  return { events, calls, lost };
};

describe('Function: heldReleaseEvents', () => {
  // The trigger's `finally` flushes; if the invocation runs out of time meanwhile, middy's timeout flushes
  // too (functions/trigger.ts) and answers once it is done: it must wait for the flush in flight, whose
  // messages it no longer holds, or they would be frozen with the environment, unpublished.
  it('finishes only once a flush already in flight is done, then publishes what was held since', async () => {
    const calls: string[][] = [];
    let answer = (): void => undefined;
    const events: ReleaseEvents = {
      region: () => 'us-east-1',
      publish: async (m) => {
        calls.push([m.releaseId]);
      },
      publishAll: async (messages) => {
        calls.push(messages.map((m) => m.releaseId));
        if (calls.length === 1) await new Promise<void>((resolve) => (answer = resolve));
        return [];
      },
      lost: () => undefined,
    };
    const held = heldReleaseEvents(events);
    await held.publish(message('a'));
    await held.publish(message('b'));
    const first = held.flush();
    await held.publish(message('c'));
    let secondDone = false;
    const second = held.flush().then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    // The first request is still unanswered: the second flush waits for it, and has sent nothing yet.
    expect({ calls, secondDone }).toEqual({ calls: [['a', 'b']], secondDone: false });
    answer();
    await Promise.all([first, second]);
    expect(calls).toEqual([['a', 'b'], ['c']]);
  });

  it('publishes nothing until flushed, then every message held, together', async () => {
    const { events, calls } = recorder({ batch: true });
    const held = heldReleaseEvents(events);

    await held.publish(message('a'));
    await held.publish(message('b'));
    expect(calls).toEqual([]);
    await held.flush();

    expect(calls).toEqual([['a', 'b']]);
    // Flushed once: a second flush sends nothing again.
    await held.flush();
    expect(calls).toEqual([['a', 'b']]);
  });

  it('publishes a single message on its own, and one by one where the topic takes no batch', async () => {
    const single = recorder({ batch: true });
    const one = heldReleaseEvents(single.events);
    await one.publish(message('a'));
    await one.flush();
    expect(single.calls).toEqual([['a']]);

    const plain = recorder({});
    const two = heldReleaseEvents(plain.events);
    await two.publish(message('a'));
    await two.publish(message('b'));
    await two.flush();
    expect(plain.calls).toEqual([['a'], ['b']]);
  });

  it('tells the port each message the batch could not publish, and every message of a batch that failed', async () => {
    const partly = recorder({ batch: true, failing: ['b'] });
    const held = heldReleaseEvents(partly.events);
    await held.publish(message('a'));
    await held.publish(message('b'));
    await held.flush();
    expect(partly.lost).toEqual([['b', 'InvalidParameter']]);

    const denied = recorder({
      batch: true,
      throwing: Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' }),
    });
    const all = heldReleaseEvents(denied.events);
    await all.publish(message('a'));
    await all.publish(message('b'));
    await expect(all.flush()).resolves.toBeUndefined();
    expect(denied.lost).toEqual([
      ['a', 'AuthorizationErrorException'],
      ['b', 'AuthorizationErrorException'],
    ]);
  });
});
