/**
 * Invariant: a live node refutes suspicion of itself. When a running node that has not
 * started to leave processes an accusation against itself (a `suspect`, or a `dead` that is
 * not its own leave) at an incarnation at least its own, a refutation with a higher
 * incarnation follows at once (memberlist `refute`): its incarnation after the packet is above
 * the accused one and it emitted a `refute` event above it. An accusation at an incarnation
 * below its own is stale and needs no answer.
 *
 * Hooks: the simulator's `accused` observation, made after each packet that carried an
 * accusation against the receiver, with the `refute` events of that packet folded in.
 * Accusations that arrive in a push-pull (`mergeState` turns them into a suspicion of
 * ourselves, which is refuted the same way) are not decoded; the convergence checker still
 * catches a refutation that never came.
 */
import type { TraceChecker, TraceEvent, ViolationReporter } from './trace.ts';

export class RefuteChecker implements TraceChecker {
  readonly name = 'refute';
  /** Accusations held against the invariant (fresh ones, at a node not leaving). */
  checks = 0;
  readonly #report: ViolationReporter;

  constructor(report: ViolationReporter) {
    this.#report = report;
  }

  observe(e: TraceEvent): void {
    if (e.type !== 'accused' || e.isLeaving) return;
    if (e.accusedIncarnation < e.incarnationBefore) return;
    this.checks++;
    if (
      e.incarnationAfter <= e.accusedIncarnation ||
      e.refutedTo === null ||
      e.refutedTo <= e.accusedIncarnation
    ) {
      this.#report(
        `${e.node} learned it was accused at incarnation ${e.accusedIncarnation} (its own was ${e.incarnationBefore}) but did not refute: its incarnation is ${e.incarnationAfter}${
          e.refutedTo === null ? ', no refute event' : `, refuted to ${e.refutedTo}`
        }`,
        e.atMs,
      );
    }
  }

  endOfEvent(): void {}
}
