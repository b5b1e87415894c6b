import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../sandbox/report/escape.ts';
import { type ReportInput, renderReport } from '../../sandbox/report/page.ts';
import { niceCeiling, VERSION_STYLES } from '../../sandbox/report/plot.ts';
import type { ServiceTimeSeries } from '../../sandbox/run/time-series.ts';
import type { ScenarioResult, ServiceResult } from '../../sandbox/run-scenario.ts';

const series = (overrides: Partial<ServiceTimeSeries> = {}): ServiceTimeSeries => ({
  latencyStatistic: 'p99',
  shares: [
    { t: -900, shares: { v1: 100 } },
    { t: 90, shares: { v1: 95, v2: 5 } },
    { t: 241.5, shares: { v1: 100 } },
  ],
  minutes: [
    ...[-300, -240, -180, -120, -60, 0, 60, 120, 180].map((t) => ({
      t,
      version: 'v1',
      from: t,
      until: t + 60,
      requests: 6000,
      errors: 6,
      errorRate: 0.001,
      latencyMs: 240,
    })),
    {
      t: 60,
      version: 'v2',
      from: 90,
      until: 120,
      requests: 150,
      errors: 12,
      errorRate: 0.08,
      latencyMs: 1200,
    },
    {
      t: 120,
      version: 'v2',
      from: 120,
      until: 180,
      requests: 300,
      errors: 24,
      errorRate: 0.08,
      latencyMs: 1200,
    },
    {
      t: 180,
      version: 'v2',
      from: 180,
      until: 240,
      requests: 300,
      errors: 24,
      errorRate: 0.08,
      latencyMs: 1210,
    },
  ],
  alarms: [{ t: 240, alarm: 'checkout-green-5xx', from: 'OK', to: 'ALARM' }],
  markers: [{ t: 241.5, kind: 'rollback', version: 'v2', text: 'Rolled back v2: v1 serves 100% again' }],
  ...overrides,
});

const service = (overrides: Partial<ServiceResult> = {}): ServiceResult => ({
  outcome: 'rolled_back',
  reason: 'alarm checkout-green-5xx went to ALARM at 5%',
  fromVersion: 'v1',
  toVersion: 'v2',
  servingVersion: 'v1',
  traffic: { 'blue (v1)': 100 },
  listenerRuleActions: ['forward'],
  notifications: [],
  executions: [],
  releases: [],
  stateTransitions: 20,
  rollbackReactionSeconds: 1.5,
  detectionSeconds: 146,
  exposedRequests: 739,
  productionWeightChanges: 2,
  series: series(),
  ...overrides,
});

const result = (services: Record<string, ServiceResult>): ScenarioResult => {
  const [name, own] = Object.entries(services)[0] ?? [];
  if (!name || !own) throw new Error('a result needs a service');
  return {
    scenario: 'x',
    outcome: own.outcome,
    reason: own.reason,
    service: name,
    fromVersion: own.fromVersion,
    toVersion: own.toVersion,
    servingVersion: own.servingVersion,
    traffic: own.traffic,
    listenerRuleActions: own.listenerRuleActions,
    executions: own.executions,
    releases: own.releases,
    timeline: [
      { t: 0, time: '+00:00:00', kind: 'event', text: 'ECR Image Action v2' },
      { t: 240, time: '+00:04:00', kind: 'alarm', text: 'checkout-green-5xx OK -> ALARM' },
      { t: 241.5, time: '+00:04:02', kind: 'traffic', text: 'blue 100% / green 0%', execution: 'v2' },
    ],
    notifications: [],
    releaseEvents: [],
    cli: [],
    unusedFaults: [],
    triggers: [],
    awsCalls: {},
    deadLetters: [],
    stateTransitions: own.stateTransitions,
    rollbackReactionSeconds: own.rollbackReactionSeconds,
    detectionSeconds: own.detectionSeconds,
    exposedRequests: own.exposedRequests,
    productionWeightChanges: own.productionWeightChanges,
    virtualSeconds: 242,
    wallMs: 900,
    seed: 1,
    services,
    dora: {},
    doraMetrics: [],
    expectations: { passed: true, failures: [] },
  };
};

const input = (overrides: Partial<ReportInput> = {}): ReportInput => ({
  result: result({ checkout: service() }),
  scenario: {
    name: 'Bad version is rolled back',
    description: 'v2 fails 8% of its requests.',
    world: { start: '2026-11-22T10:00:00Z' },
    versions: {
      v1: {
        digest: `sha256:${'a'.repeat(64)}`,
        errorRate: 0.001,
        latencyMs: 80,
        failsToStart: false,
        changes: [],
      },
      v2: {
        digest: `sha256:${'b'.repeat(64)}`,
        errorRate: 0.08,
        latencyMs: 80,
        failsToStart: false,
        changes: [],
      },
    },
  },
  file: 'examples/bad-version-rolled-back.yml',
  ...overrides,
});

/** The attributes of every element `tag` of `html` whose attributes match `filter`. */
const elements = (html: string, tag: string, filter: RegExp): Array<Record<string, string>> =>
  [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))]
    .map((m) => m[1] ?? '')
    .filter((attributes) => filter.test(attributes))
    .map((attributes) =>
      Object.fromEntries([...attributes.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
    );

/** The first wide plot (the one screens show); the narrow one repeats it for phones. */
const widePlot = (html: string): string => {
  const start = html.indexOf('<div class="plot-wide">');
  return html.slice(start, html.indexOf('</svg>', start));
};

/** The virtual time (seconds) at x, read from the time axis' tick labels as a person reads the plot. */
const timeAt = (plot: string, x: number): number => {
  const ticks = elements(plot, 'text', /class="time-tick"/).map((a) => ({
    minute: Number(a['data-minute']),
    x: Number(a.x),
  }));
  const [first, second] = ticks;
  if (!first || !second) throw new Error('fewer than two time ticks');
  return (first.minute + ((x - first.x) / (second.x - first.x)) * (second.minute - first.minute)) * 60;
};

/** Relative luminance and contrast ratio (WCAG 2.x). */
const luminance = (hex: string): number => {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
};
const contrastOnWhite = (hex: string): number => 1.05 / (luminance(hex) + 0.05);

describe('Report: the HTML page of a run', () => {
  it('escapes every character HTML gives a meaning', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('shows scenario-provided strings as text: a scenario named <script> runs nothing', () => {
    const hostile = '<script>alert(1)</script>';
    const html = renderReport(
      input({
        result: result({
          'svc"><img src=x onerror=alert(2)>': service({
            reason: hostile,
            series: series({
              alarms: [{ t: 240, alarm: `<img src=x onerror=alert(3)>`, from: 'OK', to: 'ALARM' }],
            }),
          }),
        }),
        scenario: { ...input().scenario, name: hostile, description: `</p>${hostile}` },
        file: `<svg onload=alert(4)>.yml`,
      }),
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<svg onload/i);
    expect(html).toContain('data-service="svc&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"');
    expect(html).toContain('<h1>Release report: &lt;script&gt;alert(1)&lt;/script&gt;</h1>');
    expect(html).toContain('&lt;img src=x onerror=alert(3)&gt;: OK → ALARM');
  });

  it('is self-contained: no script, no external resource, and a policy that forbids them', () => {
    const html = renderReport(input());
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(|@import|https?:\/\//i);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
  });

  it('lists the faults that never applied, as the text summary does, and nothing when all applied', () => {
    const run = result({ checkout: service() });
    const html = renderReport(
      input({
        result: { ...run, unusedFaults: ['faults[0] (ModifyRule: <ThrottlingException>) never fired'] },
      }),
    );
    expect(html).toContain(
      '<dt>Unused faults</dt><dd><span class="outcome bad">1 never applied</span><ul><li>faults[0] (ModifyRule: &lt;ThrottlingException&gt;) never fired</li></ul></dd>',
    );
    expect(renderReport(input())).not.toContain('Unused faults');
  });

  it('states the outcome of each service in words and with a symbol', () => {
    const html = renderReport(
      input({
        result: result({ checkout: service(), search: service({ outcome: 'promoted', reason: null }) }),
      }),
    );
    expect(html).toContain('data-outcome="rolled_back"><span aria-hidden="true">↩</span> Rolled back</span>');
    expect(html).toContain('data-outcome="promoted"><span aria-hidden="true">✓</span> Promoted</span>');
    expect(html).toContain('<dt>Why</dt><dd>alarm checkout-green-5xx went to ALARM at 5%</dd>');
    expect(html).toContain('<dt>Rollback took</dt><dd>1.5 s after the alarm fired</dd>');
  });

  it('draws one named series per version and panel, with the values of the run', () => {
    const plot = widePlot(renderReport(input()));
    const paths = elements(plot, 'path', /class="series"/);
    expect(paths.map((p) => p['aria-label'])).toEqual([
      'v1 traffic share',
      'v2 traffic share',
      'v1 error rate',
      'v2 error rate',
      'v1 p99 latency',
      'v2 p99 latency',
    ]);
    expect(plot).toContain('<title>v2 traffic share: 5% from +00:01:30, 0% from +00:04:02</title>');
    expect(plot).toContain(
      '<title>v1 traffic share: 100% from -00:05:00, 95% from +00:01:30, 100% from +00:04:02</title>',
    );
    expect(plot).toContain('<title>v2 error rate: 3 minutes, from 8 to 8 %</title>');
    expect(plot).toContain('<title>v2 p99 latency: 3 minutes, from 1200 to 1210 ms</title>');
    expect(plot).toContain('<title>v1 error rate: 9 minutes, from 0.1 to 0.1 %</title>');
  });

  it('puts v2’s share step where the weights changed, on the time axis people read', () => {
    const plot = widePlot(renderReport(input()));
    const share = elements(plot, 'path', /aria-label="v2 traffic share"/)[0]?.d ?? '';
    const [, x] = /^M([\d.]+),/.exec(share) ?? [];
    expect(timeAt(plot, Number(x))).toBeCloseTo(90, 0);
  });

  it('marks the alarm transition and the rollback at their virtual times, numbered and listed', () => {
    const html = renderReport(input());
    const plot = widePlot(html);
    const lines = elements(plot, 'line', /class="event-line"/);
    expect(lines.map((l) => [l['data-kind'], l['data-t']])).toEqual([
      ['alarm', '240'],
      ['rollback', '241.5'],
    ]);
    for (const line of lines) expect(timeAt(plot, Number(line.x1))).toBeCloseTo(Number(line['data-t']), 0);
    expect(elements(plot, 'g', /class="event"/).map((g) => g['aria-label'])).toEqual([
      '1. +00:04:00 checkout-green-5xx: OK → ALARM',
      '2. +00:04:02 Rolled back v2: v1 serves 100% again',
    ]);
    expect(html).toContain('<strong>Rollback</strong> at +00:04:02: Rolled back v2: v1 serves 100% again');
  });

  it('lists the timeline as the text output prints it', () => {
    const html = renderReport(input());
    expect(html).toContain(
      '<tr class="kind-alarm"><td>+00:04:00</td><td>alarm</td><td></td><td>checkout-green-5xx OK -&gt; ALARM</td></tr>',
    );
    expect(html).toContain('<td>+00:04:02</td><td>traffic</td><td>v2</td><td>blue 100% / green 0%</td>');
  });

  it('says so when a run recorded no time series', () => {
    const html = renderReport(input({ result: result({ checkout: service({ series: undefined }) }) }));
    expect(html).toContain('No time series were recorded for this run.');
  });

  it('draws versions in colours of at least 4.5:1 contrast on white, each with its own dash and shape', () => {
    for (const style of VERSION_STYLES) expect(contrastOnWhite(style.colour)).toBeGreaterThanOrEqual(4.5);
    expect(new Set(VERSION_STYLES.map((s) => s.dash)).size).toBe(VERSION_STYLES.length);
    expect(new Set(VERSION_STYLES.map((s) => s.shape)).size).toBe(VERSION_STYLES.length);
  });

  it('scales axes to nice bounds', () => {
    expect([0.12, 0.3, 7, 9.6, 1250].map(niceCeiling)).toEqual([0.2, 0.5, 10, 10, 2000]);
  });
});
