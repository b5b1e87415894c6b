import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbSlackStore } from '../../lib/adapters/dynamodb-slack-store.ts';
import { type Clock, useClock } from '../../lib/clock.ts';
import type { SlackBlock } from '../../lib/domain/slack.ts';
import {
  createTable,
  startLocalDynamoDb,
  stopLocalDynamoDb,
  tableDefinition,
} from '../../sandbox/local-dynamodb.ts';

const REPOSITORY_ROOT = new URL('../..', import.meta.url).pathname;
const NOW = Date.parse('2026-11-22T10:00:00Z') / 1000;

let tables = 0;
let store: DynamoDbSlackStore;
let previous: Clock | undefined;
let now = NOW;

/** The Slack items on dynalite (a real DynamoDB protocol server): the conditions as DynamoDB evaluates them. */
describe('Adapter: DynamoDbSlackStore (dynalite)', () => {
  beforeEach(async () => {
    now = NOW;
    previous ??= useClock({ now: () => new Date(now * 1000) });
    const endpoint = await startLocalDynamoDb();
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'c', secretAccessKey: 'c' },
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    tables += 1;
    const tableName = `slack-${tables}`;
    await createTable(endpoint, tableDefinition(REPOSITORY_ROOT, tableName));
    store = new DynamoDbSlackStore(client, () => tableName);
  });

  afterAll(async () => {
    if (previous) useClock(previous);
    await stopLocalDynamoDb();
  });

  it('lets one delivery claim a release thread; a second waits until the root is recorded', async () => {
    expect(await store.claim('r1', 'C1', NOW + 60)).toBe(true);
    expect(await store.claim('r1', 'C1', NOW + 60)).toBe(false);
    expect(await store.read('r1')).toEqual({ channel: 'C1', rootSequence: -1 });
    await store.recordRoot('r1', '1795860000.000100', 3);
    expect(await store.read('r1')).toEqual({ channel: 'C1', ts: '1795860000.000100', rootSequence: 3 });
    // A recorded root is never claimed again, even long after.
    now = NOW + 3600;
    expect(await store.claim('r1', 'C1', now + 60)).toBe(false);
  });

  it('takes over a claim whose delivery died before posting the root, and gives a claim up', async () => {
    expect(await store.claim('r1', 'C1', NOW + 60)).toBe(true);
    now = NOW + 61;
    expect(await store.claim('r1', 'C1', now + 60)).toBe(true);
    await store.unclaim('r1');
    expect(await store.read('r1')).toBeUndefined();
  });

  it('moves the root only forward, and back when its update failed', async () => {
    const root = (text: string): { text: string; blocks: SlackBlock[] } => ({
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    });
    await store.claim('r1', 'C1', NOW + 60);
    expect(await store.advanceRoot('r1', 4, root('step 4'))).toBe(false); // no root yet
    await store.recordRoot('r1', '1.000100', 3);
    expect(await store.advanceRoot('r1', 5, root('step 5'))).toBe(true);
    expect(await store.advanceRoot('r1', 4, root('step 4'))).toBe(false);
    expect(await store.advanceRoot('r1', 5, root('step 5 again'))).toBe(false);
    // The root message of the sequence it shows is kept (a delivery re-sends the newest).
    expect((await store.read('r1'))?.root).toEqual(root('step 5'));
    await store.rewindRoot('r1', 5, 3);
    expect((await store.read('r1'))?.rootSequence).toBe(3);
    // A rewind from a sequence the root no longer shows changes nothing.
    await store.advanceRoot('r1', 7, root('step 7'));
    await store.rewindRoot('r1', 5, 3);
    expect(await store.read('r1')).toMatchObject({ rootSequence: 7, root: root('step 7') });
  });

  it('remembers each reply once, and forgets one on demand', async () => {
    expect(await store.markReplied('r1', '5:step')).toBe(false); // no thread item
    await store.claim('r1', 'C1', NOW + 60);
    expect(await store.markReplied('r1', '5:step')).toBe(true);
    expect(await store.markReplied('r1', '5:step')).toBe(false);
    expect(await store.markReplied('r1', '6:promoted')).toBe(true);
    await store.unmarkReplied('r1', '5:step');
    expect(await store.markReplied('r1', '5:step')).toBe(true);
  });

  it('accepts a click signature once while it could still be replayed', async () => {
    expect(await store.firstUse('v0=abc', NOW + 360)).toBe(true);
    expect(await store.firstUse('v0=abc', NOW + 360)).toBe(false);
    // Past its expiry (TTL deletion lags), the item no longer counts.
    now = NOW + 361;
    expect(await store.firstUse('v0=abc', now + 360)).toBe(true);
  });
});
