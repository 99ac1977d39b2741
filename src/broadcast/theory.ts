/**
 * The theory's numbers for the broadcast family (see research/theory.md §1, §2, §5): closed
 * forms from the rumor-spreading literature and a mean-field helper for the per-round curves.
 * Pure math, no randomness.
 */

/** Most rounds a mean-field recurrence is iterated before giving up (a loop bound). */
export const PREDICTION_MAX_ROUNDS = 100_000;

/** log_b(x). */
export function logBase(x: number, base: number): number {
  return Math.log(x) / Math.log(base);
}

/**
 * Push with fanout f, complete graph (Frieze & Grimmett; Pittel; for f > 1 Panagiotou,
 * Pourmiri, Sauerwald): log_{1+f} n + (1/f)·ln n rounds. With loss rate p the effective
 * fanout is f(1-p). f = 1: log₂ n + ln n (≈ 22.5 at 10⁴).
 */
export function pushRounds(nodes: number, fanout: number): number {
  return logBase(nodes, 1 + fanout) + Math.log(nodes) / fanout;
}

/**
 * Pull with fanout f: the informed set grows by a factor 1+f per round until most nodes have
 * it, then the uninformed fraction s falls as s^{f+1} per round (Demers: p_{i+1} = p_i²
 * for f = 1): log_{1+f} n + log_{1+f} ln n rounds.
 */
export function pullRounds(nodes: number, fanout: number): number {
  return logBase(nodes, 1 + fanout) + logBase(Math.max(Math.log(nodes), 1), 1 + fanout);
}

/**
 * Push-pull with fanout f (Karp, Schindelhauer, Shenker, Vöcking 2000: log₃ n + O(log log n)
 * for f = 1): growth by 1+2f per round, then a double-exponential end game of base f+1:
 * log_{1+2f} n + log_{1+f} ln n.
 */
export function pushPullRounds(nodes: number, fanout: number): number {
  return logBase(nodes, 1 + 2 * fanout) + logBase(Math.max(Math.log(nodes), 1), 1 + fanout);
}

/**
 * Demers' rumor-mongering residue (push, feedback, lose interest with probability 1/k on
 * each contact with an informed node): the fraction s that never hears the rumor solves
 * s = e^{-(k+1)(1-s)}. Returns the root below 1 (k=1: 0.203, k=2: 0.060, k=3: 0.020,
 * k=4: 0.0070). Iterating the map from 0 climbs monotonically to it.
 */
export function demersResidue(k: number): number {
  let s = 0;
  for (let i = 0; i < 10_000; i++) {
    const next = Math.exp(-(k + 1) * (1 - s));
    if (Math.abs(next - s) < 1e-15) return next;
    s = next;
  }
  return s;
}

/**
 * Runs a mean-field recurrence for the informed count: `step(informed, round)` returns the
 * expected count after `round`. Stops when fewer than half a node is expected to be missing
 * (`target - informed < 0.5`), when the curve stops moving, or at `maxRounds`. Returns the
 * curve (index 0 is `start`) and the round it completed (or the last round computed).
 */
export function meanFieldCurve(
  start: number,
  target: number,
  step: (informed: number, round: number) => number,
  maxRounds: number = PREDICTION_MAX_ROUNDS,
): { perRound: number[]; rounds: number } {
  const perRound = [start];
  let informed = start;
  for (let t = 1; t <= maxRounds && target - informed >= 0.5; t++) {
    const next = step(informed, t);
    perRound.push(next);
    if (Math.abs(next - informed) < 1e-9) break;
    informed = next;
  }
  return { perRound, rounds: perRound.length - 1 };
}

/**
 * Σ_{t < rounds} perRound[t]: the node-rounds a curve spends before `rounds` (rounded to the
 * nearest integer), counting `after` per round past the curve's end. With perRound the
 * informed counts, f times this is what push sends.
 */
export function sumBefore(perRound: readonly number[], rounds: number, after: number): number {
  let sum = 0;
  const r = Math.round(rounds);
  for (let t = 0; t < r; t++) sum += t < perRound.length ? perRound[t]! : after;
  return sum;
}

/** Rounds `x` to `digits` decimals, so that predictions print readably (and identically). */
export function roundTo(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
