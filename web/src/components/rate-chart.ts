/**
 * `<gd-rate-chart>`: a uPlot time-series chart of two rates (in and out). It owns one uPlot
 * instance, feeds it new columns with `setData` (no rebuild per sample), and follows its box's
 * width with a ResizeObserver.
 */
import { css, html, LitElement, type PropertyValues, unsafeCSS } from 'lit';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import { clock } from '../format.ts';
import { shared } from '../theme.ts';

export interface RateSeries {
  label: string;
  /** CSS custom property holding the colour, e.g. `--in`. */
  colorVar: string;
  values: readonly number[];
}

export class RateChart extends LitElement {
  static override properties = {
    t: { attribute: false },
    series: { attribute: false },
    format: { attribute: false },
    binary: { type: Boolean },
    height: { type: Number },
    hoverIdx: { state: true },
  };

  declare t: readonly number[];
  declare series: readonly RateSeries[];
  declare format: (v: number) => string;
  /** Axis steps in powers of two (for bytes). */
  declare binary: boolean;
  declare height: number;
  /** The sample under the cursor, or undefined for the latest. */
  declare hoverIdx: number | undefined;

  #plot: uPlot | undefined;
  #resize: ResizeObserver | undefined;

  static override styles = [
    shared,
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        position: relative;
      }
      .legend {
        display: flex;
        gap: 16px;
        align-items: baseline;
        font-size: 12px;
        color: var(--muted);
        padding: 0 4px 4px 60px;
      }
      .legend span {
        display: inline-flex;
        align-items: baseline;
        gap: 6px;
      }
      .legend i {
        width: 8px;
        height: 8px;
        border-radius: 2px;
        display: inline-block;
      }
      .legend b {
        color: var(--text);
        font-weight: 600;
        min-width: 8ch;
      }
      .legend time {
        margin-left: auto;
        color: var(--faint);
        font-size: 11px;
      }
      .wait {
        position: absolute;
        inset: 0 0 28px 0;
        display: grid;
        place-items: center;
        color: var(--faint);
        font-size: 13px;
        pointer-events: none;
      }
    `,
  ];

  constructor() {
    super();
    this.t = [];
    this.series = [];
    this.format = (v) => String(v);
    this.binary = false;
    this.height = 150;
    this.hoverIdx = undefined;
  }

  override render() {
    const n = this.t.length;
    const i = this.hoverIdx !== undefined && this.hoverIdx < n ? this.hoverIdx : n - 1;
    const at = this.t[i];
    return html`<div class="legend">
        ${this.series.map(
          (s) => html`<span><i style="background:var(${s.colorVar})"></i>${s.label}
            <b class="num">${i >= 0 && s.values[i] !== undefined ? `${this.format(s.values[i]!)}/s` : '—'}</b></span>`,
        )}
        <time class="num">${at !== undefined ? (this.hoverIdx !== undefined ? clock(at * 1000) : 'now') : ''}</time>
      </div>
      <div id="plot"></div>
      ${n < 2 ? html`<div class="wait">waiting for the agent’s stats…</div>` : ''}`;
  }

  override firstUpdated(): void {
    const el = this.renderRoot.querySelector<HTMLDivElement>('#plot')!;
    const style = getComputedStyle(this);
    const color = (v: string) => style.getPropertyValue(v).trim() || '#888';
    const axisStroke = color('--muted');
    const grid = color('--grid');
    const font = `11px ${style.getPropertyValue('--font').trim() || 'sans-serif'}`;
    const fmt = (v: number) => this.format(v);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth || this.clientWidth || 400),
      height: this.height,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max, this.binary)] } },
      axes: [
        {
          stroke: axisStroke,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          font,
          space: 70,
          values: (_u, splits) => splits.map((v) => clock(v * 1000)),
        },
        {
          stroke: axisStroke,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          size: 60,
          font,
          space: 28,
          ...(this.binary ? { incrs: BINARY_INCRS } : {}),
          values: (_u, splits) => splits.map(fmt),
        },
      ],
      hooks: {
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            this.hoverIdx = idx === null || idx === undefined ? undefined : idx;
          },
        ],
      },
      series: [
        {},
        ...this.series.map((s) => ({
          label: s.label,
          stroke: color(s.colorVar),
          width: 1.75,
          fill: hexAlpha(color(s.colorVar), 0.12),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
        })),
      ],
    };
    this.#plot = new uPlot(opts, this.#data(), el);
    this.#resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && this.#plot && Math.abs(this.#plot.width - w) > 1) {
        this.#plot.setSize({ width: w, height: this.height });
      }
    });
    this.#resize.observe(el);
  }

  override updated(changed: PropertyValues<this>): void {
    if (this.#plot && (changed.has('t') || changed.has('series'))) this.#plot.setData(this.#data());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#resize?.disconnect();
    this.#plot?.destroy();
    this.#plot = undefined;
  }

  #data(): uPlot.AlignedData {
    return [this.t as number[], ...this.series.map((s) => s.values as number[])];
  }
}

/** Axis steps for byte rates: powers of two from 1 B to 1 TiB. */
const BINARY_INCRS = Array.from({ length: 41 }, (_, i) => 2 ** i);

/** A round upper bound for the y axis, so it does not jitter with every sample. */
function niceMax(max: number | null, binary: boolean): number {
  if (max === null || !Number.isFinite(max) || max <= 0) return binary ? 1024 : 1;
  if (binary) return 2 ** Math.ceil(Math.log2(max * 1.05));
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (max <= m * p) return m * p;
  return 10 * p;
}

/** `#rrggbb` (or `rgb()`) with an alpha, for the area under a line. */
function hexAlpha(c: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(c);
  if (m) {
    const n = Number.parseInt(m[1]!, 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  return c;
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-rate-chart': RateChart;
  }
}
