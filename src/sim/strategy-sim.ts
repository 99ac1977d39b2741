/**
 * The round driver for the broadcast family: builds a {@link BroadcastContext} from one
 * seed, injects node crashes and the sender's crash, runs a strategy round by round, and
 * returns a result record with the theory's prediction beside each measured figure.
 *
 * Determinism: every random choice comes from streams forked, in a fixed order, from
 * `SeededRandom(seed)`: the strategy's, message loss, the dying sender's cut, node crashes,
 * and the driver's own (warm-up origins, the moment the sender dies). Same options, same
 * record, byte for byte. Nothing here reads a clock; callers time runs themselves.
 *
 * Faults, per round t:
 * - `crashRate`: at the start of the round every live node crashes with this probability
 *   (sampled by geometric skips, O(crashes) per round) and stays down.
 * - `senderCrashRound`: the origin dies part-way through round t: a cut c ~ U[0,1) is drawn
 *   once, and each of its sends in round t gets out with probability c.
 * - `lossRate`: applied to each message by the context.
 *
 * Stopping: a strategy that stops by itself (point-to-point, eager, rumor mongering,
 * Plumtree) runs until idle; gossip that would go on forever (push, pull, push-pull) stops
 * once every live node has the message, or once no live node has it. Either way at most
 * `maxRounds`.
 */
import { BroadcastContext } from '../broadcast/context.ts';
import { STRATEGIES } from '../broadcast/index.ts';
import {
  DEFAULT_MESSAGE_SIZES,
  MAX_FANOUT,
  MAX_RUMOR_K,
  MESSAGE_KIND_NAMES,
  MessageKind,
  type MessageSizes,
  type Prediction,
  type RumorRemoval,
  STRATEGY_NAMES,
  type StrategyName,
  type StrategyParams,
} from '../broadcast/strategy.ts';
import { type Random, SeededRandom } from '../runtime/random.ts';

/** Largest node count the driver accepts (memory is O(n); Plumtree needs ≈ 100 B per node). */
export const SIM_MAX_NODES = 10_000_000;
/** Largest `maxRounds` accepted. */
export const SIM_MAX_ROUNDS = 1_000_000;
/** Default round limit. */
export const SIM_DEFAULT_MAX_ROUNDS = 1000;

/** Progress of a run, reported once per round. */
export interface StrategySimProgress {
  /** The strategy running. */
  strategy: StrategyName;
  /** True during a warm-up broadcast. */
  isWarmup: boolean;
  /** The round just played. */
  round: number;
  /** Live nodes that have the message. */
  informedLive: number;
  /** Live nodes. */
  liveCount: number;
}

/** Options of one strategy run. */
export interface StrategySimOptions {
  /** The strategy. */
  strategy: StrategyName;
  /** Number of nodes, in [2, {@link SIM_MAX_NODES}]. */
  nodes: number;
  /** Gossip fanout, in [1, min(n-1, {@link MAX_FANOUT})]. @default 1 */
  fanout?: number;
  /** Probability that a message is lost, in [0, 1). @default 0 */
  lossRate?: number;
  /** Probability that a live node crashes at the start of a round, in [0, 1). @default 0 */
  crashRate?: number;
  /** Round (≥ 1) in which the origin of the measured broadcast dies mid-round. @default undefined (never) */
  senderCrashRound?: number | undefined;
  /** Push only: rumor mongering with this k (see {@link StrategyParams.rumorK}). */
  rumorK?: number | undefined;
  /** Push with `rumorK` only. @default 'counter' */
  rumorRemoval?: RumorRemoval | undefined;
  /** Plumtree overlay degree. @default plumtreeDefaultDegree(n) */
  overlayDegree?: number | undefined;
  /** Plumtree GRAFT timeout, in rounds. @default 3 */
  graftTimeoutRounds?: number | undefined;
  /** Seed of every random choice, an integer in [0, 2^53). */
  seed: number;
  /** Most rounds per broadcast. @default {@link SIM_DEFAULT_MAX_ROUNDS} */
  maxRounds?: number;
  /** Message sizes for the byte counts. @default {@link DEFAULT_MESSAGE_SIZES} */
  sizes?: MessageSizes;
  /** Called after every round (for a progress line). Must not throw. */
  onRound?: (progress: StrategySimProgress) => void;
}

/** Why a broadcast stopped. */
export type StopReason = 'complete' | 'idle' | 'max-rounds';

/** Summary of one warm-up broadcast (Plumtree builds its tree in one). */
export interface WarmupRecord {
  /** Its origin. */
  origin: number;
  /** Rounds until every live node had it (or until it stopped). */
  rounds: number;
  /** Rounds played, trailing quiet ones included. */
  roundsRun: number;
  /** Fraction of live nodes reached. */
  coverage: number;
  /** Messages of every kind. */
  messages: number;
  /** Data (payload) messages. */
  payloadMessages: number;
  /** Relative message redundancy: payloadMessages / (reached - 1) - 1. */
  redundancy: number;
}

/** The result record of one run: what `gossip sim --format json` prints. Key order is fixed. */
export interface StrategySimResult {
  /** The strategy. */
  strategy: StrategyName;
  /** n. */
  nodes: number;
  /** The fanout used: the gossip fanout, n-1 for point-to-point and eager, the overlay degree for Plumtree. */
  fanout: number;
  /** The seed. */
  seed: number;
  /** Message loss probability. */
  lossRate: number;
  /** Per-node per-round crash probability. */
  crashRate: number;
  /** Round the sender died in, or null. */
  senderCrashRound: number | null;
  /** Rumor-mongering k, or null. */
  rumorK: number | null;
  /** Rumor-mongering removal rule, or null. */
  rumorRemoval: RumorRemoval | null;
  /** Round limit per broadcast. */
  maxRounds: number;
  /** Origin of the measured broadcast. */
  origin: number;
  /** Rounds until every live node had the message, or, if that never happened, until it stopped. */
  rounds: number;
  /** Rounds played, including quiet trailing ones of strategies that stop by themselves. */
  roundsRun: number;
  /** Whether every live node got it. */
  isComplete: boolean;
  /** Why it stopped. */
  stopReason: StopReason;
  /** Fraction of live nodes reached (0 if none is live). */
  coverage: number;
  /** Live nodes that have it. */
  informed: number;
  /** Live nodes at the end. */
  live: number;
  /** Nodes that ever had it, crashed ones included. */
  reached: number;
  /** Messages of every kind. */
  messages: number;
  /** Data (payload) messages. */
  payloadMessages: number;
  /** Bytes of every message. */
  bytes: number;
  /** Relative message redundancy (Plumtree's RMR): payloadMessages / (reached - 1) - 1. */
  redundancy: number;
  /** The most messages one node sent: the bottleneck. */
  maxSentByOneNode: number;
  /** Messages by kind, non-zero kinds only. */
  messagesByKind: Record<string, number>;
  /** Live informed nodes after each round; index 0 is the start. */
  perRound: number[];
  /** Messages sent in each round; index 0 is the start (0). */
  messagesPerRound: number[];
  /** The theory, for comparison (no node crashes assumed); its curve is cut at `maxRounds`. */
  predicted: Prediction;
  /** Strategy-specific figures. */
  details: Record<string, number>;
  /** Warm-up broadcasts run before the measured one (empty for most strategies). */
  warmup: WarmupRecord[];
}

/** Checks `options` and returns the problems found, each naming the field, the rule and the value. */
export function strategySimProblems(options: StrategySimOptions): string[] {
  const problems: string[] = [];
  const o = options;
  const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
  if (!STRATEGY_NAMES.includes(o.strategy))
    problems.push(`strategy must be one of ${STRATEGY_NAMES.join(', ')}, got ${String(o.strategy)}`);
  if (!isInt(o.nodes) || o.nodes < 2 || o.nodes > SIM_MAX_NODES)
    problems.push(`nodes must be an integer in [2, ${SIM_MAX_NODES}], got ${o.nodes}`);
  const fanout = o.fanout ?? 1;
  const fanoutMax = Math.min(MAX_FANOUT, Math.max(1, (o.nodes | 0) - 1));
  if (!isInt(fanout) || fanout < 1 || fanout > fanoutMax)
    problems.push(`fanout must be an integer in [1, ${fanoutMax}], got ${fanout}`);
  for (const [name, value] of [
    ['lossRate', o.lossRate ?? 0],
    ['crashRate', o.crashRate ?? 0],
  ] as const) {
    if (!(typeof value === 'number' && value >= 0 && value < 1))
      problems.push(`${name} must be a probability in [0, 1), got ${value}`);
  }
  if (o.senderCrashRound !== undefined && (!isInt(o.senderCrashRound) || o.senderCrashRound < 1))
    problems.push(`senderCrashRound must be an integer ≥ 1, got ${o.senderCrashRound}`);
  if (o.rumorK !== undefined) {
    if (!isInt(o.rumorK) || o.rumorK < 1 || o.rumorK > MAX_RUMOR_K)
      problems.push(`rumorK must be an integer in [1, ${MAX_RUMOR_K}], got ${o.rumorK}`);
    if (o.strategy !== 'push') problems.push(`rumorK applies to the push strategy only, not ${o.strategy}`);
  }
  if (o.rumorRemoval !== undefined && o.rumorRemoval !== 'counter' && o.rumorRemoval !== 'coin')
    problems.push(`rumorRemoval must be counter or coin, got ${String(o.rumorRemoval)}`);
  if (!isInt(o.seed) || o.seed < 0 || o.seed > Number.MAX_SAFE_INTEGER)
    problems.push(`seed must be an integer in [0, 2^53), got ${o.seed}`);
  const maxRounds = o.maxRounds ?? SIM_DEFAULT_MAX_ROUNDS;
  if (!isInt(maxRounds) || maxRounds < 1 || maxRounds > SIM_MAX_ROUNDS)
    problems.push(`maxRounds must be an integer in [1, ${SIM_MAX_ROUNDS}], got ${maxRounds}`);
  if (
    o.overlayDegree !== undefined &&
    (!isInt(o.overlayDegree) || o.overlayDegree < 1 || o.overlayDegree > 64)
  )
    problems.push(`overlayDegree must be an integer in [1, 64], got ${o.overlayDegree}`);
  if (o.graftTimeoutRounds !== undefined && (!isInt(o.graftTimeoutRounds) || o.graftTimeoutRounds < 1))
    problems.push(`graftTimeoutRounds must be an integer ≥ 1, got ${o.graftTimeoutRounds}`);
  return problems;
}

/** Crashes each live node with probability `rate`, by geometric skips over the ids. */
function crashAtRandom(ctx: BroadcastContext, rate: number, random: Random): void {
  if (rate <= 0) return;
  const logKeep = Math.log1p(-rate);
  for (let i = -1; ; ) {
    i += 1 + Math.floor(Math.log1p(-random.float()) / logKeep);
    if (i >= ctx.nodes) return;
    ctx.crash(i);
  }
}

/** The prediction with its curve cut to the rounds a run may play (under heavy loss the mean field runs long). */
function predictionWithin(p: Prediction, maxRounds: number): Prediction {
  return p.perRound.length <= maxRounds + 1 ? p : { ...p, perRound: p.perRound.slice(0, maxRounds + 1) };
}

function redundancyOf(payloadMessages: number, reached: number): number {
  return reached > 1 ? payloadMessages / (reached - 1) - 1 : 0;
}

/**
 * Runs one strategy (its warm-up broadcasts, then the measured one) and returns the
 * record. Throws a RangeError listing every invalid option.
 */
export function runStrategySim(options: StrategySimOptions): StrategySimResult {
  const problems = strategySimProblems(options);
  if (problems.length > 0) throw new RangeError(`runStrategySim: ${problems.join('; ')}`);
  const strategy = STRATEGIES[options.strategy];
  const maxRounds = options.maxRounds ?? SIM_DEFAULT_MAX_ROUNDS;
  const params: StrategyParams = {
    nodes: options.nodes,
    fanout: options.fanout ?? 1,
    lossRate: options.lossRate ?? 0,
    rumorK: options.rumorK,
    rumorRemoval: options.rumorK === undefined ? undefined : (options.rumorRemoval ?? 'counter'),
    overlayDegree: options.overlayDegree,
    graftTimeoutRounds: options.graftTimeoutRounds,
    sizes: options.sizes ?? DEFAULT_MESSAGE_SIZES,
  };
  const crashRate = options.crashRate ?? 0;
  const root = new SeededRandom(options.seed);
  const streams = { random: root.fork(), loss: root.fork(), cut: root.fork() };
  const crashRandom = root.fork();
  const driverRandom = root.fork();
  const ctx = new BroadcastContext(params.nodes, streams, { lossRate: params.lossRate }, params.sizes);
  const run = strategy.init(ctx, params);
  const n = params.nodes;

  /** Plays one broadcast from `origin`; returns its per-round curves and how it ended. */
  const broadcast = (origin: number, isWarmup: boolean, senderCrashRound: number | undefined) => {
    ctx.beginBroadcast(origin);
    run.begin(origin);
    const cut = driverRandom.float();
    const perRound = [ctx.informedLive];
    const messagesPerRound = [0];
    let completedAt = -1;
    let stopReason: StopReason = 'max-rounds';
    for (let t = 1; t <= maxRounds; t++) {
      ctx.round = t;
      crashAtRandom(ctx, crashRate, crashRandom);
      const isDying = senderCrashRound === t && ctx.alive[origin] === 1;
      if (isDying) ctx.setDying(origin, cut);
      const before = ctx.messages;
      const isActive = run.round();
      if (isDying) ctx.crash(origin);
      perRound.push(ctx.informedLive);
      messagesPerRound.push(ctx.messages - before);
      options.onRound?.({
        strategy: options.strategy,
        isWarmup,
        round: t,
        informedLive: ctx.informedLive,
        liveCount: ctx.liveCount,
      });
      const isComplete = ctx.liveCount > 0 && ctx.informedLive === ctx.liveCount;
      if (isComplete && completedAt < 0) completedAt = t;
      if (isComplete && !run.stopsByItself) {
        stopReason = 'complete';
        break;
      }
      // With no live node holding the message nothing more can happen: every send of this
      // round has already arrived.
      if (!isActive || ctx.informedLive === 0) {
        stopReason = isComplete ? 'complete' : 'idle';
        break;
      }
    }
    const roundsRun = perRound.length - 1;
    const isComplete = stopReason === 'complete';
    return {
      perRound,
      messagesPerRound,
      roundsRun,
      rounds: isComplete ? completedAt : roundsRun,
      isComplete,
      stopReason,
      coverage: ctx.liveCount > 0 ? ctx.informedLive / ctx.liveCount : 0,
    };
  };

  const warmup: WarmupRecord[] = [];
  for (let w = 0; w < strategy.warmupBroadcasts; w++) {
    const origin = 1 + driverRandom.int(n - 1);
    const b = broadcast(origin, true, undefined);
    const payload = ctx.messagesByKind[MessageKind.data]!;
    warmup.push({
      origin,
      rounds: b.rounds,
      roundsRun: b.roundsRun,
      coverage: b.coverage,
      messages: ctx.messages,
      payloadMessages: payload,
      redundancy: redundancyOf(payload, ctx.informedCount),
    });
  }

  let origin = 0;
  while (origin < n - 1 && ctx.alive[origin] === 0) origin++;
  const b = broadcast(origin, false, options.senderCrashRound);
  const payloadMessages = ctx.messagesByKind[MessageKind.data]!;
  const messagesByKind: Record<string, number> = {};
  for (let k = 0; k < MESSAGE_KIND_NAMES.length; k++) {
    const count = ctx.messagesByKind[k]!;
    if (count > 0) messagesByKind[MESSAGE_KIND_NAMES[k]!] = count;
  }
  return {
    strategy: options.strategy,
    nodes: n,
    fanout: run.effectiveFanout,
    seed: options.seed,
    lossRate: params.lossRate,
    crashRate,
    senderCrashRound: options.senderCrashRound ?? null,
    rumorK: params.rumorK ?? null,
    rumorRemoval: params.rumorRemoval ?? null,
    maxRounds,
    origin,
    rounds: b.rounds,
    roundsRun: b.roundsRun,
    isComplete: b.isComplete,
    stopReason: b.stopReason,
    coverage: b.coverage,
    informed: ctx.informedLive,
    live: ctx.liveCount,
    reached: ctx.informedCount,
    messages: ctx.messages,
    payloadMessages,
    bytes: ctx.bytes,
    redundancy: redundancyOf(payloadMessages, ctx.informedCount),
    maxSentByOneNode: ctx.maxSentByOneNode(),
    messagesByKind,
    perRound: b.perRound,
    messagesPerRound: b.messagesPerRound,
    predicted: predictionWithin(strategy.predict(params), maxRounds),
    details: run.describe(),
    warmup,
  };
}

/** Node-rounds simulated by a run (n × rounds played, warm-ups included): the unit of the benchmark. */
export function nodeRoundsOf(result: StrategySimResult): number {
  let rounds = result.roundsRun;
  for (const w of result.warmup) rounds += w.roundsRun;
  return result.nodes * rounds;
}
