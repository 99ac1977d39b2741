/**
 * Invariant: a member that left is never resurrected. Once a node's Serf layer holds a member
 * that left gracefully as left, it must not bring it back (a `member-join`, `member-failed` or
 * `member-update` about it) unless the member has started again since it left (a new process
 * under the same name, joining afresh) or the node forgot it first (`member-reap`). A leave is
 * a member's last word: memberlist's leave is a `dead` from the member itself at its current
 * incarnation, after which it never refutes, and Serf keeps left members as tombstones for
 * `tombstoneTimeoutMs` so that old news in a push-pull cannot revive them.
 *
 * "Since it left" uses the ground truth, not the observer's knowledge: news of a leave can
 * arrive after the member has already restarted (the observer holds its old life left until
 * the new life refutes it), and that new life may then join. So each tombstone remembers which
 * life of the member left by itself (its own `leave` event with status left); bringing the
 * member back is a violation only while that same life is still its latest.
 *
 * Members an operator force-left are not held to it: a force-leave marks a failed member left
 * in Serf only, and memberlist news of the member at an incarnation above the death it was
 * declared at (a peer cut off from the accusers that heard its last refutation, say) brings it
 * back, in Serf as here (`handleNodeJoin`), until it is found dead again. The member-status
 * check still requires every node to agree about it at the end.
 *
 * Hooks: `start` (a new life of the member; the observer's own tombstones go with its old
 * life), `leave` (a member's own), and `member` events (a `member-leave` to status left sets
 * a tombstone).
 */
import type { TraceChecker, TraceEvent, ViolationReporter } from './trace.ts';

/** A time for a reason string: ms to the µs. */
const ms = (x: number) => Math.round(x * 1000) / 1000;

interface Tombstone {
  /** When the observer came to hold the member left (ms). */
  atMs: number;
  /** The member's life that had left by itself by then (0: none; a force-leave, say). */
  life: number;
}

export class ResurrectionChecker implements TraceChecker {
  readonly name = 'resurrection';
  /** Member events at an observer holding at least one member as left, held against its tombstones. */
  checks = 0;
  readonly #report: ViolationReporter;
  /** member → its latest life (1 for its first start). */
  readonly #life = new Map<string, number>();
  /** member → the latest of its lives that left by itself. */
  readonly #leftLife = new Map<string, number>();
  /** observer → member → its tombstone. Bounded by nodes². */
  readonly #tombstones = new Map<string, Map<string, Tombstone>>();

  constructor(report: ViolationReporter) {
    this.#report = report;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'start':
        this.#life.set(e.node, (this.#life.get(e.node) ?? 0) + 1);
        this.#tombstones.delete(e.node);
        return;
      case 'leave':
        if (e.observer === e.member && e.status === 'left')
          this.#leftLife.set(e.member, this.#life.get(e.member) ?? 0);
        return;
      case 'member':
        break;
      default:
        return;
    }
    let held = this.#tombstones.get(e.observer);
    if (e.event === 'member-leave' && e.status === 'left') {
      if (held === undefined) {
        held = new Map();
        this.#tombstones.set(e.observer, held);
      }
      if (!held.has(e.member)) held.set(e.member, { atMs: e.atMs, life: this.#leftLife.get(e.member) ?? 0 });
      return;
    }
    if (held === undefined || held.size === 0) return;
    this.checks++;
    const tombstone = held.get(e.member);
    if (tombstone === undefined) return;
    held.delete(e.member);
    if (e.event === 'member-reap') return;
    const life = this.#life.get(e.member) ?? 0;
    // Not a graceful leave of the member's latest life: it started again since, or was force-left.
    if (tombstone.life === 0 || tombstone.life !== life) return;
    this.#report(
      `${e.observer} held ${e.member} as left from ${ms(tombstone.atMs)} ms, then reported ${e.event} (now ${e.status}) though ${e.member} has not started again since it left; a member that left is never resurrected`,
      e.atMs,
    );
  }

  endOfEvent(): void {}
}
