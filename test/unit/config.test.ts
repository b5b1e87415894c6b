import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  configJsonSchema,
  findService,
  formatIssuePath,
  loadBundledConfig,
  parseConfig,
  parseConfigText,
  serviceConfig,
  serviceForRepository,
} from '../../lib/config/load.ts';
import { MAX_CHECK_SECONDS } from '../../lib/config/schema.ts';
import { ConfigError, UnknownServiceError } from '../../lib/errors.ts';
import { BLUE_TG, configText, GREEN_TG, LISTENER_RULE_ARN } from './fixtures.ts';

/** The issues a config text fails with (the test fails if it parses), with their paths located in the file. */
const locatedIssuesOf = (text: string): readonly string[] => {
  try {
    parseConfigText(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the config to be invalid');
};

/** The issues a config text fails with, by path only (without `shipline.yml:line:col`). */
const issuesOf = (text: string): readonly string[] =>
  locatedIssuesOf(text).map((issue) => issue.replace(/^shipline\.yml:\d+:\d+ /, ''));

const minimalService = `
    image:
      repository: checkout
    target:
      type: ecs-alb
      cluster: prod
      container: app
      listenerRuleArn: ${LISTENER_RULE_ARN}
      slots:
        blue: { service: checkout-blue, targetGroupArn: ${BLUE_TG} }
        green: { service: checkout-green, targetGroupArn: ${GREEN_TG} }
    strategy:
      type: canary
      steps: [10, 100]
      bake: 5m
    watchAlarms: false
`;

describe('Function: parseConfigText', () => {
  it("parses the repository's shipline.yml with defaults applied", () => {
    const config = parseConfigText(configText());

    expect(config).toEqual({
      version: 1,
      services: {
        checkout: {
          image: { repository: 'checkout' },
          target: {
            type: 'ecs-alb',
            cluster: 'prod',
            container: 'app',
            listenerRuleArn: LISTENER_RULE_ARN,
            slots: {
              blue: { service: 'checkout-blue', targetGroupArn: BLUE_TG, alarms: ['checkout-blue-5xx'] },
              green: { service: 'checkout-green', targetGroupArn: GREEN_TG, alarms: ['checkout-green-5xx'] },
            },
            taskRoleArns: ['arn:aws:iam::123456789012:role/checkout-execution'],
            scaleDownDelay: 900,
            rollbackWindow: 900,
            steadyTimeout: 1200,
          },
          alarms: ['checkout-latency-p99'],
          strategy: {
            type: 'canary',
            steps: [
              { percent: 5, bakeSeconds: 600 },
              { percent: 25, bakeSeconds: 600 },
              { percent: 100, bakeSeconds: 600 },
            ],
            bake: 600,
            checks: [],
          },
          inconclusive: 'fail',
          watchAlarms: true,
          notify: {},
        },
      },
    });
  });

  it('fills every default of a minimal service, durations in seconds', () => {
    const config = parseConfigText(`services:\n  checkout:${minimalService}`);

    expect(config.version).toBe(1);
    const checkout = config.services.checkout;
    expect(checkout?.target).toMatchObject({
      type: 'ecs-alb',
      scaleDownDelay: 900,
      rollbackWindow: 900,
      steadyTimeout: 1200,
      slots: { blue: { alarms: [] }, green: { alarms: [] } },
    });
    expect(checkout?.alarms).toEqual([]);
    expect(checkout?.watchAlarms).toBe(false);
    expect(checkout?.notify).toEqual({});
    expect(checkout?.inconclusive).toBe('fail');
    expect(checkout).not.toHaveProperty('inconclusivePauseTimeout');
    expect(checkout?.strategy.checks).toEqual([]);
  });

  it("normalises canary steps to { percent, bakeSeconds }: a step's own bake, else the strategy's", () => {
    const config = parseConfigText(
      configText().replace('steps: [5, 25, 100]', 'steps: [5, { percent: 50, bake: 30m }, { percent: 100 }]'),
    );

    expect(config.services.checkout?.strategy).toMatchObject({
      type: 'canary',
      bake: 600,
      steps: [
        { percent: 5, bakeSeconds: 600 },
        { percent: 50, bakeSeconds: 1800 },
        { percent: 100, bakeSeconds: 600 },
      ],
    });
  });

  it('names the step that does not increase', () => {
    const text = configText().replace('steps: [5, 25, 100]', 'steps: [5, 25, 25, 100]');

    expect(issuesOf(text)).toEqual([
      'services.checkout.strategy.steps[2]: steps must increase: 25 follows 25',
    ]);
  });

  it('names a decreasing step by its index', () => {
    const text = configText().replace('steps: [5, 25, 100]', 'steps: [50, 25, 100]');

    expect(issuesOf(text)).toEqual([
      'services.checkout.strategy.steps[1]: steps must increase: 25 follows 50',
    ]);
  });

  it('requires the last step to be 100', () => {
    const text = configText().replace('steps: [5, 25, 100]', 'steps: [5, 25, 50]');

    expect(issuesOf(text)).toEqual(['services.checkout.strategy.steps: the last step must be 100']);
  });

  it('says an empty file or one of comments only is empty, not of the wrong type', () => {
    for (const text of ['', '   \n\t\n', '# services come later\n', '---\n', '--- # soon\n...\n'])
      expect(() => parseConfigText(text, 'shipline.yml')).toThrow(
        'shipline.yml is empty: a config is a mapping with at least `services` (see shipline.yml)',
      );
    // A value that is no mapping is still refused by the schema, naming its type.
    expect(() => parseConfigText('services\n', 'shipline.yml')).toThrow(/expected object/);
  });

  it('says a file that holds null (`null`, `~`) is of the wrong type, not empty', () => {
    for (const text of ['null\n', '~\n', '--- null\n'])
      expect(issuesOf(text)).toEqual(['(root): Invalid input: expected object, received null']);
  });

  it('reads a config written as JSON (JSON is YAML) as the same config', () => {
    const json = JSON.stringify(parseYaml(configText()), null, 2);
    expect(parseConfigText(json, 'shipline.json')).toEqual(parseConfigText(configText()));
  });

  it('rejects a step that bakes 0s, naming it', () => {
    const text = configText().replace('steps: [5, 25, 100]', 'steps: [5, { percent: 25, bake: 0s }, 100]');

    expect(issuesOf(text)).toEqual([
      'services.checkout.strategy.steps[1]: a canary step must bake at least 1s',
    ]);
  });

  it('rejects a listenerRuleArn that is not an ELB ARN', () => {
    const text = configText().replace(/listenerRuleArn: .*/, 'listenerRuleArn: prod-web-rule');

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.listenerRuleArn: expected a listener-rule ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>), got "prod-web-rule"',
    ]);
  });

  it('rejects a target group ARN of another service', () => {
    const text = configText().replace(
      BLUE_TG,
      'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-blue',
    );

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.slots.blue.targetGroupArn: expected a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>), got an ecs ARN',
    ]);
  });

  it('accepts the ECR registry a service releases from (image.registry)', () => {
    const config = parseConfigText(
      `services:\n  checkout:${minimalService.replace(
        '      repository: checkout',
        '      repository: checkout\n      registry: { account: "210987654321", region: eu-west-1 }',
      )}`,
    );

    expect(config.services.checkout?.image.registry).toEqual({
      account: '210987654321',
      region: 'eu-west-1',
    });
  });

  it('rejects a registry with a malformed account or region, naming the field', () => {
    const text = `services:\n  checkout:${minimalService.replace(
      '      repository: checkout',
      '      repository: checkout\n      registry: { account: "2109", region: Europe }',
    )}`;

    expect(issuesOf(text)).toEqual([
      'services.checkout.image.registry.account: expected a 12-digit account id',
      'services.checkout.image.registry.region: expected an AWS region such as us-east-1',
    ]);
  });

  it('rejects an unknown key in a service (strict)', () => {
    const text = configText().replace('    strategy:', '    strategi: canary\n    strategy:');

    expect(issuesOf(text)).toEqual(['services.checkout: Unrecognized key: "strategi"']);
  });

  it('rejects an unknown key in the target (strict)', () => {
    const text = configText().replace('      cluster: prod', '      cluster: prod\n      region: eu-west-1');

    expect(issuesOf(text)).toEqual(['services.checkout.target: Unrecognized key: "region"']);
  });

  it('rejects an unknown top-level key (strict)', () => {
    expect(issuesOf(`${configText()}\nextra: true\n`)).toEqual(['(root): Unrecognized key: "extra"']);
  });

  it('rejects two services released by one repository', () => {
    const text = `services:\n  checkout:${minimalService}  checkout-eu:${minimalService
      .replace(LISTENER_RULE_ARN, LISTENER_RULE_ARN.replace(/[0-9a-f]{4}$/, 'beef'))
      .replace(/checkout-blue/g, 'checkout-eu-blue')
      .replace(/checkout-green/g, 'checkout-eu-green')}`;

    expect(issuesOf(text)).toEqual([
      'services.checkout-eu.image.repository: repository "checkout" already releases service "checkout"',
    ]);
  });

  it('rejects two services on one listener rule, target group or ECS service: each release would move the other', () => {
    const other = minimalService.replace('repository: checkout', 'repository: payments');
    const text = `services:\n  checkout:${minimalService}  payments:${other.replace(/service: checkout-(blue|green)/g, 'service: payments-$1')}`;

    expect(issuesOf(text)).toEqual([
      `services.payments.target.listenerRuleArn: listener rule ${LISTENER_RULE_ARN} already routes service "checkout": each service needs its own (a release moves its rule's weights)`,
      `services.payments.target.slots.blue.targetGroupArn: target group ${BLUE_TG} already serves service "checkout" (slots.blue): each service needs its own`,
      `services.payments.target.slots.green.targetGroupArn: target group ${GREEN_TG} already serves service "checkout" (slots.green): each service needs its own`,
    ]);
    const sameEcsService = `services:\n  checkout:${minimalService}  payments:${other
      .replace(LISTENER_RULE_ARN, LISTENER_RULE_ARN.replace(/[0-9a-f]{4}$/, 'beef'))
      .replace(BLUE_TG, BLUE_TG.replace(/[0-9a-f]{4}$/, 'beef'))
      .replace(GREEN_TG, GREEN_TG.replace(/[0-9a-f]{4}$/, 'beef'))}`;
    expect(issuesOf(sameEcsService)).toEqual([
      'services.payments.target.slots.blue.service: ECS service checkout-blue of cluster prod already runs service "checkout" (slots.blue): each service needs its own',
      'services.payments.target.slots.green.service: ECS service checkout-green of cluster prod already runs service "checkout" (slots.green): each service needs its own',
    ]);
  });

  it('rejects blue and green on the same ECS service', () => {
    const text = configText().replace('service: checkout-green', 'service: checkout-blue');

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.slots: blue and green must be different ECS services in different target groups',
    ]);
  });

  it('rejects a duration it cannot read', () => {
    const text = configText().replace('scaleDownDelay: 15m', 'scaleDownDelay: a while');

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.scaleDownDelay: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "a while"',
    ]);
  });

  it('reads the rollback window in seconds, which defaults to the scale-down delay (at least 1s)', () => {
    expect(parseConfigText(configText(), 'shipline.yml').services.checkout?.target.rollbackWindow).toBe(900);
    const text = configText().replace(
      'scaleDownDelay: 15m',
      'scaleDownDelay: 15m\n      rollbackWindow: 30m',
    );
    expect(parseConfigText(text, 'shipline.yml').services.checkout?.target.rollbackWindow).toBe(1800);
    expect(
      parseConfigText(configText().replace('scaleDownDelay: 15m', 'scaleDownDelay: 0s')).services.checkout
        ?.target,
    ).toMatchObject({ scaleDownDelay: 0, rollbackWindow: 1 });
    expect(
      issuesOf(configText().replace('scaleDownDelay: 15m', 'scaleDownDelay: 15m\n      rollbackWindow: 0s')),
    ).toEqual(['services.checkout.target.rollbackWindow: the rollback window must be at least 1s']);
  });

  it('rejects a config that declares no service', () => {
    expect(issuesOf('services: {}\n')).toEqual(['services: declare at least one service']);
  });

  it('reports invalid YAML as a ConfigError naming the source, with no issues', () => {
    const parse = () => parseConfigText('services:\n  checkout: [\n', 'config/shipline.yml');

    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/^config\/shipline\.yml is not valid YAML: /);
    try {
      parse();
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([]);
      expect((error as ConfigError).name).toBe('ConfigError');
    }
  });

  it('puts every issue in the message, one per line, under the source name', () => {
    const text = configText()
      .replace('steps: [5, 25, 100]', 'steps: [5, 25, 50]')
      .replace(/listenerRuleArn: .*/, 'listenerRuleArn: nope');

    expect(() => parseConfigText(text, 'my.yml')).toThrow(
      'my.yml is invalid:\n' +
        '  my.yml:13:24 services.checkout.target.listenerRuleArn: expected a listener-rule ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>), got "nope"\n' +
        '  my.yml:30:14 services.checkout.strategy.steps: the last step must be 100',
    );
  });
});

describe('Function: parseConfig', () => {
  it('reports a missing document at the root', () => {
    expect(() => parseConfig(null)).toThrow(/^shipline\.yml is invalid:\n {2}\(root\): /);
  });
});

describe('Function: loadBundledConfig', () => {
  const tempDirs: string[] = [];
  afterAll(() => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  const writeTemp = (name: string, text: string): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipline-config-'));
    tempDirs.push(dir);
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('loads the packaged JSON config once per path', () => {
    const config = parseConfigText(configText());
    const file = writeTemp('shipline.json', JSON.stringify(config));

    const loaded = loadBundledConfig(file);
    writeFileSync(file, '{}');

    expect(loaded).toEqual(config);
    expect(loadBundledConfig(file)).toBe(loaded);
  });

  it('rejects a file that is not JSON, naming it', () => {
    const file = writeTemp('shipline.yml', configText());

    expect(() => loadBundledConfig(file)).toThrow(ConfigError);
    expect(() => loadBundledConfig(file)).toThrow(`cannot read the packaged config ${file}: `);
  });

  it('rejects a packaged config whose durations are not seconds (packaged by an older Shipline)', () => {
    const config = parseYaml(configText()) as { services: Record<string, unknown> };
    const file = writeTemp('stale.json', JSON.stringify({ version: 1, ...config }));

    expect(() => loadBundledConfig(file)).toThrow(
      `${file} holds service checkout without its durations in seconds (packaged by an older Shipline); run the package step again`,
    );
  });

  it('rejects JSON that is not a packaged config', () => {
    const file = writeTemp('other.json', '{"services": {}}');

    expect(() => loadBundledConfig(file)).toThrow(
      `${file} is not a packaged Shipline config (version 1 with services); run the package step again`,
    );
  });
});

describe('Function: formatIssuePath', () => {
  it('renders keys with dots and indexes in brackets', () => {
    expect(formatIssuePath(['services', 'checkout', 'strategy', 'steps', 2])).toBe(
      'services.checkout.strategy.steps[2]',
    );
    expect(formatIssuePath([])).toBe('');
  });
});

describe('Function: serviceConfig', () => {
  it('returns a declared service and names the declared ones for an unknown one', () => {
    const config = parseConfigText(configText());

    expect(serviceConfig(config, 'checkout').image.repository).toBe('checkout');
    expect(() => serviceConfig(config, 'payments')).toThrow(UnknownServiceError);
    expect(() => serviceConfig(config, 'payments')).toThrow(
      'service "payments" is not declared in shipline.yml (declared: checkout)',
    );
  });
});

describe('Function: serviceForRepository', () => {
  it('maps a repository to the service it releases, and an unknown one to undefined', () => {
    const config = parseConfigText(configText());

    expect(serviceForRepository(config, 'checkout')?.name).toBe('checkout');
    expect(serviceForRepository(config, 'payments')).toBeUndefined();
  });
});

describe('Function: configJsonSchema', () => {
  it('returns an object schema that declares services', () => {
    const schema = configJsonSchema();

    expect(schema.type).toBe('object');
    expect(schema.properties).toHaveProperty('services');
    expect(schema.required).toEqual(['services']);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});

describe('Config hardening', () => {
  const withService = (name: string) => `services:\n  ${name}:${minimalService}`;

  it('looks services up by own property only', () => {
    const config = parseConfigText(configText());

    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(() => serviceConfig(config, name)).toThrow(UnknownServiceError);
      expect(findService(config, name)).toBeUndefined();
    }
  });

  it('keeps a service named constructor as its own key and finds it', () => {
    const config = parseConfigText(withService('constructor'));

    expect(Object.keys(config.services)).toEqual(['constructor']);
    expect(serviceConfig(config, 'constructor').image.repository).toBe('checkout');
  });

  it('refuses a YAML __proto__ service key by name instead of dropping it', () => {
    expect(issuesOf(withService('__proto__'))).toEqual([
      'services.__proto__: service name "__proto__" must be lowercase letters, digits and dashes, at most 47 characters',
    ]);
  });

  it.each([
    ['1.5s', 'expected a duration in whole seconds such as 30s, 10m or 1h30m, got "1.5s"'],
    ['1e400', 'expected a duration such as 30s, 10m or 1h30m'],
    [
      '99999999999999999999',
      'expected a duration in whole seconds such as 30s, 10m or 1h30m, got 100000000000000000000',
    ],
    [
      '"99999999999999999999"',
      'expected a duration in whole seconds such as 30s, 10m or 1h30m, got "99999999999999999999"',
    ],
    ['100000000', '100000000 is longer than Step Functions allows (at most 99999999 seconds)'],
    ['27778h', '"27778h" is longer than Step Functions allows (at most 99999999 seconds)'],
  ])('refuses the bake %s with one message', (bake, message) => {
    expect(issuesOf(configText().replace('bake: 10m', `bake: ${bake}`))).toEqual([
      `services.checkout.strategy.bake: ${message}`,
    ]);
  });

  it('refuses a release whose lock lease would outlive a Step Functions execution, naming the service', () => {
    const text = configText().replace('bake: 10m', 'bake: 3000h');

    expect(issuesOf(text)).toEqual([
      'services.checkout: a release of checkout may hold its lock for 32405700 seconds (every step of its plan at its longest: steady timeout, checks, pauses, bakes, the longer of scale-down delay and rollback window; + 1h), more than a Step Functions execution may run (31536000 seconds, one year); shorten them',
    ]);
  });

  it('checks names against AWS limits', () => {
    const long = 'a'.repeat(256);
    expect(issuesOf(configText().replace('[checkout-latency-p99]', `[${long}]`))).toEqual([
      'services.checkout.alarms[0]: an alarm name has at most 255 characters',
    ]);
    expect(issuesOf(configText().replace('[checkout-latency-p99]', '["bad\\talarm"]'))).toEqual([
      'services.checkout.alarms[0]: an alarm name has no control characters',
    ]);
    expect(issuesOf(configText().replace('service: checkout-blue', 'service: checkout.blue'))).toEqual([
      'services.checkout.target.slots.blue.service: expected an ECS service name: 1 to 255 letters, digits, _ and -',
    ]);
    expect(issuesOf(configText().replace('container: app', `container: ${long}`))).toEqual([
      'services.checkout.target.container: expected an ECS container name: 1 to 255 letters, digits, _ and -',
    ]);
    for (const repository of ['C', 'Checkout', 'checkout//x', 'checkout-', `${'a'.repeat(257)}`]) {
      expect(issuesOf(configText().replace('repository: checkout', `repository: "${repository}"`))).toEqual([
        'services.checkout.image.repository: expected an ECR repository name: 2 to 256 lowercase letters and digits, separated by ., _, - or /',
      ]);
    }
    expect(
      parseConfigText(configText().replace('repository: checkout', 'repository: team/check_out.v2')),
    ).toBeDefined();
  });

  it('names the kind of ARN it expected and the kind it got', () => {
    const text = configText().replace(BLUE_TG, LISTENER_RULE_ARN);

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.slots.blue.targetGroupArn: expected a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>), got a listener-rule ARN',
    ]);
  });

  it('takes task roles as IAM role ARNs of the listener rule account, with no region', () => {
    const role = 'arn:aws:iam::123456789012:role/checkout-execution';
    expect(
      issuesOf(configText().replace(role, 'arn:aws:iam:us-east-1:123456789012:role/checkout-execution')),
    ).toEqual([
      'services.checkout.target.taskRoleArns[0]: expected an IAM role ARN (arn:aws:iam::<account>:role/<name>), got an iam ARN',
    ]);
    expect(issuesOf(configText().replace(role, 'arn:aws:iam::210987654321:role/checkout-execution'))).toEqual(
      [
        'services.checkout.target.taskRoleArns[0]: expected a role of account 123456789012 like the listener rule, got account 210987654321',
      ],
    );
    expect(issuesOf(configText().replace(role, 'arn:aws:iam::123456789012:user/deployer'))).toEqual([
      'services.checkout.target.taskRoleArns[0]: expected an IAM role ARN (arn:aws:iam::<account>:role/<name>), got an iam ARN',
    ]);
  });

  it('refuses a topic ARN that is not an SNS topic', () => {
    const text = configText().replace(
      '    strategy:',
      `    notify: { topicArn: "arn:aws:sns:us-east-1:123456789012" }\n    strategy:`,
    );

    expect(issuesOf(text)).toEqual([
      'services.checkout.notify.topicArn: expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), got "arn:aws:sns:us-east-1:123456789012"',
    ]);
  });

  it('requires the ARNs of a service to share the account and region of its listener rule', () => {
    const text = configText()
      .replace(GREEN_TG, GREEN_TG.replace('us-east-1', 'eu-west-1'))
      .replace(
        '    strategy:',
        '    notify: { topicArn: "arn:aws:sns:us-east-1:210987654321:releases" }\n    strategy:',
      );

    expect(issuesOf(text)).toEqual([
      'services.checkout.target.slots.green.targetGroupArn: expected account 123456789012 in us-east-1 like the listener rule, got account 123456789012 in eu-west-1',
      'services.checkout.notify.topicArn: expected account 123456789012 in us-east-1 like the listener rule, got account 210987654321 in us-east-1',
    ]);
  });

  it('refuses a service that watches no alarm unless it sets watchAlarms: false', () => {
    const text = withService('checkout').replace('    watchAlarms: false\n', '');

    expect(issuesOf(text)).toEqual([
      'services.checkout: watches no alarm; add alarms (service alarms or slot alarms) or set watchAlarms: false to release without watching',
    ]);
    expect(
      issuesOf(`${withService('checkout')}    alarms: []\n`.replace('    watchAlarms: false\n', '')),
    ).toHaveLength(1);
    expect(issuesOf(configText().replace('    strategy:', '    watchAlarms: false\n    strategy:'))).toEqual([
      'services.checkout.watchAlarms: watchAlarms: false but alarms are declared; remove the alarms or watchAlarms',
    ]);
  });

  it('names the YAML line and column of each issue, one line per mistake', () => {
    const text = configText()
      .replace('steps: [5, 25, 100]', 'steps: [5, { percent: 0 }, 100]')
      .replace('type: canary', 'type: canery');

    expect(
      locatedIssuesOf(configText().replace('steps: [5, 25, 100]', 'steps: [5, { percent: 0 }, 100]')),
    ).toEqual([
      'shipline.yml:30:29 services.checkout.strategy.steps[1].percent: expected a whole percentage from 1 to 100',
    ]);
    expect(locatedIssuesOf(text)).toEqual([
      'shipline.yml:29:13 services.checkout.strategy.type: expected type: canary, linear, all-at-once or blue-green',
    ]);
  });

  it.each([
    ['{ percent: x }', 'steps[1].percent: expected a whole percentage from 1 to 100'],
    [
      '{ percent: 50, bake: soon }',
      'steps[1].bake: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "soon"',
    ],
    ['{ percent: 50, soak: 1m }', 'steps[1]: Unrecognized key: "soak"'],
    ['fifty', 'steps[1]: expected a step: a percentage from 1 to 100, or { percent, bake }'],
  ])('reports the bad step %s with exactly one message naming what is wrong inside it', (step, message) => {
    expect(issuesOf(configText().replace('steps: [5, 25, 100]', `steps: [5, ${step}, 100]`))).toEqual([
      `services.checkout.strategy.${message}`,
    ]);
  });

  it('keeps path-only messages for an object config', () => {
    const broken = parseYaml(configText()) as {
      services: { checkout: { strategy: { bake: string } } };
    };
    broken.services.checkout.strategy.bake = '1.5s';

    expect(() => parseConfig(broken)).toThrow(
      'shipline.yml is invalid:\n  services.checkout.strategy.bake: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "1.5s"',
    );
  });
});

const TEST_RULE_ARN = LISTENER_RULE_ARN.replace(/[0-9a-f]{16}$/, '1111222233334444');

/** A service document on an ecs-alb target, with `target` and the service fields merged over it. */
const albService = (fields: Record<string, unknown> = {}, target: Record<string, unknown> = {}) => ({
  image: { repository: 'checkout' },
  target: {
    type: 'ecs-alb',
    cluster: 'prod',
    container: 'app',
    listenerRuleArn: LISTENER_RULE_ARN,
    slots: {
      blue: { service: 'checkout-blue', targetGroupArn: BLUE_TG },
      green: { service: 'checkout-green', targetGroupArn: GREEN_TG },
    },
    ...target,
  },
  alarms: ['checkout-5xx'],
  strategy: { type: 'canary', steps: [10, 100], bake: '5m' },
  ...fields,
});

/** A service document on an ecs-rolling target. */
const rollingService = (fields: Record<string, unknown> = {}, target: Record<string, unknown> = {}) => ({
  image: { repository: 'checkout' },
  target: { type: 'ecs-rolling', cluster: 'prod', service: 'checkout', container: 'app', ...target },
  alarms: ['checkout-5xx'],
  strategy: { type: 'all-at-once', bake: '10m' },
  ...fields,
});

const parseService = (service: unknown) => {
  const parsed = parseConfig({ services: { checkout: service } }).services.checkout;
  if (!parsed) throw new Error('expected the checkout service');
  return parsed;
};

/** The path-only issues a service document fails with. */
const serviceIssues = (service: unknown): readonly string[] => {
  try {
    parseConfig({ services: { checkout: service } });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the service to be invalid');
};

describe('Config: strategies, targets and checks', () => {
  it('lays a linear strategy out as shares baked every interval, in seconds', () => {
    expect(
      parseService(albService({ strategy: { type: 'linear', stepPercent: 10, interval: '3m' } })).strategy,
    ).toEqual({
      type: 'linear',
      stepPercent: 10,
      interval: 180,
      checks: [],
      steps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((percent) => ({ percent, bakeSeconds: 180 })),
    });
  });

  it('ends a linear strategy whose step does not divide 100 with a last shift to 100', () => {
    const { strategy } = parseService(
      albService({ strategy: { type: 'linear', stepPercent: 30, interval: 60 } }),
    );

    expect(strategy.type === 'linear' && strategy.steps).toEqual([
      { percent: 30, bakeSeconds: 60 },
      { percent: 60, bakeSeconds: 60 },
      { percent: 90, bakeSeconds: 60 },
      { percent: 100, bakeSeconds: 60 },
    ]);
  });

  it('accepts all-at-once on ecs-alb with its bake in seconds', () => {
    expect(parseService(albService({ strategy: { type: 'all-at-once', bake: '15m' } })).strategy).toEqual({
      type: 'all-at-once',
      bake: 900,
      checks: [],
    });
  });

  it('accepts blue-green with a test route, normalising checks and the pause', () => {
    const service = parseService(
      albService(
        {
          strategy: {
            type: 'blue-green',
            bake: '10m',
            pause: { timeout: '2h' },
            checks: [
              { name: 'login-smoke', lambda: 'checkout-smoke' },
              { name: 'health', http: { path: '/health?deep=1' }, timeout: '2m' },
              { name: 'teapot', http: { path: '/tea', expectStatus: 418 } },
            ],
          },
        },
        { testListenerRuleArn: TEST_RULE_ARN, testUrl: 'https://test.checkout.example.com:8443' },
      ),
    );

    expect(service.strategy).toEqual({
      type: 'blue-green',
      bake: 600,
      pause: { timeout: 7200, onTimeout: 'fail' },
      checks: [
        { name: 'login-smoke', lambda: 'checkout-smoke', timeout: 60 },
        { name: 'health', http: { path: '/health?deep=1', expectStatus: 200 }, timeout: 120 },
        { name: 'teapot', http: { path: '/tea', expectStatus: 418 }, timeout: 60 },
      ],
    });
    expect(service.target).toMatchObject({
      testListenerRuleArn: TEST_RULE_ARN,
      testUrl: 'https://test.checkout.example.com:8443',
    });
  });

  it('accepts checks in any strategy, a Lambda check by name or ARN', () => {
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke:live';
    const service = parseService(
      albService({
        strategy: {
          type: 'canary',
          steps: [100],
          bake: '5m',
          checks: [{ name: 'smoke', lambda: arn, timeout: 30 }],
        },
      }),
    );

    expect(service.strategy.checks).toEqual([{ name: 'smoke', lambda: arn, timeout: 30 }]);
  });

  it('accepts an ecs-rolling target with all-at-once, durations in seconds, no rollback window by default', () => {
    expect(parseService(rollingService()).target).toEqual({
      type: 'ecs-rolling',
      cluster: 'prod',
      service: 'checkout',
      container: 'app',
      steadyTimeout: 1200,
      rollbackWindow: 0,
    });
    expect(
      parseService(rollingService({}, { steadyTimeout: '30m', rollbackWindow: '10m' })).target,
    ).toMatchObject({ steadyTimeout: 1800, rollbackWindow: 600 });
  });

  it('reads the inconclusive policy: fail by default; pause with its timeout in seconds (default 1h)', () => {
    expect(parseService(albService()).inconclusive).toBe('fail');
    expect(parseService(albService({ inconclusive: 'pass' }))).toMatchObject({ inconclusive: 'pass' });
    expect(parseService(albService({ inconclusive: 'pause' }))).toMatchObject({
      inconclusive: 'pause',
      inconclusivePauseTimeout: 3600,
    });
    expect(
      parseService(albService({ inconclusive: 'pause', inconclusivePauseTimeout: '30m' })),
    ).toMatchObject({ inconclusivePauseTimeout: 1800 });
  });

  it.each([
    'canary',
    'linear',
    'blue-green',
  ])('refuses %s on ecs-rolling, saying all-at-once is what it takes and why', (type) => {
    const strategy = {
      canary: { type: 'canary', steps: [10, 100], bake: '5m' },
      linear: { type: 'linear', stepPercent: 10, interval: '3m' },
      'blue-green': { type: 'blue-green', bake: '5m' },
    }[type];

    expect(serviceIssues(rollingService({ strategy }))).toEqual([
      `services.checkout.strategy.type: strategy ${type} is refused: an ecs-rolling target supports only all-at-once: a rolling update replaces the tasks of its one service, so no share of traffic can be held on the new version (canary, linear) and there is no idle slot to test and swap to (blue-green)`,
    ]);
  });

  it('refuses blue-green without a test listener rule', () => {
    expect(serviceIssues(albService({ strategy: { type: 'blue-green', bake: '5m' } }))).toEqual([
      'services.checkout.target.testListenerRuleArn: strategy blue-green needs target.testListenerRuleArn: the listener rule that forwards test traffic to the new slot while its checks run, before the swap',
    ]);
  });

  it('refuses an http check without a test URL, and on ecs-rolling', () => {
    const checks = [{ name: 'health', http: { path: '/health' } }];
    expect(
      serviceIssues(
        albService(
          { strategy: { type: 'blue-green', bake: '5m', checks } },
          { testListenerRuleArn: TEST_RULE_ARN },
        ),
      ),
    ).toEqual([
      'services.checkout.strategy.checks[0].http: http check "health" needs target.testUrl, the base URL (http or https) that reaches the test route',
    ]);
    expect(serviceIssues(rollingService({ strategy: { type: 'all-at-once', bake: '5m', checks } }))).toEqual([
      'services.checkout.strategy.checks[0].http: http check "health" needs a test route, which an ecs-rolling target has not (its new tasks serve production at once); use a lambda check',
    ]);
  });

  it('refuses a check timeout the check function cannot outlive, and deploys that function long enough', () => {
    const check = (timeout: string) => ({
      strategy: {
        type: 'canary',
        steps: [100],
        bake: '5m',
        checks: [{ name: 'smoke', lambda: 'smoke', timeout }],
      },
    });
    expect(parseService(albService(check('14m'))).strategy.checks).toEqual([
      { name: 'smoke', lambda: 'smoke', timeout: MAX_CHECK_SECONDS },
    ]);
    expect(serviceIssues(albService(check('15m')))).toEqual([
      `services.checkout.strategy.checks[0].timeout: a check timeout must be at most 14m (${MAX_CHECK_SECONDS}s): the check runs inside one Lambda invocation, which lasts at most 15 minutes`,
    ]);
    // The check aborts itself at its timeout and reports a failed check; the function must still be running
    // then, or Lambda kills it first and the release rolls back on "Task timed out" instead of the reason.
    const functions = (
      parseYaml(readFileSync(path.resolve(import.meta.dirname, '../../serverless.yml'), 'utf8')) as {
        functions: Record<string, { timeout?: number }>;
      }
    ).functions;
    expect(functions.runCheck?.timeout).toBeGreaterThan(MAX_CHECK_SECONDS);
    expect(functions.runCheck?.timeout).toBeLessThanOrEqual(900);
  });

  it('refuses a test URL without a test route, or that is not http(s)', () => {
    expect(serviceIssues(albService({}, { testUrl: 'https://test.example.com' }))).toEqual([
      'services.checkout.target.testUrl: testUrl reaches the test route, which needs target.testListenerRuleArn (the listener rule the pipeline points at the new slot); declare it or remove testUrl',
    ]);
    expect(
      serviceIssues(
        albService({}, { testListenerRuleArn: TEST_RULE_ARN, testUrl: 'ftp://test.example.com' }),
      ),
    ).toEqual([
      'services.checkout.target.testUrl: expected an http or https URL such as https://test.example.com',
    ]);
  });

  it('refuses a test listener rule that is the production rule or of another account', () => {
    expect(serviceIssues(albService({}, { testListenerRuleArn: LISTENER_RULE_ARN }))).toEqual([
      'services.checkout.target.testListenerRuleArn: the test listener rule must be another rule than listenerRuleArn: it carries test traffic only, never production',
    ]);
    expect(
      serviceIssues(
        albService({}, { testListenerRuleArn: TEST_RULE_ARN.replace('123456789012', '210987654321') }),
      ),
    ).toEqual([
      'services.checkout.target.testListenerRuleArn: expected account 123456789012 in us-east-1 like the listener rule, got account 210987654321 in us-east-1',
    ]);
  });

  it('refuses an inconclusive pause timeout without inconclusive: pause, and an unknown policy', () => {
    expect(serviceIssues(albService({ inconclusivePauseTimeout: '1h' }))).toEqual([
      'services.checkout.inconclusivePauseTimeout: only means something with inconclusive: pause (inconclusive is fail); remove it or set inconclusive: pause',
    ]);
    expect(serviceIssues(albService({ inconclusive: 'retry' }))).toEqual([
      'services.checkout.inconclusive: expected inconclusive: fail, pass or pause',
    ]);
  });

  it.each([
    [
      { name: 'a', lambda: 'checkout smoke' },
      'checks[0].lambda: expected a Lambda function name or ARN, e.g. checkout-smoke or arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke',
    ],
    [
      { name: 'a', http: { path: 'health' } },
      'checks[0].http.path: expected a path starting with /, e.g. /health',
    ],
    [
      { name: 'a', http: { path: '/', expectStatus: 700 } },
      'checks[0].http.expectStatus: expected an HTTP status from 100 to 599',
    ],
    [{ name: 'a', lambda: 'f', timeout: '0s' }, 'checks[0].timeout: a check timeout must be at least 1s'],
    [
      { name: '', lambda: 'f' },
      'checks[0].name: expected a check name: 1 to 64 letters, digits, spaces, ., _ and -, starting with a letter or digit',
    ],
    [{ name: 'a' }, 'checks[0]: expected a check: { name, lambda: <function> } or { name, http: { path } }'],
  ])('refuses the check %j, naming what is wrong', (check, message) => {
    expect(
      serviceIssues(rollingService({ strategy: { type: 'all-at-once', bake: '5m', checks: [check] } })),
    ).toEqual([`services.checkout.strategy.${message}`]);
  });

  it('refuses two checks of one name', () => {
    const checks = [
      { name: 'smoke', lambda: 'a' },
      { name: 'smoke', lambda: 'b' },
    ];
    expect(serviceIssues(rollingService({ strategy: { type: 'all-at-once', bake: '5m', checks } }))).toEqual([
      'services.checkout.strategy.checks[1].name: check "smoke" is declared twice; give each check its own name',
    ]);
  });

  it('refuses bad linear, all-at-once, blue-green and pause fields, naming them', () => {
    expect(
      serviceIssues(albService({ strategy: { type: 'linear', stepPercent: 0, interval: '0s' } })),
    ).toEqual([
      'services.checkout.strategy.stepPercent: expected a whole percentage from 1 to 100',
      'services.checkout.strategy.interval: the interval must be at least 1s',
    ]);
    expect(serviceIssues(albService({ strategy: { type: 'all-at-once', bake: 0 } }))).toEqual([
      'services.checkout.strategy.bake: the bake must be at least 1s',
    ]);
    expect(
      serviceIssues(
        albService(
          { strategy: { type: 'blue-green', bake: '5m', pause: { timeout: '1h', onTimeout: 'maybe' } } },
          { testListenerRuleArn: TEST_RULE_ARN },
        ),
      ),
    ).toEqual(['services.checkout.strategy.pause.onTimeout: expected onTimeout: fail or continue']);
    expect(serviceIssues(albService({ strategy: { type: 'rolling', bake: '5m' } }))).toEqual([
      'services.checkout.strategy.type: expected type: canary, linear, all-at-once or blue-green',
    ]);
    expect(serviceIssues(albService({}, { type: 'lambda' }))).toEqual([
      'services.checkout.target.type: expected type: ecs-alb or ecs-rolling',
    ]);
  });

  it('refuses a rolling service that watches no alarm, without speaking of slots', () => {
    expect(serviceIssues(rollingService({ alarms: [] }))).toEqual([
      'services.checkout: watches no alarm; add alarms or set watchAlarms: false to release without watching',
    ]);
  });

  it('counts check timeouts, pauses and inconclusive pauses in the lock lease it bounds', () => {
    const issues = serviceIssues(
      albService(
        {
          inconclusive: 'pause',
          inconclusivePauseTimeout: '3000h',
          strategy: {
            type: 'blue-green',
            bake: '1h',
            pause: { timeout: '6000h' },
            checks: [{ name: 'slow', lambda: 'f', timeout: '10m' }],
          },
        },
        { testListenerRuleArn: TEST_RULE_ARN },
      ),
    );
    // 1200 steady + 600 check + 21600000 pause + 3600 bake + 10800000 inconclusive pause + 900 warm + 3600.
    expect(issues).toEqual([
      expect.stringMatching(
        /^services\.checkout: a release of checkout may hold its lock for 32409900 seconds /,
      ),
    ]);
  });
});
