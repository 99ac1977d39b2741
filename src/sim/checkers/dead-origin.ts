/**
 * Invariant: a node is only declared dead by one that suspected it, or by itself on leave.
 *
 * SWIM never kills on hearsay alone: a member is declared dead only when a node's own
 * suspicion of it times out (memberlist `suspectNode` → timer → `deadNode`), and a remote
 * "dead" in a push-pull becomes a mere suspicion (`mergeState`). Whoever then marks the
 * member dead does so on a `dead` message that some node originated that way. A `left`
 * status comes only from the member's own leave.
 *
 * Checks, with the `suspect`, `dead` and `leave` events:
 * - a `dead` verdict by X on M at incarnation i follows X's own `suspect` of M at i (since
 *   X last started);
 * - every `leave` (status dead) of M at incarnation i, at any node, is backed by some node's
 *   `dead` verdict on M at i by the end of the same event (the verdict's own `leave` comes a
 *   moment before its `dead` event, in the same timer);
 * - every `leave` (status left) of M at i is backed by M's own leave at i (the `leave` event
 *   M emits about itself when it starts leaving).
 */
import type { TraceChecker, TraceEvent, ViolationReporter } from './trace.ts';

interface Pending {
  observer: string;
  member: string;
  incarnation: number;
  atMs: number;
}

export class DeadOriginChecker implements TraceChecker {
  readonly name = 'dead-origin';
  /** Dead verdicts, dead marks and left marks held against the invariant. */
  checks = 0;
  readonly #report: ViolationReporter;
  /** observer → member → incarnation of its latest suspicion. */
  readonly #suspected = new Map<string, Map<string, number>>();
  /** `member@incarnation` keys of dead verdicts, and of voluntary leaves. */
  readonly #deadVerdicts = new Set<string>();
  readonly #leaves = new Set<string>();
  readonly #pendingDead: Pending[] = [];

  constructor(report: ViolationReporter) {
    this.#report = report;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'start':
        this.#suspected.delete(e.node);
        return;
      case 'suspect': {
        let m = this.#suspected.get(e.observer);
        if (m === undefined) {
          m = new Map();
          this.#suspected.set(e.observer, m);
        }
        m.set(e.member, e.incarnation);
        return;
      }
      case 'dead': {
        this.checks++;
        const suspectedAt = this.#suspected.get(e.observer)?.get(e.member);
        if (suspectedAt !== e.incarnation) {
          this.#report(
            `${e.observer} declared ${e.member} dead at incarnation ${e.incarnation} without having suspected it at that incarnation (${
              suspectedAt === undefined ? 'it never suspected it' : `its last suspicion was at ${suspectedAt}`
            })`,
            e.atMs,
          );
        }
        this.#deadVerdicts.add(`${e.member}@${e.incarnation}`);
        return;
      }
      case 'leave':
        if (e.status === 'left') {
          if (e.observer === e.member) {
            this.#leaves.add(`${e.member}@${e.incarnation}`);
            return;
          }
          this.checks++;
          if (!this.#leaves.has(`${e.member}@${e.incarnation}`)) {
            this.#report(
              `${e.observer} marked ${e.member} as left at incarnation ${e.incarnation}, but ${e.member} never left at that incarnation`,
              e.atMs,
            );
          }
          return;
        }
        this.#pendingDead.push({
          observer: e.observer,
          member: e.member,
          incarnation: e.incarnation,
          atMs: e.atMs,
        });
        return;
      default:
        return;
    }
  }

  endOfEvent(atMs: number): void {
    if (this.#pendingDead.length === 0) return;
    for (const p of this.#pendingDead) {
      this.checks++;
      if (!this.#deadVerdicts.has(`${p.member}@${p.incarnation}`)) {
        this.#report(
          `${p.observer} marked ${p.member} dead at incarnation ${p.incarnation}, but no node had declared it dead at that incarnation (no suspicion timed out)`,
          atMs,
        );
      }
    }
    this.#pendingDead.length = 0;
  }
}
