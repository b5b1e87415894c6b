/** Where traffic is split between a stable and a canary destination. */
export interface AlbListenerRuleRoute {
  kind: 'alb-listener-rule';
  listenerRuleArn: string;
}

export type TrafficRoute = AlbListenerRuleRoute;

/** A traffic split: destination ids (target group ARNs, alias versions, ...) and their weights. */
export interface TrafficSplit {
  stable: string;
  canary: string;
  /** Percent of traffic for the canary destination; the stable one gets the rest. */
  canaryPercent: number;
}

/** Moves traffic between two destinations. One adapter per mechanism (ALB weighted target groups first). */
export interface TrafficRouter {
  /** Current weight per destination id, normalised to percent. */
  readWeights(route: TrafficRoute): Promise<Record<string, number>>;
  /** Applies the split in one call, so traffic is never routed to neither destination. */
  setWeights(route: TrafficRoute, split: TrafficSplit): Promise<void>;
}
