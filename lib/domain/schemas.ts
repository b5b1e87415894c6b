import * as z from 'zod';
import type { BakeOutcome, CaughtFailure, Deployment, ReleaseRequest, ShiftStep } from './types.ts';

/** Schemas of what the state machine passes between states; handlers validate their payload with them. */

export const releaseRequestSchema: z.ZodType<ReleaseRequest> = z.object({
  service: z.string().min(1),
  image: z.object({
    repository: z.string().min(1),
    digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
    tag: z.string().optional(),
    uri: z.string().optional(),
  }),
  requestedAt: z.string().min(1),
  source: z.enum(['ecr-push', 'manual']),
  requestedBy: z.string().optional(),
});

const slotRefSchema = z.object({
  name: z.enum(['blue', 'green']),
  service: z.string().min(1),
  targetGroupArn: z.string().min(1),
});

export const shiftStepSchema: z.ZodType<ShiftStep> = z.object({
  kind: z.literal('shift'),
  index: z.number().int().min(0),
  percent: z.number().int().min(0).max(100),
  bakeSeconds: z.number().int().min(0),
  label: z.string(),
});

export const deploymentSchema: z.ZodType<Deployment> = z.object({
  id: z.string().min(1),
  service: z.string().min(1),
  requestedAt: z.string().min(1),
  startedAt: z.string().min(1),
  fromVersion: z.string(),
  toVersion: z.string(),
  image: z.object({ digest: z.string(), uri: z.string(), tag: z.string().optional() }),
  target: z.object({
    type: z.literal('ecs-alb'),
    cluster: z.string().min(1),
    container: z.string().min(1),
    listenerRuleArn: z.string().min(1),
    stable: slotRefSchema,
    canary: slotRefSchema,
    desiredCount: z.number().int().min(0),
    stableTaskDefinitionArn: z.string().min(1),
    steadyTimeoutSeconds: z.number().int().min(1),
    scaleDownDelaySeconds: z.number().int().min(0),
  }),
  alarms: z.array(z.string()),
  plan: z.object({ strategy: z.string(), steps: z.array(shiftStepSchema), totalBakeSeconds: z.number() }),
  topicArn: z.string().min(1),
});

export const bakeOutcomeSchema: z.ZodType<BakeOutcome> = z.object({
  outcome: z.enum(['passed', 'failed']),
  reason: z.string(),
  alarm: z.string().optional(),
  alarmChangedAt: z.string().optional(),
});

export const caughtFailureSchema: z.ZodType<CaughtFailure> = z.object({
  Error: z.string(),
  Cause: z.string().optional(),
});

/** Every Task payload carries the execution's identity (from the context object). */
export const executionRefSchema = z.object({
  releaseId: z.string().min(1),
  executionArn: z.string().min(1).optional(),
});

export const taskTokenSchema = z.string().min(1);
