import type { SimulatedWorld } from '../aws/world.ts';

/**
 * A behaviour is worse when one of its figures exceeds the replaced version's by more than 10%: a version
 * declared a few percent slower on purpose (healthy-canary's 85 ms against 80 ms) is not a regression.
 */
const WORSE_BY = 1.1;

/**
 * How fast a regression was caught, and how many requests it reached.
 *
 * - Regression onset: the first moment the released version (the newest execution's `toVersion`) served
 *   the service's traffic (through its own listener rule: another service running the same image is another
 *   deployment) while behaving worse than the version it replaces (`fromVersion`) is declared: an error rate,
 *   mean or p99 response time more than 10% above that version's declared base behaviour (WORSE_BY). This includes `changes`
 *   that kick in later (after some time, or at some traffic share): onset is when the worse behaviour first
 *   served, not when the release started. Traffic is integrated minute by minute and at every routing
 *   change, so onset is exact to the minute a time-triggered change takes effect in.
 * - `detectionSeconds`: from onset to the first transition into ALARM, at or after onset, of an alarm the
 *   service watches (service alarms and both slots' alarms). Null without a regression, or when no watched
 *   alarm went to ALARM after it.
 * - `exposedRequests`: requests the released version served while behaving worse than the replaced one,
 *   rounded; 0 without a regression.
 */
export const detection = (input: {
  world: SimulatedWorld;
  fromVersion: string | null;
  toVersion: string | null;
  watched: readonly string[];
  since: number;
  /** The service's production listener rule: only requests it routed count. */
  listenerRuleArn: string;
}): { detectionSeconds: number | null; exposedRequests: number; regressionOnsetAt: number | null } => {
  const { world } = input;
  const released = input.toVersion ? world.versions.byName(input.toVersion) : undefined;
  const replaced = input.fromVersion ? world.versions.byName(input.fromVersion) : undefined;
  if (!released || !replaced || released.name === replaced.name)
    return { detectionSeconds: null, exposedRequests: 0, regressionOnsetAt: null };
  const base = world.versions.baseBehaviour(replaced);
  let onset: number | undefined;
  let exposed = 0;
  for (const served of world.traffic.served.values()) {
    if (served.version !== released.name || served.listenerRuleArn !== input.listenerRuleArn) continue;
    const b = served.behaviour;
    const worse =
      b.errorRate > base.errorRate * WORSE_BY ||
      b.latencyMs > base.latencyMs * WORSE_BY ||
      b.latencyP99Ms > base.latencyP99Ms * WORSE_BY;
    if (!worse) continue;
    exposed += served.requests;
    onset = onset === undefined ? served.firstAt : Math.min(onset, served.firstAt);
  }
  if (onset === undefined) return { detectionSeconds: null, exposedRequests: 0, regressionOnsetAt: null };
  const watched = new Set(input.watched);
  const from = Math.max(onset, input.since);
  const alarmAt = world.alarmTransitions.find(
    (t) => t.state === 'ALARM' && watched.has(t.alarm) && t.at >= from,
  )?.at;
  return {
    detectionSeconds: alarmAt === undefined ? null : (alarmAt - onset) / 1000,
    exposedRequests: Math.round(exposed),
    regressionOnsetAt: onset,
  };
};

/**
 * `expect.maxDetectionSeconds` and `expect.maxExposedRequests`: one failure message each.
 *
 * A bound on detection asserts that a regression was detected: a run with nothing detected fails it, and
 * says why (no regression ever served, or a regression no watched alarm caught), because a scenario whose
 * regression never materialised (a `changes` entry that never applies) would otherwise pass for the wrong
 * reason. A bound on exposure is a bound on harm: a run without a regression exposed no request and meets it.
 */
export const checkDetection = (
  expect: { maxDetectionSeconds?: number; maxExposedRequests?: number },
  result: { detectionSeconds: number | null; exposedRequests: number },
): string[] => {
  const failures: string[] = [];
  const max = expect.maxDetectionSeconds;
  if (max !== undefined && result.detectionSeconds === null)
    failures.push(
      result.exposedRequests === 0
        ? `detectionSeconds: expected at most ${max}, got none: there was no regression to detect (the released version never served a request while behaving worse than the version it replaces)`
        : `detectionSeconds: expected at most ${max}, got none: the regression was never detected (no watched alarm went to ALARM after its onset; it reached ${result.exposedRequests} requests)`,
    );
  else if (max !== undefined && result.detectionSeconds !== null && result.detectionSeconds > max)
    failures.push(`detectionSeconds: expected at most ${max}, got ${result.detectionSeconds}`);
  if (expect.maxExposedRequests !== undefined && result.exposedRequests > expect.maxExposedRequests)
    failures.push(
      `exposedRequests: expected at most ${expect.maxExposedRequests}, got ${result.exposedRequests}`,
    );
  return failures;
};
