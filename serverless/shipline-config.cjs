'use strict';
// Serverless plugin: validates the deployed shipline.yml (the `config` param, else SHIPLINE_CONFIG, else
// ./shipline.yml) against the Shipline schema before anything is packaged, and writes it as
// .shipline/shipline.json, the file every function loads at run time. A missing or invalid config stops
// `serverless package`/`deploy` naming the file or each bad field, so it never reaches AWS.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { loadConfig } = require('./config-file.cjs');

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
    const target = path.join(root, '.shipline', 'shipline.json');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`);
    this.log?.notice?.(
      `${path.relative(process.cwd(), source) || source} is valid (${Object.keys(config.services).join(', ')}); packaged as .shipline/shipline.json`,
    );
  }
}

module.exports = ShiplineConfigPlugin;
