/**
 * The replicated state's shared state. The activities live in their own files and operate on
 * a {@link StateCore}: `local.ts` (our own writes, TTLs, collection, generation),
 * `apply.ts` (applying others' changes in order), `gossip.ts` (fresh writes on the gossip
 * broadcast queue), `sync.ts` (anti-entropy: digests and deltas), `peers.ts` (which members
 * are ours, and their liveness).
 *
 * Pure, like the layers below: time from the injected `Clock`, randomness from the `Random`,
 * and every byte in or out through the Serf extension context (memberlist's packets and
 * streams). Persistence goes through an injected hook; nothing here touches a file.
 */
import type { ExtensionContext } from '../cluster/extension.ts';
import type { Logger } from '../log.ts';
import { TransmitLimitedQueue } from '../membership/queue.ts';
import type { Clock, Timer } from '../runtime/clock.ts';
import type { Random } from '../runtime/random.ts';
import type { Addr } from '../transport/transport.ts';
import { EntryFlag } from './codec.ts';
import { DigestTree } from './digest.ts';
import type { StateOptions } from './options.ts';
import type { PendingAsk } from './replicas.ts';
import { type ChangeCache, MapData, NodeCopy } from './store.ts';
import type { OwnerStatus, StateChange, StateEntry, StatePersistence, StateStats } from './types.ts';
import { WatchHub } from './watch.ts';

/** A member of ours (it advertises the state capability), other than us. */
export interface Peer {
  readonly name: string;
  addr: Addr;
  status: OwnerStatus;
}

function newStats(): StateStats {
  return {
    writes: 0,
    writesRefused: {},
    updatesQueued: 0,
    noticesQueued: 0,
    updatesReceived: 0,
    antiEntropyRounds: 0,
    syncsSent: 0,
    syncsReceived: 0,
    deltasSent: 0,
    deltasReceived: 0,
    deltaEntriesSent: 0,
    deltaEntriesReceived: 0,
    resetsSent: 0,
    resetsReceived: 0,
    streamDeltasSent: 0,
    packetsSent: 0,
    streamsSent: 0,
    broadcastsSent: 0,
    bytesSent: 0,
    bytesReceived: 0,
    generationBumps: 0,
    tombstonesCollected: 0,
    dropped: {},
  };
}

/** Everything a {@link StateCore} is built from. */
export interface StateCoreDeps {
  options: StateOptions;
  ctx: ExtensionContext;
  /** memberlist's retransmit multiplier (the broadcast queue's transmit limit). */
  retransmitMult: () => number;
  persistence: StatePersistence | undefined;
  /** Our generation (already raised over any persisted one). */
  generation: number;
  /** Our map as persisted, to start from. */
  initial: MapData | undefined;
  /** Shared copies of changes (many nodes in one process). */
  changeCache: ChangeCache | undefined;
}

export class StateCore {
  readonly name: string;
  readonly opts: StateOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly ctx: ExtensionContext;
  readonly persistence: StatePersistence | undefined;
  readonly changeCache: ChangeCache | undefined;
  readonly stats = newStats();
  /** Every map we hold, by node name (ours included). Bounded by `maxNodes`. */
  readonly copies = new Map<string, NodeCopy>();
  readonly tree = new DigestTree<NodeCopy>();
  /** Our own map. */
  readonly self: NodeCopy;
  /** Updates and notices waiting to be gossiped (bounded by `maxQueueDepth`). */
  readonly queue: TransmitLimitedQueue;
  readonly hub: WatchHub;
  /** Members of ours, by name (us excluded). Bounded by the Serf member table. */
  readonly peers = new Map<string, Peer>();
  /** Their addresses, for telling which gossip targets are ours. */
  readonly peerByAddr = new Map<Addr, string>();
  /** Out-of-order updates held over all maps (bounded by `maxPendingUpdates`). */
  pendingCount = 0;
  readonly timers = new Set<Timer>();
  /** Questions about replicas in flight (replicas.ts), bounded by `MAX_PENDING_ASKS`. */
  readonly asks = new Map<number, PendingAsk>();
  #askId = 0;
  isRunning = false;

  constructor(deps: StateCoreDeps) {
    const ctx = deps.ctx;
    this.name = ctx.name;
    this.opts = deps.options;
    this.clock = ctx.clock;
    this.random = ctx.random;
    this.log = ctx.logger;
    this.ctx = ctx;
    this.persistence = deps.persistence;
    this.changeCache = deps.changeCache;
    this.queue = new TransmitLimitedQueue(
      deps.retransmitMult,
      () => this.peers.size + 1,
      this.opts.maxQueueDepth,
    );
    const epoch = (this.random.uint32() * 2 ** 21 + (this.random.uint32() >>> 11)).toString(36);
    this.hub = new WatchHub(epoch, this.opts.changeLogSize, this.opts.maxWatchBacklog);
    const live = deps.initial ?? new MapData(deps.generation);
    live.gen = deps.generation;
    this.self = new NodeCopy(this.name, live);
    this.copies.set(this.name, this.self);
    this.tree.add(this.self, live.gen, live.max);
  }

  nextAskId(): number {
    this.#askId = (this.#askId + 1) >>> 0;
    return this.#askId;
  }

  /** Publishes changes to the watches. */
  emit(changes: readonly StateChange[]): void {
    for (const c of changes) this.hub.publish(c);
  }

  /** Adds one to `table[key]`. */
  count(table: Record<string, number>, key: string): void {
    table[key] = (table[key] ?? 0) + 1;
  }

  /** Counts and logs dropped input. */
  drop(reason: string, detail: string, fields: Record<string, unknown> = {}): void {
    this.count(this.stats.dropped, reason);
    this.log.debug('state: dropped input', { reason, detail, ...fields });
  }

  /** Re-hashes a map's digest entry after its generation or max changed. */
  touch(copy: NodeCopy): void {
    const t = copy.target;
    this.tree.update(copy, t.gen, t.max);
  }

  /** Sends one message to a peer in a packet. */
  sendPacket(peer: Peer, payload: Uint8Array): void {
    this.stats.packetsSent++;
    this.stats.bytesSent += payload.length;
    this.ctx.sendPacket(peer.addr, payload);
  }

  /** Sends one message to a peer over a stream (a failure is logged: anti-entropy repairs it). */
  sendStream(peer: Peer, payload: Uint8Array): void {
    this.stats.streamsSent++;
    this.stats.bytesSent += payload.length;
    this.ctx.sendStream(peer.addr, payload).catch((e: unknown) => {
      this.log.debug('state: a stream send failed', { node: peer.name, error: String(e) });
    });
  }

  /** Runs `fn` every `intervalMs` until stopped. */
  every(intervalMs: number, fn: () => void): void {
    const arm = () => {
      const t = this.clock.setTimer(intervalMs, () => {
        this.timers.delete(t);
        if (!this.isRunning) return;
        arm();
        fn();
      });
      this.timers.add(t);
    };
    arm();
  }

  /** Runs `fn` once after `delayMs` unless stopped first. */
  after(delayMs: number, fn: () => void): Timer {
    const t = this.clock.setTimer(delayMs, () => {
      this.timers.delete(t);
      if (this.isRunning) fn();
    });
    this.timers.add(t);
    return t;
  }

  /** A read-only view of one visible entry. */
  entryOf(copy: NodeCopy, key: string): StateEntry | undefined {
    const c = copy.live.entries.get(key);
    if (!copy.isVisible(c)) return undefined;
    const ttl = copy.live.ttlLeft(key, this.clock.now());
    return {
      node: copy.node,
      key,
      value: c.value,
      version: c.version,
      generation: copy.live.gen,
      ephemeral: (c.flags & EntryFlag.ephemeral) !== 0,
      ttlRemainingMs: ttl > 0 ? ttl : undefined,
      ownerStatus: copy.ownerStatus,
    };
  }
}
