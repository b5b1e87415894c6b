import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { addClientCustomizer } from '../../lib/adapters/aws-clients.ts';
import { TOPIC_ARN } from '../unit/fixtures.ts';
import { lambdaContext, setHandlerEnvironment } from './support.ts';

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

describe('Handlers build their payload schemas on first parse, not at import', () => {
  /** Whether a `z.lazy` schema has built its inner schema yet (zod caches it on the definition). */
  const built = (schema: unknown): boolean =>
    '_cachedInner' in (schema as { _zod: { def: object } })._zod.def;

  it('importing the two largest functions builds no deployment, plan or request schema; the first parse builds what it reads', async () => {
    setHandlerEnvironment();
    const schemas = await import('../../lib/domain/schemas.ts');
    await import('../../functions/prepare-release.ts');
    await import('../../functions/roll-back.ts');
    for (const schema of [
      schemas.releaseRequestSchema,
      schemas.deploymentSchema,
      schemas.releasePlanSchema,
      schemas.planStepSchema,
      schemas.stepCursorSchema,
      schemas.caughtFailureSchema,
    ])
      expect(built(schema)).toBe(false);
    expect(z.safeParse(schemas.caughtFailureSchema, { Error: 'States.Timeout' }).success).toBe(true);
    expect(built(schemas.caughtFailureSchema)).toBe(true);
    expect(built(schemas.deploymentSchema)).toBe(false);
  });
});

describe('A handler whose schema is given as a function', () => {
  it('builds it on the first invocation, once, and validates every invocation with it', async () => {
    setHandlerEnvironment();
    const { shiplineHandler } = await import('../../functions/shared/stack.ts');
    let builds = 0;
    const handler = shiplineHandler(
      'lazy-schema',
      () => {
        builds += 1;
        return z.object({ service: z.string().check(z.minLength(1)) });
      },
      async ({ service }) => ({ service }),
    );
    expect(builds).toBe(0);
    const context = lambdaContext('lazy-schema');
    await expect(handler({ service: 'checkout' }, context)).resolves.toEqual({ service: 'checkout' });
    await expect(handler({ service: '' }, context)).rejects.toThrow(
      /lazy-schema input is malformed: service/,
    );
    expect(builds).toBe(1);
  });
});
