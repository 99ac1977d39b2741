/**
 * Push gossip: every round, each node that has the message sends it to `fanout` random
 * others. Without `rumorK` it never stops by itself (the anti-entropy view: the driver stops
 * it once every live node has it); the theory is log_{1+f} n + (1/f) ln n rounds.
 *
 * With `rumorK` it is Demers' rumor mongering with feedback: a node is "hot" while it
 * spreads; when a push reaches a node that already knew, the recipient says so, and the
 * sender loses interest after k such contacts (`counter`) or with probability 1/k on each
 * (`coin`). It then stops for good, so the rumor can die out before reaching everyone: the
 * residue s solves s = e^{-(k+1)(1-s)} (coin; counter leaves less). A lost push or a push
 * to a crashed node gets no reply, hence no feedback.
 *
 * Work per round is O(hot nodes × fanout): the hot nodes are kept in a list.
 */
import type { BroadcastContext } from './context.ts';
import {
  type BroadcastStrategy,
  MAX_FANOUT,
  MessageKind,
  type Prediction,
  type RumorRemoval,
  type StrategyParams,
} from './strategy.ts';
import { pickTargets } from './targets.ts';
import { demersResidue, meanFieldCurve, pushRounds, roundTo, sumBefore } from './theory.ts';

class PushRun {
  readonly stopsByItself: boolean;
  readonly effectiveFanout: number;
  readonly #ctx: BroadcastContext;
  readonly #rumorK: number;
  readonly #removal: RumorRemoval;
  /** Nodes that spread this round. Bounded by n (each node enters once per broadcast). */
  #hot: Int32Array;
  #hotLength = 0;
  /** Feedback contacts per node (rumor mongering). */
  readonly #contacts: Uint8Array;
  readonly #targets = new Int32Array(MAX_FANOUT);

  constructor(ctx: BroadcastContext, params: StrategyParams) {
    this.#ctx = ctx;
    this.effectiveFanout = params.fanout;
    this.#rumorK = params.rumorK ?? 0;
    this.#removal = params.rumorRemoval ?? 'counter';
    this.stopsByItself = this.#rumorK > 0;
    this.#hot = new Int32Array(ctx.nodes);
    this.#contacts = new Uint8Array(this.#rumorK > 0 ? ctx.nodes : 0);
  }

  begin(origin: number): void {
    this.#hotLength = 0;
    this.#contacts.fill(0);
    if (this.#ctx.alive[origin] === 1) this.#hot[this.#hotLength++] = origin;
  }

  round(): boolean {
    const ctx = this.#ctx;
    const random = ctx.random;
    const n = ctx.nodes;
    const fanout = this.effectiveFanout;
    const rumor = this.#rumorK > 0;
    const targets = this.#targets;
    // Only nodes hot at the start of the round act; those informed now are appended after
    // `acting` and start next round.
    const acting = this.#hotLength;
    let kept = 0;
    for (let i = 0; i < acting; i++) {
      const from = this.#hot[i]!;
      if (ctx.alive[from] === 0) continue;
      let stillHot = true;
      const count = pickTargets(random, n, from, fanout, targets);
      for (let j = 0; j < count; j++) {
        const to = targets[j]!;
        if (!ctx.send(from, to, MessageKind.data)) continue;
        if (ctx.inform(to)) {
          this.#hot[this.#hotLength++] = to;
        } else if (rumor && stillHot) {
          stillHot = this.#keepsInterest(from, random.float());
        }
      }
      // Compact in place: slot `kept` ≤ i has already been read.
      if (stillHot) this.#hot[kept++] = from;
    }
    // Move the newly informed (appended after `acting`) down behind the kept ones.
    for (let i = acting; i < this.#hotLength; i++) this.#hot[kept++] = this.#hot[i]!;
    this.#hotLength = kept;
    if (!rumor) return ctx.informedLive > 0;
    for (let i = 0; i < this.#hotLength; i++) if (ctx.alive[this.#hot[i]!] === 1) return true;
    return false;
  }

  /** Feedback: `from` reached a node that already knew. `u` is a uniform draw for the coin. */
  #keepsInterest(from: number, u: number): boolean {
    if (this.#removal === 'coin') return u >= 1 / this.#rumorK;
    const c = this.#contacts[from]! + 1;
    this.#contacts[from] = c;
    return c < this.#rumorK;
  }

  describe(): Record<string, number> {
    return this.#rumorK > 0 ? { rumorK: this.#rumorK } : {};
  }
}

function predictPush(params: StrategyParams): Prediction {
  const n = params.nodes;
  const f = params.fanout;
  const p = params.lossRate;
  const reach = (1 - p) / (n - 1);
  if (params.rumorK === undefined) {
    // Each informed node sends f copies; an uninformed node misses all f·I of them with
    // probability (1 - (1-p)/(n-1))^{f·I} (Demers' p_{i+1} = p_i (1-1/n)^{n(1-p_i)}).
    const curve = meanFieldCurve(1, n, (i) => i + (n - i) * (1 - (1 - reach) ** (f * i)));
    const rounds = pushRounds(n, f * (1 - p));
    return {
      rounds: roundTo(rounds),
      roundsFormula: 'log_{1+f} n + (ln n)/f, f = fanout·(1-loss) (Frieze-Grimmett, Pittel)',
      messages: roundTo(f * sumBefore(curve.perRound, curve.rounds, n)),
      messagesFormula: 'f · Σ informed_t over the mean-field curve, until under half a node is missing',
      coverage: 1,
      perRound: curve.perRound.map((x) => roundTo(x)),
    };
  }
  // Rumor mongering. Demers' closed form (derived for the coin; counter leaves less) gives
  // the residue s, and s = e^{-m} ties it to the traffic m messages per node.
  const k = params.rumorK;
  const s = demersResidue(k);
  // Mean field, coin removal: a hot node's f contacts find a susceptible node with
  // probability `sus`, else (if they arrive) cost it interest with probability 1/k.
  let sus = 1 - 1 / n;
  let hot = 1 / n;
  const curve = meanFieldCurve(1, n, () => {
    const newly = sus * (1 - Math.exp(-f * (1 - p) * hot));
    const quits = hot * (1 - (1 - ((1 - p) * (1 - sus)) / k) ** f);
    sus -= newly;
    hot += newly - quits;
    if (hot * n < 0.5) hot = 0;
    return n * (1 - sus);
  });
  return {
    rounds: curve.rounds,
    roundsFormula: 'mean field of rumor mongering (coin removal) until under half a node is hot',
    messages: roundTo(n * (k + 1) * (1 - s)),
    messagesFormula: 'n·m with m = -ln s = (k+1)(1-s) messages per node (Demers)',
    coverage: roundTo(1 - s, 6),
    perRound: curve.perRound.map((x) => roundTo(x)),
  };
}

/** Push gossip (and, with `rumorK`, Demers' rumor mongering with feedback). */
export const push: BroadcastStrategy = {
  name: 'push',
  summary: 'each informed node pushes to `fanout` random others every round',
  warmupBroadcasts: 0,
  init: (ctx: BroadcastContext, params: StrategyParams) => new PushRun(ctx, params),
  predict: predictPush,
};
