/** Counts pipeline events an alarm can page on (CloudWatch custom metrics first). */
export interface Metrics {
  /** Adds 1 to `metric` in the pipeline's namespace, with these dimensions. */
  count(metric: string, dimensions: Record<string, string>): Promise<void>;
}
