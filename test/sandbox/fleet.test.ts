import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { checkServiceExpectations } from '../../sandbox/run/service-expectations.ts';
import type { ServiceResult } from '../../sandbox/run/summarise.ts';
import {
  loadScenario,
  parseScenario,
  REPOSITORY_ROOT,
  runScenario,
  ScenarioError,
} from '../../sandbox/run-scenario.ts';

const threeServices = () => loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'three-services.yml'));
const healthy = () => loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'healthy-canary.yml'));

/** Runs a variant of an example and returns the ScenarioError it is refused with. */
const refusal = async (
  example: () => ReturnType<typeof loadScenario>,
  change: (document: Record<string, unknown>) => void,
): Promise<string> => {
  const { scenario, baseDir } = example();
  const document = structuredClone(scenario) as unknown as Record<string, unknown>;
  change(document);
  const error = await runScenario(parseScenario(document), baseDir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScenarioError);
  return (error as Error).message;
};

type World = Record<string, unknown> & { services: Record<string, Record<string, unknown>> };

afterAll(async () => {
  await stopLocalDynamoDb();
});

describe('Sandbox: a world of several services', () => {
  it('refuses a service described both by the shorthand and under world.services', async () => {
    const message = await refusal(threeServices, (d) => {
      (d.world as World).serving = 'c1';
    });
    expect(message).toBe(
      "world.services.checkout: the scenario's service checkout is already described by world.serving (the single-service shorthand); describe it in one place",
    );
  });

  it("refuses a world with no initial state for the scenario's service", async () => {
    const message = await refusal(threeServices, (d) => {
      delete (d.world as World).services.checkout;
    });
    expect(message).toContain("world.serving: the scenario's service checkout has no initial state");
  });

  it('refuses shorthand fields that would be ignored without world.serving', async () => {
    const message = await refusal(threeServices, (d) => {
      (d.world as World).alarms = [{ name: 'x', threshold: 1 }];
    });
    expect(message).toContain('world.alarms: shorthand fields describe the scenario');
  });

  it('refuses a push to a service the world does not hold, naming the event', async () => {
    const message = await refusal(threeServices, (d) => {
      delete (d.world as World).services.search;
    });
    expect(message).toBe(
      'events[1].push.service: service "search" is not in the world (describe it under world.services.search)',
    );
  });

  it('refuses a service of world.services the config does not declare', async () => {
    const message = await refusal(threeServices, (d) => {
      (d.world as World).services.billing = { serving: 'c1' };
    });
    expect(message).toBe('world.services.billing: service "billing" is not declared in the config');
  });

  it('refuses an undeclared serving version, naming the service path', async () => {
    const message = await refusal(threeServices, (d) => {
      ((d.world as World).services.payments as Record<string, unknown>).serving = 'p9';
    });
    expect(message).toBe('world.services.payments.serving: version "p9" is not declared under versions');
  });

  it('refuses split weights that send traffic to an idle slot running nothing', async () => {
    const message = await refusal(healthy, (d) => {
      (d.world as World).weights = { blue: 75, green: 25 };
    });
    expect(message).toBe(
      'world.weights: the idle slot green gets 25% but runs no task; set world.idleServing',
    );
  });

  it('refuses weights that do not add up to 100 when parsing', () => {
    const { scenario } = healthy();
    expect(() =>
      parseScenario({
        ...structuredClone(scenario),
        world: { ...scenario.world, weights: { blue: 75, green: 20 } },
      }),
    ).toThrow(/world\.weights.*add up to 100/);
  });

  it('refuses expectations for a service the world does not hold', async () => {
    const message = await refusal(threeServices, (d) => {
      ((d.expect as Record<string, unknown>).services as Record<string, unknown>).billing = {
        outcome: 'promoted',
      };
    });
    expect(message).toBe('expect.services.billing: service "billing" is not in the world');
  });

  it('plays one image pushed to two services as two deployments: each regresses, is exposed and is detected on its own', async () => {
    // c2 degrades once it has served 12 minutes. checkout serves it from about +1:34 and search, pushed the same
    // digest at +10m, from about +11:34: each service's c2 regresses 12 minutes after its own first request
    // (checkout's during its 25% bake, search's during its own 25% bake, never at 5% from checkout's clock), and
    // each release's exposure counts only the requests its own listener rule sent to c2.
    const { scenario, baseDir } = threeServices();
    const document = structuredClone(scenario) as unknown as Record<string, unknown>;
    const versions = document.versions as Record<string, Record<string, unknown>>;
    versions.c2 = { ...versions.c2, changes: [{ after: '12m', errorRate: 0.06 }] };
    document.events = [
      { at: '20s', push: { service: 'payments', version: 'p2' } },
      { at: '10m', push: { service: 'search', version: 'c2' } },
    ];
    delete document.expect;
    const result = await runScenario(parseScenario(document), baseDir);
    const { checkout, search } = result.services;
    expect(checkout).toMatchObject({ outcome: 'rolled_back', servingVersion: 'c1', toVersion: 'c2' });
    expect(search).toMatchObject({ outcome: 'rolled_back', servingVersion: 's1', toVersion: 'c2' });
    expect(checkout?.reason).toBe('alarm checkout-green-5xx went to ALARM at 25%');
    expect(search?.reason).toBe('alarm search-green-5xx went to ALARM at 25%');
    const firstShift = (service: string) =>
      result.timeline.find((e) => e.kind === 'traffic' && e.service === service)?.t ?? 0;
    // Requests each service's c2 served from its onset until its rule was back on blue: 25% of its own load.
    for (const [service, perMinute] of [
      ['checkout', 6000],
      ['search', 9000],
    ] as const) {
      const own = result.services[service];
      const seconds = (own?.detectionSeconds ?? 0) + (own?.rollbackReactionSeconds ?? 0);
      expect(Math.abs((own?.exposedRequests ?? 0) - (seconds * perMinute * 0.25) / 60)).toBeLessThanOrEqual(
        1,
      );
      const alarmAt = result.timeline.find(
        (e) => e.kind === 'alarm' && e.text === `${service}-green-5xx OK -> ALARM`,
      )?.t;
      // Onset (alarm time less detection): the first minute that starts 12 minutes after the service's own
      // first shift to c2 (traffic is integrated minute by minute).
      const onset = (alarmAt ?? 0) - (own?.detectionSeconds ?? 0);
      expect(onset).toBeGreaterThanOrEqual(firstShift(service) + 12 * 60);
      expect(onset).toBeLessThan(firstShift(service) + 13 * 60);
    }
  });

  it('keeps each release its own on one load balancer: outcome, serving version, weights, notifications and Slack thread', async () => {
    // payments' listener rule is on checkout's load balancer and listener (another rule), in the same cluster,
    // its alarms named with checkout's as a prefix. payments p2 fails once it takes 100%, while checkout is in
    // its rollback window; alice rolls search back from Slack in search's own window, while payments rolls back.
    const { scenario, baseDir } = threeServices();
    const slack = loadScenario(path.join(REPOSITORY_ROOT, 'examples', 'slack-rollback-click.yml')).scenario;
    const document = structuredClone(scenario) as unknown as Record<string, unknown> & {
      config: { services: Record<string, { target: Record<string, unknown> }> } & Record<string, unknown>;
      world: World;
      versions: Record<string, Record<string, unknown>>;
    };
    document.config.slack = {
      channel: 'C0RELEASES',
      botToken: { ssm: '/shipline/slack/bot-token' },
      signingSecret: { secretsManager: 'shipline/slack/signing-secret' },
      allowlist: ['U0ONCALL1'],
    };
    const payments = document.config.services.payments?.target ?? {};
    payments.listenerRuleArn =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-web/50dc6c495c0c9188/f2f7dc8efc522ab2/1111111111111111';
    const slots = payments.slots as Record<'blue' | 'green', { alarms: string[] }>;
    slots.blue.alarms = ['checkout-blue-5xx-payments'];
    slots.green.alarms = ['checkout-green-5xx-payments'];
    (document.world.services.payments as Record<string, unknown>).alarms = [
      { name: 'checkout-blue-5xx-payments', targetGroup: 'blue', threshold: 10, evaluationPeriods: 2 },
      { name: 'checkout-green-5xx-payments', targetGroup: 'green', threshold: 10, evaluationPeriods: 2 },
    ];
    for (const key of ['parameters', 'secrets', 'slack'] as const) document.world[key] = slack.world[key];
    document.versions.p2 = {
      ...document.versions.p2,
      changes: [{ atTrafficPercentAtLeast: 100, errorRate: 0.06 }],
    };
    document.events = [
      { at: '40s', push: { service: 'search', version: 's2' } },
      { at: '10m', push: { service: 'payments', version: 'p2' } },
      { at: '36m', click: { button: 'rollback', user: 'U0ONCALL1', service: 'search' } },
    ];
    delete document.expect;
    const result = await runScenario(parseScenario(document), baseDir);

    const { checkout, search } = result.services;
    const paymentsResult = result.services.payments;
    expect(checkout).toMatchObject({
      outcome: 'promoted',
      servingVersion: 'c2',
      traffic: { 'green (c2)': 100 },
    });
    expect(checkout?.productionWeightChanges).toBe(3);
    expect(paymentsResult).toMatchObject({
      outcome: 'rolled_back',
      reason: 'alarm checkout-green-5xx-payments went to ALARM at 100%',
      servingVersion: 'p1',
      traffic: { 'blue (p1)': 100 },
    });
    expect(search).toMatchObject({
      outcome: 'rolled_back',
      reason: 'aborted by a person: Roll back now pressed in Slack by alice',
      servingVersion: 's1',
    });
    const events = (name: string) => result.services[name]?.notifications.map((n) => n.message.event);
    expect(events('checkout')).toEqual(['started', 'promoted']);
    expect(events('payments')).toEqual(['started', 'rolled_back']);
    expect(events('search')).toEqual(['started', 'promoted', 'rolled_back']);
    for (const [name, own] of Object.entries(result.services))
      for (const notification of own.notifications) {
        expect(notification.message.service).toBe(name);
        expect(notification.subject).toContain(`] ${name}: `);
      }
    // payments' rollback happened inside checkout's rollback window, and left checkout alone.
    const paymentsAlarm = result.timeline.find((e) => e.kind === 'alarm' && e.text.endsWith('OK -> ALARM'));
    expect(paymentsAlarm).toMatchObject({
      service: 'payments',
      text: 'checkout-green-5xx-payments OK -> ALARM',
    });
    const promotedAt = checkout?.notifications[1]?.t ?? Number.POSITIVE_INFINITY;
    expect(paymentsAlarm?.t).toBeGreaterThan(promotedAt);
    expect(paymentsAlarm?.t).toBeLessThan(promotedAt + 15 * 60);
    // One Slack thread per release, each about its own service only.
    const threads = result.slack?.threads ?? [];
    expect(threads.map((thread) => thread.root.split('\n')[0]).sort()).toEqual([
      'checkout c1 → c2',
      'payments p1 → p2',
      'search s1 → s2',
    ]);
    for (const thread of threads) {
      const name = thread.root.split(' ')[0] ?? '';
      const others = ['checkout', 'payments', 'search'].filter((other) => other !== name);
      for (const reply of thread.replies)
        for (const other of others) expect(reply.text).not.toContain(`${other} `);
    }
  });

  it("counts a raw push event for its repository's service: a malformed payments push is payments' rejection", async () => {
    const { scenario, baseDir } = threeServices();
    const document = structuredClone(scenario) as unknown as Record<string, unknown>;
    document.events = [
      {
        at: '20s',
        event: {
          version: '0',
          id: '4f0e8c51-0f6c-4b7e-9a9e-1c2b3d4e5f60',
          'detail-type': 'ECR Image Action',
          source: 'aws.ecr',
          account: '123456789012',
          time: '2026-11-22T10:00:20Z',
          region: 'us-east-1',
          resources: [],
          detail: {
            result: 'SUCCESS',
            'repository-name': 'payments',
            'action-type': 'PUSH',
            'image-tag': 'p2',
          },
        },
      },
    ];
    document.until = '5m';
    delete document.expect;
    const result = await runScenario(parseScenario(document), baseDir);
    expect(result.services.payments).toMatchObject({ outcome: 'rejected', servingVersion: 'p1' });
    expect(result.services.payments?.reason).toContain('image-digest');
    // checkout's own push is still running at the time limit: failed for that reason, not for payments' event.
    expect(result.services.checkout?.reason).toBe(
      "still running when the scenario's time limit (5m) was reached",
    );
    // Nothing was sent to search: its report says so (payments' raw event is not search's either).
    expect(result.services.search).toMatchObject({
      outcome: 'ignored',
      reason: 'nothing was pushed or requested for this service',
    });
    expect(result.triggers.filter((t) => t.status === 'error').map((t) => t.service)).toEqual([
      'payments',
      'payments',
      'payments',
    ]);
    expect(
      result.timeline.find((e) => e.kind === 'event' && e.text.startsWith('ECR Image Action p2'))?.service,
    ).toBe('payments');
  });

  it('says per service which expectation failed', () => {
    const payments: ServiceResult = {
      outcome: 'promoted',
      reason: null,
      fromVersion: 'p1',
      toVersion: 'p2',
      servingVersion: 'p2',
      traffic: { 'green (p2)': 100 },
      listenerRuleActions: ['forward'],
      notifications: [{ t: 0, subject: 's', message: { event: 'started' } }],
      executions: [],
      releases: [],
      detectionSeconds: null,
      exposedRequests: 0,
      productionWeightChanges: 1,
      stateTransitions: 0,
      rollbackReactionSeconds: null,
    };
    expect(
      checkServiceExpectations(
        {
          payments: {
            outcome: 'rolled_back',
            servingVersion: 'p1',
            notifications: ['started', 'rolled_back'],
          },
        },
        { payments },
      ),
    ).toEqual([
      'services.payments.outcome: expected rolled_back, got promoted',
      'services.payments.servingVersion: expected p1, got p2',
      'services.payments.notifications: expected [started, rolled_back], got [started]',
    ]);
  });
});
