import type { BlueGreenStrategyConfig, ServiceConfig } from '../config/schema.ts';
import type { ReleasePlan } from '../domain/plan.ts';
import { formatDuration } from '../duration.ts';
import {
  assemble,
  awaitReadyStep,
  bakeStep,
  checkSteps,
  type DraftStep,
  deployStep,
  type PlanContext,
  retireStep,
  slotWords,
  testTrafficStep,
} from './steps.ts';

/**
 * Blue/green (ecs-alb): deploy to the idle slot, point the test route at it, run the checks, optionally wait
 * for a person, swap all production traffic in one call, take the test route off, bake, retire. Anything
 * that fails before the swap never touched production; after it, swapping back is one call.
 */
export const planBlueGreen = (
  service: ServiceConfig & { strategy: BlueGreenStrategyConfig },
  context: PlanContext,
): ReleasePlan => {
  const { pause } = service.strategy;
  const { newSlot } = slotWords(context);
  const pauseSteps: DraftStep[] = pause
    ? [
        {
          kind: 'pause',
          timeoutSeconds: pause.timeout,
          onTimeout: pause.onTimeout,
          label: `Wait for approval to swap (at most ${formatDuration(pause.timeout)}, then ${pause.onTimeout === 'fail' ? 'roll back' : 'swap'})`,
        },
      ]
    : [];
  return assemble('blue-green', [
    deployStep(service, context),
    awaitReadyStep(service, context),
    testTrafficStep(true, context),
    ...checkSteps(service),
    ...pauseSteps,
    { kind: 'swap', label: `Swap production traffic to ${newSlot}` },
    testTrafficStep(false, context),
    bakeStep(service, service.strategy.bake, context),
    retireStep(service, context),
  ]);
};
