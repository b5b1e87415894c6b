import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DORA_METRICS, DORA_NAMESPACE } from '../lib/domain/dora.ts';
import { repoConfig } from './unit/fixtures.ts';

const roleResources = createRequire(import.meta.url)('../serverless/role-resources.cjs') as {
  doraDashboardBody: (config: unknown) => { 'Fn::Sub': string };
};

type MetricRow = Array<string | Record<string, unknown>>;
interface Widget {
  type: string;
  properties: { metrics: MetricRow[]; region: string; title: string };
}

/** The dashboard body as CloudFormation substitutes it in us-east-1. */
const bodyFor = (config: unknown) =>
  JSON.parse(
    roleResources.doraDashboardBody(config)['Fn::Sub'].replaceAll(`\${AWS::Region}`, 'us-east-1'),
  ) as {
    widgets: Widget[];
  };

/** Each metric a widget row references, with "." repeated from the row above as CloudWatch reads it. */
const referencedMetrics = (widget: Widget) => {
  const found: Array<{ namespace: string; name: string; dimensions: Record<string, string> }> = [];
  let previous: string[] = [];
  for (const row of widget.properties.metrics) {
    const parts = row.filter((part): part is string => typeof part === 'string');
    if (parts.length === 0) continue;
    const resolved = parts.map((part, index) => (part === '.' ? (previous[index] ?? '') : part));
    previous = resolved;
    const [namespace = '', name = '', ...pairs] = resolved;
    const dimensions: Record<string, string> = {};
    for (let index = 0; index + 1 < pairs.length; index += 2)
      dimensions[pairs[index] ?? ''] = pairs[index + 1] ?? '';
    found.push({ namespace, name, dimensions });
  }
  return found;
};

describe('serverless.yml: the DORA dashboard', () => {
  const config = repoConfig();
  const body = bodyFor(config);

  it('is valid dashboard JSON whose metric widgets use the stack region', () => {
    expect(body.widgets.length).toBeGreaterThan(0);
    for (const widget of body.widgets) {
      expect(widget.type).toBe('metric');
      expect(widget.properties.region).toBe('us-east-1');
    }
  });

  it('references exactly the five metrics the release-metrics function publishes, per declared service', () => {
    const services = Object.keys(config.services);
    for (const service of services) {
      const metrics = body.widgets
        .filter((widget) => widget.properties.title.startsWith(`${service}:`))
        .flatMap(referencedMetrics);
      expect(new Set(metrics.map((metric) => metric.name))).toEqual(new Set(Object.values(DORA_METRICS)));
      for (const metric of metrics) {
        expect(metric.namespace).toBe(DORA_NAMESPACE);
        expect(metric.dimensions).toEqual({ service, environment: 'default' });
      }
    }
    const all = body.widgets.flatMap(referencedMetrics);
    expect(new Set(all.map((metric) => metric.dimensions.service))).toEqual(new Set(services));
  });

  it('shows the five figures as expressions over the selected period', () => {
    const figures = body.widgets.find((widget) => widget.properties.title.includes('DORA'));
    const expressions = figures?.properties.metrics.flatMap((row) =>
      row.filter(
        (part): part is { expression: string; label: string } =>
          typeof part === 'object' && 'expression' in part,
      ),
    );
    expect(expressions?.map((expression) => expression.label)).toEqual([
      'Deployment frequency (per day)',
      'Change lead time, median (hours)',
      'Change fail rate (%)',
      'Failed deployment recovery time, median (minutes)',
      'Deployment rework rate (%)',
    ]);
  });

  it('still yields a valid dashboard for a config with several services', () => {
    const checkout = config.services.checkout;
    const two = bodyFor({ ...config, services: { checkout, payments: checkout } });
    expect(
      new Set(two.widgets.flatMap(referencedMetrics).map((metric) => metric.dimensions.service)),
    ).toEqual(new Set(['checkout', 'payments']));
  });
});
