/**
 * Network coordinates (Serf's `coordinate` package): each node keeps a Vivaldi coordinate — an
 * 8-dimensional position plus a height and an adjustment, in seconds — updated from the
 * round-trip time of every probe and the coordinate the probed node put in its ack. The
 * distance between two coordinates estimates their RTT without measuring it, which is what
 * `serf rtt` prints. Serf puts `01 || msgpack Coordinate` in its ack payloads (wire/serf.ts),
 * so a node that answers with its coordinate can be placed by serf agents, and vice versa.
 *
 * Pure: the only randomness (a direction when two coordinates coincide) comes from the
 * injected `Random`.
 */
import type { Random } from '../runtime/random.ts';
import type { Coordinate } from '../wire/serf.ts';

/** Tuning of the Vivaldi client (Serf's `coordinate.DefaultConfig`). */
export interface CoordinateConfig {
  dimensionality: number;
  /** Error of a new coordinate, and the cap. */
  vivaldiErrorMax: number;
  /** Error-estimate smoothing. */
  vivaldiCE: number;
  /** Position-update smoothing. */
  vivaldiCC: number;
  /** RTT samples averaged into the adjustment term. */
  adjustmentWindowSize: number;
  /** Smallest height, seconds. */
  heightMin: number;
  /** Per-node RTT samples the median filter keeps. */
  latencyFilterSize: number;
  /** Gravity toward the origin, seconds, so coordinates do not drift away together. */
  gravityRho: number;
}

export function defaultCoordinateConfig(): CoordinateConfig {
  return {
    dimensionality: 8,
    vivaldiErrorMax: 1.5,
    vivaldiCE: 0.25,
    vivaldiCC: 0.25,
    adjustmentWindowSize: 20,
    heightMin: 10.0e-6,
    latencyFilterSize: 3,
    gravityRho: 150.0,
  };
}

/** RTTs above this are rejected as bogus (Serf's `maxRTT`). */
export const MAX_RTT_SECONDS = 10;
/** Nodes whose RTT samples the latency filter remembers; beyond it the oldest is forgotten. */
export const MAX_FILTERED_NODES = 100_000;
const ZERO_THRESHOLD = 1.0e-6;

export function newCoordinate(config: CoordinateConfig): Coordinate {
  return {
    vec: new Array(config.dimensionality).fill(0),
    error: config.vivaldiErrorMax,
    adjustment: 0,
    height: config.heightMin,
  };
}

function clone(c: Coordinate): Coordinate {
  return { vec: [...c.vec], error: c.error, adjustment: c.adjustment, height: c.height };
}

function finite(x: number): boolean {
  return Number.isFinite(x);
}

/** Whether every component is a finite number. */
export function isValidCoordinate(c: Coordinate): boolean {
  return c.vec.every(finite) && finite(c.error) && finite(c.adjustment) && finite(c.height);
}

function rawDistance(a: Coordinate, b: Coordinate): number {
  let sum = 0;
  for (let i = 0; i < a.vec.length; i++) {
    const d = a.vec[i]! - b.vec[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum) + a.height + b.height;
}

/** Estimated RTT between two coordinates, in seconds (Serf `DistanceTo`). */
export function distanceSeconds(a: Coordinate, b: Coordinate): number {
  const dist = rawDistance(a, b);
  const adjusted = dist + a.adjustment + b.adjustment;
  return adjusted > 0 ? adjusted : dist;
}

/** A node's Vivaldi client (Serf `coordinate.Client`). */
export class CoordinateClient {
  readonly #config: CoordinateConfig;
  readonly #random: Random;
  #coord: Coordinate;
  readonly #origin: Coordinate;
  #adjustmentIndex = 0;
  readonly #adjustmentSamples: number[];
  readonly #latency = new Map<string, number[]>();
  /** Times the coordinate became invalid and was reset. */
  resets = 0;

  constructor(random: Random, config: CoordinateConfig = defaultCoordinateConfig()) {
    if (!(config.dimensionality > 0)) throw new RangeError('dimensionality must be > 0');
    this.#config = config;
    this.#random = random;
    this.#coord = newCoordinate(config);
    this.#origin = newCoordinate(config);
    this.#adjustmentSamples = new Array(config.adjustmentWindowSize).fill(0);
  }

  /** A copy of the current coordinate. */
  get coordinate(): Coordinate {
    return clone(this.#coord);
  }

  /** Drops what the latency filter remembers about `node` (it was reaped). */
  forgetNode(node: string): void {
    this.#latency.delete(node);
  }

  /**
   * Folds in one observation: `other`'s coordinate and our RTT to it. Returns the new
   * coordinate, or an error message when the observation is unusable.
   */
  update(node: string, other: Coordinate, rttSeconds: number): Coordinate | string {
    if (other.vec.length !== this.#coord.vec.length) return 'dimensions are not compatible';
    if (!isValidCoordinate(other)) return 'coordinate is invalid';
    if (!(rttSeconds >= 0) || rttSeconds > MAX_RTT_SECONDS) {
      return `round trip time ${rttSeconds} s is not between 0 and ${MAX_RTT_SECONDS} s`;
    }
    const rtt = this.#latencyFilter(node, rttSeconds);
    this.#updateVivaldi(other, rtt);
    this.#updateAdjustment(other, rtt);
    this.#updateGravity();
    if (!isValidCoordinate(this.#coord)) {
      this.resets++;
      this.#coord = newCoordinate(this.#config);
    }
    return clone(this.#coord);
  }

  #latencyFilter(node: string, rtt: number): number {
    let samples = this.#latency.get(node);
    if (samples === undefined) {
      if (this.#latency.size >= MAX_FILTERED_NODES) {
        const oldest = this.#latency.keys().next().value;
        if (oldest !== undefined) this.#latency.delete(oldest);
      }
      samples = [];
      this.#latency.set(node, samples);
    }
    samples.push(rtt);
    if (samples.length > this.#config.latencyFilterSize) samples.shift();
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  #updateVivaldi(other: Coordinate, rttIn: number): void {
    const c = this.#config;
    const dist = distanceSeconds(this.#coord, other);
    const rtt = Math.max(rttIn, ZERO_THRESHOLD);
    const wrongness = Math.abs(dist - rtt) / rtt;
    const totalError = Math.max(this.#coord.error + other.error, ZERO_THRESHOLD);
    const weight = this.#coord.error / totalError;
    let error = c.vivaldiCE * weight * wrongness + this.#coord.error * (1 - c.vivaldiCE * weight);
    if (error > c.vivaldiErrorMax) error = c.vivaldiErrorMax;
    this.#coord.error = error;
    const force = c.vivaldiCC * weight * (rtt - dist);
    this.#coord = this.#applyForce(this.#coord, force, other);
  }

  #updateAdjustment(other: Coordinate, rtt: number): void {
    const n = this.#config.adjustmentWindowSize;
    if (n === 0) return;
    this.#adjustmentSamples[this.#adjustmentIndex] = rtt - rawDistance(this.#coord, other);
    this.#adjustmentIndex = (this.#adjustmentIndex + 1) % n;
    let sum = 0;
    for (const s of this.#adjustmentSamples) sum += s;
    this.#coord.adjustment = sum / (2 * n);
  }

  #updateGravity(): void {
    const dist = distanceSeconds(this.#origin, this.#coord);
    const force = -((dist / this.#config.gravityRho) ** 2);
    this.#coord = this.#applyForce(this.#coord, force, this.#origin);
  }

  #applyForce(c: Coordinate, force: number, other: Coordinate): Coordinate {
    const ret = clone(c);
    const { unit, magnitude } = this.#unitVectorAt(c.vec, other.vec);
    for (let i = 0; i < ret.vec.length; i++) ret.vec[i] = ret.vec[i]! + unit[i]! * force;
    if (magnitude > ZERO_THRESHOLD) {
      ret.height = Math.max(
        ((ret.height + other.height) * force) / magnitude + ret.height,
        this.#config.heightMin,
      );
    }
    return ret;
  }

  #unitVectorAt(a: number[], b: number[]): { unit: number[]; magnitude: number } {
    const d = a.map((x, i) => x - b[i]!);
    let mag = Math.hypot(...d);
    if (mag > ZERO_THRESHOLD) return { unit: d.map((x) => x / mag), magnitude: mag };
    // Coincident points: push in a random direction (Serf uses math/rand here).
    const r = d.map(() => this.#random.float() - 0.5);
    mag = Math.hypot(...r);
    if (mag > ZERO_THRESHOLD) return { unit: r.map((x) => x / mag), magnitude: 0 };
    const unit = new Array(a.length).fill(0);
    unit[0] = 1;
    return { unit, magnitude: 0 };
  }
}
