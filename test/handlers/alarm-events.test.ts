import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.ts';
import { alarmStateChangeEvent, TABLE, V2_RELEASE_ID } from '../unit/fixtures.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const context = lambdaContext('shipline-alarm-events');

const STARTED = '2025-03-04T10:00:05.000Z';
const watchItem = (releaseId: string, taskToken: string, watchFrom = STARTED) => ({
  pk: 'WAIT#ALARM#checkout-5xx',
  sk: `RELEASE#${releaseId}`,
  waitRelease: `RELEASE#${releaseId}`,
  waitOn: 'bake#checkout-5xx',
  kind: 'bake',
  key: 'checkout-5xx',
  releaseId,
  service: 'checkout',
  environment: 'default',
  taskToken,
  data: { percent: 25, watchFrom },
  expiresAt: 1_741_086_000,
});
const firing = alarmStateChangeEvent('checkout-5xx', 'ALARM', '2025-03-04T10:14:00.123+0000');

let handler: typeof import('../../functions/alarm-events.ts')['handler'];

describe('Handler: alarm-events', () => {
  beforeAll(async () => {
    setHandlerEnvironment();
    ({ handler } = await import('../../functions/alarm-events.ts'));
  });

  beforeEach(() => {
    ddb.reset();
    sfn.reset();
    ddb.on(QueryCommand).resolves({ Items: [watchItem(V2_RELEASE_ID, 'token-bake-25')] });
    ddb.on(DeleteCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
  });

  it('fails the bake watching the alarm through its task token', async () => {
    const result = await handler(firing, context);

    expect(result).toEqual({ failedReleases: [V2_RELEASE_ID] });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'WAIT#ALARM#checkout-5xx' },
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: 'WAIT#ALARM#checkout-5xx', sk: `RELEASE#${V2_RELEASE_ID}` },
      ConditionExpression: 'taskToken = :token',
      ExpressionAttributeValues: { ':token': 'token-bake-25' },
    });
    const success = sfn.commandCalls(SendTaskSuccessCommand);
    expect(success).toHaveLength(1);
    expect(success[0]?.args[0].input).toEqual({
      taskToken: 'token-bake-25',
      output: JSON.stringify({
        outcome: 'failed',
        reason: 'alarm checkout-5xx went to ALARM at 25%',
        alarm: 'checkout-5xx',
        alarmChangedAt: '2025-03-04T10:14:00.123Z',
      }),
    });
  });

  it("ends a rolling update's await-ready wait as not ready, naming the alarm and the rollout", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          ...watchItem(V2_RELEASE_ID, 'token-rollout'),
          waitOn: 'rollout#checkout-5xx',
          kind: 'rollout',
          data: { percent: 100, watchFrom: STARTED, deploymentId: 'ecs-svc/1002' },
        },
      ],
    });

    const result = await handler(firing, context);

    expect(result).toEqual({ failedReleases: [V2_RELEASE_ID] });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-rollout',
      output: JSON.stringify({
        outcome: 'failed',
        reason:
          'alarm checkout-5xx went to ALARM during the rollout, while the new tasks took production traffic',
        alarm: 'checkout-5xx',
        alarmChangedAt: '2025-03-04T10:14:00.123Z',
      }),
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: 'WAIT#ALARM#checkout-5xx', sk: `RELEASE#${V2_RELEASE_ID}` },
      ExpressionAttributeValues: { ':token': 'token-rollout' },
    });
    // The same task's wait on its ECS deployment ends with it.
    expect(ddb.commandCalls(DeleteCommand)[1]?.args[0].input).toMatchObject({
      Key: { pk: 'WAIT#DEPLOYMENT#ecs-svc/1002', sk: 'SOLE' },
    });
  });

  it('resumes nothing for a replayed event whose bake was already resumed', async () => {
    // The first delivery resumed the bake; the replay finds the token used and the watch already gone.
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    ddb
      .on(DeleteCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    await expect(handler(firing, context)).resolves.toEqual({ failedReleases: [] });
  });

  it('resumes nothing, and fails nothing into the dead-letter queue, for a rollback window whose execution a person stopped', async () => {
    // The alarm's event came before the status change's cleared the window's watch: its token is dead.
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          ...watchItem(V2_RELEASE_ID, 'token-window'),
          waitOn: 'rollback-window#checkout-5xx',
          kind: 'rollback-window',
          data: { percent: 100, watchFrom: STARTED },
        },
      ],
    });
    ddb
      .on(GetCommand, { Key: { pk: 'SERVICE#default#checkout', sk: 'STATE' } })
      .resolves({ Item: { service: 'checkout', latestRelease: V2_RELEASE_ID } });
    // "The task token has either expired or the task associated with the token has already been closed."
    sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await expect(handler(firing, context)).resolves.toEqual({ failedReleases: [] });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toMatchObject({
      taskToken: 'token-window',
      error: 'AlarmAfterPromotion',
    });
    // The dead watch is deleted: a later alarm finds nothing to resume.
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: 'WAIT#ALARM#checkout-5xx', sk: `RELEASE#${V2_RELEASE_ID}` },
    });
  });

  it('keeps the watch when resuming the bake fails, so the retried event can resume it', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new Error('socket hang up'));

    await expect(handler(firing, context)).rejects.toThrow('socket hang up');
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('ignores a release that started after the transition (a pre-existing alarm)', async () => {
    ddb
      .on(QueryCommand)
      .resolves({ Items: [watchItem('checkout-later', 'token-later', '2025-03-04T10:20:00.000Z')] });

    await expect(handler(firing, context)).resolves.toEqual({ failedReleases: [] });
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('does not count a bake that already ended', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await expect(handler(firing, context)).resolves.toEqual({ failedReleases: [] });
  });

  it('sends nothing for a transition to OK', async () => {
    const ok = alarmStateChangeEvent('checkout-5xx', 'OK', '2025-03-04T10:20:00.000+0000');

    await expect(handler(ok, context)).resolves.toEqual({ failedReleases: [] });
    expect(ddb.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a malformed event, naming the field, and sends no command', async () => {
    const { alarmName: _name, ...detail } = firing.detail;

    const error = await rejection(handler({ ...firing, detail }, context));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/^alarm-events input is malformed: /);
    expect(error.message).toContain('detail.alarmName');
    expect(ddb.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});
