import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DORA_NAMESPACE } from '../domain/dora.ts';
import type { DeliveryMetrics, DeliveryPoint } from '../ports/delivery-metrics.ts';

/** Where EMF documents go instead of stdout (the sandbox's CloudWatch Logs); undefined in Lambda. */
export type EmfSink = (document: string) => void;

let sink: EmfSink | undefined;

/**
 * Sends EMF documents to `next` instead of the function's stdout (the sandbox extracts them as CloudWatch
 * Logs does); undefined restores stdout.
 */
export const useEmfSink = (next: EmfSink | undefined): void => {
  sink = next;
};

const UNITS = { Count: MetricUnit.Count, Seconds: MetricUnit.Seconds } as const;

/**
 * DORA metrics as embedded metric format log lines, through Powertools Metrics: CloudWatch Logs extracts
 * them into metrics of namespace `Shipline/DORA` with the dimensions `service` (Powertools' own service
 * dimension, set to the released service) and `environment`. No PutMetricData call, so no IAM beyond writing
 * the function's logs. One document per release end, timestamped at the end.
 */
export class EmfDeliveryMetrics implements DeliveryMetrics {
  public async publish(
    dimensions: { service: string; environment: string },
    points: DeliveryPoint[],
    at: Date,
  ): Promise<void> {
    if (points.length === 0) return;
    const metrics = new Metrics({
      namespace: DORA_NAMESPACE,
      serviceName: dimensions.service,
      defaultDimensions: { environment: dimensions.environment },
    });
    metrics.setTimestamp(at);
    for (const point of points) metrics.addMetric(point.metric, UNITS[point.unit], point.value);
    if (sink) {
      sink(JSON.stringify(metrics.serializeMetrics()));
      metrics.clearMetrics();
    } else metrics.publishStoredMetrics();
  }
}
