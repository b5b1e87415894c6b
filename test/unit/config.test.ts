import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
            scaleDownDelay: '15m',
            steadyTimeout: '20m',
          },
          alarms: ['checkout-latency-p99'],
          strategy: { type: 'canary', steps: [5, 25, 100], bake: '10m' },
          watchAlarms: true,
          notify: {},
        },
      },
    });
  });

  it('fills every default of a minimal service', () => {
    const config = parseConfigText(`services:\n  checkout:${minimalService}`);

    expect(config.version).toBe(1);
    expect(config.services.checkout?.target.scaleDownDelay).toBe('15m');
    expect(config.services.checkout?.target.steadyTimeout).toBe('20m');
    expect(config.services.checkout?.target.slots.blue.alarms).toEqual([]);
    expect(config.services.checkout?.target.slots.green.alarms).toEqual([]);
    expect(config.services.checkout?.alarms).toEqual([]);
    expect(config.services.checkout?.watchAlarms).toBe(false);
    expect(config.services.checkout?.notify).toEqual({});
  });

  it('accepts steps with their own bake', () => {
    const config = parseConfigText(
      configText().replace('steps: [5, 25, 100]', 'steps: [5, { percent: 50, bake: 30m }, 100]'),
    );

    expect(config.services.checkout?.strategy.steps).toEqual([5, { percent: 50, bake: '30m' }, 100]);
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
      .replace(/checkout-blue/g, 'checkout-eu-blue')
      .replace(/checkout-green/g, 'checkout-eu-green')}`;

    expect(issuesOf(text)).toEqual([
      'services.checkout-eu.image.repository: repository "checkout" already releases service "checkout"',
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

  it('reads the rollback window, which defaults to the scale-down delay', () => {
    expect(
      parseConfigText(configText(), 'shipline.yml').services.checkout?.target.rollbackWindow,
    ).toBeUndefined();
    const text = configText().replace(
      'scaleDownDelay: 15m',
      'scaleDownDelay: 15m\n      rollbackWindow: 30m',
    );
    expect(parseConfigText(text, 'shipline.yml').services.checkout?.target.rollbackWindow).toBe('30m');
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
      'services.checkout: a release of checkout may hold its lock for 32405700 seconds (steady timeout + every bake + the longer of scale-down delay and rollback window + 1h), more than a Step Functions execution may run (31536000 seconds, one year); shorten them',
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
      'shipline.yml:29:13 services.checkout.strategy.type: expected type: canary',
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
    const config = parseConfigText(configText());
    const broken = structuredClone(config) as unknown as {
      services: { checkout: { strategy: { bake: string } } };
    };
    broken.services.checkout.strategy.bake = '1.5s';

    expect(() => parseConfig(broken)).toThrow(
      'shipline.yml is invalid:\n  services.checkout.strategy.bake: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "1.5s"',
    );
  });
});
