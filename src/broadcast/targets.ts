/**
 * Choosing gossip partners: f distinct nodes other than oneself, uniformly, in O(f²) time
 * and no allocation (the hot path at 10⁶ nodes).
 */
import type { Random } from '../runtime/random.ts';

/**
 * Writes `count` distinct node ids from [0, nodes) \ {self}, chosen uniformly, into `out`
 * and returns how many it wrote (`count`, or `nodes - 1` if fewer exist).
 *
 * Robert Floyd's sampling algorithm: exactly `count` draws, no rejection loop, and the
 * membership test is a scan of `out` (cheap because `count` ≤ MAX_FANOUT).
 */
export function pickTargets(
  random: Random,
  nodes: number,
  self: number,
  count: number,
  out: Int32Array,
): number {
  const others = nodes - 1;
  if (count >= others) {
    let k = 0;
    for (let i = 0; i < nodes; i++) if (i !== self) out[k++] = i;
    return k;
  }
  if (count === 1) {
    const t = random.int(others);
    out[0] = t >= self ? t + 1 : t;
    return 1;
  }
  let k = 0;
  for (let j = others - count; j < others; j++) {
    let t = random.int(j + 1);
    for (let i = 0; i < k; i++) {
      if (out[i] === t) {
        t = j;
        break;
      }
    }
    out[k++] = t;
  }
  // Map [0, n-1) onto the ids other than self.
  for (let i = 0; i < k; i++) if (out[i]! >= self) out[i]!++;
  return k;
}

/** One uniformly random node other than `self` (nodes ≥ 2). */
export function pickOther(random: Random, nodes: number, self: number): number {
  const t = random.int(nodes - 1);
  return t >= self ? t + 1 : t;
}
