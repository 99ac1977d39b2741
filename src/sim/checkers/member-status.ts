/**
 * Liveness of the Serf layer: once the faults stop and the cluster settles, every running node
 * holds the same member statuses (`serf members` agrees everywhere):
 * - every running node holds every running node `alive`;
 * - a node that is down (crashed, or left and shut down) is held `failed` or `left`, or not
 *   known at all (a node that joined after it went down never heard of it), and every running
 *   node that knows it holds the same one of the two: `left` when its leave (or an operator's
 *   force-leave) reached anyone, which push-pulls then carry to the rest, else `failed`.
 *
 * {@link MemberStatusChecker.check} returns null when that holds, else a reason string naming
 * who disagrees about whom, e.g.
 * `n2 holds n5 failed, n0 and n3 hold it left (n5 is down)`. It reads statuses through
 * {@link SerfStatusView}, so a test can give it a made-up cluster.
 */
import type { LiveNode } from './convergence.ts';
import { CONVERGENCE_REASON_MAX_ITEMS } from './convergence.ts';
import type { SerfStatus } from './trace.ts';

/** What the member-status check reads. */
export interface SerfStatusView {
  /** Nodes running now. */
  live(): readonly LiveNode[];
  /** Nodes down now (crashed, or left and shut down). */
  down(): readonly string[];
  /** The status `observer`'s Serf layer holds for `member`, or undefined if it does not know it. */
  serfStatusOf(observer: string, member: string): SerfStatus | undefined;
}

function names(xs: readonly string[]): string {
  if (xs.length === 1) return xs[0]!;
  if (xs.length <= 4) return `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`;
  return `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more`;
}

export class MemberStatusChecker {
  readonly name = 'member-status';
  /** Times the statuses were compared (once per poll). */
  checks = 0;

  /**
   * Null when every running node holds the same statuses (see the file comment), else the
   * reason. With `isDetailed` false it stops at the first disagreement (cheap, for polling).
   */
  check(view: SerfStatusView, isDetailed = false): string | null {
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
    const done = () => (more > 0 ? `${items.join('; ')}; ${more} more` : items.join('; '));
    for (const o of live) {
      for (const m of live) {
        const s = view.serfStatusOf(o.name, m.name);
        if (s !== 'alive' && add(`${o.name} holds ${m.name} ${s ?? 'unknown'} (${m.name} runs)`))
          return done();
      }
    }
    for (const d of down) {
      const byStatus = new Map<SerfStatus, string[]>();
      for (const o of live) {
        const s = view.serfStatusOf(o.name, d);
        if (s === undefined) continue;
        let at = byStatus.get(s);
        if (at === undefined) {
          at = [];
          byStatus.set(s, at);
        }
        at.push(o.name);
      }
      for (const s of ['alive', 'leaving'] as const) {
        const at = byStatus.get(s);
        if (
          at !== undefined &&
          add(`${names(at)} ${at.length === 1 ? 'holds' : 'hold'} ${d} ${s}, but ${d} is down`)
        )
          return done();
      }
      if (byStatus.has('failed') && byStatus.has('left')) {
        const failed = byStatus.get('failed')!;
        const left = byStatus.get('left')!;
        if (
          add(
            `${names(failed)} ${failed.length === 1 ? 'holds' : 'hold'} ${d} failed, ${names(left)} ${left.length === 1 ? 'holds' : 'hold'} it left (${d} is down)`,
          )
        )
          return done();
      }
    }
    return items.length === 0 ? null : done();
  }
}
