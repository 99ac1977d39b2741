/**
 * Push-pull gossip: every round, every live node calls `fanout` random partners. A caller
 * that had the message pushes it (a data message); one that did not sends its digest, and
 * a partner that had it replies with it. Karp, Schindelhauer, Shenker and Vöcking (2000):
 * log₃ n + O(log log n) rounds for fanout 1, because the informed set triples while it is
 * small (each informed node pushes once and is called about once) and the uninformed
 * fraction then falls double-exponentially.
 *
 * Work per round is O(n · fanout).
 */
import type { BroadcastContext } from './context.ts';
import {
  type BroadcastStrategy,
  MAX_FANOUT,
  MessageKind,
  type Prediction,
  type StrategyParams,
} from './strategy.ts';
import { pickTargets } from './targets.ts';
import { meanFieldCurve, pushPullRounds, roundTo } from './theory.ts';

class PushPullRun {
  readonly stopsByItself = false;
  readonly effectiveFanout: number;
  readonly #ctx: BroadcastContext;
  readonly #targets = new Int32Array(MAX_FANOUT);

  constructor(ctx: BroadcastContext, params: StrategyParams) {
    this.#ctx = ctx;
    this.effectiveFanout = params.fanout;
  }

  begin(_origin: number): void {}

  round(): boolean {
    const ctx = this.#ctx;
    const n = ctx.nodes;
    const targets = this.#targets;
    for (let u = 0; u < n; u++) {
      if (ctx.alive[u] === 0) continue;
      const uHad = ctx.hadBefore(u);
      const count = pickTargets(ctx.random, n, u, this.effectiveFanout, targets);
      for (let j = 0; j < count; j++) {
        const v = targets[j]!;
        if (uHad) {
          if (ctx.send(u, v, MessageKind.data)) ctx.inform(v);
        } else if (
          ctx.send(u, v, MessageKind.digest) &&
          ctx.hadBefore(v) &&
          ctx.send(v, u, MessageKind.data)
        ) {
          ctx.inform(u);
        }
      }
    }
    return ctx.informedLive > 0;
  }

  describe(): Record<string, number> {
    return {};
  }
}

/** Push-pull gossip: every node calls `fanout` random partners; whoever has the message passes it on. */
export const pushPull: BroadcastStrategy = {
  name: 'push-pull',
  summary: 'every node calls `fanout` random partners and they exchange what they have',
  warmupBroadcasts: 0,
  init: (ctx: BroadcastContext, params: StrategyParams) => new PushPullRun(ctx, params),
  predict(params: StrategyParams): Prediction {
    const n = params.nodes;
    const f = params.fanout;
    const p = params.lossRate;
    let replies = 0;
    // An uninformed node stays so if its own f calls find no informed partner (or lose the
    // exchange) and none of the f·I pushes reaches it.
    const curve = meanFieldCurve(1, n, (i) => {
      const q = i / (n - 1);
      const missPull = (1 - q * (1 - p) ** 2) ** f;
      const missPush = (1 - (1 - p) / (n - 1)) ** (f * i);
      replies += (n - i) * f * q * (1 - p);
      return i + (n - i) * (1 - missPull * missPush);
    });
    // Loss makes the end game geometric, which the closed form does not cover: then the
    // mean-field completion round is the prediction.
    const isLossless = p === 0;
    return {
      rounds: isLossless ? roundTo(pushPullRounds(n, f)) : curve.rounds,
      roundsFormula: isLossless
        ? 'log_{1+2f} n + log_{1+f} ln n (Karp et al.: log₃ n + O(log log n) for f = 1)'
        : 'mean-field completion round (with loss the end game is geometric; no closed form)',
      messages: roundTo(n * f * curve.rounds + replies),
      messagesFormula: 'n·f calls per round + pull replies, over the mean-field curve',
      coverage: 1,
      perRound: curve.perRound.map((x) => roundTo(x)),
    };
  },
};
