import * as z from 'zod/mini';
import { findService } from '../lib/config/lookup.ts';
import { reportRelease } from '../lib/use-cases/finish-release.ts';
import {
  config,
  createDriver,
  createNotifier,
  createReleaseEvents,
  createRouter,
  createStore,
  settings,
} from './shared/adapters.ts';
import { reportInputSchema } from './shared/report-input.ts';
import { shiplineHandler } from './shared/stack.ts';

const ports = {
  store: createStore(),
  notifier: createNotifier(),
  driver: createDriver({ router: createRouter() }),
  events: createReleaseEvents(),
};

/**
 * Records and announces a release that failed before changing traffic, was superseded, or whose rollback
 * failed; records (silently) one ignored because its digest already serves.
 */
export const handler = shiplineHandler(
  'report',
  z.extend(reportInputSchema, { reason: z.optional(z.string()) }),
  async (input) => {
    const pipeline = settings();
    const declared = findService(config(), input.request.service);
    const topicArn = declared?.notify.topicArn ?? pipeline.defaultTopicArn;
    return reportRelease(ports, pipeline, { ...input, topicArn });
  },
);
