/**
 * Dependency-free SVG charts for simulator output: line charts (several series, solid or
 * dashed, linear or log y axis) and bar charts / histograms, each with axes, ticks, grid
 * lines, axis labels, a title and a legend. The output is a standalone SVG document string;
 * writing it to a file is the caller's business.
 *
 * Deterministic: the same input gives the same bytes (numbers are printed with fixed
 * precision), so charts can be committed and diffed.
 *
 * Used by `gossip sim --plot` (informed nodes per round against the theory's curve) and meant
 * for the full-protocol simulator's detection-time histograms and per-node load charts.
 */

/** Colours given to series in order (Okabe-Ito, readable by colour-blind viewers). */
export const PALETTE: readonly string[] = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];

/** Most points drawn per line series; longer series are thinned evenly (a bound on output size). */
export const PLOT_MAX_POINTS_PER_SERIES = 10_000;

/** One line on a {@link lineChart}. */
export interface LineSeries {
  /** Legend text. */
  name: string;
  /** (x, y) points, drawn in the given order. Non-finite points (and y ≤ 0 on a log axis) are skipped. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Stroke colour (any SVG colour). @default the next {@link PALETTE} colour */
  color?: string | undefined;
  /** Dashed stroke, for theory and reference curves. @default false */
  isDashed?: boolean | undefined;
  /** Draw a dot at each point. @default false */
  hasMarkers?: boolean | undefined;
  /** List in the legend. @default true */
  isInLegend?: boolean | undefined;
}

/** Layout and axes shared by every chart. */
export interface ChartOptions {
  /** Title above the plot area. */
  title?: string | undefined;
  /** Label under the x axis. */
  xLabel?: string | undefined;
  /** Label beside the y axis. */
  yLabel?: string | undefined;
  /** Total width in px. @default 900 */
  width?: number | undefined;
  /** Total height in px. @default 560 */
  height?: number | undefined;
  /** Axis limits; each defaults to the data's range (y from 0 on a linear axis). */
  xMin?: number | undefined;
  /** See {@link xMin}. */
  xMax?: number | undefined;
  /** See {@link xMin}. */
  yMin?: number | undefined;
  /** See {@link xMin}. */
  yMax?: number | undefined;
  /** y axis scale. @default 'linear' */
  yScale?: 'linear' | 'log' | undefined;
  /** Lines of small text under the legend (for example "dashed: theory"). */
  notes?: readonly string[] | undefined;
}

/** One bar of a {@link barChart}: it spans [x0, x1) on the x axis and rises to `value`. */
export interface Bar {
  /** Left edge. */
  x0: number;
  /** Right edge. */
  x1: number;
  /** Height. */
  value: number;
}

/** A named set of bars drawn in one colour. */
export interface BarSeries {
  /** Legend text. */
  name: string;
  /** The bars. */
  bars: readonly Bar[];
  /** Fill colour. @default the next {@link PALETTE} colour */
  color?: string | undefined;
}

/** Options of {@link histogram}. */
export interface HistogramOptions extends ChartOptions {
  /** Number of equal-width bins over [min, max]. @default ⌈√count⌉, at most 100 */
  bins?: number | undefined;
  /** Legend text. @default 'count' */
  name?: string | undefined;
  /** Fill colour. @default PALETTE[0] */
  color?: string | undefined;
}

/** Most bins a histogram makes. */
export const PLOT_MAX_BINS = 1000;

const MARGIN = { left: 78, right: 200, top: 48, bottom: 62 };

/** Escapes text for SVG content and attributes. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate with two decimals, trailing zeros dropped. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/**
 * "Nice" tick values covering [min, max]: about `count` steps of 1, 2 or 5 × 10^k.
 * Returns [min] for an empty range.
 */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  for (let i = first; i * step <= max + step * 1e-9; i++) ticks.push(Math.round(i * step * 1e9) / 1e9 + 0); // + 0 turns -0 into 0
  return ticks;
}

/** Short tick text: 1.5k, 2M, 0.25. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number) => String(Math.round(x * 1000) / 1000);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  parts: string[];
  plotRight: number;
}

interface Ranges {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Draws the background, grid, axes, ticks, labels and title; returns the scales. */
function frame(options: ChartOptions, r: Ranges): Frame {
  const width = options.width ?? 900;
  const height = options.height ?? 560;
  const isLog = options.yScale === 'log';
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const xSpan = r.xMax - r.xMin || 1;
  const x = (v: number) => left + ((v - r.xMin) / xSpan) * (right - left);
  const yLo = isLog ? Math.log10(r.yMin) : r.yMin;
  const yHi = isLog ? Math.log10(r.yMax) : r.yMax;
  const ySpan = yHi - yLo || 1;
  const y = (v: number) => bottom - (((isLog ? Math.log10(v) : v) - yLo) / ySpan) * (bottom - top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  const xTicks = niceTicks(r.xMin, r.xMax, Math.max(2, Math.floor((right - left) / 80)));
  let yTicks: number[];
  if (isLog) {
    yTicks = [];
    for (let e = Math.ceil(yLo - 1e-9); e <= yHi + 1e-9; e++) yTicks.push(10 ** e);
  } else {
    yTicks = niceTicks(r.yMin, r.yMax, Math.max(2, Math.floor((bottom - top) / 60)));
  }
  for (const t of xTicks) {
    const tx = px(x(t));
    parts.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${bottom}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${tx}" y1="${bottom}" x2="${tx}" y2="${bottom + 5}" stroke="#333"/>`);
    parts.push(`<text x="${tx}" y="${bottom + 18}" text-anchor="middle" fill="#333">${formatTick(t)}</text>`);
  }
  for (const t of yTicks) {
    const ty = px(y(t));
    parts.push(`<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${left - 5}" y1="${ty}" x2="${left}" y2="${ty}" stroke="#333"/>`);
    parts.push(
      `<text x="${left - 8}" y="${ty}" text-anchor="end" dominant-baseline="middle" fill="#333">${formatTick(t)}</text>`,
    );
  }
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`);
  if (options.title !== undefined)
    parts.push(
      `<text x="${px((left + right) / 2)}" y="${top - 18}" text-anchor="middle" font-size="15" font-weight="bold" fill="#111">${escapeXml(options.title)}</text>`,
    );
  if (options.xLabel !== undefined)
    parts.push(
      `<text x="${px((left + right) / 2)}" y="${height - 16}" text-anchor="middle" fill="#111">${escapeXml(options.xLabel)}</text>`,
    );
  if (options.yLabel !== undefined) {
    const cy = px((top + bottom) / 2);
    parts.push(
      `<text x="18" y="${cy}" text-anchor="middle" transform="rotate(-90 18 ${cy})" fill="#111">${escapeXml(options.yLabel)}</text>`,
    );
  }
  return { x, y, parts, plotRight: right };
}

interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'dashed' | 'box';
}

function legend(f: Frame, entries: readonly LegendEntry[], notes: readonly string[]): void {
  const lx = f.plotRight + 18;
  let ly = MARGIN.top + 6;
  for (const e of entries) {
    if (e.kind === 'box') {
      f.parts.push(`<rect x="${lx}" y="${ly - 6}" width="22" height="12" fill="${escapeXml(e.color)}"/>`);
    } else {
      const dash = e.kind === 'dashed' ? ' stroke-dasharray="6 4"' : '';
      f.parts.push(
        `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${escapeXml(e.color)}" stroke-width="2.5"${dash}/>`,
      );
    }
    f.parts.push(
      `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle" fill="#111">${escapeXml(e.name)}</text>`,
    );
    ly += 20;
  }
  ly += 6;
  for (const note of notes) {
    f.parts.push(`<text x="${lx}" y="${ly}" font-size="11" fill="#555">${escapeXml(note)}</text>`);
    ly += 16;
  }
}

function thin<T>(points: readonly T[]): readonly T[] {
  if (points.length <= PLOT_MAX_POINTS_PER_SERIES) return points;
  const out: T[] = [];
  const step = (points.length - 1) / (PLOT_MAX_POINTS_PER_SERIES - 1);
  for (let i = 0; i < PLOT_MAX_POINTS_PER_SERIES; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/** A line chart of `series` as a standalone SVG document. */
export function lineChart(series: readonly LineSeries[], options: ChartOptions = {}): string {
  const isLog = options.yScale === 'log';
  const usable = (p: readonly [number, number]) =>
    Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!isLog || p[1] > 0);
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    for (const p of s.points) {
      if (!usable(p)) continue;
      xMin = Math.min(xMin, p[0]);
      xMax = Math.max(xMax, p[0]);
      yMin = Math.min(yMin, p[1]);
      yMax = Math.max(yMax, p[1]);
    }
  }
  if (xMin > xMax) {
    xMin = 0;
    xMax = 1;
    yMin = isLog ? 1 : 0;
    yMax = isLog ? 10 : 1;
  }
  const r: Ranges = {
    xMin: options.xMin ?? xMin,
    xMax: options.xMax ?? xMax,
    yMin: options.yMin ?? (isLog ? 10 ** Math.floor(Math.log10(yMin)) : Math.min(0, yMin)),
    yMax: options.yMax ?? (isLog ? 10 ** Math.ceil(Math.log10(yMax)) : yMax),
  };
  if (r.yMax <= r.yMin) r.yMax = isLog ? r.yMin * 10 : r.yMin + 1;
  if (r.xMax <= r.xMin) r.xMax = r.xMin + 1;
  const f = frame(options, r);
  const entries: LegendEntry[] = [];
  let nextColor = 0;
  for (const s of series) {
    const color = s.color ?? PALETTE[nextColor++ % PALETTE.length]!;
    const pts = thin(s.points.filter(usable));
    const dash = s.isDashed === true ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 0) {
      const coords = pts.map((p) => `${px(f.x(p[0]))},${px(f.y(p[1]))}`).join(' ');
      f.parts.push(
        `<polyline fill="none" stroke="${escapeXml(color)}" stroke-width="2" stroke-linejoin="round"${dash} points="${coords}"/>`,
      );
      if (s.hasMarkers === true)
        for (const p of pts)
          f.parts.push(
            `<circle cx="${px(f.x(p[0]))}" cy="${px(f.y(p[1]))}" r="2.5" fill="${escapeXml(color)}"/>`,
          );
    }
    if (s.isInLegend !== false)
      entries.push({ name: s.name, color, kind: s.isDashed === true ? 'dashed' : 'line' });
  }
  legend(f, entries, options.notes ?? []);
  f.parts.push('</svg>');
  return `${f.parts.join('\n')}\n`;
}

/** A bar chart: each series' bars drawn as filled rectangles over [x0, x1), side by side when series share a bin. */
export function barChart(series: readonly BarSeries[], options: ChartOptions = {}): string {
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMax = 0;
  for (const s of series) {
    for (const b of s.bars) {
      if (!Number.isFinite(b.x0) || !Number.isFinite(b.x1) || !Number.isFinite(b.value)) continue;
      xMin = Math.min(xMin, b.x0);
      xMax = Math.max(xMax, b.x1);
      yMax = Math.max(yMax, b.value);
    }
  }
  if (xMin > xMax) {
    xMin = 0;
    xMax = 1;
  }
  const r: Ranges = {
    xMin: options.xMin ?? xMin,
    xMax: options.xMax ?? xMax,
    yMin: options.yMin ?? 0,
    yMax: options.yMax ?? (yMax > 0 ? yMax : 1),
  };
  if (r.xMax <= r.xMin) r.xMax = r.xMin + 1;
  const f = frame({ ...options, yScale: 'linear' }, r);
  const entries: LegendEntry[] = [];
  const k = Math.max(1, series.length);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    for (const b of s.bars) {
      if (!Number.isFinite(b.x0) || !Number.isFinite(b.x1) || !Number.isFinite(b.value)) continue;
      const left = f.x(b.x0);
      const w = (f.x(b.x1) - left) / k;
      const top = f.y(Math.max(r.yMin, Math.min(r.yMax, b.value)));
      const base = f.y(r.yMin);
      f.parts.push(
        `<rect x="${px(left + i * w + 0.5)}" y="${px(top)}" width="${px(Math.max(0, w - 1))}" height="${px(Math.max(0, base - top))}" fill="${escapeXml(color)}" fill-opacity="0.85"/>`,
      );
    }
    entries.push({ name: s.name, color, kind: 'box' });
  });
  legend(f, entries, options.notes ?? []);
  f.parts.push('</svg>');
  return `${f.parts.join('\n')}\n`;
}

/**
 * Bins `values` into equal-width bins and draws them with {@link barChart}: for example
 * failure-detection times, or messages sent per node.
 */
export function histogram(values: ArrayLike<number>, options: HistogramOptions = {}): string {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const bins = Math.max(
    1,
    Math.min(PLOT_MAX_BINS, Math.floor(options.bins ?? Math.min(100, Math.ceil(Math.sqrt(count))))),
  );
  if (count === 0) {
    min = 0;
    max = 1;
  }
  if (max === min) max = min + 1;
  const width = (max - min) / bins;
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - min) / width))]!++;
  }
  const bars: Bar[] = [];
  for (let b = 0; b < bins; b++)
    bars.push({ x0: min + b * width, x1: min + (b + 1) * width, value: counts[b]! });
  return barChart([{ name: options.name ?? 'count', bars, color: options.color }], options);
}
