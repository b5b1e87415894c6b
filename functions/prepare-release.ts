import * as z from 'zod/mini';
import { executionRefSchema, releaseRequestSchema } from '../lib/domain/schemas.ts';
import { prepareRelease } from '../lib/use-cases/prepare-release.ts';
import {
  config,
  createAlarmWatcher,
  createDriver,
  createNotifier,
  createReleaseEvents,
  createRouter,
  createSlotReader,
  createStore,
  settings,
} from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  driver: createDriver({ router: createRouter(), slots: createSlotReader() }),
  alarms: createAlarmWatcher(),
  notifier: createNotifier(),
  events: createReleaseEvents(),
};

/**
 * Reads which slot serves, picks the idle slot, builds the plan, records and announces the release; or
 * answers `alreadyServing` when the requested digest already serves 100%.
 */
export const handler = shiplineHandler(
  'prepare-release',
  z.extend(executionRefSchema, { request: releaseRequestSchema }),
  async ({ request, releaseId, executionArn }) => {
    const warnings: string[] = [];
    const deployment = await prepareRelease(
      ports,
      config(),
      settings(),
      request,
      releaseId,
      executionArn,
      warnings,
    );
    if ('alreadyServing' in deployment) logger.info('nothing to release', { reason: deployment.reason });
    else if (warnings.length > 0) logger.error('release started with warnings', { warnings });
    return deployment;
  },
);
