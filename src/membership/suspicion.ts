/**
 * A Lifeguard suspicion timer (memberlist `suspicion.go`): started when a member is suspected,
 * it fires `onTimeout` unless the member refutes first. It starts at `max` and shrinks toward
 * `min` as independent members confirm the suspicion (k of them expected), so a suspicion that
 * many agree on resolves quickly while a lone accuser's takes long.
 *
 * A timer that fires late by more than `stallGraceMs` (our event loop stalled: starved of CPU,
 * a long GC) waits one more event-loop turn before it declares: Node.js runs timers that fell
 * due during a stall before it reads the sockets, so the member's refutation may be waiting
 * there, unread, when the deadline is judged. (A stall inside a packet handler, then the
 * suspicion timer, then the alive at a higher incarnation: the member was declared dead for
 * nothing, and every observer that hears us flaps it.) memberlist's goroutines have no such
 * fixed order.
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
  readonly #stallGraceMs: number;
  #n = 0;
  #timer: Timer;
  /** When the timer is due (clock ms). */
  #deadline: number;
  #fired = false;
  #deferred = false;

  /**
   * @param from the first accuser (counts as a source, not as a confirmation)
   * @param k confirmations expected; with k < 1 the timer starts at `min`
   * @param stallGraceMs lateness beyond which a firing timer first lets the event loop read what
   *   arrived meanwhile (one turn); 0 never waits (the `eventLoopLagThresholdMs` option)
   */
  constructor(
    clock: Clock,
    from: string,
    k: number,
    minMs: number,
    maxMs: number,
    onTimeout: (confirmations: number) => void,
    stallGraceMs = 0,
  ) {
    this.#clock = clock;
    this.#k = k;
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#onTimeout = onTimeout;
    this.#stallGraceMs = stallGraceMs;
    this.#confirmations.add(from);
    this.#start = clock.now();
    const timeoutMs = k < 1 ? minMs : maxMs;
    this.#deadline = this.#start + timeoutMs;
    this.#timer = clock.setTimer(timeoutMs, this.#fire);
  }

  readonly #fire = (): void => {
    if (this.#fired) return;
    if (
      this.#stallGraceMs > 0 &&
      !this.#deferred &&
      this.#clock.now() - this.#deadline > this.#stallGraceMs
    ) {
      // Stalled across the deadline: read the sockets first (a refutation cancels us meanwhile).
      this.#deferred = true;
      this.#timer = this.#clock.setTimer(0, this.#fire);
      return;
    }
    this.#fired = true;
    this.#onTimeout(this.#n);
  };

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
    this.#deadline = this.#clock.now() + Math.max(0, remaining);
    this.#timer = this.#clock.setTimer(Math.max(0, remaining), this.#fire);
    return true;
  }

  /** Stops the timer (the member refuted, or was declared dead another way). */
  cancel(): void {
    this.#fired = true;
    this.#timer.cancel();
  }
}
