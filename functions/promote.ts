import * as z from 'zod/mini';
import { deploymentSchema, executionRefSchema, slotDeploymentSchema } from '../lib/domain/schemas.ts';
import { promoteRelease } from '../lib/use-cases/finish-release.ts';
import { createNotifier, createRouter, createStore, settings } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  router: createRouter(),
  notifier: createNotifier(),
};

/** Records the new slot as stable and announces the promotion (the next state hands the lock on). */
export const handler = shiplineHandler(
  'promote',
  z.extend(executionRefSchema, {
    deployment: deploymentSchema,
    slotDeployment: slotDeploymentSchema,
  }),
  async ({ deployment, slotDeployment, executionArn }) => {
    const result = await promoteRelease(
      ports,
      settings(),
      deployment,
      executionArn,
      slotDeployment.taskDefinitionArn,
    );
    if (result.warnings.length > 0) logger.error('promoted with warnings', { warnings: result.warnings });
    return result;
  },
);
