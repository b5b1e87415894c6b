import { KIND_LABELS } from '../print.ts';
import { formatOffset } from '../run/summarise.ts';
import type { ServiceTimeSeries } from '../run/time-series.ts';
import type { ScenarioResult, ServiceResult } from '../run-scenario.ts';
import type { Scenario } from '../scenario/schema.ts';
import { escapeHtml } from './escape.ts';
import {
  formatNumber,
  latencyLabel,
  legendSwatch,
  NARROW_LAYOUT,
  type PlotEvent,
  plotDomain,
  renderPlot,
  versionStyle,
  versionsOf,
  WIDE_LAYOUT,
} from './plot.ts';

/** What a report is made of: the run's result (with its time series) and the scenario it ran. */
export interface ReportInput {
  result: ScenarioResult;
  scenario: Pick<Scenario, 'name' | 'description' | 'versions'> & { world: { start: string } };
  /** The scenario file as the person named it. */
  file: string;
}

/** Words, and a symbol that says the same without colour, for each outcome. */
const OUTCOME_WORDS: Record<string, { symbol: string; words: string; tone: 'good' | 'bad' | 'neutral' }> = {
  promoted: { symbol: '\u2713', words: 'Promoted', tone: 'good' },
  rolled_back: { symbol: '\u21a9', words: 'Rolled back', tone: 'bad' },
  failed: { symbol: '\u2715', words: 'Failed', tone: 'bad' },
  rejected: { symbol: '\u2715', words: 'Rejected', tone: 'bad' },
  superseded: { symbol: '\u2192', words: 'Superseded', tone: 'neutral' },
  ignored: { symbol: '\u2022', words: 'Ignored', tone: 'neutral' },
};

const outcomeBadge = (outcome: string): string => {
  const o = OUTCOME_WORDS[outcome] ?? { symbol: '\u2022', words: outcome, tone: 'neutral' as const };
  return `<span class="outcome ${o.tone}" data-outcome="${escapeHtml(outcome)}"><span aria-hidden="true">${o.symbol}</span> ${escapeHtml(o.words)}</span>`;
};

const percent = (rate: number): string => `${formatNumber(Number((rate * 100).toFixed(3)))}%`;

/** A definition list of the rows that have a value. */
const facts = (rows: Array<[string, string | undefined]>): string =>
  `<dl class="facts">${rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${value}</dd>`)
    .join('')}</dl>`;

const outcomeSection = (name: string, service: ServiceResult): string => {
  const traffic = Object.entries(service.traffic)
    .map(([slot, weight]) => `${slot} ${weight}%`)
    .join(', ');
  return `<article class="service-outcome" data-service="${escapeHtml(name)}"><h3>${escapeHtml(name)} ${outcomeBadge(service.outcome)}</h3>${facts(
    [
      ['Release', escapeHtml(`${service.fromVersion ?? '?'} \u2192 ${service.toVersion ?? '?'}`)],
      ['Serving now', escapeHtml(`${service.servingVersion ?? 'split'}${traffic ? ` (${traffic})` : ''}`)],
      ['Why', service.reason ? escapeHtml(service.reason) : undefined],
      [
        'Rollback took',
        service.rollbackReactionSeconds === null
          ? undefined
          : escapeHtml(`${service.rollbackReactionSeconds} s after the alarm fired`),
      ],
      [
        'Detected after',
        service.detectionSeconds === null
          ? undefined
          : escapeHtml(
              `${service.detectionSeconds} s from the regression's onset; ${formatNumber(Math.round(service.exposedRequests))} requests served by the regressed version`,
            ),
      ],
      [
        'Executions',
        escapeHtml(
          service.executions.map((e) => `${e.version}: ${e.status} (${e.outcome})`).join('; ') || 'none',
        ),
      ],
    ],
  )}</article>`;
};

/** The numbered events of a service's plot: its alarms' transitions and where each release ended. */
export const plotEvents = (series: ServiceTimeSeries): PlotEvent[] => {
  const events: Array<Omit<PlotEvent, 'number'>> = [
    ...series.alarms.map((a) => ({
      t: a.t,
      kind: a.to === 'ALARM' ? ('alarm' as const) : ('ok' as const),
      text: `${a.alarm}: ${a.from} \u2192 ${a.to}`,
    })),
    ...series.markers.map((m) => ({ t: m.t, kind: m.kind, text: m.text })),
  ];
  // Same instant: the alarm first, as it caused what follows.
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.t - b.e.t || a.i - b.i)
    .map(({ e }, i) => ({ ...e, number: i + 1 }));
};

const EVENT_WORDS: Record<PlotEvent['kind'], string> = {
  alarm: 'Alarm',
  ok: 'Alarm',
  rollback: 'Rollback',
  promotion: 'Promotion',
  failure: 'Failure',
};

const numbersTable = (series: ServiceTimeSeries, versions: readonly string[], from: number): string => {
  const rows = series.minutes
    .filter((m) => m.t >= from)
    .map(
      (m) =>
        `<tr><td>${escapeHtml(formatOffset(m.t))}</td><td>${escapeHtml(m.version)}</td><td>${formatNumber(Math.round(m.requests))}</td><td>${formatNumber(Math.round(m.errors))}</td><td>${escapeHtml(percent(m.errorRate))}</td><td>${m.latencyMs === null ? '\u2013' : formatNumber(m.latencyMs)}</td></tr>`,
    )
    .join('');
  const shares = series.shares
    .map(
      (s) =>
        `<tr><td>${escapeHtml(formatOffset(s.t))}</td><td>${escapeHtml(
          versions
            .filter((v) => (s.shares[v] ?? 0) > 0)
            .map((v) => `${v} ${formatNumber(s.shares[v] ?? 0)}%`)
            .join(', ') || 'no version serves',
        )}</td></tr>`,
    )
    .join('');
  return `<details class="numbers"><summary>The numbers behind the plot</summary><div class="scroll"><table><caption>Traffic share of each version, from each time on</caption><thead><tr><th scope="col">From</th><th scope="col">Shares</th></tr></thead><tbody>${shares}</tbody></table></div><div class="scroll"><table><caption>Per minute and version (the minute starting at the time shown)</caption><thead><tr><th scope="col">Minute</th><th scope="col">Version</th><th scope="col">Requests</th><th scope="col">5xx errors</th><th scope="col">Error rate</th><th scope="col">${escapeHtml(latencyLabel(series.latencyStatistic))} (ms)</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
};

const plotSection = (name: string, service: ServiceResult, endSeconds: number, index: number): string => {
  const series = service.series;
  if (!series)
    return `<section class="service-plot"><h3>${escapeHtml(name)}</h3><p>No time series were recorded for this run.</p></section>`;
  const versions = versionsOf(series);
  const events = plotEvents(series);
  const legend = versions
    .map((version, i) => {
      const role =
        version === service.fromVersion
          ? ' (serving at the start)'
          : version === service.toVersion
            ? ' (the new version)'
            : '';
      return `<li>${legendSwatch(versionStyle(i))}<span>${escapeHtml(version)}${escapeHtml(role)}</span></li>`;
    })
    .join('');
  const plot = (layout: typeof WIDE_LAYOUT, kind: string) =>
    `<div class="plot-${kind}">${renderPlot({ service: name, series, versions, events, endSeconds, layout, id: `plot-${index}-${kind}` })}</div>`;
  const eventList = events.length
    ? `<ol class="events">${events
        .map(
          (e) =>
            `<li data-kind="${e.kind}" data-t="${e.t}"><span class="event-badge ${e.kind === 'alarm' || e.kind === 'ok' ? 'round' : 'square'} ${e.kind}" aria-hidden="true">${e.number}</span><span><strong>${escapeHtml(EVENT_WORDS[e.kind])}</strong> at ${escapeHtml(formatOffset(e.t))}: ${escapeHtml(e.text)}</span></li>`,
        )
        .join('')}</ol>`
    : '<p>No alarm changed state and no release ended during the run.</p>';
  const { from } = plotDomain(series, endSeconds);
  return `<section class="service-plot" data-service="${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><figure><figcaption>${escapeHtml(
    `${name}: traffic share, error rate and ${latencyLabel(series.latencyStatistic)} of each version over virtual time. Error rate and latency are per minute, of the requests each version served.`,
  )}</figcaption><ul class="legend" aria-label="Versions">${legend}</ul>${plot(WIDE_LAYOUT, 'wide')}${plot(NARROW_LAYOUT, 'narrow')}</figure>${eventList}${numbersTable(series, versions, from)}</section>`;
};

const versionsTable = (versions: ReportInput['scenario']['versions']): string => {
  const rows = Object.entries(versions)
    .map(([name, v]) => {
      const changes = v.changes
        .map((c) =>
          [
            c.after !== undefined ? `after ${c.after}${typeof c.after === 'number' ? ' s' : ''}` : undefined,
            c.atTrafficPercentAtLeast !== undefined
              ? `at \u2265${c.atTrafficPercentAtLeast}% of traffic`
              : undefined,
            c.errorRate !== undefined ? `errors ${percent(c.errorRate)}` : undefined,
            c.latencyMs !== undefined ? `mean ${formatNumber(c.latencyMs)} ms` : undefined,
            c.latencyP99Ms !== undefined ? `p99 ${formatNumber(c.latencyP99Ms)} ms` : undefined,
          ]
            .filter(Boolean)
            .join(', '),
        )
        .join('; ');
      return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(percent(v.errorRate))}</td><td>${formatNumber(v.latencyMs)}</td><td>${v.latencyP99Ms === undefined ? '\u2013' : formatNumber(v.latencyP99Ms)}</td><td>${escapeHtml([v.failsToStart ? 'tasks never start' : '', changes].filter(Boolean).join('; ') || '\u2013')}</td></tr>`;
    })
    .join('');
  return `<div class="scroll"><table><caption>How each version of the scenario behaves</caption><thead><tr><th scope="col">Version</th><th scope="col">Error rate</th><th scope="col">Mean latency (ms)</th><th scope="col">p99 latency (ms)</th><th scope="col">Changes</th></tr></thead><tbody>${rows}</tbody></table></div>`;
};

const timelineTable = (result: ScenarioResult): string => {
  // As the text output: the service is named only in a world of several.
  const several = Object.keys(result.services).length > 1;
  const rows = result.timeline
    .map((e) => {
      const release = [several ? e.service : undefined, e.execution].filter(Boolean).join(' ');
      const kind = KIND_LABELS[e.kind as keyof typeof KIND_LABELS] ?? e.kind;
      return `<tr class="kind-${escapeHtml(e.kind)}"><td>${escapeHtml(e.time)}</td><td>${escapeHtml(kind)}</td><td>${escapeHtml(release)}</td><td>${escapeHtml(e.text)}</td></tr>`;
    })
    .join('');
  return `<div class="scroll"><table class="timeline"><caption>Everything the run did, in virtual time since the scenario's start (the entries <code>shipline simulate</code> prints)</caption><thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Release</th><th scope="col">What happened</th></tr></thead><tbody>${rows}</tbody></table></div>`;
};

const STYLE = `
:root{color-scheme:light;--text:#1a1a1a;--muted:#4a4a4a;--line:#d0d0d0;--good:#1d6b37;--bad:#b3001b;--neutral:#4d4d4d}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--text);background:#fff}
main{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0}
h2{font-size:1.3rem;margin:2rem 0 .5rem;border-bottom:2px solid var(--line)}
h3{font-size:1.1rem;margin:1.25rem 0 .5rem}
.lead{color:var(--muted);margin:.25rem 0 1rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}
.facts dt{font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
.outcome{display:inline-block;padding:0 .5rem;border:2px solid;border-radius:.3rem;font-size:.95rem;font-weight:700;vertical-align:middle}
.outcome.good{color:var(--good)}
.outcome.bad{color:var(--bad)}
.outcome.neutral{color:var(--neutral)}
.service-outcome{border:1px solid var(--line);border-radius:.4rem;padding:.25rem 1rem .75rem;margin:.75rem 0}
figure{margin:0}
figcaption{color:var(--muted);margin-bottom:.5rem}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;padding:0;margin:.25rem 0}
.legend li{display:flex;align-items:center;gap:.4rem;font-weight:600}
.plot{width:100%;height:auto;display:block}
.plot-narrow{display:none}
@media (max-width:40rem){.plot-wide{display:none}.plot-narrow{display:block}main{padding:.75rem}.facts{grid-template-columns:1fr}.facts dd{margin-bottom:.35rem}
.timeline thead{display:none}.timeline tr{display:grid;grid-template-columns:auto auto 1fr;gap:0 .6rem;border-bottom:1px solid var(--line);padding:.25rem 0}.timeline td{border:0;padding:0}.timeline td:last-child{grid-column:1/-1;overflow-wrap:anywhere}}
.events{list-style:none;padding:0;margin:.5rem 0}
.events li{display:flex;gap:.5rem;align-items:baseline;margin:.25rem 0}
.event-badge{flex:none;display:inline-block;min-width:1.6em;text-align:center;font-weight:700;border:2px solid}
.event-badge.round{border-radius:50%}
.event-badge.alarm{color:var(--bad)}
.event-badge.ok{color:var(--text)}
.event-badge.square{color:#fff}
.event-badge.rollback,.event-badge.failure{background:var(--bad);border-color:var(--bad)}
.event-badge.promotion{background:var(--good);border-color:var(--good)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5rem 0;font-size:.95rem}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{border-bottom:1px solid var(--line);padding:.2rem .6rem .2rem 0;text-align:left;vertical-align:top}
.timeline td:first-child{font-variant-numeric:tabular-nums;white-space:nowrap}
.timeline .kind-fault td:nth-child(2){color:var(--bad);font-weight:700}
.timeline .kind-alarm td:nth-child(2){font-weight:700}
details.numbers summary{cursor:pointer;font-weight:600}
code{font-size:.95em}
footer{color:var(--muted);font-size:.9rem;margin:2rem 0 1rem}
`;

/**
 * The report of one run as one self-contained HTML page: inline CSS and SVG, no script, no external
 * resource (its Content-Security-Policy forbids any). Every string from the scenario or the run is escaped.
 */
export const renderReport = ({ result, scenario, file }: ReportInput): string => {
  const services = Object.entries(result.services);
  const expectations = result.expectations
    ? result.expectations.passed
      ? '<span class="outcome good"><span aria-hidden="true">\u2713</span> all met</span>'
      : `<span class="outcome bad"><span aria-hidden="true">\u2715</span> failed</span><ul>${result.expectations.failures.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`
    : undefined;
  const body = [
    `<header><h1>Release report: ${escapeHtml(scenario.name)}</h1>`,
    scenario.description ? `<p class="lead">${escapeHtml(scenario.description.trim())}</p>` : '',
    facts([
      ['Scenario file', `<code>${escapeHtml(file)}</code>`],
      ['Virtual start', escapeHtml(scenario.world.start)],
      ['Virtual time', escapeHtml(`${formatOffset(result.virtualSeconds)} (ran in ${result.wallMs} ms)`)],
      ['Seed', escapeHtml(`${result.seed} (repeat with --seed ${result.seed})`)],
      ['Expectations', expectations],
      // A fault that never applied injected nothing: the run may prove less than the scenario says.
      [
        'Unused faults',
        result.unusedFaults.length === 0
          ? undefined
          : `<span class="outcome bad">${result.unusedFaults.length} never applied</span><ul>${result.unusedFaults.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`,
      ],
    ]),
    '</header>',
    `<section aria-labelledby="outcome-heading"><h2 id="outcome-heading">Outcome</h2>${services.map(([name, service]) => outcomeSection(name, service)).join('')}</section>`,
    `<section aria-labelledby="plots-heading"><h2 id="plots-heading">Over time</h2><p>Each version's share of the production traffic (the listener rule's weights), and per minute the error rate and response time of the requests it served, with the alarm transitions and where each release ended. Times are minutes of virtual time since the scenario's start; before 0 the service serves its stable version while alarms gather history.</p>${services.map(([name, service], i) => plotSection(name, service, result.virtualSeconds, i)).join('')}</section>`,
    `<section aria-labelledby="versions-heading"><h2 id="versions-heading">Versions</h2>${versionsTable(scenario.versions)}</section>`,
    `<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Timeline</h2>${timelineTable(result)}</section>`,
    '<footer>Made by <code>shipline simulate --report</code> from the run of the sandbox: the simulated ALB and CloudWatch of a simulated AWS account, on a virtual clock.</footer>',
  ].join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(`Release report: ${scenario.name} (${result.outcome})`)}</title>
<style>${STYLE}</style>
</head>
<body><main>${body}</main></body>
</html>
`;
};
