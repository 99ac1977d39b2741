/**
 * Invariant: a user event is delivered at most once per node. Serf drops a user event it has
 * already seen, by (event time, name, payload), in a ring of `eventBuffer` slots (events.ts),
 * also when the event comes back in a push-pull's copy of a peer's ring. A node that restarts
 * without a snapshot is a new process and may be handed an event again (Serf does the same),
 * so "once" is per process life: the simulator's `start` event begins a new one.
 *
 * The simulator names every event it sends uniquely, so a delivery is identified by its name
 * and event time.
 *
 * Hooks: `user-event` (one delivery), `start` (a new life of the node).
 */
import type { TraceChecker, TraceEvent, ViolationReporter } from './trace.ts';

/** A time for a reason string: ms to the µs. */
const ms = (x: number) => Math.round(x * 1000) / 1000;

export class UserEventChecker implements TraceChecker {
  readonly name = 'user-event';
  /** Deliveries held against the invariant. */
  checks = 0;
  readonly #report: ViolationReporter;
  /** observer → `name@lTime` → when it was first delivered (ms). Bounded by nodes × events sent. */
  readonly #delivered = new Map<string, Map<string, number>>();

  constructor(report: ViolationReporter) {
    this.#report = report;
  }

  observe(e: TraceEvent): void {
    if (e.type === 'start') {
      this.#delivered.delete(e.node);
      return;
    }
    if (e.type !== 'user-event') return;
    this.checks++;
    let seen = this.#delivered.get(e.observer);
    if (seen === undefined) {
      seen = new Map();
      this.#delivered.set(e.observer, seen);
    }
    const key = `${e.name}@${e.lTime}`;
    const firstMs = seen.get(key);
    if (firstMs === undefined) {
      seen.set(key, e.atMs);
      return;
    }
    this.#report(
      `${e.observer} delivered user event ${e.name} (event time ${e.lTime}) again at ${ms(e.atMs)} ms, first at ${ms(firstMs)} ms; a user event is delivered at most once per node`,
      e.atMs,
    );
  }

  endOfEvent(): void {}
}
