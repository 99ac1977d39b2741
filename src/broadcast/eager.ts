/**
 * Eager reliable broadcast: the origin sends to all n-1 others, and every node, on first
 * receipt, re-sends to all n-1 others once. Reliable under loss and crashes (any surviving
 * relay covers for the rest) at a price of n(n-1) messages, n-1 of them from each node.
 *
 * At 10⁶ nodes that is 10¹² messages, far too many to enumerate. So when a round's sends
 * exceed {@link EAGER_ENUMERATE_MAX_SENDS} they are counted exactly (m senders × (n-1)
 * each, through `sendBulk`) and the deliveries are sampled from their exact distribution:
 * an uninformed live node is sent one copy by each of the m live senders, each copy lost
 * independently with probability p, so it receives the message with probability 1 - p^m
 * (`anyCopyArrives(m)`). Copies to already-informed or crashed nodes change no state, so
 * counting them is all they need. Below the limit every send goes through `send` one by one
 * (same distribution, and the sender-crash cut applies per message).
 */
import type { BroadcastContext } from './context.ts';
import { type BroadcastStrategy, MessageKind, type Prediction, type StrategyParams } from './strategy.ts';
import { roundTo } from './theory.ts';

/** Largest number of sends in one round that eager broadcast simulates one by one; above it, exact counts and sampled deliveries. */
export const EAGER_ENUMERATE_MAX_SENDS = 1 << 22;

class EagerRun {
  readonly stopsByItself = true;
  readonly effectiveFanout: number;
  readonly #ctx: BroadcastContext;
  /** Nodes informed in the previous round: this round's senders. Bounded by n. */
  #frontier: Int32Array;
  #frontierLength = 0;
  #next: Int32Array;
  #nextLength = 0;

  constructor(ctx: BroadcastContext) {
    this.#ctx = ctx;
    this.effectiveFanout = ctx.nodes - 1;
    this.#frontier = new Int32Array(ctx.nodes);
    this.#next = new Int32Array(ctx.nodes);
  }

  begin(origin: number): void {
    this.#frontierLength = 0;
    this.#nextLength = 0;
    if (this.#ctx.alive[origin] === 1) this.#frontier[this.#frontierLength++] = origin;
  }

  #deliver(node: number): void {
    if (this.#ctx.inform(node)) this.#next[this.#nextLength++] = node;
  }

  round(): boolean {
    const ctx = this.#ctx;
    const n = ctx.nodes;
    this.#nextLength = 0;
    let live = 0;
    for (let i = 0; i < this.#frontierLength; i++) if (ctx.alive[this.#frontier[i]!] === 1) live++;
    if (live * (n - 1) <= EAGER_ENUMERATE_MAX_SENDS) {
      for (let i = 0; i < this.#frontierLength; i++) {
        const from = this.#frontier[i]!;
        if (ctx.alive[from] === 0) continue;
        for (let to = 0; to < n; to++)
          if (to !== from && ctx.send(from, to, MessageKind.data)) this.#deliver(to);
      }
    } else {
      // Exact counts, sampled deliveries (see the file comment). A dying sender is played
      // message by message, since its cut makes its copies differ from the others'.
      let bulkSenders = 0;
      for (let i = 0; i < this.#frontierLength; i++) {
        const from = this.#frontier[i]!;
        if (ctx.alive[from] === 0) continue;
        if (ctx.isDying(from)) {
          for (let to = 0; to < n; to++)
            if (to !== from && ctx.send(from, to, MessageKind.data)) this.#deliver(to);
        } else {
          ctx.sendBulk(from, n - 1, MessageKind.data);
          bulkSenders++;
        }
      }
      // A sender's copy never goes to itself, but every sender already has the message,
      // so each uninformed node is sent exactly bulkSenders copies.
      for (let v = 0; v < n; v++) {
        if (ctx.alive[v] === 1 && ctx.informedAt[v]! < 0 && ctx.anyCopyArrives(bulkSenders)) this.#deliver(v);
      }
    }
    const t = this.#frontier;
    this.#frontier = this.#next;
    this.#next = t;
    this.#frontierLength = this.#nextLength;
    return this.#frontierLength > 0;
  }

  describe(): Record<string, number> {
    return {};
  }
}

/** Eager reliable broadcast: every node re-sends to every other on first receipt. */
export const eager: BroadcastStrategy = {
  name: 'eager',
  summary: 'every node re-sends to all others on first receipt; n(n-1) messages',
  warmupBroadcasts: 0,
  init: (ctx: BroadcastContext) => new EagerRun(ctx),
  predict(params: StrategyParams): Prediction {
    const n = params.nodes;
    const p = params.lossRate;
    // Round 1: the origin's n-1 copies; round 2: the I₁ informed nodes each send n-1, so a
    // node still missing it gets I₁ copies. Later rounds add nothing visible.
    const i1 = 1 + (n - 1) * (1 - p);
    const i2 = i1 + (n - i1) * (1 - p ** i1);
    const perRound = p === 0 ? [1, n] : [1, roundTo(i1), roundTo(i2)];
    const reached = perRound[perRound.length - 1]!;
    return {
      rounds: p === 0 ? 1 : 2,
      roundsFormula: p === 0 ? '1 (the origin reaches everyone)' : '2 (the origin, then the first relays)',
      messages: roundTo(reached * (n - 1)),
      messagesFormula: 'n(n-1): each informed node sends n-1 once',
      coverage: roundTo(reached / n, 6),
      perRound,
    };
  },
};
