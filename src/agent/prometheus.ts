/**
 * The Prometheus text exposition format (version 0.0.4), for the agent's `/metrics`: counters
 * and gauges whose values are read at scrape time, and histograms. Nothing here runs between
 * scrapes: no timers, no event-loop monitor, no GC observer.
 *
 * Why not prom-client: its default collectors sample the event loop every 10 ms and observe
 * every GC (measured on Node 20: half of an idle agent's CPU), and loading it (with
 * `@opentelemetry/api`) took about 8 MiB of resident memory and a quarter of the agent's
 * start-up CPU. The agent only needs the text format of a few dozen series.
 */

export type Labels = Readonly<Record<string, string>>;

/** One sample: its labels (none for an unlabelled series) and value. */
export type Sample = readonly [Labels, number];

/** A metric family: what `# TYPE` says, and how to read its samples at scrape time. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** The samples, each line's full name included (histograms have `_bucket`, `_sum`, `_count`). */
  samples(): Iterable<readonly [string, Labels, number]>;
}

/** Series a histogram may have (label combinations); further ones are dropped. */
export const HISTOGRAM_SERIES_MAX = 64;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  readonly #families: Family[] = [];
  readonly #names = new Set<string>();

  register(f: Family): void {
    if (this.#names.has(f.name)) throw new Error(`metric ${f.name} is registered twice`);
    this.#names.add(f.name);
    this.#families.push(f);
  }

  /** A counter or gauge whose samples `read` gives at scrape time. */
  collected(name: string, help: string, type: 'counter' | 'gauge', read: () => Iterable<Sample>): void {
    this.register({
      name,
      help,
      type,
      *samples() {
        for (const [labels, value] of read()) yield [name, labels, value] as const;
      },
    });
  }

  /** The exposition text of every family, in registration order. */
  render(): string {
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      for (const [name, labels, value] of f.samples()) {
        out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
      }
    }
    out.push('');
    return out.join('\n');
  }
}

/** A histogram with fixed bucket bounds, by label combination. */
export class Histogram {
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(registry: Registry, name: string, help: string, buckets: readonly number[]) {
    this.#buckets = [...buckets].sort((a, b) => a - b);
    const self = this;
    registry.register({
      name,
      help,
      type: 'histogram',
      *samples() {
        for (const s of self.#series.values()) {
          let cumulative = 0;
          for (let i = 0; i < self.#buckets.length; i++) {
            cumulative += s.counts[i]!;
            yield [`${name}_bucket`, { ...s.labels, le: String(self.#buckets[i]) }, cumulative] as const;
          }
          yield [`${name}_bucket`, { ...s.labels, le: '+Inf' }, s.count] as const;
          yield [`${name}_sum`, s.labels, s.sum] as const;
          yield [`${name}_count`, s.labels, s.count] as const;
        }
      },
    });
  }

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.#series.get(key);
    if (!s) {
      if (this.#series.size >= HISTOGRAM_SERIES_MAX) return;
      s = { labels, counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const i = this.#buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
}
