export type * from './alarm-watcher.ts';
export type * from './metrics.ts';
export type * from './notifier.ts';
export type * from './release-store.ts';
export type * from './slot-deployer.ts';
export type * from './target-driver.ts';
export type * from './traffic-router.ts';
export type * from './workflow.ts';
