import { describe, expect, it } from 'vitest';
import { currentFunction, IamEnforcer } from '../../sandbox/iam/enforce.ts';
import type { PolicyStatement } from '../../sandbox/iam/policies.ts';

const SCOPE = {
  region: 'us-east-1',
  account: '123456789012',
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:release',
};
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:releases';

const enforcer = (statements: PolicyStatement[]) => new IamEnforcer(new Map([['notify', statements]]), SCOPE);

const publish = (iam: IamEnforcer) =>
  currentFunction.run('notify', () =>
    iam.authorize('SNS', 'PublishCommand', { TopicArn: TOPIC, Message: '{}' }),
  );

describe('IamEnforcer decisions', () => {
  it('answers each world from its own role: a decision cached for one role never answers for another', () => {
    const allowing = enforcer([{ Effect: 'Allow', Action: ['sns:Publish'], Resource: [TOPIC] }]);
    expect(() => publish(allowing)).not.toThrow();
    // The same function name in another world, whose role lacks the permission.
    const denying = enforcer([{ Effect: 'Allow', Action: ['sns:ListTopics'], Resource: ['*'] }]);
    expect(() => publish(denying)).toThrow(/not authorized to perform: sns:Publish/);
    // And the first world still allows it.
    expect(() => publish(allowing)).not.toThrow();
  });

  it.each([
    [['sns:Publish'], true],
    [['SNS:publish'], true],
    [['sns:Pub*'], true],
    [['sns:Publis?'], true],
    [['*'], true],
    [['sns:PublishBatch'], false],
    [['sns:Pub'], false],
    [['sqs:Publish'], false],
  ])('matches the action of a statement with actions %j as IAM does: allowed %s', (actions, allowed) => {
    const iam = enforcer([{ Effect: 'Allow', Action: actions, Resource: [TOPIC] }]);
    if (allowed) expect(() => publish(iam)).not.toThrow();
    else expect(() => publish(iam)).toThrow(/not authorized/);
  });

  it('lets a Deny statement with a wildcard action win over an Allow', () => {
    const iam = enforcer([
      { Effect: 'Allow', Action: ['sns:Publish'], Resource: [TOPIC] },
      { Effect: 'Deny', Action: ['sns:*'], Resource: ['*'] },
    ]);
    expect(() => publish(iam)).toThrow(/not authorized/);
  });
});
