import * as z from 'zod/mini';
import { environment } from '../lib/env.ts';
import { startRelease } from '../lib/use-cases/start-release.ts';
import { config, createStarter } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const starter = createStarter();

/** The pipeline's account, from its state machine ARN (`arn:aws:states:<region>:<account>:stateMachine:<name>`). */
const pipelineAccount = (): string => environment.stateMachineArn().split(':')[4] ?? '';

/**
 * ECR push (EventBridge) or manual deploy request -> exactly one execution per service and digest.
 * An event of a repository no service releases, or of another account's or region's registry, is
 * ignored with a log line; a malformed event of a released repository throws and starts nothing.
 */
export const handler = shiplineHandler('trigger', z.unknown(), async (event, context) => {
  const result = await startRelease({ starter }, config(), event, {
    receiptId: context.awsRequestId,
    pipeline: { account: pipelineAccount(), region: environment.region() },
  });
  if (result.status === 'ignored') logger.info('push ignored', { reason: result.reason });
  else logger.info(`release ${result.status}`, { ...result });
  return result;
});
