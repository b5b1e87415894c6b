import * as z from 'zod/mini';
import type { CaughtFailure, Deployment, ReleaseRequest, ShiftStep, StepShift } from './types.ts';

/** Schemas of what the state machine passes between states; handlers validate their payload with them. */

const nonEmpty = () => z.string().check(z.minLength(1));
const integer = (min: number, max?: number) =>
  z.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));

export const releaseRequestSchema: z.ZodMiniType<ReleaseRequest> = z.object({
  service: nonEmpty(),
  image: z.object({
    repository: nonEmpty(),
    digest: z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/)),
    tag: z.optional(z.string()),
    uri: z.optional(z.string()),
  }),
  requestedAt: nonEmpty(),
  receivedAt: z.optional(nonEmpty()),
  receivedSeq: z.optional(integer(0)),
  receiptId: z.optional(nonEmpty()),
  source: z.enum(['ecr-push', 'manual']),
  requestedBy: z.optional(z.string()),
  requestId: z.optional(nonEmpty()),
});

const slotRefSchema = z.object({
  name: z.enum(['blue', 'green']),
  service: nonEmpty(),
  targetGroupArn: nonEmpty(),
});

export const shiftStepSchema: z.ZodMiniType<ShiftStep> = z.object({
  kind: z.literal('shift'),
  index: integer(0),
  percent: integer(0, 100),
  bakeSeconds: integer(0),
  label: z.string(),
});

/** The shifts applied so far, oldest first (see StepShift). */
export const stepShiftsSchema: z.ZodMiniType<StepShift[]> = z.array(
  z.object({ percent: integer(0, 100), shiftedAt: nonEmpty() }),
);

export const deploymentSchema: z.ZodMiniType<Deployment> = z.object({
  id: nonEmpty(),
  service: nonEmpty(),
  requestedAt: nonEmpty(),
  startedAt: nonEmpty(),
  fromVersion: z.string(),
  toVersion: z.string(),
  image: z.object({ digest: z.string(), uri: z.string(), tag: z.optional(z.string()) }),
  target: z.object({
    type: z.literal('ecs-alb'),
    cluster: nonEmpty(),
    container: nonEmpty(),
    listenerRuleArn: nonEmpty(),
    stable: slotRefSchema,
    canary: slotRefSchema,
    desiredCount: integer(0),
    stableTaskDefinitionArn: nonEmpty(),
    steadyTimeoutSeconds: integer(1),
    scaleDownDelaySeconds: integer(0),
    rollbackWindowSeconds: integer(1),
    warmAfterWindowSeconds: integer(0),
  }),
  alarms: z.array(z.string()),
  plan: z.object({ strategy: z.string(), steps: z.array(shiftStepSchema), totalBakeSeconds: z.number() }),
  topicArn: nonEmpty(),
});

/** What the deploy step returns: the revision registered and the ECS deployment rolling it out. */
export const slotDeploymentSchema = z.object({ taskDefinitionArn: nonEmpty(), deploymentId: nonEmpty() });

export const caughtFailureSchema: z.ZodMiniType<CaughtFailure> = z.object({
  Error: z.string(),
  Cause: z.optional(z.string()),
});

/** Every Task payload carries the execution's identity (from the context object). */
export const executionRefSchema = z.object({
  releaseId: nonEmpty(),
  executionArn: z.optional(nonEmpty()),
});

export const taskTokenSchema = nonEmpty();
