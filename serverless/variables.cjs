'use strict';
// Serverless variables computed from the deployed shipline.yml (validated against the Shipline schema).
const path = require('node:path');
const { loadConfig: loadConfigFile } = require('./config-file.cjs');
const roleResources = require('./role-resources.cjs');

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
  /** The services with Slack: the only ones whose release events invoke the Slack thread function. */
  slackServices: async (context) => roleResources.slackServices(await loadConfig(context)),
  /** The Slack bot tokens' SSM parameters and secrets: the only ones the Slack thread function may read. */
  slackBotTokenParameters: async (context) =>
    roleResources.slackBotTokenParameters(await loadConfig(context)),
  slackBotTokenSecrets: async (context) => roleResources.slackBotTokenSecrets(await loadConfig(context)),
  /** The Slack signing secrets' SSM parameters and secrets: the only ones the interactions function may read. */
  slackSigningSecretParameters: async (context) =>
    roleResources.slackSigningSecretParameters(await loadConfig(context)),
  slackSigningSecretSecrets: async (context) =>
    roleResources.slackSigningSecretSecrets(await loadConfig(context)),
  /** SNS topics the notifying functions may publish to: the pipeline's own and every service's `notify.topicArn`. */
  notifyTopics: async (context) => roleResources.notifyTopics(await loadConfig(context)),
  /** The declared services' ECS service ARNs, one per slot: the only services the pipeline may describe or update. */
  ecsServices: async (context) => roleResources.ecsServices(await loadConfig(context)),
  /** The roles the deploy function may pass to ECS tasks (`target.taskRoleArns`, else any of the account). */
  taskRoles: async (context) => roleResources.taskRoles(await loadConfig(context)),
  /** The declared listener rules: the only rules the pipeline may modify. */
  listenerRules: async (context) => roleResources.listenerRules(await loadConfig(context)),
  /** The smoke-test functions the checks name: the only functions the check function may invoke. */
  smokeTestFunctions: async (context) => roleResources.smokeTestFunctions(await loadConfig(context)),
  /** The ECR repositories' ARNs: the only ones the metrics function reads image labels from. */
  ecrRepositoryArns: async (context) => roleResources.ecrRepositoryArns(await loadConfig(context)),
  /** The DORA dashboard of the declared services (a DashboardBody with the stack's region). */
  doraDashboardBody: async (context) => roleResources.doraDashboardBody(await loadConfig(context)),
  /** The ECR repositories shipline.yml releases: the trigger's rule matches only their pushes. */
  ecrRepositories: async (context) => roleResources.ecrRepositories(await loadConfig(context)),
  /** The alarms the bakes watch: the alarm function's rule matches only their state changes. */
  watchedAlarms: async (context) => roleResources.watchedAlarms(await loadConfig(context)),
};
