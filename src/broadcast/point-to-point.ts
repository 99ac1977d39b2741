/**
 * Point-to-point: the producer sends one copy to each of the n-1 consumers, in round 1, and
 * nobody relays. n-1 messages, one round, and the producer carries all the load; a lost copy
 * is simply missing (no retry), and a producer crashing mid-send leaves the rest without it.
 *
 * The n-1 sends are enumerated one by one: that is O(n), as cheap as any other round at 10⁶
 * nodes, so no sampling shortcut is needed here (compare `eager.ts`).
 */
import type { BroadcastContext } from './context.ts';
import { type BroadcastStrategy, MessageKind, type Prediction, type StrategyParams } from './strategy.ts';
import { roundTo } from './theory.ts';

class PointToPointRun {
  readonly stopsByItself = true;
  readonly effectiveFanout: number;
  readonly #ctx: BroadcastContext;
  #origin = 0;

  constructor(ctx: BroadcastContext) {
    this.#ctx = ctx;
    this.effectiveFanout = ctx.nodes - 1;
  }

  begin(origin: number): void {
    this.#origin = origin;
  }

  round(): boolean {
    const ctx = this.#ctx;
    if (ctx.round !== 1) return false;
    const origin = this.#origin;
    if (ctx.alive[origin] === 0) return false;
    for (let to = 0; to < ctx.nodes; to++) {
      if (to !== origin && ctx.send(origin, to, MessageKind.data)) ctx.inform(to);
    }
    return false;
  }

  describe(): Record<string, number> {
    return {};
  }
}

/** Point-to-point delivery: the producer sends to each consumer itself. */
export const pointToPoint: BroadcastStrategy = {
  name: 'point-to-point',
  summary: 'the producer sends one copy to each consumer; n-1 messages, all from one node',
  warmupBroadcasts: 0,
  init: (ctx: BroadcastContext) => new PointToPointRun(ctx),
  predict(params: StrategyParams): Prediction {
    const n = params.nodes;
    const reached = 1 + (n - 1) * (1 - params.lossRate);
    return {
      rounds: 1,
      roundsFormula: '1 (one hop from the producer)',
      messages: n - 1,
      messagesFormula: 'n - 1',
      coverage: roundTo(reached / n, 6),
      perRound: [1, roundTo(reached)],
    };
  },
};
