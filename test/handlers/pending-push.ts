/**
 * What the handler tests of a push queued behind checkout's running release share: the clock they run at,
 * the lock the holder leases and the queued push's wait item, as the DynamoDB table holds them.
 */

/** The handler tests' clock: forty minutes after the holder (pushed at 10:00) started. */
export const NOW = '2025-03-04T10:40:00.000Z';
export const NOW_EPOCH = Date.parse(NOW) / 1000;
/** The running release that holds checkout's lock. */
export const HOLDER = 'checkout-holder';
/** The execution name of the push (digest aaaa…, v3, pushed at 10:05) queued behind it. */
export const PENDING = 'checkout-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
export const LOCK_KEY = { pk: 'SERVICE#default#checkout', sk: 'LOCK' };
export const QUEUE_KEY = { pk: 'WAIT#QUEUE#default/checkout', sk: 'SOLE' };
export const PENDING_TOKEN = `pending-push:${PENDING}:2025-03-04T10:05:00.100Z:3:r-1`;

/** The pending push's execution input, as the trigger queued it (JSON text). */
export const pendingInput = (requestedAt: string): string =>
  JSON.stringify({
    service: 'checkout',
    image: { repository: 'checkout', digest: `sha256:${'a'.repeat(64)}`, tag: 'v3' },
    requestedAt,
    receivedAt: '2025-03-04T10:05:00.100Z',
    receivedSeq: 3,
    receiptId: 'r-1',
    source: 'ecr-push',
  });

/** The GetItem answer for checkout's queue: the pending push, pushed at `requestedAt`. */
export const pendingWait = (requestedAt: string) => ({
  Item: {
    ...QUEUE_KEY,
    kind: 'lock-queue',
    key: 'default/checkout',
    releaseId: PENDING,
    service: 'checkout',
    environment: 'default',
    taskToken: PENDING_TOKEN,
    data: {
      requestedAt,
      receivedAt: '2025-03-04T10:05:00.100Z',
      receivedSeq: 3,
      pendingInput: pendingInput(requestedAt),
    },
  },
});

/** The GetItem answer for checkout's lock: the holder's lease (pushed at `requestedAt`), live for 30 more minutes. */
export const lease = (requestedAt: string) => ({
  Item: {
    ...LOCK_KEY,
    holder: HOLDER,
    requestedAt,
    acquiredAt: '2025-03-04T10:00:01.000Z',
    leaseExpiresAt: NOW_EPOCH + 1800,
  },
});
