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

/** A member as the membership layer tracks it. Mutated only by the transitions in `transitions.ts`. */
export interface NodeState {
  /**
   * The values below are shared with other entries of equal content (intern.ts): `addr`,
   * `meta` and `vsn` are replaced, never modified in place.
   */
  name: string;
  /** IP address bytes (4 or 16). */
  addr: Uint8Array;
  port: number;
  /** `ip:port`, the transport address. */
  address: Addr;
  meta: Uint8Array;
  incarnation: number;
  status: NodeStatus;
  /** Clock time (ms) of the last status change. */
  stateChangeAt: number;
  /** `[pmin, pmax, pcur, dmin, dmax, dcur]`. */
  vsn: readonly number[];
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

export function toMember(n: NodeState): Member {
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
    stateChangeAt: n.stateChangeAt,
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

/**
 * The member table: a list in probe order (shuffled at each round-robin wrap) plus an index by
 * name. New members are inserted at a random position, as memberlist does, so that a new
 * member is not always probed last.
 */
export class NodeTable {
  readonly list: NodeState[] = [];
  readonly #byName = new Map<string, NodeState>();

  get size(): number {
    return this.list.length;
  }

  get(name: string): NodeState | undefined {
    return this.#byName.get(name);
  }

  /** Adds a member at a random position. */
  insert(node: NodeState, random: Random): void {
    this.#byName.set(node.name, node);
    const n = this.list.length;
    this.list.push(node);
    const offset = n === 0 ? 0 : random.int(n + 1);
    const t = this.list[offset]!;
    this.list[offset] = node;
    this.list[n] = t;
  }

  /**
   * Forgets dead and left members whose state changed more than `olderThanMs` ago, then
   * shuffles the rest (memberlist `resetNodes`). Returns the names forgotten.
   */
  resetAndShuffle(now: number, olderThanMs: number, random: Random, keep: string): string[] {
    const forgotten: string[] = [];
    let w = 0;
    for (const n of this.list) {
      if (n.name !== keep && isDeadOrLeft(n) && now - n.stateChangeAt > olderThanMs) {
        forgotten.push(n.name);
        this.#byName.delete(n.name);
      } else {
        this.list[w++] = n;
      }
    }
    this.list.length = w;
    random.shuffle(this.list);
    return forgotten;
  }

  /**
   * Up to `k` distinct random members that `exclude` does not reject (memberlist
   * `kRandomNodes`: at most 3n draws).
   */
  randomNodes(k: number, random: Random, exclude: (n: NodeState) => boolean): NodeState[] {
    const n = this.list.length;
    const out: NodeState[] = [];
    if (n === 0 || k <= 0) return out;
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const node = this.list[random.int(n)]!;
      if (exclude(node) || out.includes(node)) continue;
      out.push(node);
    }
    return out;
  }
}
