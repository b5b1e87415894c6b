import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it, vi } from 'vitest';
import { currentFunction, IamEnforcer } from '../../sandbox/iam/enforce.ts';
import type { PolicyStatement } from '../../sandbox/iam/policies.ts';

// The real evaluator, counted: a later world's same question of the same statements is not evaluated again.
vi.mock('@cloud-copilot/iam-simulate', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@cloud-copilot/iam-simulate')>();
  return { ...actual, runUnsafeSimulation: vi.fn(actual.runUnsafeSimulation) };
});

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

  it('evaluates a question once per process: a later world with the same statements reuses the decision', () => {
    const statements: PolicyStatement[] = [
      {
        Effect: 'Allow',
        Action: ['sns:Publish'],
        Resource: ['arn:aws:sns:us-east-1:123456789012:shared-decisions'],
      },
    ];
    const sharedTopic = 'arn:aws:sns:us-east-1:123456789012:shared-decisions';
    const send = (iam: IamEnforcer) =>
      currentFunction.run('notify', () =>
        iam.authorize('SNS', 'PublishCommand', { TopicArn: sharedTopic, Message: '{}' }),
      );
    const evaluations = vi.mocked(runUnsafeSimulation);
    const before = evaluations.mock.calls.length;
    expect(() => send(enforcer(statements))).not.toThrow();
    expect(() => send(enforcer(structuredClone(statements)))).not.toThrow();
    expect(evaluations.mock.calls.length - before).toBe(1);
    // A statement that differs in anything (here its effect) is another question, evaluated and denied.
    expect(() => send(enforcer([{ ...structuredClone(statements[0]!), Effect: 'Deny' }]))).toThrow(
      /not authorized/,
    );
    expect(evaluations.mock.calls.length - before).toBe(2);
  });

  it("shares a decision across runs' own tables only where the rename cannot change it", () => {
    const tableArn = (name: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/${name}`;
    const run = (table: string, statements: PolicyStatement[]) =>
      new IamEnforcer(new Map([['notify', statements]]), { ...SCOPE, tableName: table });
    const get = (iam: IamEnforcer, table: string) =>
      currentFunction.run('notify', () => iam.authorize('DynamoDB', 'GetItemCommand', { TableName: table }));
    const own = (table: string): PolicyStatement[] => [
      { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: [tableArn(table)] },
    ];
    const evaluations = vi.mocked(runUnsafeSimulation);
    const before = evaluations.mock.calls.length;
    expect(() => get(run('decisions-run-1', own('decisions-run-1')), 'decisions-run-1')).not.toThrow();
    expect(() => get(run('decisions-run-2', own('decisions-run-2')), 'decisions-run-2')).not.toThrow();
    expect(evaluations.mock.calls.length - before).toBe(1);
    // A role naming another run's table: its statement applies to nothing here, and the call is denied.
    expect(() => get(run('decisions-run-3', own('decisions-run-1')), 'decisions-run-3')).toThrow(
      /not authorized/,
    );
    // A pattern could match the run's name and not the renamed one: evaluated with the real names.
    const pattern: PolicyStatement[] = [
      { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: [tableArn('decisions-run-1*')] },
    ];
    expect(() => get(run('decisions-run-10', pattern), 'decisions-run-10')).not.toThrow();
    expect(() => get(run('decisions-run-20', pattern), 'decisions-run-20')).toThrow(/not authorized/);
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
