import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { addClientCustomizer } from '../../lib/adapters/aws-clients.ts';
import { TOPIC_ARN } from '../unit/fixtures.ts';
import { setHandlerEnvironment } from './support.ts';

const sns = mockClient(SNSClient);
/** Every SDK client the adapter factories build, by name, in order. */
const built: string[] = [];

describe('Handlers build SDK clients on first use, not at import', () => {
  beforeAll(() => {
    setHandlerEnvironment();
    addClientCustomizer((_client, name) => built.push(name));
  });

  it('importing the two largest functions builds no client (a cold start pays for the clients a path calls)', async () => {
    await import('../../functions/prepare-release.ts');
    await import('../../functions/roll-back.ts');
    expect(built).toEqual([]);
  });

  it('a port builds its client on its first call, once per container', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const { createNotifier } = await import('../../functions/shared/adapters.ts');
    const notifier = createNotifier();
    expect(built).toEqual([]);
    await notifier.publish(TOPIC_ARN, { subject: 'one', message: { event: 'started' } });
    await notifier.publish(TOPIC_ARN, { subject: 'two', message: { event: 'promoted' } });
    expect(built).toEqual(['SNS']);
    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject)).toEqual([
      'one',
      'two',
    ]);
  });
});
