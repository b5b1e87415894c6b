'use strict';
// Serverless plugin: validates the deployed shipline.yml (the `config` param, else SHIPLINE_CONFIG, else
// ./shipline.yml) against the Shipline schema before anything is packaged, and writes it as
// .shipline/shipline.json, the file every function loads at run time. A missing or invalid config stops
// `serverless package`/`deploy` naming the file or each bad field, so it never reaches AWS.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { loadConfig } = require('./config-file.cjs');

/**
 * SNS publishes only to a topic of the client's own region (another region's topic ARN is answered with
 * "Invalid parameter: TopicArn"), and the functions publish from the deploy region: a service notified on
 * another region's topic would lose every notification. One message per such service.
 */
const topicsOutsideRegion = (config, region) => {
  if (!region) return [];
  return Object.entries(config.services ?? {}).flatMap(([name, service]) => {
    const topicArn = service?.notify?.topicArn;
    if (typeof topicArn !== 'string') return [];
    const topicRegion = topicArn.split(':')[3];
    return topicRegion === region
      ? []
      : [
          `services.${name}.notify.topicArn: ${topicArn} is in ${topicRegion}, but the stack deploys to ${region}; ` +
            'SNS publishes only to a topic of the same region: use a topic in the deploy region',
        ];
  });
};

class ShiplineConfigPlugin {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    const write = () => this.writeConfig();
    this.hooks = {
      'before:package:createDeploymentArtifacts': write,
      'before:deploy:function:packageFunction': write,
      'before:invoke:local:invoke': write,
    };
  }

  /** The region the stack deploys to: the AWS provider's (which honours --region), else provider.region. */
  deployRegion() {
    const provider = this.serverless.getProvider?.('aws');
    return provider?.getRegion?.() ?? this.serverless.service?.provider?.region;
  }

  writeConfig() {
    const root = this.serverless.serviceDir ?? this.serverless.config.servicePath;
    let config;
    let source;
    try {
      ({ config, file: source } = loadConfig({
        option: this.serverless.service?.custom?.shipline?.config,
        serviceDir: root,
      }));
    } catch (error) {
      throw new this.serverless.classes.Error(error.message);
    }
    const misplaced = topicsOutsideRegion(config, this.deployRegion());
    if (misplaced.length > 0) throw new this.serverless.classes.Error(misplaced.join('\n'));
    const target = path.join(root, '.shipline', 'shipline.json');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`);
    this.log?.notice?.(
      `${path.relative(process.cwd(), source) || source} is valid (${Object.keys(config.services).join(', ')}); packaged as .shipline/shipline.json`,
    );
  }
}

module.exports = ShiplineConfigPlugin;
