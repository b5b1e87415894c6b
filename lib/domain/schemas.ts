import * as z from 'zod/mini';
import type { PlanStep, ReleasePlan } from './plan.ts';
import type { Actor, BakePromotion } from './progress.ts';
import type { CaughtFailure, Deployment, ReleaseRequest, StepCursor, StepShift } from './types.ts';

/**
 * Schemas of what the state machine passes between states; handlers validate their payload with them.
 * Each larger schema is built on its first parse (`z.lazy`): building them all was half of a function's
 * module evaluation at cold start, and most functions parse only some (prepare-release never parses a
 * deployment). Marked pure, so a bundle that never parses one leaves it (and the zod code only it uses)
 * out. The schemas handlers extend (`z.extend`) stay plain objects.
 */

const nonEmpty = () => z.string().check(z.minLength(1));
const integer = (min: number, max?: number) =>
  z.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));

export const releaseRequestSchema: z.ZodMiniType<ReleaseRequest> = /* @__PURE__ */ z.lazy(() =>
  z.object({
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
    commitTime: z.optional(nonEmpty()),
  }),
);

const slotRefSchema = () =>
  z.object({
    name: z.enum(['blue', 'green']),
    service: nonEmpty(),
    targetGroupArn: nonEmpty(),
  });

const stepBase = () => ({ index: integer(0), label: z.string() });

const smokeTestSchema = () =>
  z.union([
    z.object({ type: z.literal('lambda'), functionName: nonEmpty() }),
    z.object({ type: z.literal('http'), path: nonEmpty(), expectStatus: integer(100, 599) }),
  ]);

/** One step of a plan (lib/domain/plan.ts), as it travels in the execution's state. */
export const planStepSchema: z.ZodMiniType<PlanStep> = /* @__PURE__ */ z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('deploy'), ...stepBase() }),
    z.object({
      kind: z.literal('await-ready'),
      ...stepBase(),
      timeoutSeconds: integer(1),
      watchAlarms: z.optional(z.literal(true)),
    }),
    z.object({ kind: z.literal('shift'), ...stepBase(), percent: integer(0, 100) }),
    z.object({
      kind: z.literal('bake'),
      ...stepBase(),
      seconds: integer(1),
      inconclusive: z.enum(['fail', 'pass', 'pause']),
      inconclusivePauseSeconds: z.optional(integer(1)),
    }),
    z.object({ kind: z.literal('test-traffic'), ...stepBase(), on: z.boolean() }),
    z.object({
      kind: z.literal('check'),
      ...stepBase(),
      name: nonEmpty(),
      test: smokeTestSchema(),
      timeoutSeconds: integer(1),
    }),
    z.object({ kind: z.literal('swap'), ...stepBase() }),
    z.object({
      kind: z.literal('pause'),
      ...stepBase(),
      timeoutSeconds: integer(1),
      onTimeout: z.enum(['fail', 'continue']),
    }),
    z.object({
      kind: z.literal('retire'),
      ...stepBase(),
      rollbackWindowSeconds: integer(0),
      warmAfterWindowSeconds: integer(0),
    }),
  ]),
);

export const releasePlanSchema: z.ZodMiniType<ReleasePlan> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    strategy: z.enum(['canary', 'linear', 'all-at-once', 'blue-green']),
    steps: z.array(planStepSchema).check(z.minLength(1)),
    totalBakeSeconds: integer(0),
  }),
);

/** The shifts applied so far, oldest first (see StepShift). */
export const stepShiftsSchema: z.ZodMiniType<StepShift[]> = /* @__PURE__ */ z.lazy(() =>
  z.array(z.object({ percent: integer(0, 100), shiftedAt: nonEmpty() })),
);

export const deploymentSchema: z.ZodMiniType<Deployment> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    id: nonEmpty(),
    service: nonEmpty(),
    requestedAt: nonEmpty(),
    startedAt: nonEmpty(),
    fromVersion: z.string(),
    toVersion: z.string(),
    image: z.object({ digest: z.string(), uri: z.string(), tag: z.optional(z.string()) }),
    target: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('ecs-alb'),
        cluster: nonEmpty(),
        container: nonEmpty(),
        listenerRuleArn: nonEmpty(),
        stable: slotRefSchema(),
        canary: slotRefSchema(),
        desiredCount: integer(0),
        stableTaskDefinitionArn: nonEmpty(),
        testListenerRuleArn: z.optional(nonEmpty()),
        testUrl: z.optional(nonEmpty()),
      }),
      z.object({
        type: z.literal('ecs-rolling'),
        cluster: nonEmpty(),
        container: nonEmpty(),
        service: nonEmpty(),
        desiredCount: integer(0),
        stableTaskDefinitionArn: nonEmpty(),
      }),
    ]),
    alarms: z.array(z.string()),
    plan: releasePlanSchema,
    topicArn: nonEmpty(),
    changeTime: z.optional(
      z.object({ at: nonEmpty(), source: z.enum(['oci-label', 'deploy-request', 'push']) }),
    ),
  }),
);

/** What the deploy step started: the revision registered and the ECS deployment rolling it out. */
export const rolloutSchema = /* @__PURE__ */ z.lazy(() =>
  z.object({ taskDefinitionArn: nonEmpty(), deploymentId: nonEmpty() }),
);

/** Who gave a command (Actor): a CLI caller's principal, or a Slack user with the name the click carried. */
export const actorSchema: z.ZodMiniType<Actor> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    via: z.enum(['cli', 'slack']),
    id: nonEmpty(),
    name: z.optional(z.string()),
  }),
);

/** Where the release is in its plan (`$.cursor`), see StepCursor. */
export const stepCursorSchema: z.ZodMiniType<StepCursor> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    index: integer(0),
    step: planStepSchema,
    shifts: stepShiftsSchema,
    rollout: z.nullable(rolloutSchema),
    note: z.optional(z.string()),
    promotions: z.optional(
      z.array(
        z.object({
          index: integer(0),
          by: nonEmpty(),
          reason: z.string(),
          full: z.boolean(),
          at: nonEmpty(),
          actor: z.optional(actorSchema),
        }),
      ),
    ),
  }),
);

/**
 * What a bake's (or the rollback window's) task returns when a person promotes the release (BakePromotion,
 * lib/domain/progress.ts): the command sends exactly this.
 */
export const bakePromotionSchema: z.ZodMiniType<BakePromotion> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    outcome: z.literal('promoted'),
    full: z.boolean(),
    by: nonEmpty(),
    reason: z.string(),
    actor: z.optional(actorSchema),
  }),
);

export const caughtFailureSchema: z.ZodMiniType<CaughtFailure> = /* @__PURE__ */ z.lazy(() =>
  z.object({
    Error: z.string(),
    Cause: z.optional(z.string()),
  }),
);

/** Every Task payload carries the execution's identity (from the context object). */
export const executionRefSchema = z.object({
  releaseId: nonEmpty(),
  executionArn: z.optional(nonEmpty()),
});

export const taskTokenSchema = /* @__PURE__ */ nonEmpty();
