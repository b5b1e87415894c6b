import { now } from '../clock.ts';
import { serviceConfig } from '../config/lookup.ts';
import type { ShiplineConfig } from '../config/schema.ts';
import { classifyAlarms } from '../domain/alarm-rule.ts';
import { parseImageUri, versionLabel } from '../domain/names.ts';
import { changeTimeOfRequest, subjectOfDeployment } from '../domain/release-progress.ts';
import type { AlreadyServing, Deployment, ReleaseRequest } from '../domain/types.ts';
import { ServiceBusyError, TargetStateError } from '../errors.ts';
import type { ReleaseEvents } from '../ports/release-events.ts';
import { buildPlan } from '../strategies/index.ts';
import { notifyBestEffort } from './notify.ts';
import type { PipelineSettings, ReleasePorts } from './ports.ts';
import { progressOf, publishTransition } from './transitions.ts';

/**
 * Reads what serves now and plans the release: the slot at 100% is stable (if traffic is split, e.g.
 * after an interrupted release, the recorded stable slot wins), the other slot receives the new image.
 * Validates that every watched alarm exists before anything changes, records the release and notifies.
 * A push of the digest the stable slot already serves at 100% is nothing to release: returns
 * `alreadyServing` (data, routed by the state machine) before anything is recorded or announced, unless a
 * manual request with a requestId asks for it again.
 */
export const prepareRelease = async (
  ports: Pick<ReleasePorts, 'store' | 'driver' | 'alarms' | 'notifier'> & { events?: ReleaseEvents },
  config: ShiplineConfig,
  settings: PipelineSettings,
  request: ReleaseRequest,
  releaseId: string,
  executionArn: string | undefined,
  /** Collects what went wrong without failing the release (a notification that could not be sent). */
  warnings: string[] = [],
): Promise<Deployment | AlreadyServing> => {
  const declared = serviceConfig(config, request.service);
  let recorded: Awaited<ReturnType<typeof ports.store.readServiceState>>;
  const snapshot = await ports.driver.snapshot(declared, async () => {
    recorded = await ports.store.readServiceState(request.service);
    return recorded;
  });
  const { target } = snapshot;
  const names = ports.driver.names(target);
  const stableImage = parseImageUri(snapshot.servingImage);
  if (snapshot.servesAll && stableImage.digest === request.image.digest && !request.requestId) {
    return {
      alreadyServing: true,
      reason: `already serving: ${request.image.digest} (pushed as ${versionLabel(request.image)}) is what the stable slot ${names.stableUnit} runs at 100%${snapshot.servingVersion ? ` as ${snapshot.servingVersion}` : ''}; push another image, or deploy it again with a requestId`,
    };
  }
  const imageUri = request.image.uri ?? `${stableImage.repositoryUri}@${request.image.digest}`;
  if (!imageUri.endsWith(`@${request.image.digest}`)) {
    throw new TargetStateError(
      `image ${imageUri} is not pinned to the requested digest ${request.image.digest}`,
    );
  }
  const repositoryOfUri = parseImageUri(imageUri).repositoryUri.split('/').slice(1).join('/');
  if (repositoryOfUri !== declared.image.repository) {
    throw new TargetStateError(
      `image ${imageUri} is not in repository ${declared.image.repository} declared for ${request.service}`,
    );
  }

  const alarmNames = [...new Set([...declared.alarms, ...snapshot.alarms])];
  const startedAt = now();
  const { found, missing } = await ports.alarms.describe(alarmNames);
  if (missing.length > 0) {
    throw new TargetStateError(`watched alarm(s) do not exist: ${missing.join(', ')}`);
  }
  const { preExisting } = classifyAlarms(found, startedAt);

  const deployment: Deployment = {
    id: releaseId,
    service: request.service,
    requestedAt: request.requestedAt,
    startedAt: startedAt.toISOString(),
    fromVersion: snapshot.servingVersion ?? recorded?.stableVersion ?? versionLabel(stableImage),
    toVersion: versionLabel(request.image),
    image: {
      digest: request.image.digest,
      uri: imageUri,
      ...(request.image.tag ? { tag: request.image.tag } : {}),
    },
    target,
    alarms: alarmNames,
    plan: buildPlan(declared, snapshot.planContext),
    topicArn: declared.notify.topicArn ?? settings.defaultTopicArn,
  };
  const changeTime = changeTimeOfRequest(request);
  if (changeTime) deployment.changeTime = changeTime;
  const progress = progressOf(deployment, undefined, { phase: 'started', at: deployment.startedAt });

  await ports.store.putRecord({
    service: request.service,
    releaseId,
    requestedAt: request.requestedAt,
    status: 'in_progress',
    fromVersion: deployment.fromVersion,
    toVersion: deployment.toVersion,
    image: deployment.image,
    ...(executionArn ? { executionArn } : {}),
    startedAt: deployment.startedAt,
    currentPercent: 0,
    progress,
  });
  // Claiming the idle slot is the last step that can fail: a release that fails before it leaves the
  // previous release's delayed scale-down of that slot in place.
  await ports.store.claimIdleSlot(request.service, releaseId);
  // Once claimed, no rollback of an older release can start (its fence needs it to be the latest). One that
  // finished between the read above and the claim may have moved the weights: plan again from what serves.
  const changed = await ports.driver.trafficChangedSince(target, snapshot, releaseId);
  if (changed) throw new ServiceBusyError(`${changed}; planning again`);
  await notifyBestEffort(
    ports,
    deployment.topicArn,
    {
      kind: 'started',
      service: request.service,
      releaseId,
      ...(executionArn ? { executionArn } : {}),
      fromVersion: deployment.fromVersion,
      toVersion: deployment.toVersion,
      region: settings.region,
      details: {
        plan: deployment.plan.steps.map((step) => step.label),
        ...snapshot.details,
        watchedAlarms: alarmNames,
        ...(preExisting.length > 0
          ? {
              alarmsAlreadyFiring: preExisting.map((alarm) => alarm.name),
              note: 'alarms already in ALARM before the release do not block it',
            }
          : {}),
      },
    },
    warnings,
  );
  await publishTransition(
    ports.events,
    subjectOfDeployment(deployment),
    progress,
    {
      kind: 'started',
      text: `Releasing ${deployment.toVersion} to ${deployment.service} (from ${deployment.fromVersion}), ${deployment.plan.strategy}: ${deployment.plan.steps.length} steps`,
    },
    executionArn,
  );
  return deployment;
};
