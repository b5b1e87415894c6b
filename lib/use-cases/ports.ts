import type { AlarmWatcher } from '../ports/alarm-watcher.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { ReleaseStore } from '../ports/release-store.ts';
import type { SlotDeployer } from '../ports/slot-deployer.ts';
import type { TrafficRouter } from '../ports/traffic-router.ts';
import type { ExecutionStarter, TaskTokens } from '../ports/workflow.ts';

/** Every port a use case may need; each use case takes only the ones it uses. */
export interface ReleasePorts {
  store: ReleaseStore;
  router: TrafficRouter;
  deployer: SlotDeployer;
  alarms: AlarmWatcher;
  notifier: Notifier;
  tokens: TaskTokens;
  starter: ExecutionStarter;
}

/** Deployment-wide settings a use case needs besides ports. */
export interface PipelineSettings {
  region: string;
  /** The pipeline's SNS topic (used when a service declares none). */
  defaultTopicArn: string;
}
