import type { DoraMetricName } from '../domain/dora.ts';

/** One value of a DORA metric for a service. */
export interface DeliveryPoint {
  metric: DoraMetricName;
  value: number;
  unit: 'Count' | 'Seconds';
}

/** Publishes DORA metrics per service and environment (CloudWatch, through the embedded metric format). */
export interface DeliveryMetrics {
  publish(
    dimensions: { service: string; environment: string },
    points: DeliveryPoint[],
    at: Date,
  ): Promise<void>;
}
