/**
 * Lifeguard local health awareness (memberlist `awareness.go`): a score in
 * `[0, max − 1]` that rises when this node has reason to doubt itself (failed probes it should
 * have won, refutations, missed nacks, event-loop stalls) and falls with each successful probe.
 * Probe intervals and timeouts are multiplied by `score + 1`, so a sick node slows down before
 * it accuses healthy ones.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  /** @param max memberlist `AwarenessMaxMultiplier` */
  constructor(max: number) {
    this.#max = max;
  }

  /** Adds `delta`, clamped to `[0, max − 1]`. Returns whether the score changed. */
  applyDelta(delta: number): boolean {
    const before = this.#score;
    this.#score = Math.min(this.#max - 1, Math.max(0, before + delta));
    return this.#score !== before;
  }

  /** The current health score: 0 is healthy. */
  get score(): number {
    return this.#score;
  }

  /** `timeout × (score + 1)`. */
  scaleTimeout(timeoutMs: number): number {
    return timeoutMs * (this.#score + 1);
  }
}
