'use strict';
// Serverless variables computed from shipline.yml (validated against the Shipline schema).
const path = require('node:path');
const tsx = require('tsx/cjs/api');

const loadConfig = () => {
  const { loadConfigFile } = tsx.require('../lib/config/load.ts', __filename);
  return loadConfigFile(path.join(__dirname, '..', 'shipline.yml'));
};

module.exports = {
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: async () => {
    const declared = Object.values(loadConfig().services)
      .map((service) => service.notify.topicArn)
      .filter((arn) => typeof arn === 'string');
    return [{ Ref: 'NotificationsTopic' }, ...new Set(declared)];
  },
};
