/**
 * The dashboard's view of the replicated state (`gossip kv`): every node's keys as this agent
 * holds them, kept current by the watch stream (`GET /v1/kv?watch=1`), and the spread of one
 * write as `GET /v1/replicas/:node` reports it. Pure and DOM-free (node:test runs it); the
 * `<gd-state>` panel renders it.
 *
 * The watch's events (src/api/types.ts `KvWatchEventMap`): a snapshot of `set`s marked
 * `snapshot: true`, then `ready`; then each `set` and `delete` as the agent applies it. A
 * browser that reconnects sends the last event id and gets no snapshot; when the agent cannot
 * resume from it, a new snapshot comes, and it replaces what the page held once its `ready`
 * arrives (so keys deleted while the page was away disappear).
 */
import { type Api, loose, num, payloadText, str } from './api-types.ts';

/** Keys the page holds at most, over every node (past it, new keys are counted, not kept). */
export const KV_KEYS_MAX = 5000;
/** Characters of a value the page keeps (a value can be up to 64 KiB). */
export const KV_VALUE_PREVIEW = 200;

/** One key of one node's map. */
export interface KvItem {
  value: string;
  version: number;
  /** When the page saw it change (ms since the epoch); 0 for a snapshot entry. */
  changedAt: number;
}

/** One node's map. */
export interface KvNode {
  name: string;
  keys: Map<string, KvItem>;
  /** The highest version seen of this node's map. */
  version: number;
  generation: number;
  changedAt: number;
}

/** Everything the page knows of the replicated state. */
export class KvModel {
  readonly nodes = new Map<string, KvNode>();
  /** The first snapshot has arrived. */
  ready = false;
  /** Keys held now, over every node. */
  keyCount = 0;
  /** Keys not held because of {@link KV_KEYS_MAX}. */
  dropped = 0;
  /** Grows with every change (a view re-renders when it moves). */
  revision = 0;
  /** A snapshot being received (after a reconnect that could not resume). */
  #incoming: KvModel | undefined;

  /** Applies one watch event (`type` as the stream names it, `data` as parsed JSON). */
  apply(type: string, data: unknown, at: number): void {
    if (type === 'ready') {
      const next = this.#incoming;
      this.#incoming = undefined;
      if (next !== undefined) {
        this.nodes.clear();
        for (const [k, v] of next.nodes) this.nodes.set(k, v);
        this.keyCount = next.keyCount;
        this.dropped = next.dropped;
      }
      this.ready = true;
      this.revision++;
      return;
    }
    if (type === 'set') {
      const d = loose<Api.KvWatchEventMap['set']>(data);
      const node = str(d?.node);
      const key = str(d?.key);
      const version = num(d?.version);
      if (d === undefined || node === undefined || key === undefined || version === undefined) return;
      const value = payloadText({ payload: d.value, payloadBase64: d.valueBase64 });
      const generation = num(d.generation) ?? 0;
      if (d.snapshot === true) {
        // A snapshot at the start goes straight in; one after a reconnect is gathered apart.
        if (this.ready) {
          this.#incoming ??= new KvModel();
          this.#incoming.#set(node, key, value, version, generation, 0);
          return;
        }
        this.#set(node, key, value, version, generation, 0);
      } else {
        this.#set(node, key, value, version, generation, at);
      }
      this.revision++;
      return;
    }
    if (type === 'delete') {
      const d = loose<Api.KvWatchEventMap['delete']>(data);
      const node = str(d?.node);
      const key = str(d?.key);
      if (node === undefined || key === undefined) return;
      const n = this.nodes.get(node);
      if (n === undefined) return;
      if (n.keys.delete(key)) this.keyCount--;
      n.version = Math.max(n.version, num(d?.version) ?? 0);
      n.changedAt = at;
      if (n.keys.size === 0) this.nodes.delete(node);
      this.revision++;
    }
  }

  #set(node: string, key: string, value: string, version: number, generation: number, at: number): void {
    let n = this.nodes.get(node);
    if (n === undefined) {
      n = { name: node, keys: new Map(), version: 0, generation, changedAt: at };
      this.nodes.set(node, n);
    }
    if (generation > n.generation) {
      n.generation = generation;
      n.version = 0;
    }
    const held = n.keys.has(key);
    if (!held && this.keyCount >= KV_KEYS_MAX) {
      this.dropped++;
      return;
    }
    if (!held) this.keyCount++;
    n.keys.set(key, { value: value.slice(0, KV_VALUE_PREVIEW), version, changedAt: at });
    n.version = Math.max(n.version, version);
    n.changedAt = Math.max(n.changedAt, at);
  }

  /** The nodes by name, the local one first. */
  sortedNodes(self: string | undefined): KvNode[] {
    return [...this.nodes.values()].sort((a, b) =>
      a.name === self ? -1 : b.name === self ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }
}

/** A write from the page and how far it has spread. */
export interface KvSpread {
  key: string;
  value: string;
  node: string;
  version: number;
  generation: number;
  /** When the write was answered (ms since the epoch). */
  at: number;
  /** Node → when the page first saw it hold the write (ms after `at`); undefined: not yet. */
  reached: Map<string, number | undefined>;
  /** Every node answered with the write. */
  done: boolean;
  error: string | undefined;
}

/** Longest the page follows one write's spread. */
export const SPREAD_FOLLOW_MS = 30_000;
/** How often it asks where the replicas stand meanwhile. */
export const SPREAD_POLL_MS = 250;

/** A copy of `s` updated with one `/v1/replicas/:node` answer, read `at`. */
export function spreadProgress(s: KvSpread, answer: unknown, at: number): KvSpread {
  const list = loose<Api.ReplicasResponse>(answer)?.replicas;
  if (!Array.isArray(list)) return s;
  const reached = new Map(s.reached);
  for (const r of list) {
    const x = loose<Api.ReplicaJson>(r);
    const node = str(x?.node);
    if (node === undefined) continue;
    const gen = num(x?.generation) ?? 0;
    const version = num(x?.version) ?? 0;
    const has = gen > s.generation || (gen === s.generation && version >= s.version);
    const before = reached.get(node);
    reached.set(node, before !== undefined ? before : has ? Math.max(0, at - s.at) : undefined);
  }
  const done = reached.size > 0 && [...reached.values()].every((v) => v !== undefined);
  return { ...s, reached, done };
}
