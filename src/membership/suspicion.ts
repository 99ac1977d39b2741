/**
 * A Lifeguard suspicion timer (memberlist `suspicion.go`): started when a member is suspected,
 * it fires `onTimeout` unless the member refutes first. It starts at `max` and shrinks toward
 * `min` as independent members confirm the suspicion (k of them expected), so a suspicion that
 * many agree on resolves quickly while a lone accuser's takes long.
 */
import type { Clock, Timer } from '../runtime/clock.ts';
import { suspicionTimeoutAfter } from './math.ts';

export class Suspicion {
  readonly #clock: Clock;
  readonly #k: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #start: number;
  readonly #confirmations = new Set<string>();
  readonly #onTimeout: (confirmations: number) => void;
  #n = 0;
  #timer: Timer;
  #fired = false;

  /**
   * @param from the first accuser (counts as a source, not as a confirmation)
   * @param k confirmations expected; with k < 1 the timer starts at `min`
   */
  constructor(
    clock: Clock,
    from: string,
    k: number,
    minMs: number,
    maxMs: number,
    onTimeout: (confirmations: number) => void,
  ) {
    this.#clock = clock;
    this.#k = k;
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#onTimeout = onTimeout;
    this.#confirmations.add(from);
    this.#start = clock.now();
    this.#timer = clock.setTimer(k < 1 ? minMs : maxMs, () => this.#fire());
  }

  #fire(): void {
    if (this.#fired) return;
    this.#fired = true;
    this.#onTimeout(this.#n);
  }

  /** Independent confirmations received so far. */
  get confirmations(): number {
    return this.#n;
  }

  /** When the timer started (clock ms). */
  get startedAt(): number {
    return this.#start;
  }

  /**
   * Registers a confirmation from `from`. Returns true if it was new (and so worth
   * re-gossiping), false for a repeat or once `k` confirmations are in.
   */
  confirm(from: string): boolean {
    if (this.#n >= this.#k || this.#fired) return false;
    if (this.#confirmations.has(from)) return false;
    this.#confirmations.add(from);
    this.#n++;
    const elapsed = this.#clock.now() - this.#start;
    const remaining = suspicionTimeoutAfter(this.#n, this.#k, this.#minMs, this.#maxMs) - elapsed;
    this.#timer.cancel();
    this.#timer = this.#clock.setTimer(Math.max(0, remaining), () => this.#fire());
    return true;
  }

  /** Stops the timer (the member refuted, or was declared dead another way). */
  cancel(): void {
    this.#fired = true;
    this.#timer.cancel();
  }
}
