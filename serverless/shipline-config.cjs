'use strict';
// Serverless plugin: validates shipline.yml against the Shipline schema before anything is packaged, and
// writes it as .shipline/shipline.json, the file every function loads at run time. An invalid config
// stops `serverless package`/`deploy` with one line per bad field, so it never reaches AWS.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const tsx = require('tsx/cjs/api');

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
    const source = path.join(root, 'shipline.yml');
    const { loadConfigFile } = tsx.require('../lib/config/load.ts', __filename);
    let config;
    try {
      config = loadConfigFile(source);
    } catch (error) {
      throw new this.serverless.classes.Error(error.message);
    }
    const target = path.join(root, '.shipline', 'shipline.json');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`);
    this.log?.notice?.(
      `shipline.yml is valid (${Object.keys(config.services).join(', ')}); packaged as .shipline/shipline.json`,
    );
  }
}

module.exports = ShiplineConfigPlugin;
