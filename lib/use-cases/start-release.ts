import { now } from '../clock.ts';
import { serviceConfig, serviceForRepository } from '../config/lookup.ts';
import type { ServiceConfig, ShiplineConfig } from '../config/schema.ts';
import { executionNameFor, manualExecutionNameFor } from '../domain/names.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import { InvalidInputError } from '../errors.ts';
import { manualDeployRequestSchema } from '../events/deploy-request.ts';
import { ecrImageActionEventSchema, imageUriFromEcrEvent, looksLikeEcrEvent } from '../events/ecr-push.ts';
import { parseInput } from '../events/parse.ts';
import { perEnvironment } from '../per-environment.ts';
import type { ReleaseStarter } from '../ports/release-starter.ts';
import type { ExecutionStarter } from '../ports/workflow.ts';

/**
 * What a push came to: its execution `started`; a `duplicate` of one already started or queued; `queued`
 * as a pending push behind `behind` (its execution starts when the lock is handed on to it); `superseded`
 * at once by `by`, a newer push queued or holding the lock (recorded and told as a superseded release);
 * or `ignored`.
 */
export type StartReleaseResult =
  | { status: 'started' | 'duplicate'; service: string; executionName: string; executionArn: string }
  | { status: 'queued'; service: string; executionName: string; executionArn: string; behind: string }
  | { status: 'superseded'; service: string; executionName: string; executionArn: string; by: string }
  | { status: 'ignored'; reason: string };

/** Step Functions' limit on an execution's input: 256 KB, counted in UTF-8 bytes. */
export const MAX_EXECUTION_INPUT_BYTES = 262_144;

/** What the trigger knows about the invocation it runs in. */
export interface TriggerContext {
  /** The invocation's request id (Lambda `awsRequestId`): makes each invocation's execution input distinct. */
  receiptId?: string;
  /** The pipeline's own account and region: pushes from any other registry are ignored unless configured. */
  pipeline?: { account: string; region: string };
}

/**
 * Orders two requests received by this container (execution environment) in the same millisecond: a
 * counter of the environment's own, as a module variable is on AWS.
 */
const received = perEnvironment(() => ({ count: 0 }));

/** The repository named by an ECR event, read before anything else is validated (a string, or undefined). */
const repositoryOf = (input: unknown): string | undefined => {
  const detail = (input as { detail?: unknown }).detail;
  if (typeof detail !== 'object' || detail === null) return undefined;
  const repository = (detail as Record<string, unknown>)['repository-name'];
  return typeof repository === 'string' && repository.length > 0 ? repository : undefined;
};

/**
 * Why a push to a released repository's name in this account and region is not that repository, or
 * undefined: a repository name is only unique within one registry, so the same name in another account
 * or region is another repository, and its pushes must not release the service.
 */
const foreignRegistry = (
  owner: { name: string; service: ServiceConfig },
  repository: string,
  account: string,
  region: string,
  context: TriggerContext,
): string | undefined => {
  const registry = owner.service.image.registry ?? context.pipeline;
  if (!registry || (account === registry.account && region === registry.region)) return undefined;
  return `push to repository ${repository} in account ${account} region ${region}, but ${owner.name} releases from account ${registry.account} region ${registry.region}${owner.service.image.registry ? ' (image.registry)' : " (the pipeline's own; set image.registry in shipline.yml to release from another)"}`;
};

/** Turns an ECR push event or a manual request into the execution input, and its deterministic name. */
export const releaseRequestFrom = (
  config: ShiplineConfig,
  input: unknown,
  context: TriggerContext = {},
): { request: ReleaseRequest; executionName: string } | { ignored: string } => {
  const counter = received();
  counter.count += 1;
  const receipt = {
    receivedAt: now().toISOString(),
    receivedSeq: counter.count,
    ...(context.receiptId ? { receiptId: context.receiptId } : {}),
  };
  if (looksLikeEcrEvent(input)) {
    // The repository, in its registry, decides whether the event concerns Shipline at all: an event of a
    // repository no service releases is none of its business, however malformed its other fields are.
    const named = repositoryOf(input);
    if (named !== undefined) {
      const owner = serviceForRepository(config, named);
      if (!owner) return { ignored: `repository ${named} releases no service in shipline.yml` };
      const { account, region } = input as { account?: unknown; region?: unknown };
      const foreign =
        typeof account === 'string' && typeof region === 'string'
          ? foreignRegistry(owner, named, account, region, context)
          : undefined;
      if (foreign) return { ignored: foreign };
    }
    const event = parseInput(ecrImageActionEventSchema, input, 'ECR Image Action event');
    if (event.detail['action-type'] !== 'PUSH' || event.detail.result !== 'SUCCESS') {
      return {
        ignored: `ECR ${event.detail['action-type']} ${event.detail.result} is not a successful push`,
      };
    }
    const repository = event.detail['repository-name'];
    const mapped = serviceForRepository(config, repository);
    if (!mapped) return { ignored: `repository ${repository} releases no service in shipline.yml` };
    const digest = event.detail['image-digest'];
    return {
      executionName: executionNameFor(mapped.name, digest),
      request: {
        service: mapped.name,
        image: {
          repository,
          digest,
          ...(event.detail['image-tag'] ? { tag: event.detail['image-tag'] } : {}),
          uri: imageUriFromEcrEvent(event),
        },
        requestedAt: event.time,
        ...receipt,
        source: 'ecr-push',
      },
    };
  }
  const manual = parseInput(manualDeployRequestSchema, input, 'deploy request');
  const service = serviceConfig(config, manual.service);
  return {
    executionName: manual.requestId
      ? manualExecutionNameFor(manual.service, manual.image.digest, manual.requestId)
      : executionNameFor(manual.service, manual.image.digest),
    request: {
      service: manual.service,
      image: { repository: service.image.repository, ...manual.image },
      requestedAt: receipt.receivedAt,
      ...receipt,
      source: 'manual',
      ...(manual.requestedBy ? { requestedBy: manual.requestedBy } : {}),
      ...(manual.requestId ? { requestId: manual.requestId } : {}),
      ...(manual.commitTime ? { commitTime: manual.commitTime } : {}),
    },
  };
};

/**
 * Refuses an input Step Functions would refuse, before anything starts, naming its size and the limit.
 * The request schemas cap every field well below it; this guards the whole input as sent.
 */
export const assertInputFits = (request: ReleaseRequest): void => {
  const bytes = new TextEncoder().encode(JSON.stringify(request)).length;
  if (bytes > MAX_EXECUTION_INPUT_BYTES) {
    throw new InvalidInputError(
      `release request is too large: the execution input would be ${bytes} bytes (UTF-8), and Step Functions accepts at most ${MAX_EXECUTION_INPUT_BYTES} bytes`,
    );
  }
};

/**
 * Starts exactly one execution per (service, digest). A duplicate event maps onto the same name. Every
 * invocation's input is distinct (it carries when and by which invocation it was received), so Step
 * Functions answers a duplicate, even a Lambda retry of the same event after a successful start, with
 * ExecutionAlreadyExists, reported as a duplicate; only an SDK retry of this very call gets the idempotent
 * success (same name and input while open) and rightly reports `started`.
 */
export const startRelease = async (
  ports: {
    starter: ExecutionStarter;
    /**
     * Queues the push as data behind a running release (the trigger's {@link queueBehindHolder} in
     * queue-push.ts), or answers undefined to start it now. Without it, every push starts its execution.
     */
    queue?: (request: ReleaseRequest, executionName: string) => Promise<StartReleaseResult | undefined>;
  },
  config: ShiplineConfig,
  input: unknown,
  context: TriggerContext = {},
): Promise<StartReleaseResult> => {
  const derived = releaseRequestFrom(config, input, context);
  if ('ignored' in derived) return { status: 'ignored', reason: derived.ignored };
  assertInputFits(derived.request);
  const queued = await ports.queue?.(derived.request, derived.executionName);
  if (queued) return queued;
  const { executionArn, started } = await ports.starter.start(derived.executionName, derived.request);
  return {
    status: started ? 'started' : 'duplicate',
    service: derived.request.service,
    executionName: derived.executionName,
    executionArn,
  };
};

/**
 * A {@link ReleaseStarter} for a function that holds the packaged config and may start executions (the Slack
 * interactions function): it runs the trigger's own use case in-process, so a release it starts is exactly
 * the one a push or `shipline deploy` would start (same input, same execution name per digest), without
 * invoking the trigger function (and bundling the Lambda client) to get there.
 */
export const inProcessReleaseStarter = (
  ports: { starter: ExecutionStarter },
  config: () => ShiplineConfig,
  context: () => TriggerContext,
): ReleaseStarter => ({
  start: async (request) => {
    const result = await startRelease(ports, config(), request, context());
    if (result.status === 'ignored') return result;
    const { service: _service, executionName: releaseId, ...rest } = result;
    return { ...rest, releaseId };
  },
});
