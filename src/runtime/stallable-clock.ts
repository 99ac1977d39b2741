/**
 * A clock that models a stalled Node.js event loop: while "stalled", callbacks are held back,
 * and when the stall ends they all run, in the order they were due. That is what a blocked
 * event loop (a long GC pause, CPU starvation, a synchronous call) does to timers and to I/O.
 *
 * It wraps another clock (a `VirtualClock` in tests and the simulator): `now()` keeps moving
 * during a stall, so a node whose timers fire late sees the lag, as a real one would.
 */
import type { Clock, Timer } from './clock.ts';

/**
 * A {@link Clock} whose callbacks can be held back for a while ({@link StallableClock.stall}).
 * Timers are never run early; a timer due during a stall runs when the stall ends.
 */
export class StallableClock implements Clock {
  readonly #base: Clock;
  #stalledUntil = Number.NEGATIVE_INFINITY;

  constructor(base: Clock) {
    this.#base = base;
  }

  now(): number {
    return this.#base.now();
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    let inner: Timer;
    let cancelled = false;
    const run = () => {
      if (cancelled) return;
      const now = this.#base.now();
      if (now < this.#stalledUntil) {
        inner = this.#base.setTimer(this.#stalledUntil - now, run);
        return;
      }
      callback();
    };
    inner = this.#base.setTimer(delayMs, run);
    return {
      cancel: () => {
        cancelled = true;
        inner.cancel();
      },
    };
  }

  /** Holds every callback back for `ms` from now (a longer stall already under way wins). */
  stall(ms: number): void {
    this.#stalledUntil = Math.max(this.#stalledUntil, this.#base.now() + ms);
  }

  /** True while a stall is under way. */
  get isStalled(): boolean {
    return this.#base.now() < this.#stalledUntil;
  }

  /** When the current (or last) stall ends, in the base clock's ms; -Infinity if never stalled. */
  get stalledUntil(): number {
    return this.#stalledUntil;
  }

  /** Runs `fn` now, or when the stall ends. */
  defer(fn: () => void): void {
    const now = this.#base.now();
    if (now < this.#stalledUntil) this.#base.setTimer(this.#stalledUntil - now, fn);
    else fn();
  }
}
