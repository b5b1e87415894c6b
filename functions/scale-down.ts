import * as z from 'zod/mini';
import { deploymentSchema } from '../lib/domain/schemas.ts';
import { scaleDownOldSlot } from '../lib/use-cases/finish-release.ts';
import { createDriver, createReleaseEvents, createScaler, createStore } from './shared/adapters.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ slots: createScaler() }),
  events: createReleaseEvents(),
};

/** After the warm period, scales the old slot to zero unless a newer release took it. */
export const handler = shiplineHandler(
  'scale-down',
  z.object({ deployment: deploymentSchema }),
  async ({ deployment }) => scaleDownOldSlot(ports, deployment),
);
