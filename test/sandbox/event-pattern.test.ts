import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lib/config/index.ts';
import { matchesEventPattern } from '../../sandbox/eventbridge/pattern.ts';
import { readServerlessDocument, resolveEventPatterns } from '../../sandbox/iam/policies.ts';
import { REPOSITORY_ROOT } from '../../sandbox/run-scenario.ts';

/** Patterns and events from the EventBridge user guide (event patterns, content filtering). */
describe('Function: matchesEventPattern', () => {
  const ec2 = {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '111122223333',
    time: '2017-12-22T18:43:48Z',
    region: 'us-west-1',
    resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    detail: {
      'instance-id': 'i-1234567890abcdef0',
      state: 'terminated',
      'c-count': 5,
      'source-ip': '10.0.0.255',
    },
  };

  it.each<[string, Record<string, unknown>, boolean]>([
    ['exact values, fields ANDed', { source: ['aws.ec2'], detail: { state: ['terminated'] } }, true],
    ['one of several values (OR)', { detail: { state: ['running', 'terminated'] } }, true],
    ['a value that differs', { detail: { state: ['running'] } }, false],
    ['a field the event lacks', { detail: { missing: ['x'] } }, false],
    [
      'an element of the resources array',
      { resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0', 'other'] },
      true,
    ],
    ['prefix', { time: [{ prefix: '2017-12-22' }] }, true],
    ['prefix that does not match', { time: [{ prefix: '2018' }] }, false],
    ['prefix ignoring case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.EC' } }] }, true],
    ['suffix', { 'detail-type': [{ suffix: 'Notification' }] }, true],
    ['suffix ignoring case', { 'detail-type': [{ suffix: { 'equals-ignore-case': 'NOTIFICATION' } }] }, true],
    ['equals-ignore-case', { detail: { state: [{ 'equals-ignore-case': 'TERMINATED' }] } }, true],
    ['wildcard', { resources: [{ wildcard: 'arn:aws:ec2:*:123456789012:instance/*' }] }, true],
    ['wildcard that does not match', { resources: [{ wildcard: 'arn:aws:ecs:*' }] }, false],
    ['anything-but a value', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
    ['anything-but the value itself', { detail: { state: [{ 'anything-but': 'terminated' }] } }, false],
    ['anything-but a list', { detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } }, false],
    ['anything-but a number', { detail: { 'c-count': [{ 'anything-but': 123 }] } }, true],
    ['anything-but a prefix', { detail: { state: [{ 'anything-but': { prefix: 'term' } }] } }, false],
    ['anything-but a suffix', { detail: { state: [{ 'anything-but': { suffix: '.png' } }] } }, true],
    [
      'anything-but ignoring case',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['TERMINATED'] } }] } },
      false,
    ],
    ['anything-but a wildcard', { detail: { state: [{ 'anything-but': { wildcard: '*min*' } }] } }, false],
    ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['numeric range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, true],
    ['numeric range excluding the value', { detail: { 'c-count': [{ numeric: ['<', 5] }] } }, false],
    ['numeric equals', { detail: { 'c-count': [{ numeric: ['=', 5] }] } }, true],
    ['numeric on a string', { detail: { state: [{ numeric: ['>', 0] }] } }, false],
    ['cidr', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, true],
    ['cidr outside the block', { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }, false],
    ['exists true', { detail: { state: [{ exists: true }] } }, true],
    ['exists false on a present field', { detail: { state: [{ exists: false }] } }, false],
    ['exists false on a missing field', { detail: { 'c-count-missing': [{ exists: false }] } }, true],
    ['exists true on a missing field', { detail: { 'c-count-missing': [{ exists: true }] } }, false],
    [
      '$or of two sub-patterns',
      { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { state: ['terminated'] }] } },
      true,
    ],
    [
      '$or where none matches',
      { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { state: ['running'] }] } },
      false,
    ],
    [
      '$or at the top level, ANDed with a field',
      { source: ['aws.ec2'], $or: [{ region: ['us-east-1'] }, { account: ['111122223333'] }] },
      true,
    ],
    ['a nested object pattern on a scalar', { source: { name: ['aws.ec2'] } }, false],
  ])('%s', (_, pattern, expected) => {
    expect(matchesEventPattern(pattern, ec2)).toBe(expected);
  });

  it('matches null and the empty string as values', () => {
    const event = { detail: { lastName: '', middleName: null } };
    expect(matchesEventPattern({ detail: { lastName: [''] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { middleName: [null] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { lastName: [null] } }, event)).toBe(false);
    expect(matchesEventPattern({ detail: { middleName: [''] } }, event)).toBe(false);
  });

  it('matches a nested pattern against an array of objects in the event', () => {
    const event = { detail: { items: [{ kind: 'a' }, { kind: 'b' }] } };
    expect(matchesEventPattern({ detail: { items: { kind: ['b'] } } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { items: { kind: ['c'] } } }, event)).toBe(false);
  });

  it('treats an escaped star in a wildcard as a literal star', () => {
    expect(matchesEventPattern({ f: [{ wildcard: 'a\\*b' }] }, { f: 'a*b' })).toBe(true);
    expect(matchesEventPattern({ f: [{ wildcard: 'a\\*b' }] }, { f: 'axb' })).toBe(false);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a leaf that is not an array', { source: 'aws.ec2' }],
    ['an unknown operator', { source: [{ contains: 'ec2' }] }],
    ['an empty array', { source: [] }],
    ['a malformed numeric', { detail: { n: [{ numeric: ['>>', 1] }] } }],
    ['a malformed cidr', { ip: [{ cidr: '10.0.0.0/40' }] }],
    ['$or with one alternative', { $or: [{ source: ['a'] }] }],
  ])('refuses %s with InvalidEventPatternException, even after a field that does not match', (_, pattern) => {
    expect(() => matchesEventPattern({ region: ['nowhere'], ...pattern }, ec2)).toThrow(
      expect.objectContaining({ name: 'InvalidEventPatternException' }),
    );
  });
});

describe('The deployed EventBridge rules, resolved from shipline.yml', () => {
  const patterns = resolveEventPatterns(readServerlessDocument(REPOSITORY_ROOT), {
    region: 'us-east-1',
    account: '123456789012',
    tableName: 'shipline-sandbox-releases',
    topicArn: 'arn:aws:sns:us-east-1:123456789012:shipline',
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:shipline-sandbox-release',
    config: loadConfigFile(path.join(REPOSITORY_ROOT, 'shipline.yml')),
  });
  const invoked = (event: Record<string, unknown>): string[] =>
    [...patterns].filter(([, list]) => list.some((p) => matchesEventPattern(p, event))).map(([key]) => key);
  const ecr = (repository: string) => ({
    source: 'aws.ecr',
    'detail-type': 'ECR Image Action',
    resources: [],
    detail: { 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': repository },
  });
  const ecs = (serviceArn: string) => ({
    source: 'aws.ecs',
    'detail-type': 'ECS Deployment State Change',
    resources: [serviceArn],
    detail: { eventName: 'SERVICE_DEPLOYMENT_COMPLETED' },
  });
  const alarm = (alarmName: string) => ({
    source: 'aws.cloudwatch',
    'detail-type': 'CloudWatch Alarm State Change',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: { alarmName, state: { value: 'ALARM' } },
  });

  it('invokes the trigger only for a push to a repository shipline.yml releases', () => {
    expect(invoked(ecr('checkout'))).toEqual(['trigger']);
    expect(invoked(ecr('payments'))).toEqual([]);
  });

  it("invokes the ECS function only for the declared services' slots", () => {
    expect(invoked(ecs('arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-green'))).toEqual([
      'ecsDeploymentEvents',
    ]);
    expect(invoked(ecs('arn:aws:ecs:us-east-1:123456789012:service/prod/payments'))).toEqual([]);
    expect(invoked(ecs('arn:aws:ecs:us-east-1:123456789012:service/staging/checkout-green'))).toEqual([]);
  });

  it('invokes the alarm function only for a watched alarm', () => {
    expect(invoked(alarm('checkout-green-5xx'))).toEqual(['alarmEvents']);
    expect(invoked(alarm('checkout-latency-p99'))).toEqual(['alarmEvents']);
    expect(invoked(alarm('payments-5xx'))).toEqual([]);
  });
});
