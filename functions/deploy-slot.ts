import * as z from 'zod/mini';
import { deploymentSchema } from '../lib/domain/schemas.ts';
import { deployToIdleSlot } from '../lib/use-cases/deploy-slot.ts';
import { createDeployer } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const deployer = createDeployer();

/** New task definition revision pinned to the digest, rolled out to the idle slot. */
export const handler = shiplineHandler(
  'deploy-slot',
  z.object({ deployment: deploymentSchema }),
  async ({ deployment }) => deployToIdleSlot({ deployer }, deployment),
);
