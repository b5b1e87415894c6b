'use strict';
// Serverless variables computed from the deployed shipline.yml (validated against the Shipline schema).
const path = require('node:path');
const { loadConfig: loadConfigFile } = require('./config-file.cjs');

/**
 * The config this deploy packages: the same file as the shipline-config plugin's (`custom.shipline.config`
 * in serverless.yml, i.e. the `config` param, else SHIPLINE_CONFIG, else ./shipline.yml). Pass the
 * variable source's context (`{ resolveVariable }`) through.
 */
const loadConfig = async ({ resolveVariable }) =>
  loadConfigFile({
    option: await resolveVariable('self:custom.shipline.config'),
    serviceDir: path.join(__dirname, '..'),
  }).config;

module.exports = {
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: async (context) => {
    const declared = Object.values((await loadConfig(context)).services)
      .map((service) => service.notify.topicArn)
      .filter((arn) => typeof arn === 'string');
    return [{ Ref: 'NotificationsTopic' }, ...new Set(declared)];
  },
};
