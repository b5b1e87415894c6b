import type { SlackLog } from '../../lib/use-cases/slack-notify.ts';
import { logger } from './stack.ts';

/** The Slack use cases' log, on the function's Powertools logger. */
export const slackLog: SlackLog = {
  info: (message, details) => logger.info(message, details ?? {}),
  warn: (message, details) => logger.warn(message, details ?? {}),
  error: (message, details) => logger.error(message, details ?? {}),
};
