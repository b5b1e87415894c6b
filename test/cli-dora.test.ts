import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/shipline.ts';
import { type Clock, useClock } from '../lib/clock.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const TABLE = 'shipline-dev-ReleaseTable-1ABC';
const NOW = '2026-12-01T00:00:00.000Z';

/** An ended release as the history index holds it (keys included). */
const ended = (service: string, releaseId: string, fields: Record<string, unknown>) => ({
  pk: `SERVICE#default#${service}`,
  sk: `RELEASE#${String(fields.requestedAt)}#${releaseId}`,
  endedIn: 'ENDED#default',
  endedOrder: `${String(fields.endedAt)}#${releaseId}`,
  service,
  environment: 'default',
  releaseId,
  ...fields,
});

// checkout: promoted (lead 2h30m, OCI label), rolled back at 5% (recovered in 90 s), a fix 2 h 40 min
// later (rework, lead 40m from the push), a superseded release (no deployment).
const A = ended('checkout', 'checkout-a', {
  requestedAt: '2026-11-02T10:00:00.000Z',
  status: 'promoted',
  fromVersion: 'v1',
  toVersion: 'v2',
  peakPercent: 100,
  promotedAt: '2026-11-02T10:30:00.000Z',
  endedAt: '2026-11-02T10:30:00.000Z',
  changeTime: { at: '2026-11-02T08:00:00.000Z', source: 'oci-label' },
});
const B = ended('checkout', 'checkout-b', {
  requestedAt: '2026-11-05T09:00:00.000Z',
  status: 'rolled_back',
  fromVersion: 'v2',
  toVersion: 'v3',
  peakPercent: 5,
  rollbackStartedAt: '2026-11-05T09:20:00.000Z',
  endedAt: '2026-11-05T09:21:30.000Z',
  reason: 'alarm checkout-5xx went to ALARM at 5%',
});
const C = ended('checkout', 'checkout-c', {
  requestedAt: '2026-11-05T12:00:00.000Z',
  status: 'promoted',
  fromVersion: 'v2',
  toVersion: 'v4',
  peakPercent: 100,
  promotedAt: '2026-11-05T12:40:00.000Z',
  endedAt: '2026-11-05T12:40:00.000Z',
  changeTime: { at: '2026-11-05T12:00:00.000Z', source: 'push' },
});
const D = ended('checkout', 'checkout-d', {
  requestedAt: '2026-11-06T09:00:00.000Z',
  status: 'superseded',
  toVersion: 'v5',
  endedAt: '2026-11-06T09:01:00.000Z',
});
// payments: one promotion, 3 days after its commit (deploy request).
const P = ended('payments', 'payments-a', {
  requestedAt: '2026-11-20T09:00:00.000Z',
  status: 'promoted',
  fromVersion: 'p1',
  toVersion: 'p2',
  peakPercent: 100,
  promotedAt: '2026-11-20T10:00:00.000Z',
  endedAt: '2026-11-20T10:00:00.000Z',
  changeTime: { at: '2026-11-17T10:00:00.000Z', source: 'deploy-request' },
});

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: { AWS_REGION: 'eu-west-1', SHIPLINE_TABLE: TABLE, ...env },
    sleep: async () => undefined,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
};

let previousClock: Clock;

describe('CLI: shipline dora', () => {
  beforeAll(() => {
    previousClock = useClock({ now: () => new Date(NOW) });
  });
  afterAll(() => {
    useClock(previousClock);
  });
  beforeEach(() => {
    ddb.reset();
    // Two pages, newest end first, as the HistoryByEndTime index answers.
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [P, D, C], LastEvaluatedKey: { pk: C.pk, sk: C.sk } })
      .resolvesOnce({ Items: [B, A] });
  });

  it("prints each service's five figures with their DORA band, reading every page of the period", async () => {
    const { code, stdout, stderr } = await cli(['dora']);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'DORA software delivery performance, the last 30d (2026-11-01 to 2026-12-01), environment default',
        '',
        'checkout: 3 deployments',
        '  Deployment frequency            0.7 per week (0.1 per day)                    medium',
        '  Change lead time                1h35m median of 2 (from 1 OCI label, 1 push)  elite',
        '  Change fail rate                33.3% (1 of 3)                                low',
        '  Failed deployment recovery time 1m30s median of 1                             elite',
        '  Deployment rework rate          33.3% (1 of 3)                                no band: DORA publishes none',
        '',
        'payments: 1 deployment',
        '  Deployment frequency            0.23 per week (0.03 per day)            medium',
        '  Change lead time                3d median of 1 (from 1 deploy request)  high',
        '  Change fail rate                0% (0 of 1)                             elite',
        '  Failed deployment recovery time no failed deployment                    no band (nothing to measure)',
        '  Deployment rework rate          0% (0 of 1)                             no band: DORA publishes none',
        '',
        `Bands: DORA's 2024 performance clusters (elite, high, medium, low); how each figure is measured: README, "DORA metrics".`,
        '',
      ].join('\n'),
    );
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries[0]).toEqual({
      TableName: TABLE,
      IndexName: 'HistoryByEndTime',
      KeyConditionExpression: 'endedIn = :environment AND endedOrder BETWEEN :from AND :to',
      // 30 days, and the week before them as context.
      ExpressionAttributeValues: {
        ':environment': 'ENDED#default',
        ':from': '2026-10-25T00:00:00.000Z#',
        ':to': `${NOW}#\uffff`,
      },
      ScanIndexForward: false,
      Limit: 100,
    });
    expect(queries[1]?.ExclusiveStartKey).toEqual({ pk: C.pk, sk: C.sk });
  });

  it('gives the figures of one service as JSON', async () => {
    const { code, stdout } = await cli(['dora', 'checkout', '--since', '30d', '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      environment: 'default',
      table: TABLE,
      region: 'eu-west-1',
      period: { from: '2026-11-01T00:00:00.000Z', to: NOW, days: 30 },
      services: {
        checkout: {
          deployments: 3,
          deploymentFrequency: { perDay: 0.1, band: 'medium' },
          changeLeadTime: { medianSeconds: 5700, samples: 2, band: 'elite' },
          changeFailRate: { failedDeployments: 1, rate: 1 / 3, band: 'low' },
          failedDeploymentRecoveryTime: { medianSeconds: 90, samples: 1, notRecovered: 0, band: 'elite' },
          deploymentReworkRate: { reworkDeployments: 1, rate: 1 / 3, band: null },
        },
      },
    });
    expect(Object.keys(report.services as object)).toEqual(['checkout']);
  });

  it('exits 2 saying so when no release ended in the period', async () => {
    ddb.reset();
    ddb.on(QueryCommand).resolves({ Items: [] });

    const { code, stdout, stderr } = await cli(['dora', 'checkout', '--since', '2w']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `shipline: no release of checkout ended in the last 14d (2026-11-17 to 2026-12-01) in table ${TABLE} (eu-west-1): nothing to measure; try a longer --since\n`,
    );
  });

  it('refuses a period it cannot read, naming the forms it takes', async () => {
    const { code, stderr } = await cli(['dora', '--since', 'last month']);

    expect(code).toBe(2);
    expect(stderr).toContain('--since must be a period such as 30d, 2w, 12h or 90m, got "last month"');
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});
