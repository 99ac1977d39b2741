/**
 * Liveness: after the faults heal, all live members converge to the same view within a bound.
 *
 * "The same view" here is what each running node should hold once the dust settles: every
 * running node alive, at the incarnation that node itself holds, and every node that is down
 * (crashed, or left and shut down) dead, left, or forgotten. Nodes that have never run are
 * ignored. {@link ConvergenceChecker.check} returns null when that holds, else a reason string
 * naming who disagrees about whom, e.g.
 * `n3 holds n7 suspect at incarnation 4 (n7 runs at 5); n2 does not know n9; 3 more`.
 *
 * It reads views through {@link ClusterView}, so a test can give it a made-up cluster.
 */
import type { MemberStatus } from './trace.ts';

/** A running node and the incarnation it holds for itself. */
export interface LiveNode {
  name: string;
  incarnation: number;
}

/** What the convergence check reads. */
export interface ClusterView {
  /** Nodes running now. */
  live(): readonly LiveNode[];
  /** Nodes down now (crashed, or left and shut down). */
  down(): readonly string[];
  /** What `observer` (running) holds about `member`, or undefined if it does not know it. */
  viewOf(observer: string, member: string): { status: MemberStatus; incarnation: number } | undefined;
  /**
   * Optional fast path: how many members `observer` holds alive (itself included). When
   * given, a node whose count is off fails the check without a member-by-member look.
   */
  aliveCount?(observer: string): number;
}

/** Disagreements listed in a reason string before "N more". */
export const CONVERGENCE_REASON_MAX_ITEMS = 4;

export class ConvergenceChecker {
  readonly name = 'convergence';
  /** Times the views were compared (once per poll). */
  checks = 0;

  /**
   * Null when every running node holds the same view (see the file comment), else the reason.
   * With `isDetailed` false it stops at the first disagreement (cheap, for polling); with true
   * it counts them all (for the final report).
   */
  check(view: ClusterView, isDetailed = false): string | null {
    const live = view.live();
    const down = view.down();
    this.checks++;
    const items: string[] = [];
    let more = 0;
    const add = (s: string): boolean => {
      if (items.length < CONVERGENCE_REASON_MAX_ITEMS) items.push(s);
      else more++;
      return !isDetailed;
    };
    if (!isDetailed && view.aliveCount) {
      for (const o of live) {
        const n = view.aliveCount(o.name);
        if (n !== live.length) return `${o.name} holds ${n} members alive, ${live.length} nodes run`;
      }
    }
    for (const o of live) {
      for (const m of live) {
        const v = view.viewOf(o.name, m.name);
        if (v === undefined) {
          if (add(`${o.name} does not know ${m.name}`)) return format(items, more);
        } else if (v.status !== 'alive' || v.incarnation !== m.incarnation) {
          if (
            add(
              `${o.name} holds ${m.name} ${v.status} at incarnation ${v.incarnation} (${m.name} runs at ${m.incarnation})`,
            )
          )
            return format(items, more);
        }
      }
      for (const d of down) {
        const v = view.viewOf(o.name, d);
        if (v !== undefined && (v.status === 'alive' || v.status === 'suspect')) {
          if (add(`${o.name} holds ${d} ${v.status} at incarnation ${v.incarnation}, but ${d} is down`))
            return format(items, more);
        }
      }
    }
    return items.length === 0 ? null : format(items, more);
  }
}

function format(items: string[], more: number): string {
  return more > 0 ? `${items.join('; ')}; ${more} more` : items.join('; ');
}
