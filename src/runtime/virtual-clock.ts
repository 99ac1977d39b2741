/**
 * Virtual time for tests and the simulator: time stands still until {@link VirtualClock.advance}
 * or {@link VirtualClock.runUntil} moves it, and then every due timer runs in (time, order)
 * order. No wall clock is read, so the same inputs give the same run.
 */
import type { Clock, Timer } from './clock.ts';
import { TimerHeap } from './heap.ts';

const NOTHING = (): void => {};

/**
 * A timer in the heap; it is also the {@link Timer} handed out (no closure per timer). A
 * cancelled timer stays in the heap until its time comes (removing it would cost a search),
 * but lets go of its callback at once: what the callback's closure holds (a stream, a decoded
 * push-pull of every member) must not live on until then. In the simulator that was most of
 * the heap: every push-pull's decoded member list held for the stream timeout (10 s) by the
 * cancelled deadline timer.
 */
class Scheduled implements Timer {
  readonly time: number;
  readonly seq: number;
  callback: () => void;
  cancelled = false;

  constructor(time: number, seq: number, callback: () => void) {
    this.time = time;
    this.seq = seq;
    this.callback = callback;
  }

  cancel(): void {
    this.cancelled = true;
    this.callback = NOTHING;
  }
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #heap = new TimerHeap<Scheduled>();

  /** @param startMs the initial reading of `now()`. @default 0 */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const entry = new Scheduled(this.#now + Math.max(0, delayMs), this.#seq++, callback);
    this.#heap.push(entry);
    return entry;
  }

  /** Number of timers scheduled and not yet run (cancelled ones included until reached). */
  get pendingTimers(): number {
    return this.#heap.size;
  }

  /** Time of the next live timer, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    for (;;) {
      const top = this.#heap.peek();
      if (top === undefined) return undefined;
      if (!top.cancelled) return top.time;
      this.#heap.pop();
    }
  }

  /** Runs the next due timer (advancing time to it). Returns false when none is pending. */
  step(): boolean {
    for (;;) {
      const top = this.#heap.pop();
      if (top === undefined) return false;
      if (top.cancelled) continue;
      if (top.time > this.#now) this.#now = top.time;
      top.callback();
      return true;
    }
  }

  /** Runs every timer due up to `timeMs` (inclusive), then sets the time to `timeMs`. */
  runUntil(timeMs: number): void {
    for (;;) {
      const next = this.nextTimerAt();
      if (next === undefined || next > timeMs) break;
      this.step();
    }
    if (timeMs > this.#now) this.#now = timeMs;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    this.runUntil(this.#now + ms);
  }
}
