'use strict';
// IAM resources the roles are scoped to, computed from a validated Shipline config. Shared by
// serverless/variables.cjs (the deployed template) and the sandbox's IAM enforcement (sandbox/iam/).

/** `arn:aws:ecs:region:account:cluster/name` or a bare name -> its parts (a bare name is in the stack's account). */
const clusterParts = (cluster) => {
  const match = /^arn:([^:]+):ecs:([^:]+):(\d{12}):cluster\/(.+)$/.exec(cluster);
  if (match) return { partition: match[1], region: match[2], account: match[3], name: match[4] };
  return { name: cluster };
};

/**
 * Each service's Slack settings, the service's own fields over the pipeline's (lib/config/slack.ts
 * `slackSettingsFor`); a service with no applicable Slack section is left out.
 */
const slackSettings = (config) =>
  Object.entries(config.services)
    .map(([name, service]) => {
      const own = service.slack;
      if (own === false) return undefined;
      const pipeline = config.slack ?? {};
      const settings = {
        name,
        botToken: own?.botToken ?? pipeline.botToken,
        signingSecret: own?.signingSecret ?? pipeline.signingSecret,
      };
      return settings.botToken && settings.signingSecret ? settings : undefined;
    })
    .filter((settings) => settings !== undefined);

/**
 * The ARNs of one Slack secret kind (`botToken` or `signingSecret`) in SSM or in Secrets Manager. An SSM
 * parameter's ARN holds its name without the leading slash (`parameter/shipline/bot`); a secret named
 * rather than given by ARN gets Secrets Manager's six random characters as `-??????`
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html). With none,
 * one ARN nothing has: the statement stays valid and allows nothing.
 */
const slackSecretArns = (config, which, store) => {
  const arns = new Set();
  for (const settings of slackSettings(config)) {
    const ref = settings[which];
    if (store === 'ssm' && typeof ref.ssm === 'string')
      arns.add(
        `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${ref.ssm.replace(/^\//, '')}`,
      );
    if (store === 'secretsmanager' && typeof ref.secretsManager === 'string')
      arns.add(
        ref.secretsManager.startsWith('arn:')
          ? ref.secretsManager
          : `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.secretsManager}-??????`,
      );
  }
  const none =
    store === 'ssm'
      ? `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/shipline-no-slack-${which}`
      : `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:shipline-no-slack-${which}`;
  return (arns.size > 0 ? [...arns] : [none]).map((arn) =>
    arn.startsWith('arn:aws') ? arn : { 'Fn::Sub': arn },
  );
};

module.exports = {
  /**
   * The services with a Slack thread: the slackNotify subscription's filter policy on the message attribute
   * `service`, so transitions of other services never invoke it. SNS refuses an empty list in a filter
   * policy, so with none it names a service nobody can declare (config names are lower-case letters,
   * digits and hyphens) and the subscription matches nothing.
   */
  slackServices: (config) => {
    const names = slackSettings(config).map((settings) => settings.name);
    return names.length > 0 ? names : ['(no service has Slack)'];
  },
  /** The SSM parameters holding the Slack bot tokens (slackNotify reads them). */
  slackBotTokenParameters: (config) => slackSecretArns(config, 'botToken', 'ssm'),
  /** The Secrets Manager secrets holding the Slack bot tokens. */
  slackBotTokenSecrets: (config) => slackSecretArns(config, 'botToken', 'secretsmanager'),
  /** The SSM parameters holding the Slack signing secrets (slackInteractions reads them). */
  slackSigningSecretParameters: (config) => slackSecretArns(config, 'signingSecret', 'ssm'),
  /** The Secrets Manager secrets holding the Slack signing secrets. */
  slackSigningSecretSecrets: (config) => slackSecretArns(config, 'signingSecret', 'secretsmanager'),
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: (config) => {
    const declared = Object.values(config.services)
      .map((service) => service.notify.topicArn)
      .filter((arn) => typeof arn === 'string');
    return [{ Ref: 'NotificationsTopic' }, ...new Set(declared)];
  },
  /**
   * Every slot's ECS service ARN (`service/<cluster name>/<service name>`): a cluster given as an ARN
   * keeps its own partition, region and account; a name is in the stack's.
   */
  ecsServices: (config) => {
    const arns = [];
    for (const service of Object.values(config.services)) {
      const cluster = clusterParts(service.target.cluster);
      // An ecs-rolling target is one service; an ecs-alb target two slots.
      const services = service.target.slots ? Object.values(service.target.slots) : [service.target];
      for (const slot of services) {
        arns.push(
          cluster.account
            ? `arn:${cluster.partition}:ecs:${cluster.region}:${cluster.account}:service/${cluster.name}/${slot.service}`
            : {
                'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/${cluster.name}/${slot.service}`,
              },
        );
      }
    }
    return arns;
  },
  /**
   * The roles the deploy function may pass to ECS tasks: every declared `target.taskRoleArns` when each
   * service declares them, else any role of the account (the statement's iam:PassedToService condition
   * still limits it to ECS tasks): a service that names none could use any role.
   */
  taskRoles: (config) => {
    const services = Object.values(config.services);
    if (services.length === 0 || services.some((service) => !service.target.taskRoleArns))
      return [{ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*` }];
    return [...new Set(services.flatMap((service) => service.target.taskRoleArns))];
  },
  /**
   * The listener rules a release modifies: each service's production rule (`target.listenerRuleArn`) and
   * its test rule when it declares one (`target.testListenerRuleArn`, pointed by test-traffic steps). An
   * ecs-rolling target has neither; with no rule at all, one ARN no rule has keeps the statement valid.
   */
  listenerRules: (config) => {
    const arns = [
      ...new Set(
        Object.values(config.services)
          .flatMap((service) => [service.target.listenerRuleArn, service.target.testListenerRuleArn])
          .filter((arn) => typeof arn === 'string'),
      ),
    ];
    return arns.length > 0
      ? arns
      : [
          {
            'Fn::Sub': `arn:\${AWS::Partition}:elasticloadbalancing:\${AWS::Region}:\${AWS::AccountId}:listener-rule/app/shipline-no-rule/0/0/0`,
          },
        ];
  },
  /**
   * The users' smoke-test functions (every `checks[].lambda` of a service's strategy): the only functions
   * the check function may invoke. A name is a function of the stack's account and region, a partial ARN
   * of its own account; an ARN (possibly qualified) is taken as it is. With none, one ARN no function has: the statement stays valid and allows
   * nothing.
   */
  smokeTestFunctions: (config) => {
    const names = new Set();
    for (const service of Object.values(config.services)) {
      for (const check of service.strategy.checks ?? []) {
        if (typeof check.lambda === 'string') names.add(check.lambda);
      }
    }
    // Lambda resolves a name, `name:qualifier` and a partial ARN (`account:function:name[:qualifier]`) to
    // the function's ARN, and authorizes the invocation on that ARN (qualified when the call names a version
    // or alias): the role names the same ARN, never the text as written.
    const arnOf = (name) => {
      if (name.startsWith('arn:')) return name;
      const partial = /^(?:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?(.+)$/.exec(name);
      const [, region, account, rest] = partial ?? [];
      return {
        'Fn::Sub': `arn:\${AWS::Partition}:lambda:${region ?? `\${AWS::Region}`}:${account ?? `\${AWS::AccountId}`}:function:${rest ?? name}`,
      };
    };
    const arns = [...names].map(arnOf);
    return arns.length > 0
      ? arns
      : [
          {
            'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:shipline-no-smoke-tests`,
          },
        ];
  },
  /**
   * The ECR repositories the services release from, as ARNs (`image.registry` when declared, else the
   * stack's account and region): the only repositories the metrics function may read image labels from.
   */
  ecrRepositoryArns: (config) => {
    const arns = new Map();
    for (const service of Object.values(config.services)) {
      const { repository, registry } = service.image;
      const arn = registry
        ? `arn:aws:ecr:${registry.region}:${registry.account}:repository/${repository}`
        : {
            'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${repository}`,
          };
      arns.set(typeof arn === 'string' ? arn : arn['Fn::Sub'], arn);
    }
    return arns.size > 0
      ? [...arns.values()]
      : [
          {
            'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/shipline-no-repository`,
          },
        ];
  },
  /**
   * The DORA dashboard's body (AWS::CloudWatch::Dashboard DashboardBody, a JSON string with the stack's
   * region substituted): per service, the five figures over the dashboard's time range (single values,
   * `setPeriodToTimeRange`) and a weekly graph. Metrics: namespace Shipline/DORA, dimensions service and
   * environment, as the release-metrics function publishes them (lib/domain/dora.ts).
   */
  doraDashboardBody: (config) => {
    const region = `\${AWS::Region}`;
    const widgets = [];
    let y = 0;
    for (const name of Object.keys(config.services)) {
      const metric = (metricName, id, stat) => [
        'Shipline/DORA',
        metricName,
        'service',
        name,
        'environment',
        'default',
        { id, stat, visible: false },
      ];
      widgets.push({
        type: 'metric',
        x: 0,
        y,
        width: 24,
        height: 4,
        properties: {
          title: `${name}: DORA software delivery performance over the selected period`,
          view: 'singleValue',
          region,
          setPeriodToTimeRange: true,
          metrics: [
            metric('Deployments', 'deployments', 'Sum'),
            metric('LeadTimeSeconds', 'lead', 'p50'),
            metric('FailedDeployments', 'failed', 'Sum'),
            metric('RecoveryTimeSeconds', 'recovery', 'p50'),
            metric('ReworkDeployments', 'rework', 'Sum'),
            [
              {
                id: 'frequency',
                expression: 'deployments * 86400 / PERIOD(deployments)',
                label: 'Deployment frequency (per day)',
              },
            ],
            [{ id: 'leadHours', expression: 'lead / 3600', label: 'Change lead time, median (hours)' }],
            [
              {
                id: 'failRate',
                expression: '100 * FILL(failed, 0) / deployments',
                label: 'Change fail rate (%)',
              },
            ],
            [
              {
                id: 'recoveryMinutes',
                expression: 'recovery / 60',
                label: 'Failed deployment recovery time, median (minutes)',
              },
            ],
            [
              {
                id: 'reworkRate',
                expression: '100 * FILL(rework, 0) / deployments',
                label: 'Deployment rework rate (%)',
              },
            ],
          ],
        },
      });
      widgets.push({
        type: 'metric',
        x: 0,
        y: y + 4,
        width: 24,
        height: 6,
        properties: {
          title: `${name}: deployments per week`,
          view: 'timeSeries',
          stacked: false,
          region,
          period: 604800,
          stat: 'Sum',
          metrics: [
            [
              'Shipline/DORA',
              'Deployments',
              'service',
              name,
              'environment',
              'default',
              { label: 'Deployments' },
            ],
            ['.', 'FailedDeployments', '.', '.', '.', '.', { label: 'Failed deployments' }],
            ['.', 'ReworkDeployments', '.', '.', '.', '.', { label: 'Rework deployments' }],
          ],
        },
      });
      y += 10;
    }
    return { 'Fn::Sub': JSON.stringify({ start: '-P30D', periodOverride: 'inherit', widgets }) };
  },
  /** The ECR repositories whose pushes release a service (`image.repository`): the trigger rule's filter. */
  ecrRepositories: (config) => [
    ...new Set(Object.values(config.services).map((service) => service.image.repository)),
  ],
  /**
   * Every alarm a bake watches (service and slot alarms): the alarm rule's filter on `detail.alarmName`.
   * With none, `exists: false` on a field every alarm event has: the rule matches nothing (an empty list
   * is not a valid pattern).
   */
  watchedAlarms: (config) => {
    const names = new Set();
    for (const service of Object.values(config.services)) {
      for (const name of service.alarms) names.add(name);
      for (const slot of Object.values(service.target.slots ?? {}))
        for (const name of slot.alarms) names.add(name);
    }
    return names.size > 0 ? [...names] : [{ exists: false }];
  },
};
