'use strict';
// Serverless variables computed from shipline.yml (validated against the Shipline schema).
const path = require('node:path');
const tsx = require('tsx/cjs/api');
const roleResources = require('./role-resources.cjs');

const loadConfig = () => {
  const { loadConfigFile } = tsx.require('../lib/config/load.ts', __filename);
  return loadConfigFile(path.join(__dirname, '..', 'shipline.yml'));
};

module.exports = {
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: async () => roleResources.notifyTopics(loadConfig()),
  /** The declared services' ECS service ARNs, one per slot: the only services the pipeline may describe or update. */
  ecsServices: async () => roleResources.ecsServices(loadConfig()),
  /** The declared listener rules: the only rules the pipeline may modify. */
  listenerRules: async () => roleResources.listenerRules(loadConfig()),
};
