import { describe, expect, it } from 'vitest';
import { compareRequests, isNewerRequest } from '../../lib/domain/request-order.ts';

describe('Function: compareRequests', () => {
  it('orders by push time first', () => {
    const older = { requestedAt: '2025-03-04T10:00:00Z', receivedAt: '2025-03-04T10:00:09.000Z' };
    const newer = { requestedAt: '2025-03-04T10:00:01Z', receivedAt: '2025-03-04T10:00:02.000Z' };

    expect(isNewerRequest(newer, older)).toBe(true);
    expect(isNewerRequest(older, newer)).toBe(false);
  });

  it('compares push times as instants, whatever their precision or offset', () => {
    const manual = { requestedAt: '2025-03-04T10:00:00.500Z' };
    const push = { requestedAt: '2025-03-04T10:00:00Z' };
    const offset = { requestedAt: '2025-03-04T11:00:01+01:00' };

    expect(isNewerRequest(manual, push)).toBe(true);
    expect(isNewerRequest(offset, manual)).toBe(true);
  });

  it('breaks a tie on the push second by when the trigger received them', () => {
    const first = { requestedAt: '2025-03-04T10:00:00Z', receivedAt: '2025-03-04T10:00:00.400Z' };
    const second = { requestedAt: '2025-03-04T10:00:00Z', receivedAt: '2025-03-04T10:00:00.401Z' };

    expect(isNewerRequest(second, first)).toBe(true);
    expect(isNewerRequest(first, second)).toBe(false);
  });

  it('breaks a tie within one millisecond by the receipt sequence', () => {
    const at = { requestedAt: '2025-03-04T10:00:00Z', receivedAt: '2025-03-04T10:00:00.400Z' };

    expect(compareRequests({ ...at, receivedSeq: 8 }, { ...at, receivedSeq: 7 })).toBe(1);
    expect(compareRequests({ ...at, receivedSeq: 7 }, { ...at, receivedSeq: 8 })).toBe(-1);
  });

  it('calls requests it cannot tell apart equal, so the one holding its place keeps it', () => {
    expect(
      compareRequests({ requestedAt: '2025-03-04T10:00:00Z' }, { requestedAt: '2025-03-04T10:00:00Z' }),
    ).toBe(0);
  });
});
