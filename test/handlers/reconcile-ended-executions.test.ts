import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, useClock } from '../../lib/clock.ts';
import { fixedClock, STATE_MACHINE_ARN } from '../unit/fixtures.ts';
import {
  HOLDER,
  LOCK_KEY,
  lease,
  NOW,
  PENDING,
  pendingInput,
  pendingWait,
  QUEUE_KEY,
} from './pending-push.ts';
import { lambdaContext, rejection, setHandlerEnvironment } from './support.ts';

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const cloudwatch = mockClient(CloudWatchClient);
const context = lambdaContext('shipline-reconcile-ended-executions');
const ALARM_NAME = 'shipline-dev-executions-aborted';
const ALARM_TOPIC = 'arn:aws:sns:us-east-1:123456789012:shipline-dev-execution-ends';
const executionArn = (name: string) =>
  `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

/**
 * What CloudWatch publishes to SNS for an alarm action, and SNS hands Lambda: the shape of AWS's sample
 * (aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-single-metric.json), with this alarm's values.
 */
const alarmSnsEvent = (newState: 'ALARM' | 'OK', oldState: 'ALARM' | 'OK') => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: `${ALARM_TOPIC}:0b5c1e1e-1d2a-4a7e-9a44-6b1b2f0c3d4e`,
      Sns: {
        Type: 'Notification',
        MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
        TopicArn: ALARM_TOPIC,
        Subject: `${newState}: "${ALARM_NAME}" in US East (N. Virginia)`,
        Message: JSON.stringify({
          AlarmName: ALARM_NAME,
          AlarmDescription: 'A release execution ended ABORTED',
          AWSAccountId: '123456789012',
          AlarmConfigurationUpdatedTimestamp: '2025-03-01T09:00:00.000+0000',
          NewStateValue: newState,
          NewStateReason:
            'Threshold Crossed: 1 out of the last 1 datapoints [1.0 (04/03/25 10:37:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).',
          StateChangeTime: '2025-03-04T10:39:00.123+0000',
          Region: 'US East (N. Virginia)',
          AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${ALARM_NAME}`,
          OldStateValue: oldState,
          OKActions: [ALARM_TOPIC],
          AlarmActions: [ALARM_TOPIC],
          InsufficientDataActions: [],
          Trigger: {
            MetricName: 'ExecutionsAborted',
            Namespace: 'AWS/States',
            StatisticType: 'Statistic',
            Statistic: 'SUM',
            Unit: null,
            Dimensions: [{ value: STATE_MACHINE_ARN, name: 'StateMachineArn' }],
            Period: 60,
            EvaluationPeriods: 1,
            DatapointsToAlarm: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            Threshold: 1.0,
            TreatMissingData: 'notBreaching',
            EvaluateLowSampleCountPercentile: '',
          },
        }),
        Timestamp: '2025-03-04T10:39:00.223Z',
        SignatureVersion: '1',
        Signature: 'EXAMPLE',
        SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem',
        UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${ALARM_TOPIC}`,
        MessageAttributes: {},
      },
    },
  ],
});

let handler: typeof import('../../functions/reconcile-ended-executions.ts')['handler'];

describe('Handler: reconcile-ended-executions', () => {
  let previousClock: Clock;

  beforeAll(async () => {
    setHandlerEnvironment();
    previousClock = useClock(fixedClock(NOW));
    ({ handler } = await import('../../functions/reconcile-ended-executions.ts'));
  });

  afterAll(() => {
    useClock(previousClock);
  });

  beforeEach(() => {
    sfn.reset();
    ddb.reset();
    sns.reset();
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  });

  it("lists each abnormal status' executions of the hour before the alarm's state change on an alarm notification", async () => {
    await expect(handler(alarmSnsEvent('ALARM', 'OK'), context)).resolves.toEqual({
      since: '2025-03-04T09:39:00.123Z',
      executions: [],
      incomplete: [],
    });

    expect(sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input)).toEqual(
      ['ABORTED', 'TIMED_OUT', 'FAILED'].map((statusFilter) => ({
        stateMachineArn: STATE_MACHINE_ARN,
        statusFilter,
        maxResults: 1000,
      })),
    );
    expect(sfn.commandCalls(DescribeExecutionCommand)).toEqual([]);
  });

  it('hands on an execution stopped while its event was lost: its lock released, the push queued behind it started', async () => {
    sfn.on(ListExecutionsCommand, { statusFilter: 'ABORTED' }).resolves({
      executions: [
        {
          executionArn: executionArn(HOLDER),
          stateMachineArn: STATE_MACHINE_ARN,
          name: HOLDER,
          status: 'ABORTED',
          startDate: new Date('2025-03-04T10:00:01Z'),
          stopDate: new Date('2025-03-04T10:37:30Z'),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: executionArn(HOLDER),
      stateMachineArn: STATE_MACHINE_ARN,
      name: HOLDER,
      status: 'ABORTED',
      startDate: new Date('2025-03-04T10:00:01Z'),
      stopDate: new Date('2025-03-04T10:37:30Z'),
      input: JSON.stringify({ service: 'checkout', requestedAt: '2025-03-04T10:00:00Z' }),
    });
    ddb.on(GetCommand, { Key: LOCK_KEY }).resolves(lease('2025-03-04T10:00:00Z'));
    ddb.on(GetCommand, { Key: QUEUE_KEY }).resolves(pendingWait('2025-03-04T10:05:00Z'));
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArn(PENDING), startDate: new Date(0) });

    await expect(handler(alarmSnsEvent('OK', 'ALARM'), context)).resolves.toMatchObject({
      executions: [{ name: HOLDER, status: 'ABORTED', outcome: { released: true, woke: PENDING } }],
    });

    expect(sfn.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: executionArn(HOLDER) },
    ]);
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, name: PENDING, input: pendingInput('2025-03-04T10:05:00Z') },
    ]);
    expect(ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toContainEqual(
      expect.objectContaining({ Key: LOCK_KEY, ExpressionAttributeValues: { ':holder': HOLDER } }),
    );
  });

  it("takes AWS's sample alarm notification verbatim (aws-lambda-go cloudwatch-alarm-sns-payload-single-metric.json)", async () => {
    const sample = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: 'arn:aws:sns:EXAMPLE',
          Sns: {
            Type: 'Notification',
            MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
            TopicArn: 'arn:aws:sns:EXAMPLE',
            Subject: 'TestInvoke',
            Message:
              '{"AlarmName": "EXAMPLE","AlarmDescription": "EXAMPLE","AWSAccountId": "123456789012","NewStateValue": "ALARM","NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).","StateChangeTime": "2015-06-03T17:43:27.123+0000","Region": "EXAMPLE","AlarmArn": "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE","OldStateValue": "INSUFFICIENT_DATA","Trigger": {"MetricName": "NetworkOut","Namespace": "AWS/EC2","StatisticType": "Statistic","Statistic": "AVERAGE","Unit": "Bytes","Dimensions": [{"value": "TestInstance","name": "InstanceId"}],"Period": 60,"EvaluationPeriods": 1,"ComparisonOperator": "GreaterThanThreshold","Threshold": 0.0,"TreatMissingData": "- TreatMissingData:                    missing","EvaluateLowSampleCountPercentile": ""}}',
            Timestamp: '2015-06-03T17:43:27.123Z',
            SignatureVersion: '1',
            Signature: 'EXAMPLE',
            SigningCertUrl: 'EXAMPLE',
            UnsubscribeUrl: 'EXAMPLE',
            MessageAttributes: {},
          },
        },
      ],
    };

    // A state change of 2015: older than any notification Lambda still delivers, so the look-back starts an
    // hour before the oldest one it could (six hours, its maximum event age).
    await expect(handler(sample, context)).resolves.toEqual({
      since: '2025-03-04T03:40:00.000Z',
      executions: [],
      incomplete: [],
    });
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(3);
  });

  it('refuses an alarm notification whose state change time is no time, naming it, and lists nothing', async () => {
    const event = alarmSnsEvent('ALARM', 'OK');
    const [record] = event.Records;
    if (record)
      record.Sns.Message = JSON.stringify({
        ...JSON.parse(record.Sns.Message),
        StateChangeTime: 'yesterday',
      });

    const error = await rejection(handler(event, context));

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('alarm notification 95df01b4-ee98-5cb9-9903-4c221d41eb5e');
    expect(error.message).toContain('StateChangeTime');
    expect(sfn.commandCalls(ListExecutionsCommand)).toEqual([]);
  });

  it('refuses a message that is no alarm notification, naming it, and lists nothing', async () => {
    const event = alarmSnsEvent('ALARM', 'OK');
    const [record] = event.Records;
    if (record) record.Sns.Message = 'not json';

    const error = await rejection(handler(event, context));

    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toBe(
      `SNS record 0 (message 95df01b4-ee98-5cb9-9903-4c221d41eb5e from ${ALARM_TOPIC}) is not JSON: not a CloudWatch alarm notification`,
    );
    expect(sfn.commandCalls(ListExecutionsCommand)).toEqual([]);
  });
});
