/**
 * Event-loop lag, measured with the injected clock: how late a timer fires is the lag. On a
 * real clock that is how long the process could not run (GC, CPU starvation, a blocking call);
 * on the simulator's clock it is the stall a test injected. Lifeguard uses it so a stalled node
 * doubts itself before it accuses others.
 *
 * The samples are the ticks of the node's own gossip and probe loops (Memberlist records how late
 * each fired: five or six a second with the LAN profile), so an idle node wakes up for nothing
 * more. Only with gossip off does the monitor set a timer of its own, every
 * {@link LAG_SAMPLE_INTERVAL_MS}. (A separate 100 ms timer was a third of an idle agent's CPU.)
 */
import type { Clock, Timer } from '../runtime/clock.ts';

/** How often lag is sampled by the monitor's own timer (only when gossip is off). */
export const LAG_SAMPLE_INTERVAL_MS = 100;
/** Samples kept (a bounded window: about 10 s of gossip and probe ticks with the LAN profile). */
export const LAG_WINDOW_SAMPLES = 64;

export class LagMonitor {
  readonly #clock: Clock;
  readonly #at = new Float64Array(LAG_WINDOW_SAMPLES);
  readonly #lag = new Float64Array(LAG_WINDOW_SAMPLES);
  #next = 0;
  #timer: Timer | undefined;
  #expected = 0;
  /** Called with each sample (ms of lag). */
  onSample: (lagMs: number) => void = () => {};

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  start(): void {
    if (this.#timer) return;
    this.#schedule();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#expected = this.#clock.now() + LAG_SAMPLE_INTERVAL_MS;
    this.#timer = this.#clock.setTimer(LAG_SAMPLE_INTERVAL_MS, this.#sample);
  }

  /** The timer's callback, one for every sample. */
  readonly #sample = (): void => {
    const now = this.#clock.now();
    this.record(now, Math.max(0, now - this.#expected));
    this.#schedule();
  };

  /** Records a lag observation made at `at` (also used for late timers the probe notices). */
  record(at: number, lagMs: number): void {
    const i = this.#next++ % LAG_WINDOW_SAMPLES;
    this.#at[i] = at;
    this.#lag[i] = lagMs;
    this.onSample(lagMs);
  }

  /** The largest lag whose stall overlapped `[from, to]` (a sample at t covers `[t − lag, t]`). */
  maxLagBetween(from: number, to: number): number {
    let max = 0;
    const n = Math.min(this.#next, LAG_WINDOW_SAMPLES);
    for (let i = 0; i < n; i++) {
      const at = this.#at[i]!;
      const lag = this.#lag[i]!;
      if (at >= from && at - lag <= to && lag > max) max = lag;
    }
    return max;
  }
}
