/**
 * The Serf layer's shared state. The activities live in their own files and operate on a
 * {@link SerfCore}: `members.ts` (status, intents, reaping, reconnects), `events.ts` (user events
 * and the event ring), `query.ts` (queries, responses, filters, relays), `internal-query.ts`
 * (`_serf_*` queries), `keymanager.ts`, `broadcasts.ts` (the three gossip queues) and
 * `delegate.ts` (what memberlist calls).
 *
 * Pure, like the membership core: time from the injected `Clock`, randomness from the `Random`,
 * and every byte in or out through the `Memberlist`, which owns the transport.
 *
 * Every collection here has a named bound; exceeding it is a counted, logged drop.
 */

import type { Logger } from '../log.ts';
import type { Memberlist } from '../membership/memberlist.ts';
import { TransmitLimitedQueue } from '../membership/queue.ts';
import type { Clock, Timer } from '../runtime/clock.ts';
import { TypedEmitter } from '../runtime/emitter.ts';
import type { Random } from '../runtime/random.ts';
import type { Keyring } from '../wire/crypto.ts';
import { ipToString } from '../wire/ip.ts';
import type { Coordinate, SerfMessageTypeName } from '../wire/serf.ts';
import { CoordinateClient } from './coordinate.ts';
import type { SerfExtension } from './extension.ts';
import { LamportClock, type LamportTime } from './lamport.ts';
import type { SerfOptions } from './options.ts';
import type { Query, QueryResponse } from './query.ts';
import type { MemberStatus, SerfEvent, SerfEvents, SerfMember } from './types.ts';

/** Most members remembered (alive, leaving, failed and left together); the oldest tombstone goes first. */
export const MAX_MEMBERS = 1_000_000;
/** Most buffered intents for members not known yet (Serf's `recentIntents` is unbounded). */
export const MAX_RECENT_INTENTS = 65_536;
/** Most distinct user events kept for one Lamport time in the event ring. */
export const MAX_EVENTS_PER_LTIME = 256;
/** Most distinct query IDs kept for one Lamport time in the query ring. */
export const MAX_QUERY_IDS_PER_LTIME = 256;
/** Most queries this node has issued that are still collecting answers. */
export const MAX_PENDING_QUERIES = 1024;
/** Most acks plus responses one query collects. */
export const MAX_QUERY_REPLIES = 65_536;
/**
 * Queue cap when `minQueueDepth` sizes the queues dynamically (the periodic check prunes to the
 * dynamic limit; this only stops a burst between checks from growing without bound).
 */
export const DYNAMIC_QUEUE_HARD_CAP = 1 << 20;

/** What the Serf layer knows about one member (Serf `memberState`). */
export interface MemberState {
  name: string;
  /**
   * IP address bytes (4 or 16). `addr`, `tags`, `capabilities` and `vsn` are shared with every
   * entry of equal content (members.ts `describe`) and never modified: a change replaces them.
   */
  addr: Uint8Array;
  port: number;
  tags: Readonly<Record<string, string>>;
  /** What it advertises after its tags (see `extension.ts`); empty for a Serf agent. */
  capabilities: Readonly<Record<string, number>>;
  status: MemberStatus;
  /** Member-clock time of the newest intent applied to this member. */
  statusLTime: LamportTime;
  /** Clock time (ms) it failed or left; 0 while alive or leaving. */
  leaveTime: number;
  /** `[pmin, pmax, pcur, dmin, dmax, dcur]` as memberlist last reported it. */
  vsn: readonly number[];
}

/** An intent that arrived before memberlist told us about its member (Serf `nodeIntent`). */
export interface NodeIntent {
  type: 'join' | 'leave';
  lTime: LamportTime;
  /** Clock time (ms) it was stored, for expiry after `recentIntentTimeoutMs`. */
  seenAt: number;
}

/** The user events of one Lamport time, as the event ring holds them. */
export interface EventSlot {
  lTime: LamportTime;
  events: { name: string; payload: Uint8Array }[];
}

/** The query IDs seen at one Lamport time. */
export interface QuerySlot {
  lTime: LamportTime;
  ids: number[];
}

/** Lifecycle of a {@link Serf} (Serf `SerfState`, plus `created` before `start()`). */
export type SerfState = 'created' | 'alive' | 'leaving' | 'left' | 'shutdown';

/** Counters of the Serf layer; the agent exports them as metrics. Live object: read, do not mutate. */
export interface SerfStats {
  /** Serf messages received, by type name. */
  messagesReceived: Record<string, number>;
  /** Serf messages that could not be decoded, or were refused, by reason. */
  dropped: Record<string, number>;
  /** User events delivered to this node. */
  userEvents: number;
  /** Queries delivered to this node (filters matched), internal ones included. */
  queries: number;
  queryAcks: number;
  queryResponses: number;
  duplicateAcks: number;
  duplicateResponses: number;
  /** Relayed responses this node forwarded for others. */
  relaysForwarded: number;
  /** Failed members that came back within `flapTimeoutMs`. */
  flaps: number;
  reconnectAttempts: number;
  /** Join intents this node broadcast about itself (joins and refutations). */
  joinIntentsSent: number;
  /** Broadcasts dropped by queue pruning (filled in by `Serf.stats()`). */
  queuePruned: number;
}

function newStats(): SerfStats {
  return {
    messagesReceived: {},
    dropped: {},
    userEvents: 0,
    queries: 0,
    queryAcks: 0,
    queryResponses: 0,
    duplicateAcks: 0,
    duplicateResponses: 0,
    relaysForwarded: 0,
    flaps: 0,
    reconnectAttempts: 0,
    joinIntentsSent: 0,
    queuePruned: 0,
  };
}

/** Everything a {@link SerfCore} is built from. */
export interface SerfCoreDeps {
  name: string;
  options: SerfOptions;
  tags: Record<string, string>;
  clock: Clock;
  random: Random;
  logger: Logger;
  keyring: Keyring | undefined;
  /** Inbound Serf messages of these types are dropped (tests and fault injection). */
  messageFilter: ((type: SerfMessageTypeName) => boolean) | undefined;
}

/**
 * The Serf layer's state, shared by the activity modules. Internal: the public API is the
 * {@link Serf} class, which owns one. Single-threaded; every method returns promptly.
 */
export class SerfCore {
  readonly name: string;
  readonly opts: SerfOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly keyring: Keyring | undefined;
  readonly messageFilter: ((type: SerfMessageTypeName) => boolean) | undefined;
  readonly events = new TypedEmitter<SerfEvents>();
  readonly stats = newStats();

  readonly memberClock = new LamportClock();
  readonly eventClock = new LamportClock();
  readonly queryClock = new LamportClock();

  /** Every member Serf knows, by name. Bounded by {@link MAX_MEMBERS}. */
  readonly members = new Map<string, MemberState>();
  /** Failed members by name, oldest failure first (Serf `failedMembers`). */
  readonly failedMembers = new Map<string, MemberState>();
  /** Members that left, by name, oldest first (Serf `leftMembers`). */
  readonly leftMembers = new Map<string, MemberState>();
  /**
   * Members held `leaving`, by name, with the clock time (ms) each became so, oldest first
   * (for the reaper's check of leaves that never complete, members.ts). Bounded by the members.
   */
  readonly leavingSince = new Map<string, number>();
  /** Bounded by {@link MAX_RECENT_INTENTS}. */
  readonly recentIntents = new Map<string, NodeIntent>();

  /** Join and leave intents. */
  readonly intentQueue: TransmitLimitedQueue;
  /** User events. */
  readonly eventQueue: TransmitLimitedQueue;
  readonly queryQueue: TransmitLimitedQueue;

  /** The recent-events ring: `eventBuffer` slots, indexed by `lTime % eventBuffer`. */
  readonly eventRing: (EventSlot | null)[];
  /** User events older than this are ignored (set by a snapshot restore or `ignoreOld` joins). */
  eventMinTime: LamportTime = 0;
  readonly queryRing: (QuerySlot | null)[];
  queryMinTime: LamportTime = 0;
  /** Queries we issued that are still collecting, keyed by `lTime:id`. Bounded by {@link MAX_PENDING_QUERIES}. */
  readonly pendingQueries = new Map<string, QueryResponse>();

  tags: Record<string, string>;
  /** Extensions by the message type they own (registered before start). */
  readonly extensions = new Map<number, SerfExtension>();
  /** Our capabilities, advertised after our tags: one per extension. */
  readonly capabilities: Record<string, number> = {};
  state: SerfState = 'created';
  /** Set while a `join({ ignoreOld: true })` is in progress (Serf `eventJoinIgnore`). */
  eventJoinIgnore = false;
  /** Our memberlist; set right after construction. */
  ml!: Memberlist;
  /** Handles `_serf_*` queries (set by the Serf class; see `internal-query.ts`). */
  internalQueryHandler: ((query: Query) => void) | undefined;
  /** Whether a name-conflict vote about our name is running (one at a time). */
  resolvingConflict = false;
  /** The newest leave intent about ourselves we refuted (each is refuted once). */
  lastRefutedLeave: LamportTime = 0;
  /** Our Vivaldi coordinate client, unless coordinates are disabled. */
  readonly coordClient: CoordinateClient | undefined;
  /** The last coordinate each member sent us in an ack (ours included). Bounded by the members. */
  readonly coordCache = new Map<string, Coordinate>();
  /**
   * Timers to cancel at shutdown: the three periodic ones, plus one per member being pruned
   * (so bounded by {@link MAX_MEMBERS}).
   */
  readonly timers = new Set<Timer>();

  constructor(deps: SerfCoreDeps) {
    this.name = deps.name;
    this.opts = deps.options;
    this.tags = deps.tags;
    this.clock = deps.clock;
    this.random = deps.random;
    this.log = deps.logger;
    this.keyring = deps.keyring;
    this.messageFilter = deps.messageFilter;
    const o = this.opts;
    this.coordClient = o.disableCoordinates ? undefined : new CoordinateClient(this.random.fork());
    if (this.coordClient) this.coordCache.set(this.name, this.coordClient.coordinate);
    const depth = o.minQueueDepth > 0 ? DYNAMIC_QUEUE_HARD_CAP : o.maxQueueDepth;
    const mult = () => this.ml.options.retransmitMult;
    const numNodes = () => this.members.size;
    this.intentQueue = new TransmitLimitedQueue(mult, numNodes, depth);
    this.eventQueue = new TransmitLimitedQueue(mult, numNodes, depth);
    this.queryQueue = new TransmitLimitedQueue(mult, numNodes, depth);
    this.eventRing = new Array<EventSlot | null>(o.eventBuffer).fill(null);
    this.queryRing = new Array<QuerySlot | null>(o.queryBuffer).fill(null);
    this.events.onListenerError = (e, event) =>
      this.log.error('a Serf event listener threw', { event: String(event), error: String(e) });
    this.memberClock.onChange = (time) => this.events.emit('clock', { clock: 'member', time });
    this.eventClock.onChange = (time) => this.events.emit('clock', { clock: 'event', time });
    this.queryClock.onChange = (time) => this.events.emit('clock', { clock: 'query', time });
  }

  /** Serf `NumNodes`: every member known, whatever its status (the retransmit base). */
  numNodes(): number {
    return this.members.size;
  }

  /** Whether the node can still take part (not created, not shut down). */
  get isRunning(): boolean {
    return this.state === 'alive' || this.state === 'leaving' || this.state === 'left';
  }

  /** Adds one to `table[key]`. */
  count(table: Record<string, number>, key: string): void {
    table[key] = (table[key] ?? 0) + 1;
  }

  /** Counts and logs a dropped message. */
  drop(reason: string, detail: string, fields: Record<string, unknown> = {}): void {
    this.count(this.stats.dropped, reason);
    this.log.debug('serf: dropped input', { reason, detail, ...fields });
  }

  /** Emits an event under its own name and on the combined `event` stream. */
  emitEvent(e: SerfEvent): void {
    switch (e.type) {
      case 'user':
        this.events.emit('user', e);
        break;
      case 'query':
        this.events.emit('query', e);
        break;
      default:
        this.events.emit(e.type, e);
    }
    this.events.emit('event', e);
  }

  /** Runs `fn` every `intervalMs` on the injected clock until shutdown. */
  every(intervalMs: number, fn: () => void): void {
    const arm = () => {
      const t = this.clock.setTimer(intervalMs, () => {
        this.timers.delete(t);
        if (this.state === 'shutdown') return;
        arm();
        fn();
      });
      this.timers.add(t);
    };
    arm();
  }

  /** Runs `fn` once after `delayMs` unless the node shut down first. */
  after(delayMs: number, fn: () => void): Timer {
    const t = this.clock.setTimer(delayMs, () => {
      this.timers.delete(t);
      if (this.state !== 'shutdown') fn();
    });
    this.timers.add(t);
    return t;
  }
}

/** A public snapshot of a member. */
export function toSerfMember(m: MemberState): SerfMember {
  const v = m.vsn;
  return {
    name: m.name,
    addr: ipToString(m.addr),
    port: m.port,
    tags: { ...m.tags },
    status: m.status,
    protocol: { min: v[0] ?? 0, max: v[1] ?? 0, version: v[2] ?? 0 },
    delegate: { min: v[3] ?? 0, max: v[4] ?? 0, version: v[5] ?? 0 },
  };
}
