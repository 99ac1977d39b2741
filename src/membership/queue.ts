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
 *
 * Layout: the queue never re-sorts. Items live in groups of equal (priority, transmits),
 * the groups in hand-out order, each group's items sorted by (larger, newer); handing an item
 * out moves it to the next group with a merge, so a `getBroadcasts` costs about
 * O(groups × log(group) + items handed out + the groups it touches), not O(q log q). The order
 * it hands out is exactly that of a full sort by the rule above (ids are unique, so the order
 * is total).
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
  /** The group holding the item; undefined once it left the queue. */
  group: Group | undefined;
}

/** Items of one (priority, transmits), sorted by (larger message, newer) first. */
interface Group {
  priority: number;
  transmits: number;
  items: Item[];
}

/** Whether `a` goes before `b` within a group: larger message first, then newer. */
function precedes(a: Item, b: Item): boolean {
  const la = a.message.length;
  const lb = b.message.length;
  return la > lb || (la === lb && a.id > b.id);
}

/** The first index whose item does not go before `x` (where `x` is or would be). */
function lowerBound(items: readonly Item[], x: Item): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (precedes(items[mid]!, x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index at or after `from` whose message is at most `maxLength` bytes (lengths never grow along a group). */
function firstAtMost(items: readonly Item[], from: number, maxLength: number): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.message.length > maxLength) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether group `a` is handed out before group `b`: higher priority, then fewer transmits. */
function groupPrecedes(a: Group, b: { priority: number; transmits: number }): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.transmits < b.transmits);
}

export class TransmitLimitedQueue {
  /** Non-empty groups in hand-out order. */
  readonly #groups: Group[] = [];
  readonly #byName = new Map<string, Item>();
  readonly #retransmitMult: () => number;
  readonly #numNodes: () => number;
  readonly #maxDepth: number;
  #nextId = 0;
  #length = 0;
  #bytes = 0;
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
    return this.#length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
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
      group: undefined,
    };
    const group = this.#groupFor(item.priority, 0);
    // The newest item goes before every other of its size.
    group.items.splice(lowerBound(group.items, item), 0, item);
    item.group = group;
    this.#length++;
    this.#bytes += message.length;
    if (name !== undefined) this.#byName.set(name, item);
    if (this.#length > this.#maxDepth) this.prune(this.#maxDepth);
  }

  /** The group of (priority, transmits), created in its place if there is none. */
  #groupFor(priority: number, transmits: number): Group {
    const groups = this.#groups;
    const key = { priority, transmits };
    let i = 0;
    while (i < groups.length && groupPrecedes(groups[i]!, key)) i++;
    const g = groups[i];
    if (g !== undefined && g.priority === priority && g.transmits === transmits) return g;
    const group: Group = { priority, transmits, items: [] };
    groups.splice(i, 0, group);
    return group;
  }

  #dropGroupIfEmpty(group: Group): void {
    if (group.items.length > 0) return;
    const i = this.#groups.indexOf(group);
    if (i >= 0) this.#groups.splice(i, 1);
  }

  /** Takes `item` out of the queue (a no-op for its group and counts if it already left). */
  #remove(item: Item): void {
    const group = item.group;
    if (group !== undefined) {
      const i = lowerBound(group.items, item);
      if (group.items[i] === item) group.items.splice(i, 1);
      item.group = undefined;
      this.#length--;
      this.#bytes -= item.message.length;
      this.#dropGroupIfEmpty(group);
    }
    if (item.name !== undefined && this.#byName.get(item.name) === item) this.#byName.delete(item.name);
  }

  /**
   * Takes broadcasts for one packet: as many as fit in `limit` bytes when each also costs
   * `overhead` bytes (the compound part header). Each one handed out counts as a transmission.
   */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.#length === 0) return [];
    const out: Uint8Array[] = [];
    // Handed out, by group: [group, indices in that group] (ascending).
    const taken: [Group, number[]][] = [];
    let used = 0;
    scan: for (const group of this.#groups) {
      const items = group.items;
      let picked: number[] | undefined;
      let i = 0;
      while (i < items.length) {
        const cost = overhead + items[i]!.message.length;
        if (used + cost > limit) {
          if (limit - used < overhead + 1) {
            if (picked !== undefined) taken.push([group, picked]);
            break scan; // nothing more can fit
          }
          // What follows in this group is no larger: skip to the first one that fits.
          i = firstAtMost(items, i + 1, limit - used - overhead);
          continue;
        }
        used += cost;
        out.push(items[i]!.message);
        if (picked === undefined) picked = [i];
        else picked.push(i);
        i++;
      }
      if (picked !== undefined) taken.push([group, picked]);
    }
    if (out.length === 0) return out;
    const transmitLimit = retransmitLimit(this.#retransmitMult(), this.#numNodes());
    // Count the transmissions; move each item to the group of its new count, except those
    // done, which leave the queue below in the order they were handed out.
    const done: Item[] = [];
    const moves: [Group, Item[]][] = [];
    for (const [group, indices] of taken) {
      const items = group.items;
      const moving: Item[] = [];
      let w = indices[0]!;
      let k = 0;
      for (let r = w; r < items.length; r++) {
        const item = items[r]!;
        if (k < indices.length && indices[k] === r) {
          k++;
          item.transmits++;
          if (item.transmits >= transmitLimit) {
            done.push(item);
            items[w++] = item; // stays until removed below
          } else {
            moving.push(item);
          }
        } else {
          items[w++] = item;
        }
      }
      items.length = w;
      if (moving.length > 0) moves.push([group, moving]);
    }
    for (const [from, moving] of moves) {
      const to = this.#groupFor(from.priority, from.transmits + 1);
      for (const item of moving) item.group = to;
      to.items = merge(to.items, moving);
      this.#dropGroupIfEmpty(from);
    }
    for (const item of done) {
      this.#remove(item);
      item.finished?.('sent');
    }
    return out;
  }

  /** Keeps the `maxRetain` least-transmitted broadcasts, dropping the rest (Serf's queue pruning). */
  prune(maxRetain: number): void {
    if (this.#length <= maxRetain) return;
    // The tail holds the lowest priority / most transmitted / smallest / oldest.
    const dropped: Item[] = [];
    let excess = this.#length - maxRetain;
    const groups = this.#groups;
    while (excess > 0) {
      const group = groups[groups.length - 1]!;
      const items = group.items;
      const n = Math.min(excess, items.length);
      const tail = items.splice(items.length - n, n);
      for (let i = tail.length - 1; i >= 0; i--) dropped.push(tail[i]!);
      excess -= n;
      if (items.length === 0) groups.pop();
    }
    dropped.reverse();
    for (const item of dropped) {
      item.group = undefined;
      this.#length--;
      this.#bytes -= item.message.length;
    }
    for (const item of dropped) {
      if (item.name !== undefined && this.#byName.get(item.name) === item) this.#byName.delete(item.name);
      this.prunedCount++;
      item.finished?.('dropped');
    }
  }

  /** Drops everything (callbacks in hand-out order). */
  reset(): void {
    const all: Item[] = [];
    for (const group of this.#groups) for (const item of group.items) all.push(item);
    this.#groups.length = 0;
    this.#byName.clear();
    this.#length = 0;
    this.#bytes = 0;
    for (const item of all) item.group = undefined;
    for (const item of all) item.finished?.('dropped');
  }
}

/** `a` and `b` (each sorted by {@link precedes}) merged; `a` itself when `b` only appends. */
function merge(a: Item[], b: Item[]): Item[] {
  if (a.length === 0) return b;
  if (!precedes(b[0]!, a[a.length - 1]!)) {
    for (const item of b) a.push(item);
    return a;
  }
  const out: Item[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) out[o++] = precedes(b[j]!, a[i]!) ? b[j++]! : a[i++]!;
  while (i < a.length) out[o++] = a[i++]!;
  while (j < b.length) out[o++] = b[j++]!;
  return out;
}
