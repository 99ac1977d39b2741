/**
 * What the protocol simulator measures, from the same trace the checkers read:
 *
 * - **detection time** of each crash: from the crash until the last node that was running at
 *   the crash (and still is) holds the victim dead or left; also until the first one does, and
 *   each observer's own time. A victim that restarts first, or a run that ends first, leaves
 *   the crash undetected (counted apart).
 * - **false positives**: `dead` verdicts on, `leave` (dead) marks of, and suspicions of nodes
 *   that were in fact running, each attributed to a cause: the two were cut apart by a
 *   partition at that moment, the accused had stalled lately (a slow node), or other (loss).
 * - **load** per node: memberlist messages, UDP packets and bytes (UDP and TCP) sent per
 *   second of that node's running time, over the measured window.
 *
 * Percentiles are nearest-rank: pX of n sorted values is the ⌈X/100 · n⌉-th.
 */
import type { TraceEvent } from './checkers/trace.ts';

/** p50, p99 and p100 (the maximum) of a sample; null figures when it is empty. */
export interface Percentiles {
  count: number;
  p50: number | null;
  p99: number | null;
  p100: number | null;
}

/** Mean and percentiles of a per-node figure. */
export interface Spread {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, p50: null, p99: null, p100: null };
  return {
    count: sorted.length,
    p50: round3(percentile(sorted, 50)),
    p99: round3(percentile(sorted, 99)),
    p100: round3(sorted.at(-1)!),
  };
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mean: round3(sum / sorted.length),
    p50: round3(percentile(sorted, 50)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted.at(-1)!),
  };
}

interface OpenDetection {
  victim: string;
  crashedAtMs: number;
  /** Observers that have not yet marked the victim dead. */
  pending: Set<string>;
  firstMs: number | undefined;
  isClosed: boolean;
}

/** Detection figures of a run (times in ms). */
export interface DetectionResult {
  /** Crashes tracked. */
  crashes: number;
  /** Crashes every observer detected. */
  detected: number;
  /** Crashes whose victim restarted before every observer had detected it. */
  restartedFirst: number;
  /** Crashes still not detected by everyone when the run ended. */
  undetected: number;
  /** Crash → the last observer marks it dead, over detected crashes. */
  lastMs: Percentiles;
  /** Crash → the first node marks it dead. */
  firstMs: Percentiles;
  /** Crash → each observer marks it dead, over every (crash, observer) pair. */
  perObserverMs: Percentiles;
  /** The crash → last-observer time of each detected crash, in crash order. */
  timesMs: number[];
  /** Every (crash, observer) time, in the order they happened (for the plot). */
  observerTimesMs: number[];
}

/** Follows each crash until every observer has marked the victim dead. */
export class DetectionTracker {
  readonly #open: OpenDetection[] = [];
  readonly #all: OpenDetection[] = [];
  readonly #lastTimes: number[] = [];
  readonly #observerTimes: number[] = [];
  #restartedFirst = 0;

  /** A crash of `victim`; `observers` are the running nodes that still hold it alive or suspect. */
  onCrash(victim: string, atMs: number, observers: readonly string[]): void {
    const d: OpenDetection = {
      victim,
      crashedAtMs: atMs,
      pending: new Set(observers),
      firstMs: undefined,
      isClosed: false,
    };
    this.#all.push(d);
    this.#open.push(d);
    this.#closeIfDone(d, atMs);
  }

  observe(e: TraceEvent): void {
    if (this.#open.length === 0) return;
    switch (e.type) {
      case 'leave':
        for (const d of this.#open) {
          if (d.victim !== e.member || !d.pending.delete(e.observer)) continue;
          const t = e.atMs - d.crashedAtMs;
          this.#observerTimes.push(round3(t));
          if (d.firstMs === undefined) d.firstMs = t;
          this.#closeIfDone(d, e.atMs);
        }
        break;
      case 'stop':
        for (const d of this.#open) if (d.pending.delete(e.node)) this.#closeIfDone(d, e.atMs);
        break;
      case 'start':
        for (const d of this.#open) {
          if (d.victim === e.node && !d.isClosed) {
            d.isClosed = true;
            this.#restartedFirst++;
          }
        }
        break;
      default:
        return;
    }
    if (this.#open.some((d) => d.isClosed)) {
      const still = this.#open.filter((d) => !d.isClosed);
      this.#open.length = 0;
      this.#open.push(...still);
    }
  }

  #closeIfDone(d: OpenDetection, atMs: number): void {
    if (d.isClosed || d.pending.size > 0) return;
    d.isClosed = true;
    this.#lastTimes.push(round3(atMs - d.crashedAtMs));
  }

  result(): DetectionResult {
    const firsts = this.#all.filter((d) => d.firstMs !== undefined).map((d) => d.firstMs!);
    return {
      crashes: this.#all.length,
      detected: this.#lastTimes.length,
      restartedFirst: this.#restartedFirst,
      undetected: this.#open.filter((d) => !d.isClosed).length,
      lastMs: percentiles(this.#lastTimes),
      firstMs: percentiles(firsts),
      perObserverMs: percentiles(this.#observerTimes),
      timesMs: [...this.#lastTimes],
      observerTimesMs: [...this.#observerTimes],
    };
  }
}

/** Why a running node was accused. */
export type AccusationCause = 'partition' | 'slow' | 'other';

/** Counts of one kind of false positive, by cause. */
export interface CauseCounts {
  total: number;
  partition: number;
  slow: number;
  other: number;
}

/** False positives of a run. */
export interface FalsePositiveResult {
  /** Suspicion timeouts (the accuser's own verdict) on nodes that were running. */
  deadDeclarations: CauseCounts;
  /** Nodes marking a running node dead (every observer counts). */
  deadMarks: CauseCounts;
  /** Nodes starting to suspect a running node. */
  suspicions: CauseCounts;
}

const emptyCounts = (): CauseCounts => ({ total: 0, partition: 0, slow: 0, other: 0 });

/** Counts accusations of running nodes. */
export class FalsePositiveCounter {
  readonly #isRunning: (node: string) => boolean;
  readonly #causeOf: (accuser: string, accused: string) => AccusationCause;
  readonly #result: FalsePositiveResult = {
    deadDeclarations: emptyCounts(),
    deadMarks: emptyCounts(),
    suspicions: emptyCounts(),
  };

  /**
   * @param isRunning ground truth: whether the node runs now
   * @param causeOf why `accuser` may have lost touch with `accused` (see {@link AccusationCause})
   */
  constructor(
    isRunning: (node: string) => boolean,
    causeOf: (accuser: string, accused: string) => AccusationCause,
  ) {
    this.#isRunning = isRunning;
    this.#causeOf = causeOf;
  }

  observe(e: TraceEvent): void {
    let counts: CauseCounts;
    let accuser: string;
    switch (e.type) {
      case 'dead':
        counts = this.#result.deadDeclarations;
        accuser = e.observer;
        break;
      case 'leave':
        if (e.status !== 'dead') return;
        counts = this.#result.deadMarks;
        accuser = e.observer;
        break;
      case 'suspect':
        counts = this.#result.suspicions;
        accuser = e.from;
        break;
      default:
        return;
    }
    if (!this.#isRunning(e.member)) return;
    counts.total++;
    counts[this.#causeOf(accuser, e.member)]++;
  }

  result(): FalsePositiveResult {
    return structuredClone(this.#result);
  }
}
