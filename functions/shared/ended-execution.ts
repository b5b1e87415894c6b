import { findService } from '../../lib/config/lookup.ts';
import type { ExecutionStatusChange } from '../../lib/use-cases/finish-release.ts';
import { endStoppedRelease } from '../../lib/use-cases/stopped-release.ts';
import {
  config,
  createMetrics,
  createNotifier,
  createReleaseEvents,
  createRouter,
  createStarter,
  createStore,
  createTaskTokens,
  settings,
} from './adapters.ts';
import { createPendingPushReporter } from './pending-push.ts';
import { logger } from './stack.ts';

/**
 * The ports of handOffEndedExecution (lib/use-cases/finish-release.ts), wired as every function that hands
 * an ended release execution on needs them: the status-change event's function and the reconciler that
 * stands in for a lost event. Built once per container (call at module scope).
 */
export const createEndedExecutionPorts = () => {
  const store = createStore();
  const notifier = createNotifier();
  const events = createReleaseEvents();
  const router = createRouter();
  /** Ends the stopped release's record and tells its service's topic (`notify.topicArn`, else the pipeline's). */
  const endStopped = async (service: string, change: ExecutionStatusChange) => {
    const declared = findService(config(), service);
    if (!declared) return { ended: false };
    return endStoppedRelease(
      { store, notifier, events, router },
      settings(),
      { ...declared, name: service, topicArn: declared.notify.topicArn ?? settings().defaultTopicArn },
      change,
    );
  };
  return {
    store,
    tokens: createTaskTokens(),
    starter: createStarter(),
    supersedePending: createPendingPushReporter({ store, notifier, events }),
    endStopped,
    metrics: createMetrics(),
    log: logger,
  };
};
