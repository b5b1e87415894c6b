import { beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../lib/ports/release-history.ts';
import { serviceRef } from '../../lib/ports/service-ref.ts';
import type { StoreFactory, StoreSubject } from './subject.ts';
import { contractClock } from './subject.ts';

const START = '2025-03-04T10:00:00.000Z';
const RETENTION_SECONDS = 400 * 24 * 3600;

const record = (
  releaseId: string,
  requestedAt: string,
  extra: Partial<ReleaseRecord> = {},
): ReleaseRecord => ({
  service: 'checkout',
  releaseId,
  requestedAt,
  status: 'in_progress',
  ...extra,
});

/** Release records, and the history index of ended releases by end time. */
export const releaseHistoryContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: ReleaseHistory (${name})`, () => {
    const clock = contractClock(START);
    let subject: StoreSubject;

    beforeEach(async () => {
      clock.set(START);
      subject = await factory();
    });

    const ended = async (releaseId: string, requestedAt: string, endedAt: string, environment?: string) => {
      const { history } = subject.store;
      await history.put(record(releaseId, requestedAt, environment ? { environment } : {}));
      await history.update(
        { ...serviceRef('checkout', environment), requestedAt, releaseId },
        { status: 'promoted', endedAt },
      );
    };

    /** Every page of a listing, in order. */
    const allPages = async (environment: string, from: string, to: string, limit: number) => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await subject.store.history.listEnded(environment, {
          from,
          to,
          limit,
          ...(cursor ? { cursor } : {}),
        });
        expect(page.records.length).toBeLessThanOrEqual(limit);
        pages.push(page.records.map((r) => r.releaseId));
        cursor = page.cursor;
      } while (cursor && pages.length < 20);
      return pages;
    };

    describe('Method: put', () => {
      it('keeps a record 400 days (TTL from now)', async () => {
        await subject.store.history.put(record('r1', START));

        await expect(
          subject.recordExpiresAt({ ...serviceRef('checkout'), requestedAt: START, releaseId: 'r1' }),
        ).resolves.toBe(clock.epoch() + RETENTION_SECONDS);
      });
    });

    describe('Method: appendAction', () => {
      const ref = { ...serviceRef('checkout'), requestedAt: START, releaseId: 'r1' };
      const action = (command: 'promote' | 'abort', by: string) => ({
        at: START,
        command,
        actor: { via: 'cli' as const, id: by },
        reason: `${command} by ${by}`,
        result: 'done',
      });

      it('keeps every command on the record, oldest first, with who gave it', async () => {
        const { history } = subject.store;
        await history.put(record('r1', START));

        await history.appendAction(ref, action('promote', 'arn:aws:iam::1:user/ana'));
        await history.appendAction(ref, action('abort', 'arn:aws:iam::1:user/bo'));

        const [stored] = await history.listByService(serviceRef('checkout'), 1);
        expect(stored?.actions?.map((a) => [a.command, a.actor.id])).toEqual([
          ['promote', 'arn:aws:iam::1:user/ana'],
          ['abort', 'arn:aws:iam::1:user/bo'],
        ]);
      });

      it('refuses a release that has no record instead of creating one', async () => {
        await expect(
          subject.store.history.appendAction(ref, action('abort', 'arn:aws:iam::1:user/bo')),
        ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
        await expect(subject.store.history.listByService(serviceRef('checkout'), 5)).resolves.toEqual([]);
      });
    });

    describe('Method: listByService', () => {
      it('lists the newest requests of a service first, up to the limit, and only that service in its environment', async () => {
        const { history } = subject.store;
        await history.put(record('r1', '2025-03-04T09:00:00Z'));
        await history.put(record('r3', '2025-03-04T11:00:00Z'));
        await history.put(record('r2', '2025-03-04T10:00:00Z'));
        await history.put({ ...record('other', '2025-03-04T12:00:00Z'), service: 'payments' });
        await history.put(record('staging', '2025-03-04T12:00:00Z', { environment: 'staging' }));

        const listed = await history.listByService(serviceRef('checkout'), 2);

        expect(listed.map((r) => r.releaseId)).toEqual(['r3', 'r2']);
      });
    });

    describe('Method: read', () => {
      it('reads one record by its request time and release id, or undefined', async () => {
        const { history } = subject.store;
        await history.put(record('r1', START, { toVersion: 'v2' }));
        const ref = { ...serviceRef('checkout'), requestedAt: START, releaseId: 'r1' };

        await expect(history.read(ref)).resolves.toEqual(record('r1', START, { toVersion: 'v2' }));
        await expect(history.read({ ...ref, releaseId: 'r2' })).resolves.toBeUndefined();
      });
    });

    describe('Method: update', () => {
      it('sets the defined fields only', async () => {
        const { history } = subject.store;
        await history.put(record('r1', START, { toVersion: 'v2', currentPercent: 5 }));

        await history.update(
          { ...serviceRef('checkout'), requestedAt: START, releaseId: 'r1' },
          { currentPercent: 25, reason: undefined },
        );

        await expect(history.listByService(serviceRef('checkout'), 1)).resolves.toEqual([
          record('r1', START, { toVersion: 'v2', currentPercent: 25 }),
        ]);
      });
    });

    describe('Method: listEnded', () => {
      it('lists only ended releases of the environment, in the range, newest end first', async () => {
        await ended('r1', '2025-03-01T10:00:00Z', '2025-03-01T11:00:00Z');
        await ended('r2', '2025-03-02T10:00:00Z', '2025-03-02T11:00:00Z');
        await ended('r3', '2025-03-03T10:00:00Z', '2025-03-03T11:00:00Z');
        await ended('s1', '2025-03-02T10:00:00Z', '2025-03-02T12:00:00Z', 'staging');
        await subject.store.history.put(record('running', '2025-03-02T13:00:00Z'));

        const page = await subject.store.history.listEnded('default', {
          from: '2025-03-01T11:00:00Z',
          to: '2025-03-02T11:00:00Z',
          limit: 10,
        });

        expect(page.records.map((r) => [r.releaseId, r.status, r.endedAt])).toEqual([
          ['r2', 'promoted', '2025-03-02T11:00:00Z'],
          ['r1', 'promoted', '2025-03-01T11:00:00Z'],
        ]);
        await expect(
          subject.store.history.listEnded('staging', { from: '2025-03-01T00:00:00Z', to: START, limit: 10 }),
        ).resolves.toMatchObject({ records: [expect.objectContaining({ releaseId: 's1' })] });
      });

      it('pages through the range without losing or repeating a release', async () => {
        for (let day = 1; day <= 7; day += 1) {
          const at = `2025-03-0${day}T10:00:00Z`;
          await ended(`r${day}`, at, `2025-03-0${day}T10:30:00Z`);
        }

        const pages = await allPages('default', '2025-03-01T00:00:00Z', '2025-03-31T00:00:00Z', 3);

        expect(pages.flat()).toEqual(['r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
        expect(pages[0]).toEqual(['r7', 'r6', 'r5']);
      });

      it('orders end times by instant whatever their ISO form, and breaks ties by release id', async () => {
        await ended('r-b', START, '2025-03-04T10:30:00Z');
        await ended('r-a', START, '2025-03-04T10:30:00.000Z');
        await ended('r-late', START, '2025-03-04T10:30:00.500Z');
        await ended('r-offset', START, '2025-03-04T12:29:00+02:00');

        const page = await subject.store.history.listEnded('default', {
          from: '2025-03-04T10:29:00Z',
          to: '2025-03-04T10:30:00Z',
          limit: 10,
        });

        expect(page.records.map((r) => r.releaseId)).toEqual(['r-b', 'r-a', 'r-offset']);
      });

      it('refuses a range whose start is after its end', async () => {
        await expect(
          subject.store.history.listEnded('default', {
            from: '2025-03-02T00:00:00Z',
            to: '2025-03-01T00:00:00Z',
            limit: 1,
          }),
        ).rejects.toThrow('from (2025-03-02T00:00:00Z) is after to (2025-03-01T00:00:00Z)');
      });
    });
  });
};
