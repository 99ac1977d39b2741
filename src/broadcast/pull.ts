/**
 * Pull gossip: every round, every live node asks `fanout` random others "what do you have
 * that I lack?" (a pull request), and a partner that had the message before the round
 * replies with it. A node cannot know a message exists before it has it, so informed and
 * uninformed nodes alike send requests; the requests of informed nodes change nothing, so
 * they are only counted (`sendBulk`), not routed.
 *
 * Slow start (the one informed node is asked about once per round), fast finish: once
 * most nodes have it the uninformed fraction squares each round (Demers: p_{i+1} = p_i²).
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
import { meanFieldCurve, pullRounds, roundTo } from './theory.ts';

class PullRun {
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
    const fanout = this.effectiveFanout;
    const targets = this.#targets;
    for (let u = 0; u < n; u++) {
      if (ctx.alive[u] === 0) continue;
      if (ctx.hadBefore(u)) {
        ctx.sendBulk(u, fanout, MessageKind.pullRequest);
        continue;
      }
      const count = pickTargets(ctx.random, n, u, fanout, targets);
      for (let j = 0; j < count; j++) {
        const v = targets[j]!;
        if (!ctx.send(u, v, MessageKind.pullRequest) || !ctx.hadBefore(v)) continue;
        if (ctx.send(v, u, MessageKind.data)) ctx.inform(u);
      }
    }
    return ctx.informedLive > 0;
  }

  describe(): Record<string, number> {
    return {};
  }
}

/** Pull gossip: every node asks `fanout` random others for what it lacks, every round. */
export const pull: BroadcastStrategy = {
  name: 'pull',
  summary: 'every node asks `fanout` random others for news every round',
  warmupBroadcasts: 0,
  init: (ctx: BroadcastContext, params: StrategyParams) => new PullRun(ctx, params),
  predict(params: StrategyParams): Prediction {
    const n = params.nodes;
    const f = params.fanout;
    const p = params.lossRate;
    const ok = (1 - p) ** 2; // the request and the reply both survive
    // An uninformed node stays so if none of its f requests hits an informed node and
    // comes back: (1 - ok·I/(n-1))^f.
    let replies = 0;
    const curve = meanFieldCurve(1, n, (i) => {
      const got = (n - i) * (1 - (1 - (ok * i) / (n - 1)) ** f);
      replies += (n - i) * f * (i / (n - 1)) * (1 - p);
      return i + got;
    });
    // Loss turns the double-exponential end game into a geometric one, which the closed
    // form does not cover: then the mean-field completion round is the prediction.
    const isLossless = p === 0;
    return {
      rounds: isLossless ? roundTo(pullRounds(n, f)) : curve.rounds,
      roundsFormula: isLossless
        ? 'log_{1+f} n + log_{1+f} ln n (Demers: p_{i+1} = p_i² once most nodes have it)'
        : 'mean-field completion round (with loss the end game is geometric; no closed form)',
      messages: roundTo(n * f * curve.rounds + replies),
      messagesFormula: 'n·f requests per round + replies, over the mean-field curve',
      coverage: 1,
      perRound: curve.perRound.map((x) => roundTo(x)),
    };
  },
};
