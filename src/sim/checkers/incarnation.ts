/**
 * Invariant: incarnations never go backwards in one observer's continuous knowledge of a
 * member. Only a member raises its own incarnation, and every node discards claims older
 * than what it holds (memberlist `aliveNode`, `suspectNode`, `deadNode`), so the incarnation
 * a node holds for a member can only grow.
 *
 * Exceptions, both of which start a new "continuous knowledge":
 * - the observer restarted (`start`): a new process knows nothing;
 * - the observer forgot the member: memberlist drops a dead or left member once it has been
 *   so for `gossipToTheDeadTimeMs` (at the next probe-list wrap), and may then learn it again
 *   from someone who still holds an older incarnation, or from the member itself after a
 *   restart (which starts again at 1). A `view` with status null shows the forgetting; a lower
 *   incarnation is also accepted when the observer held the member dead or left for longer
 *   than `gossipToTheDeadTimeMs` before (it may have forgotten it between two observations).
 *
 * Hooks: `view` (the simulator's read-back after each packet carrying alive/suspect/dead
 * messages, and a full read-back after each push-pull merge), and the `suspect`, `dead`,
 * `leave` and `join` events, each of which carries the incarnation the observer now holds.
 */
import type { MemberStatus, TraceChecker, TraceEvent, ViolationReporter } from './trace.ts';

interface Known {
  incarnation: number;
  /** When the observer first held the member dead or left in this stretch (undefined while alive or suspect). */
  deadSinceMs: number | undefined;
}

export class IncarnationChecker implements TraceChecker {
  readonly name = 'incarnation';
  /** Observations compared with an incarnation the same observer held before. */
  checks = 0;
  readonly #report: ViolationReporter;
  readonly #forgetAfterMs: number;
  /** observer → member → what it holds. Bounded by (nodes)² entries. */
  readonly #known = new Map<string, Map<string, Known>>();

  /**
   * @param forgetAfterMs memberlist `gossipToTheDeadTimeMs`: how long a dead member is kept
   *   before it may be forgotten.
   */
  constructor(report: ViolationReporter, forgetAfterMs: number) {
    this.#report = report;
    this.#forgetAfterMs = forgetAfterMs;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'start':
        this.#known.delete(e.node);
        return;
      case 'view':
        this.#see(e.atMs, e.observer, e.member, e.status, e.incarnation, 'read back');
        return;
      case 'suspect':
        this.#see(e.atMs, e.observer, e.member, 'suspect', e.incarnation, 'suspect event');
        return;
      case 'dead':
        this.#see(e.atMs, e.observer, e.member, 'dead', e.incarnation, 'dead event');
        return;
      case 'leave':
        this.#see(e.atMs, e.observer, e.member, e.status, e.incarnation, 'leave event');
        return;
      case 'join':
        this.#see(e.atMs, e.observer, e.member, 'alive', e.incarnation, 'join event');
        return;
      case 'refute':
        this.#see(e.atMs, e.node, e.node, 'alive', e.incarnation, 'refute event');
        return;
      default:
        return;
    }
  }

  endOfEvent(): void {}

  #see(
    atMs: number,
    observer: string,
    member: string,
    status: MemberStatus | null,
    incarnation: number,
    how: string,
  ): void {
    let byMember = this.#known.get(observer);
    if (status === null) {
      byMember?.delete(member);
      return;
    }
    if (byMember === undefined) {
      byMember = new Map();
      this.#known.set(observer, byMember);
    }
    const isDead = status === 'dead' || status === 'left';
    const prev = byMember.get(member);
    if (prev === undefined) {
      byMember.set(member, { incarnation, deadSinceMs: isDead ? atMs : undefined });
      return;
    }
    this.checks++;
    if (incarnation < prev.incarnation) {
      const mayHaveForgotten =
        prev.deadSinceMs !== undefined && atMs - prev.deadSinceMs > this.#forgetAfterMs;
      if (!mayHaveForgotten) {
        this.#report(
          `${observer} held ${member} at incarnation ${prev.incarnation}, then at ${incarnation} (${how}, now ${status}); incarnations must not go backwards`,
          atMs,
        );
      }
    }
    prev.incarnation = incarnation;
    if (!isDead) prev.deadSinceMs = undefined;
    else if (prev.deadSinceMs === undefined) prev.deadSinceMs = atMs;
  }
}
