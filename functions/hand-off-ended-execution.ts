import * as z from 'zod/mini';
import { handOffEndedExecution } from '../lib/use-cases/finish-release.ts';
import { createEndedExecutionPorts } from './shared/ended-execution.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = createEndedExecutionPorts();

/**
 * "Step Functions Execution Status Change" of a release execution that ended ABORTED, TIMED_OUT or FAILED
 * (EventBridge): nothing rolled the release back or reported it, so its record is ended and people are told
 * what serves now (the service may be left split); one stopped after its promotion, in its rollback window,
 * is told that no alarm rolls it back and which old slot is left warm; then the hand-off runs for it, so a push queued as data
 * behind it is started even though the execution's own hand-off state never ran.
 */
export const handler = shiplineHandler(
  'hand-off-ended-execution',
  z.object({
    'detail-type': z.literal('Step Functions Execution Status Change'),
    detail: z.object({
      name: z.string().check(z.minLength(1)),
      status: z.string().check(z.minLength(1)),
      input: z.nullable(z.string()),
      error: z.optional(z.nullable(z.string())),
      cause: z.optional(z.nullable(z.string())),
    }),
  }),
  async ({ detail }) => {
    const result = await handOffEndedExecution(ports, detail);
    logger.info('ended execution handed on', { execution: detail.name, status: detail.status, ...result });
    return result;
  },
);
