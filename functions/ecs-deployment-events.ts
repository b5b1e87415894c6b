import { ecsDeploymentStateChangeEventSchema } from '../lib/events/ecs-deployment.ts';
import { onEcsDeploymentEvent } from '../lib/use-cases/deploy-slot.ts';
import { createStore, createTaskTokens } from './shared/adapters.ts';
import { logger, shiplineHandler } from './shared/stack.ts';

const ports = { store: createStore(), tokens: createTaskTokens() };

/** EventBridge "ECS Deployment State Change" -> resumes the release waiting on that deployment. */
export const handler = shiplineHandler(
  'ecs-deployment-events',
  ecsDeploymentStateChangeEventSchema,
  async (event) => {
    const result = await onEcsDeploymentEvent(ports, event);
    logger.info('ECS deployment event', { eventName: event.detail.eventName, ...result });
    return result;
  },
);
