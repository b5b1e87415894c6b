import { formatOffset } from '../run/summarise.ts';
import type { ServiceTimeSeries } from '../run/time-series.ts';
import { escapeHtml } from './escape.ts';

/**
 * How each version is drawn: a colour with at least 4.5:1 contrast on white (WCAG 1.4.3, so the legend's
 * text may use it too), plus a dash pattern and a point shape, so versions differ without colour (WCAG 1.4.1).
 */
export const VERSION_STYLES = [
  { colour: '#0b5cad', dash: '', shape: 'circle' },
  { colour: '#b0420a', dash: '7 4', shape: 'square' },
  { colour: '#6b3fa0', dash: '2 3', shape: 'triangle' },
  { colour: '#1d6b37', dash: '10 3 2 3', shape: 'diamond' },
  { colour: '#8a1c4f', dash: '4 2', shape: 'cross' },
  { colour: '#4d4d4d', dash: '1 2', shape: 'plus' },
] as const;

export type VersionStyle = (typeof VERSION_STYLES)[number];

/** The style of the i-th version (styles repeat past six versions). */
export const versionStyle = (index: number): VersionStyle =>
  VERSION_STYLES[index % VERSION_STYLES.length] ?? VERSION_STYLES[0];

/** Vertical event lines: an alarm entering ALARM, leaving it, and where a release ended. */
export const EVENT_STYLES = {
  alarm: { colour: '#b3001b', dash: '5 3' },
  ok: { colour: '#1a1a1a', dash: '2 3' },
  rollback: { colour: '#b3001b', dash: '' },
  promotion: { colour: '#1d6b37', dash: '' },
  failure: { colour: '#b3001b', dash: '' },
} as const;

/** One numbered event on the plot (an alarm transition or a release's end), listed under it in words. */
export interface PlotEvent {
  number: number;
  t: number;
  kind: keyof typeof EVENT_STYLES;
  /** Short, for the badge's accessible name and the list: `checkout-green-5xx: OK → ALARM`. */
  text: string;
}

/** Sizes of one rendering: a wide one for screens, a narrow one with larger type for phones. */
export interface PlotLayout {
  width: number;
  panelHeight: number;
  fontSize: number;
  maxTicks: number;
}

export const WIDE_LAYOUT: PlotLayout = { width: 960, panelHeight: 170, fontSize: 13, maxTicks: 10 };
export const NARROW_LAYOUT: PlotLayout = { width: 420, panelHeight: 150, fontSize: 15, maxTicks: 5 };

/** Numbers as people read them: at most 3 significant decimals, no trailing zeros. */
export const formatNumber = (value: number): string =>
  Number.isInteger(value) ? String(value) : String(Number(value.toFixed(value < 1 ? 3 : 1)));

/** A "nice" upper bound (1, 2, 2.5 or 5 times a power of ten) at or above `value`. */
export const niceCeiling = (value: number): number => {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value - 1e-12) return step * power;
  return 10 * power;
};

/** Tick values from 0 to `max` (a nice ceiling), four intervals. */
const yTicks = (max: number): number[] => [0, 1, 2, 3, 4].map((i) => (max * i) / 4);

/** Minute ticks across [from, to] seconds: the smallest nice step giving at most `maxTicks`. */
const timeTicks = (from: number, to: number, maxTicks: number): number[] => {
  const minutes = (to - from) / 60;
  const step =
    [1, 2, 5, 10, 15, 30, 60, 120, 240, 480].find((s) => minutes / s <= maxTicks) ??
    Math.ceil(minutes / maxTicks / 60) * 60;
  const ticks: number[] = [];
  for (let m = Math.ceil(from / 60 / step) * step; m * 60 <= to; m += step) ticks.push(m);
  return ticks;
};

/** A point shape of `size` centred on (x, y), as an SVG path. */
const shapePath = (shape: VersionStyle['shape'], x: number, y: number, size: number): string => {
  const r = size / 2;
  const f = (n: number) => n.toFixed(1);
  switch (shape) {
    case 'circle':
      return `M${f(x - r)},${f(y)}a${f(r)},${f(r)} 0 1,0 ${f(2 * r)},0a${f(r)},${f(r)} 0 1,0 ${f(-2 * r)},0Z`;
    case 'square':
      return `M${f(x - r)},${f(y - r)}h${f(2 * r)}v${f(2 * r)}h${f(-2 * r)}Z`;
    case 'triangle':
      return `M${f(x)},${f(y - r * 1.15)}L${f(x + r * 1.1)},${f(y + r * 0.85)}H${f(x - r * 1.1)}Z`;
    case 'diamond':
      return `M${f(x)},${f(y - r * 1.25)}L${f(x + r)},${f(y)}L${f(x)},${f(y + r * 1.25)}L${f(x - r)},${f(y)}Z`;
    case 'cross':
      return `M${f(x - r)},${f(y - r)}L${f(x + r)},${f(y + r)}M${f(x + r)},${f(y - r)}L${f(x - r)},${f(y + r)}`;
    default:
      return `M${f(x - r)},${f(y)}H${f(x + r)}M${f(x)},${f(y - r)}V${f(y + r)}`;
  }
};

/** Whether a shape is drawn as an outline only (a cross or a plus has no area to fill). */
const strokeOnly = (shape: VersionStyle['shape']): boolean => shape === 'cross' || shape === 'plus';

/** A small swatch of a version's line and shape, for a legend. */
export const legendSwatch = (style: VersionStyle): string =>
  `<svg class="swatch" viewBox="0 0 40 16" width="40" height="16" aria-hidden="true" focusable="false"><path d="M2,8H38" stroke="${style.colour}" stroke-width="2.5" fill="none"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/><path d="${shapePath(style.shape, 20, 8, 9)}" fill="${strokeOnly(style.shape) ? 'none' : style.colour}" stroke="${style.colour}" stroke-width="2"/></svg>`;

/** The x domain of a service's plot (seconds): from 5 minutes before the first change or the start, to the end. */
export const plotDomain = (series: ServiceTimeSeries, endSeconds: number): { from: number; to: number } => {
  const firstChange = Math.min(
    0,
    series.shares[1]?.t ?? 0,
    ...series.alarms.map((a) => a.t),
    ...series.markers.map((m) => m.t),
  );
  const earliest = Math.min(series.shares[0]?.t ?? 0, series.minutes[0]?.t ?? 0);
  const from = Math.max(earliest, Math.floor((firstChange - 300) / 60) * 60);
  const lastEvent = Math.max(endSeconds, ...series.alarms.map((a) => a.t), ...series.markers.map((m) => m.t));
  // Room after the last event, so a rollback at the run's very end is not drawn on the plot's edge.
  const to = lastEvent + Math.max(60, Math.round((lastEvent - from) * 0.06));
  return { from, to };
};

interface Panel {
  key: 'share' | 'errors' | 'latency';
  title: string;
  unit: string;
  max: number;
  /** Per version, the points in seconds and value (NaN: a gap). */
  lines: Line[];
}

/**
 * One version's line, drawn as steps (a share holds until it changes; a per-minute value holds for the part
 * of the minute the version served): `points` in seconds (NaN: a gap), `marks` where its shapes go.
 */
interface Line {
  version: string;
  points: Array<{ t: number; value: number }>;
  marks: Array<{ t: number; value: number }>;
}

/** Each version's share as a step function (from its first non-zero share; the line ends where it drops to 0). */
const shareLines = (
  series: ServiceTimeSeries,
  versions: readonly string[],
  domain: { from: number; to: number },
  endSeconds: number,
): Panel['lines'] =>
  versions.map((version) => {
    const points: Array<{ t: number; value: number }> = [];
    let on = false;
    series.shares.forEach((step, i) => {
      const share = step.shares[version] ?? 0;
      // The last share holds until the run ended: nothing is drawn past what happened.
      const until = Math.min(series.shares[i + 1]?.t ?? endSeconds, domain.to);
      if (until < domain.from) {
        on = share > 0;
        return;
      }
      const at = Math.max(step.t, domain.from);
      if (share > 0) {
        points.push({ t: at, value: share }, { t: until, value: share });
        on = true;
      } else if (on) {
        points.push({ t: at, value: 0 }, { t: Number.NaN, value: Number.NaN });
        on = false;
      }
    });
    return { version, points, marks: points.filter((point, i) => i % 2 === 0 && !Number.isNaN(point.t)) };
  });

/** Each version's per-minute values over the part of each minute it served; a minute it did not serve is a gap. */
const minuteLines = (
  series: ServiceTimeSeries,
  versions: readonly string[],
  domain: { from: number; to: number },
  value: (minute: ServiceTimeSeries['minutes'][number]) => number | null,
): Panel['lines'] =>
  versions.map((version) => {
    const points: Line['points'] = [];
    const marks: Line['marks'] = [];
    let last: number | undefined;
    for (const minute of series.minutes) {
      if (minute.version !== version || minute.until < domain.from || minute.from > domain.to) continue;
      const v = value(minute);
      if (v === null) continue;
      const from = Math.max(minute.from, domain.from);
      const until = Math.min(minute.until, domain.to);
      if (last !== undefined && from - last > 0.001) points.push({ t: Number.NaN, value: Number.NaN });
      points.push({ t: from, value: v }, { t: until, value: v });
      marks.push({ t: (from + until) / 2, value: v });
      last = until;
    }
    return { version, points, marks };
  });

/** The versions in the order they are styled: the first to serve first (the stable one), then as they appear. */
export const versionsOf = (series: ServiceTimeSeries): string[] => {
  const seen: string[] = [];
  for (const step of series.shares)
    for (const [version, share] of Object.entries(step.shares))
      if (share > 0 && !seen.includes(version)) seen.push(version);
  for (const minute of series.minutes) if (!seen.includes(minute.version)) seen.push(minute.version);
  return seen;
};

/** The label of the latency statistic: `p99 latency`, `Average latency`. */
export const latencyLabel = (statistic: string): string =>
  statistic === 'Average' ? 'Average latency' : `${statistic} latency`;

/**
 * One service's plot as inline SVG: three panels over the same virtual time axis (each version's traffic
 * share, error rate and response time), with the numbered events as vertical lines across all three. Every
 * series is a path with an accessible name (`v2 traffic share`), so assistive technology and tests find it.
 */
export const renderPlot = (input: {
  service: string;
  series: ServiceTimeSeries;
  versions: readonly string[];
  events: readonly PlotEvent[];
  endSeconds: number;
  layout: PlotLayout;
  id: string;
}): string => {
  const { series, versions, events, layout, id } = input;
  const domain = plotDomain(series, input.endSeconds);
  const inDomain = series.minutes.filter((m) => m.t >= domain.from && m.t <= domain.to);
  const maxErrorPercent = Math.max(0, ...inDomain.map((m) => m.errorRate * 100));
  const maxLatency = Math.max(0, ...inDomain.map((m) => m.latencyMs ?? 0));
  const latencyTitle = latencyLabel(series.latencyStatistic);
  const panels: Panel[] = [
    {
      key: 'share',
      title: 'Traffic share',
      unit: '%',
      max: 100,
      lines: shareLines(series, versions, domain, input.endSeconds),
    },
    {
      key: 'errors',
      title: 'Error rate (5xx)',
      unit: '%',
      // Headroom above the highest value: a steady 0.1% is not drawn on the panel's top edge.
      max: niceCeiling(Math.max(maxErrorPercent * 1.2, 0.1)),
      lines: minuteLines(series, versions, domain, (m) => m.errorRate * 100),
    },
    {
      key: 'latency',
      title: latencyTitle,
      unit: 'ms',
      max: niceCeiling(Math.max(maxLatency * 1.1, 10)),
      lines: minuteLines(series, versions, domain, (m) => m.latencyMs),
    },
  ];
  const font = layout.fontSize;
  const left = Math.round(font * 4.2);
  const right = Math.round(font * 1.2);
  const badge = font * 1.6;
  const plotWidth = layout.width - left - right;
  const x = (t: number) => left + ((t - domain.from) / (domain.to - domain.from)) * plotWidth;
  // Each event's badge row: badges too close to the one before take the next row up (at most 4 rows).
  const placed: Array<{ event: PlotEvent; row: number }> = [];
  const rows: number[] = [];
  for (const event of [...events].sort((a, b) => a.t - b.t)) {
    if (event.t < domain.from || event.t > domain.to) continue;
    const ex = x(event.t);
    let row = rows.findIndex((lastX) => ex - lastX >= badge + 2);
    if (row < 0) row = Math.min(rows.length, 3);
    rows[row] = ex;
    placed.push({ event, row });
  }
  const top = Math.round(Math.max(1, rows.length) * (badge + 3) + 4);
  const panelGap = Math.round(font * 3.2);
  const axisSpace = Math.round(font * 3.6);
  const height = top + panels.length * layout.panelHeight + panels.length * panelGap + axisSpace;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  out.push(
    `<svg class="plot" viewBox="0 0 ${layout.width} ${height}" role="group" aria-labelledby="${titleId}" aria-describedby="${descId}" font-size="${font}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">`,
    `<title id="${titleId}">${escapeHtml(`${input.service}: each version's traffic share, error rate and ${latencyTitle} over virtual time`)}</title>`,
    `<desc id="${descId}">${escapeHtml(`Three panels share one time axis in minutes since the scenario's start. Versions: ${versions.join(', ')}. Numbered vertical lines mark alarm transitions and where each release ended; the list under the plot says what each number is.`)}</desc>`,
  );
  const ticks = timeTicks(domain.from, domain.to, layout.maxTicks);
  panels.forEach((panel, p) => {
    const y0 = top + p * (layout.panelHeight + panelGap) + panelGap;
    const y = (value: number) => y0 + layout.panelHeight - (value / panel.max) * layout.panelHeight;
    out.push(`<g class="panel" data-panel="${panel.key}">`);
    out.push(
      `<text x="${left}" y="${f(y0 - font * 0.8)}" font-weight="600" fill="#1a1a1a">${escapeHtml(`${panel.title} (${panel.unit})`)}</text>`,
    );
    for (const tick of yTicks(panel.max)) {
      out.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${f(y(tick))}" y2="${f(y(tick))}" stroke="${tick === 0 ? '#595959' : '#d9d9d9'}" stroke-width="1"/>`,
        `<text x="${left - 6}" y="${f(y(tick) + font * 0.35)}" text-anchor="end" fill="#333">${formatNumber(tick)}</text>`,
      );
    }
    for (const tick of ticks)
      out.push(
        `<line x1="${f(x(tick * 60))}" x2="${f(x(tick * 60))}" y1="${f(y0)}" y2="${f(y0 + layout.panelHeight)}" stroke="#ececec" stroke-width="1"/>`,
      );
    panel.lines.forEach((line) => {
      const index = versions.indexOf(line.version);
      const style = versionStyle(index);
      const d: string[] = [];
      let pen = false;
      let previous: { t: number; value: number } | undefined;
      for (const point of line.points) {
        if (Number.isNaN(point.t)) {
          pen = false;
          continue;
        }
        if (!pen) d.push(`M${f(x(point.t))},${f(y(point.value))}`);
        else if (previous && previous.value !== point.value)
          d.push(`V${f(y(point.value))}`, `H${f(x(point.t))}`);
        else d.push(`L${f(x(point.t))},${f(y(point.value))}`);
        pen = true;
        previous = point;
      }
      const name = `${line.version} ${panel.key === 'share' ? 'traffic share' : panel.key === 'errors' ? 'error rate' : latencyTitle}`;
      // What a person would read off the line: each share from when it held, or a minute series' range.
      const values = line.marks.map((mark) => mark.value);
      const summary =
        line.marks.length === 0
          ? `${name}: no data`
          : panel.key === 'share'
            ? `${name}: ${line.marks.map((mark) => `${formatNumber(mark.value)}% from ${formatOffset(mark.t)}`).join(', ')}`
            : `${name}: ${line.marks.length} minutes, from ${formatNumber(Math.min(...values))} to ${formatNumber(Math.max(...values))} ${panel.unit}`;
      if (d.length > 0)
        out.push(
          `<path class="series" role="img" aria-label="${escapeHtml(name)}" data-version="${escapeHtml(line.version)}" data-series="${panel.key}" d="${d.join('')}" fill="none" stroke="${style.colour}" stroke-width="2.5" stroke-linejoin="round"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}><title>${escapeHtml(summary)}</title></path>`,
        );
      // Shapes at the points (at most ~24 per line, evenly spread), the cue that does not rely on colour.
      const shapes = line.marks;
      const every = Math.max(1, Math.ceil(shapes.length / 24));
      const marks = shapes
        .filter((_, i) => i % every === 0)
        .map((point) => shapePath(style.shape, x(point.t), y(point.value), font * 0.6))
        .join('');
      if (marks)
        out.push(
          `<path aria-hidden="true" d="${marks}" fill="${strokeOnly(style.shape) ? 'none' : style.colour}" stroke="${style.colour}" stroke-width="1.5"/>`,
        );
    });
    out.push('</g>');
  });
  // The time axis under the last panel.
  const axisY = top + panels.length * (layout.panelHeight + panelGap) + 2;
  for (const tick of ticks)
    out.push(
      `<text class="time-tick" data-minute="${tick}" x="${f(x(tick * 60))}" y="${f(axisY + font)}" text-anchor="middle" fill="#333">${tick < 0 ? `\u2212${-tick}` : tick}</text>`,
    );
  out.push(
    `<text x="${f(left + plotWidth / 2)}" y="${f(axisY + font * 2.6)}" text-anchor="middle" fill="#1a1a1a">${escapeHtml("Virtual time since the scenario's start (minutes)")}</text>`,
  );
  // Events: a line across every panel, a numbered badge on top; badges close together take the next row.
  const lineBottom = top + panels.length * (layout.panelHeight + panelGap);
  const badges: string[] = [];
  for (const { event, row } of placed) {
    const ex = x(event.t);
    const style = EVENT_STYLES[event.kind];
    const by = top - (row + 1) * (badge + 3);
    const label = `${event.number}. ${formatOffset(event.t)} ${event.text}`;
    const thick = event.kind === 'alarm' || event.kind === 'ok' ? 1.5 : 3;
    // Lines first, every badge over them: a badge is never crossed by a neighbour's line.
    out.push(
      `<line class="event-line" aria-hidden="true" data-kind="${event.kind}" data-t="${event.t}" x1="${f(ex)}" x2="${f(ex)}" y1="${f(by + badge)}" y2="${f(lineBottom)}" stroke="${style.colour}" stroke-width="${thick}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`,
    );
    badges.push(
      `<g class="event" role="img" aria-label="${escapeHtml(label)}" data-kind="${event.kind}" data-t="${event.t}"><title>${escapeHtml(label)}</title>`,
      event.kind === 'alarm' || event.kind === 'ok'
        ? `<circle cx="${f(ex)}" cy="${f(by + badge / 2)}" r="${f(badge / 2)}" fill="#fff" stroke="${style.colour}" stroke-width="1.5"/>`
        : `<rect x="${f(ex - badge / 2)}" y="${f(by)}" width="${f(badge)}" height="${f(badge)}" fill="${style.colour}"/>`,
      `<text x="${f(ex)}" y="${f(by + badge / 2 + font * 0.35)}" text-anchor="middle" font-weight="700" fill="${event.kind === 'alarm' || event.kind === 'ok' ? style.colour : '#fff'}">${event.number}</text>`,
      '</g>',
    );
  }
  out.push(...badges, '</svg>');
  return out.join('');
};
