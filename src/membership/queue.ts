/**
 * The transmit-limited broadcast queue (memberlist `TransmitLimitedQueue`): messages waiting to
 * be piggybacked on probes and gossip. Each is sent at most `retransmitMult × ceil(log10(n+1))`
 * times, then dropped.
 *
 * Order of hand-out: higher {@link BroadcastPriority} first (our own leave and refutations
 * before anything else — a slow leave is the classic "failed instead of left" complaint), then
 * fewest transmits, then larger message (to fill packets), then newest.
 *
 * A broadcast with a `name` replaces any queued one with the same name: a newer message about
 * member X makes the older one obsolete. Unnamed broadcasts (Serf's events, intents, queries)
 * never replace each other.
 */
import { retransmitLimit } from './math.ts';

/** Urgency classes. Higher goes first. */
export const BroadcastPriority = {
  normal: 0,
  /** Our own liveness: refutations and alive updates about ourselves. */
  self: 1,
  /** Our own leave. */
  leave: 2,
} as const;

export interface BroadcastOptions {
  /** Invalidation key: a newer broadcast with the same name replaces this one. */
  name?: string | undefined;
  priority?: number;
  /**
   * Called once when the broadcast leaves the queue: `'sent'` after its last transmission,
   * `'replaced'` when superseded, `'dropped'` when pruned or the queue was reset.
   */
  finished?: (how: 'sent' | 'replaced' | 'dropped') => void;
}

interface Item {
  message: Uint8Array;
  name: string | undefined;
  priority: number;
  transmits: number;
  id: number;
  finished: ((how: 'sent' | 'replaced' | 'dropped') => void) | undefined;
}

export class TransmitLimitedQueue {
  readonly #items: Item[] = [];
  readonly #byName = new Map<string, Item>();
  readonly #retransmitMult: () => number;
  readonly #numNodes: () => number;
  readonly #maxDepth: number;
  #nextId = 0;
  #sorted = true;
  /** Broadcasts dropped because the queue was full. */
  prunedCount = 0;

  /**
   * @param retransmitMult memberlist `RetransmitMult` (a function, so it can follow a config change)
   * @param numNodes the cluster size estimate the retransmit limit is computed from
   * @param maxDepth most broadcasts kept; beyond it the most-transmitted are dropped
   */
  constructor(retransmitMult: () => number, numNodes: () => number, maxDepth: number) {
    this.#retransmitMult = retransmitMult;
    this.#numNodes = numNodes;
    this.#maxDepth = maxDepth;
  }

  /** Broadcasts waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    let n = 0;
    for (const it of this.#items) n += it.message.length;
    return n;
  }

  /** Queues `message` (an encoded memberlist message, or a Serf message for a delegate queue). */
  queue(message: Uint8Array, options: BroadcastOptions = {}): void {
    const name = options.name;
    if (name !== undefined) {
      const old = this.#byName.get(name);
      if (old !== undefined) {
        this.#remove(old);
        old.finished?.('replaced');
      }
    }
    const item: Item = {
      message,
      name,
      priority: options.priority ?? BroadcastPriority.normal,
      transmits: 0,
      id: this.#nextId++,
      finished: options.finished,
    };
    this.#items.push(item);
    if (name !== undefined) this.#byName.set(name, item);
    this.#sorted = false;
    if (this.#items.length > this.#maxDepth) this.prune(this.#maxDepth);
  }

  #remove(item: Item): void {
    const i = this.#items.indexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
    if (item.name !== undefined && this.#byName.get(item.name) === item) this.#byName.delete(item.name);
  }

  #sort(): void {
    if (this.#sorted) return;
    this.#items.sort(
      (a, b) =>
        b.priority - a.priority ||
        a.transmits - b.transmits ||
        b.message.length - a.message.length ||
        b.id - a.id,
    );
    this.#sorted = true;
  }

  /**
   * Takes broadcasts for one packet: as many as fit in `limit` bytes when each also costs
   * `overhead` bytes (the compound part header). Each one handed out counts as a transmission.
   */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.#items.length === 0) return [];
    this.#sort();
    const transmitLimit = retransmitLimit(this.#retransmitMult(), this.#numNodes());
    const out: Uint8Array[] = [];
    const done: Item[] = [];
    let used = 0;
    for (const item of this.#items) {
      const cost = overhead + item.message.length;
      if (used + cost > limit) {
        if (limit - used < overhead + 1) break; // nothing more can fit
        continue;
      }
      used += cost;
      out.push(item.message);
      item.transmits++;
      if (item.transmits >= transmitLimit) done.push(item);
    }
    if (out.length > 0) this.#sorted = false;
    for (const item of done) {
      this.#remove(item);
      item.finished?.('sent');
    }
    return out;
  }

  /** Keeps the `maxRetain` least-transmitted broadcasts, dropping the rest (Serf's queue pruning). */
  prune(maxRetain: number): void {
    if (this.#items.length <= maxRetain) return;
    this.#sort();
    // The tail holds the lowest priority / most transmitted / smallest / oldest.
    const dropped = this.#items.splice(maxRetain);
    for (const item of dropped) {
      if (item.name !== undefined && this.#byName.get(item.name) === item) this.#byName.delete(item.name);
      this.prunedCount++;
      item.finished?.('dropped');
    }
  }

  /** Drops everything. */
  reset(): void {
    const all = this.#items.splice(0);
    this.#byName.clear();
    for (const item of all) item.finished?.('dropped');
  }
}
