import { now } from '../clock.ts';
import { serviceConfig, serviceForRepository } from '../config/lookup.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { executionNameFor, manualExecutionNameFor } from '../domain/names.ts';
import type { ReleaseRequest } from '../domain/types.ts';
import { manualDeployRequestSchema } from '../events/deploy-request.ts';
import { ecrImageActionEventSchema, imageUriFromEcrEvent, looksLikeEcrEvent } from '../events/ecr-push.ts';
import { parseInput } from '../events/parse.ts';
import type { ExecutionStarter } from '../ports/workflow.ts';

export type StartReleaseResult =
  | { status: 'started' | 'duplicate'; service: string; executionName: string; executionArn: string }
  | { status: 'ignored'; reason: string };

/** Turns an ECR push event or a manual request into the execution input, and its deterministic name. */
export const releaseRequestFrom = (
  config: ShiplineConfig,
  input: unknown,
): { request: ReleaseRequest; executionName: string } | { ignored: string } => {
  if (looksLikeEcrEvent(input)) {
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
      requestedAt: now().toISOString(),
      source: 'manual',
      ...(manual.requestedBy ? { requestedBy: manual.requestedBy } : {}),
    },
  };
};

/**
 * Starts exactly one execution per (service, digest). A duplicate event maps onto the same name:
 * Step Functions returns the open execution for the same input, or ExecutionAlreadyExists, which is
 * reported as a duplicate rather than an error.
 */
export const startRelease = async (
  ports: { starter: ExecutionStarter },
  config: ShiplineConfig,
  input: unknown,
): Promise<StartReleaseResult> => {
  const derived = releaseRequestFrom(config, input);
  if ('ignored' in derived) return { status: 'ignored', reason: derived.ignored };
  const { executionArn, started } = await ports.starter.start(derived.executionName, derived.request);
  return {
    status: started ? 'started' : 'duplicate',
    service: derived.request.service,
    executionName: derived.executionName,
    executionArn,
  };
};
