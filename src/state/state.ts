/**
 * The public face of the replicated state: each node owns a versioned key/value map, and
 * every node of ours holds every other's, eventually consistent, gossiped Scuttlebutt-style
 * on top of a {@link Serf} (what Cassandra's application state, chitchat, and dskit's memberlist
 * KV do; what Serf's 512-byte tags are too small for).
 *
 * ```ts
 * const serf = new Serf({ name: 'web-1', transport });
 * const state = new ReplicatedState({ serf });           // before serf.start()
 * serf.start();
 * state.set('service/http', '10.0.0.7:8080', { ephemeral: true });
 * state.setJson('load', { cpu: 0.4 }, { ttlMs: 30_000 });
 * state.nodesWhere('service/http');                      // ['web-1', 'web-2', ...]
 * for await (const e of state.watch({ prefix: 'service/' })) console.log(e);
 * ```
 *
 * Guarantees (docs/embedding.md#replicated-state; `npm run bench -- state` measures the spread):
 * - a node's changes are applied everywhere in its version order, with no gaps: a replica's
 *   map of node X is always X's map as of some version, minus nothing that X still holds
 *   (reads never see a map with holes, even while a whole map is being re-sent);
 * - once faults stop, every live node's copy of every live node's map equals that node's own:
 *   no write lost, no delete undone, no value of an older generation winning;
 * - writes are local and never wait for the network; there is no cross-node ordering.
 *
 * The Serf's clock, random stream (a fork), logger and transport are used; nothing here reads
 * the wall clock, sets a real timer or opens a socket or file (persistence is a hook).
 */
import type { ExtensionContext, SerfExtension } from '../cluster/extension.ts';
import type { Serf } from '../cluster/serf.ts';
import { ConfigError, StateError } from '../errors.ts';
import type { Addr } from '../transport/transport.ts';
import { sameBytes } from '../wire/bytes.ts';
import {
  decodeStateMessage,
  STATE_CAPABILITY,
  STATE_CAPABILITY_VERSION,
  STATE_MESSAGE_TYPE,
} from './codec.ts';
import { StateCore } from './core.ts';
import { getBroadcasts, handleNotice, handleUpdate } from './gossip.ts';
import { deleteLocal, loadPersisted, persistedState, setLocal, sweep } from './local.ts';
import { resolveStateOptions, type StateOptions } from './options.ts';
import { isOurs, onMember, onReap } from './peers.ts';
import { askReplicas, handleAsk, handleTell, type ReplicaVersion } from './replicas.ts';
import { type ChangeCache, entryBytes } from './store.ts';
import { antiEntropyRound, handleDelta, handleSync } from './sync.ts';
import type {
  ReplicationLag,
  SetOptions,
  StateEntry,
  StatePersistence,
  StateStats,
  WatchEvent,
  WatchOptions,
  WriteResult,
} from './types.ts';

/** What a {@link ReplicatedState} is made from: its options (any subset) and the Serf it rides on. */
export interface ReplicatedStateInit extends Partial<StateOptions> {
  /** The Serf to run on, not started yet (the state advertises itself in the node metadata). */
  serf: Serf;
  /**
   * This life's generation: must grow across restarts of a node name, so its new writes win
   * over what the cluster still holds from before. The agent passes the wall clock in ms;
   * with `persistence`, the persisted generation plus one if that is higher. A node that
   * meets its own map at a newer generation raises its own above it in any case.
   * @default a random integer in [1, 2^31)
   */
  generation?: number;
  /** Where our own map is kept across restarts (the agent's `--data-dir`). */
  persistence?: StatePersistence;
  /**
   * Shared copies of changes, for many nodes in one process (the simulator, an embedding of
   * several nodes): pass one cache to all of them. @default none
   */
  changeCache?: ChangeCache;
}

/** Counters and sizes, for `/metrics` and `gossip info`. */
export interface StateInfo extends StateStats {
  /** Maps held (ours included). */
  nodes: number;
  /** Visible entries over every map, and their key plus value bytes. */
  entries: number;
  bytes: number;
  /** Our own map: visible keys, bytes, version counter, generation. */
  ownKeys: number;
  ownBytes: number;
  version: number;
  generation: number;
  /** Broadcasts waiting to be gossiped, out-of-order updates held, watches open. */
  queueDepth: number;
  pendingUpdates: number;
  watches: number;
  /** Maps we hold behind what we have heard of, and the most versions one is behind. */
  lagging: number;
  maxVersionsBehind: number;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function toBytes(value: Uint8Array | string): Uint8Array {
  if (typeof value === 'string') return utf8.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError('a value is a string (stored as UTF-8) or a Uint8Array');
}

/** The replicated per-node key/value state. See the file comment. */
export class ReplicatedState {
  readonly #core: StateCore;
  readonly #serf: Serf;

  constructor(init: ReplicatedStateInit) {
    const { serf, generation, persistence, changeCache, ...rest } = init;
    if (serf === undefined) throw new ConfigError('serf', 'the replicated state needs the Serf it runs on');
    if (generation !== undefined && !(Number.isSafeInteger(generation) && generation >= 1)) {
      throw new ConfigError('generation', `expected an integer >= 1; got ${JSON.stringify(generation)}`);
    }
    const options = resolveStateOptions(rest);
    this.#serf = serf;
    let core: StateCore | undefined;
    const ext: SerfExtension = {
      capability: STATE_CAPABILITY,
      capabilityVersion: STATE_CAPABILITY_VERSION,
      messageType: STATE_MESSAGE_TYPE,
      handleMessage: (payload, from) => core && handleMessage(core, payload, from),
      getBroadcasts: (overhead, limit, to) => (core ? getBroadcasts(core, overhead, limit, to) : []),
      broadcastsPending: () => core !== undefined && core.queue.length > 0,
      start: () => core && start(core, serf),
      stop: () => core && stop(core),
    };
    const ctx: ExtensionContext = serf.registerExtension(ext);
    const gen = generation ?? 1 + ctx.random.int(2 ** 31 - 1);
    const loaded = loadPersisted(persistence, gen, ctx.clock.now());
    core = new StateCore({
      options,
      ctx,
      retransmitMult: () => serf.memberlist.options.retransmitMult,
      persistence,
      generation: loaded.generation,
      initial: loaded.map,
      changeCache,
    });
    persistence?.rewrite(persistedState(core));
    this.#core = core;
    const c = core;
    for (const type of ['member-join', 'member-update', 'member-leave', 'member-failed'] as const) {
      serf.on(type, (e) => {
        for (const m of e.members) onMember(c, m);
      });
    }
    serf.on('member-reap', (e) => {
      for (const m of e.members) onReap(c, m);
    });
  }

  /** The validated options in effect. */
  get options(): Readonly<StateOptions> {
    return this.#core.opts;
  }

  /** This node's name. */
  get name(): string {
    return this.#core.name;
  }

  /** Our generation now. */
  get generation(): number {
    return this.#core.self.live.gen;
  }

  /** Our version counter: the version our last write or delete took. */
  get version(): number {
    return this.#core.self.live.max;
  }

  /**
   * Writes `key` in our map (a string is stored as UTF-8). Local and synchronous: it is
   * persisted (with a persistence hook), visible here at once, and gossiped from here.
   * @throws StateLimitError over `maxValueBytes`, `maxKeyBytes`, `maxKeysPerNode` or
   *   `maxBytesPerNode` (nothing is written or sent); a `persist-failed` GossipError when the
   *   persistence hook threw; StateError once the Serf is shut down.
   */
  set(key: string, value: Uint8Array | string, options: SetOptions = {}): WriteResult {
    this.#assertOpen('write');
    return setLocal(this.#core, key, toBytes(value), options);
  }

  /** Writes `value` as JSON text. */
  setJson(key: string, value: unknown, options: SetOptions = {}): WriteResult {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('the value has no JSON form');
    return this.set(key, text, options);
  }

  /** Deletes `key` from our map (a tombstone others apply); undefined when it holds no value. */
  delete(key: string): WriteResult | undefined {
    this.#assertOpen('delete');
    return deleteLocal(this.#core, key);
  }

  /** A visible value of `node`'s map (ours by default), or undefined. */
  get(key: string, options: { node?: string } = {}): Uint8Array | undefined {
    return this.getEntry(key, options)?.value;
  }

  /** A visible value as text (UTF-8). */
  getText(key: string, options: { node?: string } = {}): string | undefined {
    const v = this.get(key, options);
    return v === undefined ? undefined : fromUtf8.decode(v);
  }

  /** A visible value parsed as JSON. @throws SyntaxError when it is not JSON. */
  getJson<T = unknown>(key: string, options: { node?: string } = {}): T | undefined {
    const t = this.getText(key, options);
    return t === undefined ? undefined : (JSON.parse(t) as T);
  }

  /** A visible entry of `node`'s map (ours by default), with its version and owner status. */
  getEntry(key: string, options: { node?: string } = {}): StateEntry | undefined {
    const copy = this.#core.copies.get(options.node ?? this.#core.name);
    return copy === undefined ? undefined : this.#core.entryOf(copy, key);
  }

  /** Every visible entry, of one node or all, optionally under a key prefix; by node, then key. */
  entries(options: { node?: string; prefix?: string } = {}): StateEntry[] {
    const core = this.#core;
    const out: StateEntry[] = [];
    const copies =
      options.node === undefined
        ? [...core.copies.values()]
        : [core.copies.get(options.node)].filter((c) => c !== undefined);
    copies.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    for (const copy of copies) {
      const keys = [...copy.live.entries.keys()].sort();
      for (const key of keys) {
        if (options.prefix !== undefined && !key.startsWith(options.prefix)) continue;
        const e = core.entryOf(copy, key);
        if (e !== undefined) out.push(e);
      }
    }
    return out;
  }

  /**
   * The nodes whose map holds `key` (with exactly `value`, when given), sorted. Owners that
   * failed or left are left out unless `includeAway` is set.
   */
  nodesWhere(key: string, value?: Uint8Array | string, options: { includeAway?: boolean } = {}): string[] {
    const want = value === undefined ? undefined : toBytes(value);
    const out: string[] = [];
    for (const copy of this.#core.copies.values()) {
      if (copy.isOwnerAway && options.includeAway !== true) continue;
      const c = copy.live.entries.get(key);
      if (!copy.isVisible(c)) continue;
      if (want !== undefined && !sameBytes(want, c.value)) continue;
      out.push(copy.node);
    }
    return out.sort();
  }

  /**
   * Where our copy of `node`'s map stands: its generation and the version up to which it
   * holds every change (gap-free), or undefined when we hold none.
   */
  mapVersion(node: string): { generation: number; version: number } | undefined {
    const copy = this.#core.copies.get(node);
    return copy === undefined ? undefined : { generation: copy.live.gen, version: copy.live.max };
  }

  /** The nodes whose maps we hold (ours included), sorted. */
  nodes(): string[] {
    return [...this.#core.copies.keys()].sort();
  }

  /**
   * Watches changes: first a snapshot of the visible entries the filter selects (unless
   * resuming from `since`), then every set and delete as it is applied here, per node in
   * version order. See watch.ts for resume tokens and the backlog bound.
   */
  watch(options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    const filter = {
      ...(options.node !== undefined ? { node: options.node } : {}),
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    };
    return this.#core.hub.open(options, () => this.entries(filter));
  }

  /** Watches open now. */
  get watchCount(): number {
    return this.#core.hub.size;
  }

  /** Whether a watch from `token` would resume after it (rather than start over with a snapshot). */
  canResume(token: string): boolean {
    return this.#core.hub.canResume(token);
  }

  /** How far behind each map we hold is, for those behind (replication lag). */
  replicationLag(): ReplicationLag[] {
    const core = this.#core;
    const now = core.clock.now();
    const out: ReplicationLag[] = [];
    for (const copy of core.copies.values()) {
      if (copy.behindSince === undefined) continue;
      const live = copy.live;
      const versionsBehind = copy.knownGen === live.gen ? copy.knownMax - live.max : copy.knownMax;
      out.push({ node: copy.node, versionsBehind, behindForMs: now - copy.behindSince });
    }
    return out.sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  /**
   * Where every live node of ours stands on `node`'s map (ours included): each is asked and
   * answers with the generation and version it holds (0, 0 when none). Resolves when all
   * answered or after `timeoutMs`, with the answers that came. How a write's spread is watched.
   * @throws RangeError when 64 questions are already in flight.
   */
  replicas(node: string, options: { timeoutMs?: number } = {}): Promise<ReplicaVersion[]> {
    return askReplicas(this.#core, node, options.timeoutMs ?? 1000);
  }

  /** Whether `member` is one of ours (advertises the state capability). */
  isMemberOfOurs(member: string): boolean {
    return member === this.#core.name || isOurs(this.#core, member);
  }

  /** Counters and sizes. */
  info(): StateInfo {
    const core = this.#core;
    let entries = 0;
    let bytes = 0;
    for (const copy of core.copies.values()) {
      for (const c of copy.live.entries.values()) {
        if (!copy.isVisible(c)) continue;
        entries++;
        bytes += entryBytes(c.key, c.value);
      }
    }
    const lag = this.replicationLag();
    const self = core.self.live;
    return {
      ...core.stats,
      writesRefused: { ...core.stats.writesRefused },
      dropped: { ...core.stats.dropped },
      nodes: core.copies.size,
      entries,
      bytes,
      ownKeys: self.liveKeys,
      ownBytes: self.liveBytes,
      version: self.max,
      generation: self.gen,
      queueDepth: core.queue.length,
      pendingUpdates: core.pendingCount,
      watches: core.hub.size,
      lagging: lag.length,
      maxVersionsBehind: lag.reduce((m, l) => Math.max(m, l.versionsBehind), 0),
    };
  }

  #assertOpen(what: string): void {
    const s = this.#serf.state;
    if (s === 'shutdown') throw new StateError(`cannot ${what}: the Serf is shut down`);
  }
}

function handleMessage(core: StateCore, payload: Uint8Array, from: Addr): void {
  core.stats.bytesReceived += payload.length;
  const decoded = decodeStateMessage(payload);
  if (!decoded.ok) {
    core.drop(decoded.reason, decoded.detail, { from });
    return;
  }
  const m = decoded.value;
  switch (m.kind) {
    case 'update':
      handleUpdate(core, m.body, payload, from);
      break;
    case 'notice':
      handleNotice(core, m.body, payload, from);
      break;
    case 'sync':
      handleSync(core, m.body);
      break;
    case 'delta':
      handleDelta(core, m.body);
      break;
    case 'ask':
      handleAsk(core, m.body);
      break;
    case 'tell':
      handleTell(core, m.body);
      break;
  }
}

function start(core: StateCore, serf: Serf): void {
  core.isRunning = true;
  for (const m of serf.members()) onMember(core, m);
  const o = core.opts;
  // The first round at a random point of the interval, so that nodes started together spread out.
  core.after(core.random.float() * o.antiEntropyIntervalMs, () => {
    antiEntropyRound(core);
    core.every(o.antiEntropyIntervalMs, () => antiEntropyRound(core));
  });
  core.every(o.sweepIntervalMs, () => sweep(core));
}

function stop(core: StateCore): void {
  core.isRunning = false;
  for (const t of core.timers) t.cancel();
  core.timers.clear();
  for (const copy of core.copies.values()) copy.gapTimer?.cancel();
  for (const ask of [...core.asks.values()]) ask.settle();
  core.hub.closeAll();
}
