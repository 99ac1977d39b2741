/**
 * What a node knows about each member: the memberlist `nodeState` (name, address, metadata,
 * incarnation, state, when the state last changed, and the protocol version vector), and the
 * table that holds them in probe order.
 */
import type { Random } from '../runtime/random.ts';
import type { Addr } from '../transport/transport.ts';
import { ipToString, joinHostPort } from '../wire/ip.ts';
import type { PushNodeState } from '../wire/memberlist.ts';

/** A member's state as SWIM sees it. */
export type NodeStatus = 'alive' | 'suspect' | 'dead' | 'left';

/** Wire codes of {@link NodeStatus} (memberlist `NodeStateType`). */
export const STATUS_CODE: Record<NodeStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
export const STATUS_BY_CODE: readonly NodeStatus[] = ['alive', 'suspect', 'dead', 'left'];

/**
 * What a node holds about one member (memberlist's `nodeState`, but for the time of the last
 * state change, which the {@link NodeTable} keeps beside it): immutable, and shared between
 * every table that holds an equal one (`internState` in intern.ts). A transition replaces the
 * entry with a new one (`NodeTable.update`); nothing is ever written into one. In the
 * simulator, where n nodes share one process, the n² entries of a steady cluster are then n
 * shared objects, and each table keeps just a reference and a time per member.
 */
export interface NodeState {
  /**
   * `addr`, `meta` and `vsn` are themselves shared with other entries of equal content
   * (intern.ts).
   */
  readonly name: string;
  /** IP address bytes (4 or 16). */
  readonly addr: Uint8Array;
  readonly port: number;
  /** `ip:port`, the transport address. */
  readonly address: Addr;
  readonly meta: Uint8Array;
  readonly incarnation: number;
  readonly status: NodeStatus;
  /** `[pmin, pmax, pcur, dmin, dmax, dcur]`. */
  readonly vsn: readonly number[];
}

/** A read-only snapshot of a member, as the public API hands it out. */
export interface Member {
  readonly name: string;
  /** The member's IP address as text. */
  readonly ip: string;
  readonly port: number;
  /** `ip:port`. */
  readonly address: Addr;
  /** The member's metadata (a copy: changing it changes nothing else). */
  readonly meta: Uint8Array;
  readonly incarnation: number;
  readonly status: NodeStatus;
  /** Clock time (ms) of the last status change. */
  readonly stateChangeAt: number;
  /** memberlist protocol range and version this member speaks. */
  readonly protocol: { readonly min: number; readonly max: number; readonly current: number };
  /** Delegate (Serf) protocol range and version. */
  readonly delegate: { readonly min: number; readonly max: number; readonly current: number };
}

export function addressOf(addr: Uint8Array, port: number): Addr {
  return joinHostPort(ipToString(addr), port);
}

/** The public view of an entry whose state last changed at `stateChangeAt`. */
export function toMember(n: NodeState, stateChangeAt: number): Member {
  const v = n.vsn;
  return {
    name: n.name,
    ip: ipToString(n.addr),
    port: n.port,
    address: n.address,
    // The entry's bytes are shared (intern.ts); a caller gets its own copy.
    meta: n.meta.length === 0 ? n.meta : n.meta.slice(),
    incarnation: n.incarnation,
    status: n.status,
    stateChangeAt,
    protocol: { min: v[0] ?? 0, max: v[1] ?? 0, current: v[2] ?? 0 },
    delegate: { min: v[3] ?? 0, max: v[4] ?? 0, current: v[5] ?? 0 },
  };
}

export function toPushNodeState(n: NodeState): PushNodeState {
  return {
    name: n.name,
    addr: n.addr,
    port: n.port,
    meta: n.meta,
    incarnation: n.incarnation,
    state: STATUS_CODE[n.status],
    vsn: n.vsn,
  };
}

export function isDeadOrLeft(n: NodeState): boolean {
  return n.status === 'dead' || n.status === 'left';
}

/** Initial capacity of a table's time column. */
const INITIAL_CAPACITY = 16;
/** Initial number of slots of a table's name index (a power of two). */
const INITIAL_SLOTS = 32;

/**
 * The hash of a member name in a table's index: over its UTF-16 code units, keyed by the
 * table's secret `seed` (so names chosen to collide in one process do not collide in another:
 * a member table must not be slowed down by a flood of crafted names), then finalised
 * (murmur3's fmix32).
 */
function hashName(name: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1);
    h ^= h >>> 15;
  }
  h ^= name.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The member table: the entries in probe order (shuffled at each round-robin wrap), the time
 * each one's state last changed (a column of numbers beside them, kept in the same order), and
 * an index by name. New members are inserted at a random position, as memberlist does, so that
 * a new member is not always probed last.
 *
 * An entry is a shared, immutable {@link NodeState}: what is per table is only the reference,
 * the time and the index slots, about 30 bytes a member (against about 160 for an object of
 * its own per table, and 70 with a `Map` as the index).
 *
 * The index is an open-addressing hash table of positions in the list (linear probing, at most
 * half full: 8 to 16 bytes a member, where a `Map<string, number>` takes about 48): a slot
 * holds position + 1 (0 is empty) and the name is the entry's at that position. It is only ever
 * searched by name, never iterated, so its layout, which depends on the secret hash seed,
 * changes nothing a node does.
 */
export class NodeTable {
  readonly #list: NodeState[] = [];
  #changedAt = new Float64Array(INITIAL_CAPACITY);
  #slots = new Int32Array(INITIAL_SLOTS);
  readonly #seed: number;

  /** @param hashSeed the index's hash key: a secret, random number in a real node. */
  constructor(hashSeed = 0) {
    this.#seed = hashSeed | 0;
  }

  /** The slot that holds `name`'s position, or -1. */
  #slotOf(name: string): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const list = this.#list;
    for (let k = hashName(name, this.#seed) & mask; ; k = (k + 1) & mask) {
      const v = slots[k]!;
      if (v === 0) return -1;
      if (list[v - 1]!.name === name) return k;
    }
  }

  /** The position of `name` in the list, or -1. */
  #indexOf(name: string): number {
    const k = this.#slotOf(name);
    return k < 0 ? -1 : this.#slots[k]! - 1;
  }

  /** Puts position `i` (whose entry's name is `name`) in an empty slot; the name must be absent. */
  #place(slots: Int32Array, name: string, i: number): void {
    const mask = slots.length - 1;
    let k = hashName(name, this.#seed) & mask;
    while (slots[k] !== 0) k = (k + 1) & mask;
    slots[k] = i + 1;
  }

  /**
   * Rebuilds the index from the list: the fewest slots (a power of two) that leave it at most
   * half full with one more member. A growing table rebuilds it each time it passes half full,
   * so it doubles each time (4 × n slots there made 8 × n: 26 bytes a member at 5,000).
   */
  #reindex(): void {
    const n = this.#list.length;
    let size = INITIAL_SLOTS;
    while (size < 2 * (n + 1)) size *= 2;
    const slots = size === this.#slots.length ? this.#slots.fill(0) : new Int32Array(size);
    for (let i = 0; i < n; i++) this.#place(slots, this.#list[i]!.name, i);
    this.#slots = slots;
  }

  /** The entries in probe order (read-only: changes go through the methods below). */
  get list(): readonly NodeState[] {
    return this.#list;
  }

  get size(): number {
    return this.#list.length;
  }

  get(name: string): NodeState | undefined {
    const i = this.#indexOf(name);
    return i < 0 ? undefined : this.#list[i];
  }

  /** When the state of member `name` last changed (clock ms), or undefined if it is not here. */
  stateChangeAt(name: string): number | undefined {
    const i = this.#indexOf(name);
    return i < 0 ? undefined : this.#changedAt[i];
  }

  /** When the state of the entry at position `i` of {@link list} last changed. */
  stateChangeAtIndex(i: number): number {
    return this.#changedAt[i]!;
  }

  /** The public view of member `name`. */
  member(name: string): Member | undefined {
    const i = this.#indexOf(name);
    return i < 0 ? undefined : toMember(this.#list[i]!, this.#changedAt[i]!);
  }

  /**
   * Adds a member (not in the table yet) whose state changed at `stateChangeAt`, at a random
   * position.
   */
  insert(node: NodeState, stateChangeAt: number, random: Random): void {
    if (this.#slotOf(node.name) >= 0) throw new RangeError(`member "${node.name}" is already in the table`);
    const n = this.#list.length;
    if (n === this.#changedAt.length) {
      const grown = new Float64Array(n * 2);
      grown.set(this.#changedAt);
      this.#changedAt = grown;
    }
    this.#list.push(node);
    this.#changedAt[n] = stateChangeAt;
    if (2 * (n + 1) > this.#slots.length) this.#reindex();
    else this.#place(this.#slots, node.name, n);
    const offset = n === 0 ? 0 : random.int(n + 1);
    this.#swap(offset, n);
  }

  /**
   * Replaces the entry of the member named `node.name` (which must be here) with `node`; its
   * state-change time becomes `stateChangeAt` when given.
   */
  update(node: NodeState, stateChangeAt?: number): void {
    const i = this.#indexOf(node.name);
    if (i < 0) throw new RangeError(`no member "${node.name}" to update`);
    this.#list[i] = node;
    if (stateChangeAt !== undefined) this.#changedAt[i] = stateChangeAt;
  }

  #swap(i: number, j: number): void {
    if (i === j) return;
    const list = this.#list;
    const at = this.#changedAt;
    const a = list[i]!;
    const b = list[j]!;
    // The slots are found by name while the list still holds the entries where they point.
    const slotA = this.#slotOf(a.name);
    const slotB = this.#slotOf(b.name);
    list[i] = b;
    list[j] = a;
    const t = at[i]!;
    at[i] = at[j]!;
    at[j] = t;
    this.#slots[slotA] = j + 1;
    this.#slots[slotB] = i + 1;
  }

  /**
   * Forgets dead and left members whose state changed more than `olderThanMs` ago, then
   * shuffles the rest (memberlist `resetNodes`). Returns
   * the names forgotten.
   */
  resetAndShuffle(now: number, olderThanMs: number, random: Random, keep: string): string[] {
    const forgotten: string[] = [];
    const list = this.#list;
    const at = this.#changedAt;
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const n = list[r]!;
      if (n.name !== keep && isDeadOrLeft(n) && now - at[r]! > olderThanMs) {
        forgotten.push(n.name);
      } else {
        list[w] = n;
        at[w] = at[r]!;
        w++;
      }
    }
    list.length = w;
    // The Random's own shuffle decides the order; entries and times follow it together.
    const order = random.shuffle(Array.from({ length: w }, (_, i) => i));
    const entries = list.slice();
    const times = at.slice(0, w);
    for (let i = 0; i < w; i++) {
      list[i] = entries[order[i]!]!;
      at[i] = times[order[i]!]!;
    }
    this.#reindex();
    return forgotten;
  }

  /**
   * Up to `k` distinct random members that `exclude` does not reject (memberlist
   * `kRandomNodes`: at most 3n draws). `exclude` gets the entry and its state-change time.
   */
  randomNodes(
    k: number,
    random: Random,
    exclude: (n: NodeState, stateChangeAt: number) => boolean,
  ): NodeState[] {
    const list = this.#list;
    const n = list.length;
    const out: NodeState[] = [];
    if (n === 0 || k <= 0) return out;
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const r = random.int(n);
      const node = list[r]!;
      if (exclude(node, this.#changedAt[r]!) || out.includes(node)) continue;
      out.push(node);
    }
    return out;
  }
}
