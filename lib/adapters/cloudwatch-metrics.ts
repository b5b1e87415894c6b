import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Metrics } from '../ports/metrics.ts';
import { clientBase, customize } from './aws-clients.ts';

/**
 * The namespace every Shipline metric goes to. The functions' roles may publish only here
 * (`cloudwatch:namespace` condition: PutMetricData has no resource-level permission).
 */
export const METRICS_NAMESPACE = 'Shipline';

/** Pipeline counters as CloudWatch custom metrics (PutMetricData). */
export class CloudWatchMetrics implements Metrics {
  public constructor(private readonly client: CloudWatchClient) {}

  public async count(metric: string, dimensions: Record<string, string>): Promise<void> {
    await this.client.send(
      new PutMetricDataCommand({
        Namespace: METRICS_NAMESPACE,
        MetricData: [
          {
            MetricName: metric,
            Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
            Value: 1,
            Unit: 'Count',
          },
        ],
      }),
    );
  }
}

/** The metrics publisher on a new CloudWatch client. */
export const createCloudWatchMetrics = (): CloudWatchMetrics =>
  new CloudWatchMetrics(customize(new CloudWatchClient(clientBase()), 'CloudWatch'));
