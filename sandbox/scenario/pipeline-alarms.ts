/**
 * The prefix of the alarms the pipeline's own stack declares in the sandbox (serverless.yml `resources`,
 * named `shipline-${sls:stage}-...` with the sandbox's stage): the scenario's world declares its own alarms
 * under other names.
 */
export const PIPELINE_ALARM_PREFIX = 'shipline-sandbox-';

/** Whether a timeline alarm entry (`NAME FROM -> TO`, `NAME deleted`) is a change of the pipeline's own alarm. */
export const isPipelineAlarmChange = (text: string): boolean => text.startsWith(PIPELINE_ALARM_PREFIX);
