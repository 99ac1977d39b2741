/**
 * The broadcast family: one interface for the ways a message can spread through n nodes, so
 * the simulator can run them side by side and set each against its theory.
 *
 * Model (synchronous rounds, the "random phone call" model of the rumor-spreading papers):
 * a round is one network hop. In round t every node that had the message before round t
 * acts; what it sends arrives at the end of round t, so a node first informed in round t
 * acts from round t + 1. Faults are the {@link BroadcastContext}'s business: a send may be
 * lost (`lossRate`), a node may be down, and the sender may crash part-way through a round.
 *
 * A strategy is a pure module: `init` builds the per-run state (typed arrays, O(n) memory),
 * `StrategyRun.begin` starts one broadcast, `StrategyRun.round` plays one round through the
 * context, and `predict` gives what the theory says the run should look like. Nothing here
 * reads a clock or `Math.random`; every choice draws from the context's seeded streams.
 */
import type { BroadcastContext } from './context.ts';

/** The strategies, by the names the CLI and the result records use. */
export type StrategyName = 'point-to-point' | 'eager' | 'push' | 'pull' | 'push-pull' | 'plumtree';

/** Every {@link StrategyName}, in the order reports list them (cheapest idea first). */
export const STRATEGY_NAMES: readonly StrategyName[] = [
  'point-to-point',
  'eager',
  'push',
  'pull',
  'push-pull',
  'plumtree',
];

/**
 * What a sent message carries, for counting messages and bytes. Codes are explicit numbers
 * (they index counters), never enum order.
 */
export const MessageKind = {
  /** The payload itself (push, pull reply, eager copy, Plumtree GOSSIP). */
  data: 0,
  /** A pull request: "send me what I lack" (a digest of known message ids). */
  pullRequest: 1,
  /** A push-pull call from a node with nothing to push: its digest only. */
  digest: 2,
  /** Plumtree lazy push: "I have message m" (id only). */
  ihave: 3,
  /** Plumtree repair: "I miss m; send it, and be my eager peer". */
  graft: 4,
  /** Plumtree: "you sent me a duplicate; push to me lazily from now on". */
  prune: 5,
} as const;

/** A {@link MessageKind} code. */
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/** How many {@link MessageKind} codes there are (the length of per-kind counters). */
export const MESSAGE_KIND_COUNT = 6;

/** The name of each {@link MessageKind} code, as the result records spell it. */
export const MESSAGE_KIND_NAMES: readonly string[] = [
  'data',
  'pull-request',
  'digest',
  'ihave',
  'graft',
  'prune',
];

/**
 * Bytes on the wire per message, for the byte counts. IP/UDP headers are left out: the
 * figures compare strategies, not links.
 */
export interface MessageSizes {
  /**
   * Payload bytes in a data message.
   * @default 512 (Serf's default user-event size limit)
   */
  payloadBytes: number;
  /**
   * Bytes every message carries besides the payload: type, 8-byte message id, round/ttl.
   * A control message (pull request, digest, IHAVE, GRAFT, PRUNE) is this alone.
   * @default 16
   */
  headerBytes: number;
}

/** The default {@link MessageSizes}. */
export const DEFAULT_MESSAGE_SIZES: Readonly<MessageSizes> = { payloadBytes: 512, headerBytes: 16 };

/** Largest fanout accepted: target choice is O(fanout²) per node (Floyd's sampling with a linear set). */
export const MAX_FANOUT = 64;

/** Largest `rumorK` accepted: the per-node counter is a byte. */
export const MAX_RUMOR_K = 255;

/**
 * How a rumor-mongering node loses interest on feedback ("the recipient already knew"):
 * `counter` stops after exactly k such contacts, `coin` stops with probability 1/k on each.
 * Demers' closed form s = e^{-(k+1)(1-s)} is derived for `coin`; `counter` leaves a
 * smaller residue (Demers Table 1).
 */
export type RumorRemoval = 'counter' | 'coin';

/** Everything a strategy run depends on besides the seed. */
export interface StrategyParams {
  /** Number of nodes n (ids 0 … n-1). */
  nodes: number;
  /**
   * Gossip fanout f: random partners a node contacts per round (push, pull, push-pull).
   * Ignored by point-to-point and eager (which send to all n-1) and by Plumtree (which uses
   * its overlay). Must be in [1, min(n-1, {@link MAX_FANOUT})].
   */
  fanout: number;
  /** Probability in [0, 1) that any one message is lost. */
  lossRate: number;
  /**
   * Push only: turns push into Demers' rumor mongering with feedback: a node stops spreading
   * after k contacts with nodes that already knew ({@link RumorRemoval}). Undefined: push
   * forever (anti-entropy style, stopped when everyone has it).
   */
  rumorK?: number | undefined;
  /** How rumor mongering loses interest. @default 'counter' */
  rumorRemoval?: RumorRemoval | undefined;
  /**
   * Plumtree only: links per node in the random overlay (HyParView's active view,
   * ≈ log₁₀ n + c). Undefined: {@link plumtreeDefaultDegree}.
   */
  overlayDegree?: number | undefined;
  /**
   * Plumtree only: rounds a node waits after the first IHAVE for a message before it sends
   * GRAFT. Shorter repairs faster after a loss, at the cost of duplicates when the tree path
   * is just slower than the lazy link.
   * @default 5
   */
  graftTimeoutRounds?: number | undefined;
  /** Message sizes for the byte counts. @default {@link DEFAULT_MESSAGE_SIZES} */
  sizes?: MessageSizes | undefined;
}

/**
 * Overlay degree Plumtree uses for n nodes when none is given: HyParView's active view size
 * ⌈log₁₀ n⌉ + 1 (5 at 10⁴ nodes), at least 3 so that the random overlay is connected w.h.p.,
 * and at most n-1.
 */
export function plumtreeDefaultDegree(nodes: number): number {
  return Math.min(nodes - 1, Math.max(3, Math.ceil(Math.log10(nodes)) + 1));
}

/** What the theory says a run should look like, with no node crashes. */
export interface Prediction {
  /** Rounds until every node has the message (or the strategy stops). */
  rounds: number;
  /** Where `rounds` comes from, in words (formula and source). */
  roundsFormula: string;
  /** Messages sent in total, every kind. */
  messages: number;
  /** Where `messages` comes from. */
  messagesFormula: string;
  /** Expected fraction of nodes reached, in [0, 1]. */
  coverage: number;
  /**
   * Expected number of informed nodes after each round, index 0 being the start (1, the
   * origin): a mean-field recurrence, for plotting against the measured curve. It ends
   * when under half a node is expected to be missing, so its length - 1 is the mean-field
   * completion round (often closer to a single run than the closed form in `rounds`, whose
   * O(1) term is unknown).
   */
  perRound: number[];
}

/** One run of a strategy: its state lives here, in typed arrays sized at `init`. */
export interface StrategyRun {
  /**
   * True if the strategy stops by itself (point-to-point, eager, rumor mongering, Plumtree):
   * the driver then runs it until {@link round} says it is idle. False for anti-entropy
   * style gossip that would go on forever: the driver stops it once every live node has it.
   */
  readonly stopsByItself: boolean;
  /** The fanout actually used, for the report (n-1 for eager, the overlay degree for Plumtree). */
  readonly effectiveFanout: number;
  /** Starts a new broadcast from `origin`. The context must have been reset for it first. */
  begin(origin: number): void;
  /**
   * Plays one round (the context's `round` has already been advanced). Returns true while
   * anything remains to do: messages in flight, nodes still spreading, timers pending.
   */
  round(): boolean;
  /** Strategy-specific figures for the result record (for example the overlay's degree). */
  describe(): Record<string, number>;
}

/** A broadcast strategy: a name, a state factory and its theory. */
export interface BroadcastStrategy {
  /** The strategy's name. */
  readonly name: StrategyName;
  /** One line for reports and `--help`. */
  readonly summary: string;
  /** Broadcasts to run before the measured one so the strategy reaches its steady state (Plumtree's tree). */
  readonly warmupBroadcasts: number;
  /** Builds the per-run state over `ctx` (which fixes n and supplies the random streams). */
  init(ctx: BroadcastContext, params: StrategyParams): StrategyRun;
  /** The theory's prediction for `params`, ignoring node crashes. */
  predict(params: StrategyParams): Prediction;
}
