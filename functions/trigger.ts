import * as z from 'zod/mini';
import { startRelease } from '../lib/use-cases/start-release.ts';
import { config, createStarter } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const starter = createStarter();

/**
 * ECR push (EventBridge) or manual deploy request -> exactly one execution per service and digest.
 * An unmapped repository is ignored with a log line; a malformed event throws and starts nothing.
 */
export const handler = shiplineHandler('trigger', z.unknown(), async (event) => {
  const result = await startRelease({ starter }, config(), event);
  if (result.status === 'ignored') logger.info('push ignored', { reason: result.reason });
  else logger.info(`release ${result.status}`, { ...result });
  return result;
});
