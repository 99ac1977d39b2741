/**
 * The world a broadcast strategy plays in: which nodes are up, who has the message, and a
 * `send` that applies the faults and counts every message and byte.
 *
 * Three independent random streams, forked from one seed by the caller: `random` for the
 * strategy's own choices (targets, overlay), and two private ones for message loss and for
 * the dying sender's cut. Keeping them apart means turning loss on does not change which
 * targets a strategy picks, so runs with and without faults stay comparable.
 *
 * Counters are plain numbers (doubles): eager broadcast at 10⁶ nodes sends 10¹² messages,
 * well inside 2⁵³, so the counts stay exact.
 */
import type { Random } from '../runtime/random.ts';
import {
  DEFAULT_MESSAGE_SIZES,
  MESSAGE_KIND_COUNT,
  MessageKind,
  type MessageKind as MessageKindCode,
  type MessageSizes,
} from './strategy.ts';

/** Streams a {@link BroadcastContext} draws from; the caller forks them from one seed. */
export interface ContextStreams {
  /** The strategy's choices: targets, overlay. */
  random: Random;
  /** Message loss. */
  loss: Random;
  /** The dying sender: which of its sends in its last round get out. */
  cut: Random;
}

/** Fault parameters the context applies itself. Node crashes are decided by the driver ({@link BroadcastContext.crash}). */
export interface ContextFaults {
  /** Probability in [0, 1) that a message is lost. */
  lossRate: number;
}

/**
 * Node state, fault application and accounting for one broadcast at a time. The driver
 * resets it with {@link beginBroadcast}, advances {@link round}, crashes nodes; strategies
 * call {@link send}, {@link sendBulk}, {@link inform}.
 */
export class BroadcastContext {
  /** Number of nodes. */
  readonly nodes: number;
  /** The strategy's random stream. */
  readonly random: Random;
  /** 1 if the node is up. Strategies read it; only {@link crash} writes it. */
  readonly alive: Uint8Array;
  /** Round in which the node first got the message (0 for the origin), or -1. Written by {@link inform}. */
  readonly informedAt: Int32Array;
  /** Messages sent by each node in this broadcast (saturates at 2³² - 1). */
  readonly sentBy: Uint32Array;
  /** Messages sent in this broadcast, per {@link MessageKind} code. */
  readonly messagesByKind: Float64Array;
  /** Probability that a message is lost. */
  readonly lossRate: number;
  /** The current round: 0 before the first, then 1, 2, … (set by the driver). */
  round = 0;
  /** Messages sent in this broadcast (every kind). */
  messages = 0;
  /** Bytes sent in this broadcast. */
  bytes = 0;
  /** Nodes that have had the message in this broadcast, crashed ones included. */
  informedCount = 0;
  /** Nodes that have the message and are up. */
  informedLive = 0;
  /** Nodes that are up. */
  liveCount: number;

  readonly #bytesByKind: Float64Array;
  readonly #loss: Random;
  readonly #cut: Random;
  #dyingNode = -1;
  #dyingCut = 1;

  /**
   * @param nodes n, a positive integer.
   * @param streams the three random streams (see {@link ContextStreams}).
   * @param faults loss rate.
   * @param sizes message sizes for the byte counts.
   */
  constructor(
    nodes: number,
    streams: ContextStreams,
    faults: ContextFaults,
    sizes: MessageSizes = DEFAULT_MESSAGE_SIZES,
  ) {
    this.nodes = nodes;
    this.random = streams.random;
    this.#loss = streams.loss;
    this.#cut = streams.cut;
    this.lossRate = faults.lossRate;
    this.alive = new Uint8Array(nodes).fill(1);
    this.liveCount = nodes;
    this.informedAt = new Int32Array(nodes).fill(-1);
    this.sentBy = new Uint32Array(nodes);
    this.messagesByKind = new Float64Array(MESSAGE_KIND_COUNT);
    this.#bytesByKind = new Float64Array(MESSAGE_KIND_COUNT).fill(sizes.headerBytes);
    this.#bytesByKind[MessageKind.data] = sizes.headerBytes + sizes.payloadBytes;
  }

  /** Clears the per-broadcast state (who has it, counters, round) and gives the message to `origin` if it is up. */
  beginBroadcast(origin: number): void {
    this.informedAt.fill(-1);
    this.sentBy.fill(0);
    this.messagesByKind.fill(0);
    this.round = 0;
    this.messages = 0;
    this.bytes = 0;
    this.informedCount = 0;
    this.informedLive = 0;
    this.#dyingNode = -1;
    if (this.alive[origin] === 1) this.inform(origin);
  }

  /**
   * Marks `node` as crashing part-way through the current round: each of its sends this
   * round gets out with probability `cut` (its sends are spread over the round and it dies
   * at a uniform moment). The driver calls {@link crash} after the round.
   */
  setDying(node: number, cut: number): void {
    this.#dyingNode = node;
    this.#dyingCut = cut;
  }

  /** True if `node` is the one dying in this round. */
  isDying(node: number): boolean {
    return node === this.#dyingNode;
  }

  /** Takes `node` down for good. Crashing a node that is already down does nothing. */
  crash(node: number): void {
    if (this.alive[node] === 0) return;
    this.alive[node] = 0;
    this.liveCount--;
    if (this.informedAt[node]! >= 0) this.informedLive--;
    if (node === this.#dyingNode) this.#dyingNode = -1;
  }

  /**
   * Gives the message to `node` (which must be up) if it lacks it. Returns true if that was
   * news: the caller decides whether the node then spreads it.
   */
  inform(node: number): boolean {
    if (this.informedAt[node]! >= 0) return false;
    this.informedAt[node] = this.round;
    this.informedCount++;
    this.informedLive++;
    return true;
  }

  /** True if `node` had the message before the current round began, that is, may act on it now. */
  hadBefore(node: number): boolean {
    const at = this.informedAt[node]!;
    return at >= 0 && at < this.round;
  }

  /**
   * Sends one message and reports whether it arrived. Counts it (unless the sender is the
   * dying node and died before this send), then drops it if the target is down or the
   * network loses it.
   */
  send(from: number, to: number, kind: MessageKindCode): boolean {
    if (from === this.#dyingNode && !this.#cut.chance(this.#dyingCut)) return false;
    this.messages++;
    this.messagesByKind[kind]!++;
    this.bytes += this.#bytesByKind[kind]!;
    this.sentBy[from]!++;
    if (this.alive[to] === 0) return false;
    return !(this.lossRate > 0 && this.#loss.chance(this.lossRate));
  }

  /**
   * Counts `count` messages of `kind` sent by `from` without delivering them: for a caller
   * that samples the deliveries from their exact distribution instead (see
   * {@link anyCopyArrives}). Returns how many were actually sent (fewer only for the dying
   * node, each of whose sends gets out with its cut probability).
   */
  sendBulk(from: number, count: number, kind: MessageKindCode): number {
    let sent = count;
    if (from === this.#dyingNode) {
      sent = 0;
      for (let i = 0; i < count; i++) if (this.#cut.chance(this.#dyingCut)) sent++;
    }
    this.messages += sent;
    this.messagesByKind[kind]! += sent;
    this.bytes += sent * this.#bytesByKind[kind]!;
    this.sentBy[from] = Math.min(0xffff_ffff, this.sentBy[from]! + sent);
    return sent;
  }

  /**
   * True with probability 1 - lossRate^copies: whether at least one of `copies` independent
   * sends to one live node survives the network. The exact-distribution counterpart of
   * calling {@link send} `copies` times.
   */
  anyCopyArrives(copies: number): boolean {
    if (copies <= 0) return false;
    if (this.lossRate === 0) return true;
    return !this.#loss.chance(this.lossRate ** copies);
  }

  /** The largest per-node send count in this broadcast. */
  maxSentByOneNode(): number {
    let max = 0;
    for (let i = 0; i < this.nodes; i++) if (this.sentBy[i]! > max) max = this.sentBy[i]!;
    return max;
  }
}
