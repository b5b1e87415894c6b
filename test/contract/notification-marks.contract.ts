import { beforeEach, describe, expect, it } from 'vitest';
import type { StoreFactory, StoreSubject } from './subject.ts';

/** Notification marks: each notification of a release is marked once; an unmarked one may be sent again. */
export const notificationMarksContract = (name: string, factory: StoreFactory): void => {
  describe(`Contract: NotificationMarks (${name})`, () => {
    let subject: StoreSubject;

    beforeEach(async () => {
      subject = await factory();
    });

    it('marks a notification once per release and kind, and again after unmarking', async () => {
      const { marks } = subject.store;

      await expect(marks.mark('r1', 'started')).resolves.toBe(true);
      await expect(marks.mark('r1', 'started')).resolves.toBe(false);
      await expect(marks.mark('r1', 'promoted')).resolves.toBe(true);
      await expect(marks.mark('r2', 'started')).resolves.toBe(true);
      await marks.unmark('r1', 'started');
      await expect(marks.mark('r1', 'started')).resolves.toBe(true);
    });

    it('says whether a notification of a release was marked', async () => {
      const { marks } = subject.store;

      await expect(marks.isMarked('r1', 'superseded')).resolves.toBe(false);
      await marks.mark('r1', 'superseded');
      await expect(marks.isMarked('r1', 'superseded')).resolves.toBe(true);
      await expect(marks.isMarked('r1', 'started')).resolves.toBe(false);
      await expect(marks.isMarked('r2', 'superseded')).resolves.toBe(false);
      await marks.unmark('r1', 'superseded');
      await expect(marks.isMarked('r1', 'superseded')).resolves.toBe(false);
    });
  });
};
