'use strict';
// IAM resources the roles are scoped to, computed from a validated Shipline config. Shared by
// serverless/variables.cjs (the deployed template) and the sandbox's IAM enforcement (sandbox/iam/).

/** `arn:aws:ecs:region:account:cluster/name` or a bare name -> its parts (a bare name is in the stack's account). */
const clusterParts = (cluster) => {
  const match = /^arn:([^:]+):ecs:([^:]+):(\d{12}):cluster\/(.+)$/.exec(cluster);
  if (match) return { partition: match[1], region: match[2], account: match[3], name: match[4] };
  return { name: cluster };
};

module.exports = {
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
