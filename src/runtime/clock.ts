/**
 * Time, as the protocol core sees it.
 *
 * The core (membership, cluster, state, broadcast) never reads the wall clock and never
 * calls `setTimeout`: it gets a {@link Clock}. The agent passes a {@link RealClock}; tests
 * and the simulator pass a {@link VirtualClock} whose time moves only when they say so.
 * That is what makes a simulated run reproducible from its seed.
 */

/** A scheduled callback. Cancelling twice, or after it fired, is harmless. */
export interface Timer {
  cancel(): void;
}

/**
 * A monotonic clock with timers.
 *
 * Contract:
 * - `now()` never goes backwards. Its unit is milliseconds; it may be fractional.
 * - A timer callback runs after at least `delayMs` of this clock's time has passed, never
 *   synchronously inside `setTimer`. Timers due at the same instant run in the order they
 *   were scheduled.
 * - Callbacks must not throw; a clock may treat a throw as a bug and stop.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. Only differences are meaningful. */
  now(): number;
  /** Runs `callback` once, `delayMs` from now (negative delays count as 0). */
  setTimer(delayMs: number, callback: () => void): Timer;
}

/** The real clock: `performance.now()` and Node's timers. Timers are unref'd. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
}
