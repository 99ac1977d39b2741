/**
 * The public face of the Serf layer: a node of a HashiCorp Serf cluster, wire-compatible with
 * `serf agent` 0.9.4 — membership with reasons (alive, leaving, left, failed), tags, user
 * events, queries, and cluster-wide key rotation, on top of our memberlist.
 *
 * ```ts
 * const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:7946' });
 * const serf = new Serf({ name: 'web-1', transport, tags: { role: 'web' } });
 * serf.on('member-join', (e) => console.log('joined', e.members.map((m) => m.name)));
 * serf.on('query', (q) => q.respond(`hello from web-1`));
 * serf.start();
 * await serf.join(['127.0.0.1:7947']);
 * serf.userEvent('deploy', 'v1.2.3');
 * ```
 *
 * The Serf owns the `Memberlist` it creates: it passes itself as the memberlist delegate, and
 * advertises Serf's protocol versions (`[1, 5, 2, 2, 5, 5]`) so that agents accept us.
 * Construction does no I/O; `start()` starts memberlist and Serf's reaper, reconnect and
 * queue-check timers on the injected clock. Long operations take an `AbortSignal`.
 */

import { ConfigError, StateError, TimeoutError } from '../errors.ts';
import { type Logger, safeLogger, silentLogger } from '../log.ts';
import { Memberlist, type MemberlistInit } from '../membership/memberlist.ts';
import type { Member as MlMember } from '../membership/node-state.ts';
import type { ProfileName } from '../membership/options.ts';
import { BroadcastPriority } from '../membership/queue.ts';
import { type Clock, RealClock } from '../runtime/clock.ts';
import type { Listener } from '../runtime/emitter.ts';
import { type Random, SeededRandom } from '../runtime/random.ts';
import { secureSeed } from '../runtime/seed.ts';
import type { Transport } from '../transport/transport.ts';
import type { Keyring } from '../wire/crypto.ts';
import { encryptionOverhead } from '../wire/crypto.ts';
import type { Coordinate } from '../wire/serf.ts';
import { encodeSerfMessage, type MessageLeave, type SerfMessageTypeName } from '../wire/serf.ts';
import { checkQueues } from './broadcasts.ts';
import { distanceSeconds } from './coordinate.ts';
import { SerfCore, type SerfState, type SerfStats, toSerfMember } from './core.ts';
import { serfDelegate, tagsToMeta } from './delegate.ts';
import { sendUserEvent } from './events.ts';
import {
  CAPABILITY_NAME_MAX_CHARS,
  EXTENSION_MESSAGE_TYPE_MIN,
  type ExtensionContext,
  type SerfExtension,
} from './extension.ts';
import { handleInternalQuery, resolveNodeConflict } from './internal-query.ts';
import { KeyManager } from './keymanager.ts';
import type { LamportTime } from './lamport.ts';
import {
  broadcastJoin,
  handleNodeJoin,
  handleNodeLeave,
  handleNodeLeaveIntent,
  handleNodeUpdate,
  hasAliveMembers,
  pickReconnectTarget,
  reap,
} from './members.ts';
import { resolveSerfOptions, type SerfOptions } from './options.ts';
import { defaultQueryTimeoutMs, type QueryParams, type QueryResponse, startQuery } from './query.ts';
import type { SerfEvents, SerfMember } from './types.ts';

/**
 * Bytes of a packet an extension's message cannot use: memberlist's user-message type byte, the
 * CRC header (type byte + 4), and room for a compound header and compression's header.
 */
const EXTENSION_PACKET_FRAMING_BYTES = 32;

/** The memberlist protocol every Serf protocol version maps to (Serf `ProtocolVersionMap`). */
const MEMBERLIST_PROTOCOL_FOR_SERF = 2;

/** memberlist options a Serf passes through (the rest it sets itself). */
export type MemberlistOverrides = Omit<
  Partial<MemberlistInit>,
  | 'name'
  | 'transport'
  | 'delegate'
  | 'clock'
  | 'random'
  | 'seed'
  | 'keyring'
  | 'logger'
  | 'profile'
  | 'protocolVersion'
  | 'delegateProtocolMin'
  | 'delegateProtocolMax'
  | 'delegateProtocolVersion'
>;

/** Clock values read back from a snapshot (each is witnessed, so the clock resumes past it). */
export interface RestoredClocks {
  /** The snapshot's `clock:` value. */
  member?: LamportTime;
  /** The snapshot's `event-clock:` value: older user events are not delivered again. */
  event?: LamportTime;
  /** The snapshot's `query-clock:` value: older queries are not answered again. */
  query?: LamportTime;
}

/** A member from a snapshot's `alive:` lines, for {@link Serf.rejoin}. */
export interface PreviousNode {
  name: string;
  /** `ip:port`. */
  addr: string;
}

/** What a {@link Serf} is made from: Serf options (any subset, over Serf's defaults) and its edges. */
export interface SerfInit extends Partial<SerfOptions> {
  /** This node's name, unique in the cluster. */
  name: string;
  /** A bound transport (`await UdpTcpTransport.listen(...)`, or a `MemoryNetwork`'s). */
  transport: Transport;
  /** This node's tags: at most 512 bytes encoded. */
  tags?: Readonly<Record<string, string>>;
  /** memberlist timing profile. @default 'lan' */
  profile?: ProfileName;
  /** memberlist options over the profile (probe and gossip timings, advertise address, ...). */
  memberlist?: MemberlistOverrides;
  /** @default a real clock */
  clock?: Clock;
  /** @default a generator seeded from `seed`, or from the OS */
  random?: Random;
  seed?: number;
  /**
   * Encryption keys; with at least one, traffic is encrypted with the first. Key queries change
   * this keyring in place. Without it, key queries answer "encryption not enabled".
   */
  keyring?: Keyring;
  logger?: Logger;
  /** Clock values to resume from (a snapshot restore). */
  restoredClocks?: RestoredClocks;
  /**
   * Drops inbound Serf messages of the types for which it returns true (tests and fault
   * injection, like Serf's `messageDropper`). `join` also drops memberlist's join notices.
   */
  messageFilter?: (type: SerfMessageTypeName) => boolean;
}

/** Options of {@link Serf.join}. */
export interface JoinOptions {
  /** Do not deliver user events sent before this join (the agent's default: `-replay` off). @default false */
  ignoreOld?: boolean;
  signal?: AbortSignal;
}

/** Options of {@link Serf.userEvent}. */
export interface UserEventOptions {
  /** Let receivers coalesce it with newer events of the same name (as `serf event` does). @default true */
  coalesce?: boolean;
}

/** A signal, for long operations. */
export interface SerfSignalOptions {
  signal?: AbortSignal;
}

/** What `serf info` shows under "serf", plus our counters. */
export interface SerfInfo {
  members: number;
  failed: number;
  left: number;
  healthScore: number;
  memberTime: LamportTime;
  eventTime: LamportTime;
  queryTime: LamportTime;
  intentQueue: number;
  eventQueue: number;
  queryQueue: number;
  encrypted: boolean;
  /** A copy of the counters. */
  counters: Readonly<SerfStats>;
}

const utf8 = new TextEncoder();

function toBytes(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? utf8.encode(payload) : payload;
}

/**
 * A Serf cluster member. See the file comment for an example; events are listed in
 * {@link SerfEvents}, options in {@link SerfOptions}.
 */
export class Serf {
  readonly #core: SerfCore;
  readonly #ml: Memberlist;
  readonly #keys: KeyManager;
  #joining: Promise<unknown> = Promise.resolve();

  constructor(init: SerfInit) {
    const {
      name,
      transport,
      tags,
      profile,
      memberlist,
      clock,
      random,
      seed,
      keyring,
      logger,
      restoredClocks,
      messageFilter,
      ...rest
    } = init;
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigError('name', 'a node needs a non-empty name, unique in the cluster');
    }
    const options = resolveSerfOptions(rest);
    const theTags = { ...(tags ?? {}) };
    tagsToMeta(theTags, options.protocolVersion);
    const theClock = clock ?? new RealClock();
    const theRandom = random ?? new SeededRandom(seed ?? secureSeed());
    const log = safeLogger(logger ?? silentLogger);
    const core = new SerfCore({
      name,
      options,
      tags: theTags,
      clock: theClock,
      random: theRandom,
      logger: log,
      keyring,
      messageFilter,
    });
    this.#core = core;
    // Clocks start at 1, so that a join intent's default time 0 is always old.
    core.memberClock.increment();
    core.eventClock.increment();
    core.queryClock.increment();
    if (restoredClocks) {
      if (restoredClocks.member !== undefined) core.memberClock.witness(restoredClocks.member);
      if (restoredClocks.event !== undefined) {
        core.eventClock.witness(restoredClocks.event);
        core.eventMinTime = restoredClocks.event + 1;
      }
      if (restoredClocks.query !== undefined) {
        core.queryClock.witness(restoredClocks.query);
        core.queryMinTime = restoredClocks.query + 1;
      }
    }
    core.internalQueryHandler = (q) => handleInternalQuery(core, q);
    this.#ml = new Memberlist({
      ...(memberlist ?? {}),
      name,
      transport,
      profile: profile ?? 'lan',
      clock: theClock,
      random: theRandom.fork(),
      keyring,
      logger: log,
      protocolVersion: MEMBERLIST_PROTOCOL_FOR_SERF,
      delegateProtocolMin: 2,
      delegateProtocolMax: 5,
      delegateProtocolVersion: options.protocolVersion,
      delegate: serfDelegate(core, { onConflict: (existing, other) => this.#onConflict(existing, other) }),
    });
    core.ml = this.#ml;
    this.#ml.on('join', ({ member }) => handleNodeJoin(core, member));
    this.#ml.on('leave', ({ member }) => handleNodeLeave(core, member));
    this.#ml.on('update', ({ member }) => handleNodeUpdate(core, member));
    this.#keys = new KeyManager(core);
  }

  /** The validated Serf options in effect. */
  get options(): Readonly<SerfOptions> {
    return this.#core.opts;
  }

  /** This node's name. */
  get name(): string {
    return this.#core.name;
  }

  /** Lifecycle: `created` → `alive` → (`leaving` → `left`) → `shutdown`. */
  get state(): SerfState {
    return this.#core.state;
  }

  /** The memberlist underneath (health score, counters, SWIM-level view). */
  get memberlist(): Memberlist {
    return this.#ml;
  }

  /** Cluster-wide key operations (`serf keys`). */
  get keyManager(): KeyManager {
    return this.#keys;
  }

  /** The keyring given at construction, if any (key queries change it in place). */
  get keyring(): Keyring | undefined {
    return this.#core.keyring;
  }

  /** Our current tags (a copy). */
  get tags(): Record<string, string> {
    return { ...this.#core.tags };
  }

  /**
   * The three Lamport clocks' current values. A snapshotter records `member − 1` as `clock:`
   * (the newest time used or seen), as Serf's does.
   */
  get clocks(): { member: LamportTime; event: LamportTime; query: LamportTime } {
    const c = this.#core;
    return { member: c.memberClock.time(), event: c.eventClock.time(), query: c.queryClock.time() };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SerfEvents>(event: K, listener: Listener<SerfEvents[K]>): () => void {
    return this.#core.events.on(event, listener);
  }

  /** Subscribes for one event only. */
  once<K extends keyof SerfEvents>(event: K, listener: Listener<SerfEvents[K]>): () => void {
    return this.#core.events.once(event, listener);
  }

  /** Unsubscribes. */
  off<K extends keyof SerfEvents>(event: K, listener: Listener<SerfEvents[K]>): void {
    this.#core.events.off(event, listener);
  }

  /** Starts memberlist (which announces us) and Serf's reaper, reconnect and queue-check timers. */
  start(): void {
    const core = this.#core;
    if (core.state !== 'created') throw new StateError(`cannot start a Serf that is ${core.state}`);
    this.#ml.start();
    core.state = 'alive';
    const o = core.opts;
    core.every(o.reapIntervalMs, () => reap(core));
    core.every(o.reconnectIntervalMs, () => this.#reconnect());
    core.every(o.queueCheckIntervalMs, () => checkQueues(core));
    for (const ext of core.extensions.values()) this.#callExtension(ext, 'start', () => ext.start?.());
  }

  /**
   * Registers a layer that speaks messages of its own to the members that advertise its
   * capability (see `extension.ts`); before `start()` only, since the capability goes into the
   * node metadata we announce. Returns what the extension needs to run.
   * @throws StateError after start; ConfigError for a bad capability or a type already owned;
   *   SizeLimitError when our tags plus the capability no longer fit the 512-byte metadata.
   */
  registerExtension(ext: SerfExtension): ExtensionContext {
    const core = this.#core;
    if (core.state !== 'created') throw new StateError('extensions are registered before start()');
    if (core.opts.protocolVersion < 3) {
      throw new ConfigError(
        'protocolVersion',
        `extensions advertise themselves after the tag map, which Serf protocol 3 introduced; this node speaks ${core.opts.protocolVersion}`,
      );
    }
    const t = ext.messageType;
    if (!Number.isInteger(t) || t < EXTENSION_MESSAGE_TYPE_MIN || t > 255) {
      throw new ConfigError(
        'messageType',
        `an extension's message type must be an integer in [${EXTENSION_MESSAGE_TYPE_MIN}, 255], got ${t}`,
      );
    }
    if (core.extensions.has(t)) throw new ConfigError('messageType', `message type ${t} is already owned`);
    const name = ext.capability;
    if (typeof name !== 'string' || name.length === 0 || name.length > CAPABILITY_NAME_MAX_CHARS) {
      throw new ConfigError(
        'capability',
        `a capability is a name of 1 to ${CAPABILITY_NAME_MAX_CHARS} characters`,
      );
    }
    if (name in core.capabilities)
      throw new ConfigError('capability', `capability "${name}" is already registered`);
    const version = ext.capabilityVersion;
    if (!Number.isInteger(version) || version < 0 || version >= 2 ** 31) {
      throw new ConfigError('capabilityVersion', `an integer in [0, 2^31) is expected, got ${version}`);
    }
    tagsToMeta(core.tags, core.opts.protocolVersion, { ...core.capabilities, [name]: version });
    core.capabilities[name] = version;
    core.extensions.set(t, ext);
    const ml = this.#ml;
    const mlOpts = ml.options;
    let packetPayloadBytes = mlOpts.udpBufferBytes - EXTENSION_PACKET_FRAMING_BYTES;
    if (core.keyring !== undefined)
      packetPayloadBytes -= encryptionOverhead(mlOpts.protocolVersion < 2 ? 0 : 1);
    return {
      name: core.name,
      clock: core.clock,
      random: core.random.fork(),
      logger: core.log,
      packetPayloadBytes,
      sendPacket: (to, payload) => {
        if (core.isRunning) ml.sendBestEffort(to, payload);
      },
      sendStream: (to, payload) => ml.sendReliable(to, payload),
      capabilities: (member) => core.members.get(member)?.capabilities,
    };
  }

  #callExtension(ext: SerfExtension, what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#core.log.error(`serf: an extension threw in ${what}; ignoring it`, {
        extension: ext.capability,
        error: String(e),
      });
    }
  }

  #assertAlive(what: string): void {
    const state = this.#core.state;
    if (state !== 'alive') throw new StateError(`cannot ${what}: this Serf is ${state}`);
  }

  #assertRunning(what: string): void {
    if (!this.#core.isRunning) throw new StateError(`cannot ${what}: this Serf is ${this.#core.state}`);
  }

  /**
   * Joins a cluster through one or more members' `ip:port` (a memberlist push-pull with each),
   * then gossips our join intent. Resolves to the number of addresses that answered; rejects
   * with a `JoinError` when none did, and with a `StateError` after a leave or shutdown. Joins
   * run one at a time.
   */
  async join(addrs: readonly string[], options: JoinOptions = {}): Promise<number> {
    this.#assertAlive('join');
    const run = async () => {
      this.#assertAlive('join');
      const core = this.#core;
      if (options.ignoreOld) core.eventJoinIgnore = true;
      let n: number;
      try {
        n = await this.#ml.join(addrs, options.signal ? { signal: options.signal } : {});
      } finally {
        core.eventJoinIgnore = false;
      }
      if (n > 0 && core.state === 'alive') broadcastJoin(core, core.memberClock.time());
      return n;
    };
    const p = this.#joining.then(run, run);
    this.#joining = p.catch(() => {});
    return p;
  }

  /**
   * Rejoins after a restart (Serf `handleRejoin`): tries the snapshot's previously alive members
   * (ourselves skipped) in order, with a plain memberlist join and no join intent, and stops at
   * the first that answers. Resolves to its name, or undefined when none answered.
   */
  async rejoin(
    previous: readonly PreviousNode[],
    options: SerfSignalOptions = {},
  ): Promise<string | undefined> {
    this.#assertAlive('rejoin');
    for (const prev of previous) {
      if (prev.name === this.#core.name) continue;
      options.signal?.throwIfAborted();
      try {
        await this.#ml.join([prev.addr], options.signal ? { signal: options.signal } : {});
        this.#core.log.info('serf: re-joined a previously known node', { node: prev.name, addr: prev.addr });
        return prev.name;
      } catch (e) {
        if (options.signal?.aborted) throw options.signal.reason;
        this.#core.log.debug('serf: re-join attempt failed', { node: prev.name, error: String(e) });
      }
    }
    this.#core.log.warn('serf: failed to re-join any previously known node');
    return undefined;
  }

  /**
   * Leaves gracefully (Serf `Leave`): gossips a leave intent and waits (up to
   * `broadcastTimeoutMs`) for it to go out, then memberlist's leave, then stays up for
   * `leavePropagateDelayMs` answering probes. Unlike Serf 0.9.4, a leave intent that times out
   * is logged and the leave goes on (later Serf versions do the same), so the node never ends
   * up failed instead of left because its queue was slow. Aborting rejects with the signal's
   * reason and leaves the node `leaving` (the intent is already out): shut it down next.
   */
  async leave(options: SerfSignalOptions = {}): Promise<void> {
    const core = this.#core;
    switch (core.state) {
      case 'left':
        return;
      case 'leaving':
        throw new StateError('a leave is already in progress');
      case 'shutdown':
        throw new StateError('cannot leave: this Serf is shut down');
      case 'created':
        throw new StateError('cannot leave: this Serf was never started');
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    core.state = 'leaving';
    const msg: MessageLeave = { lTime: core.memberClock.time(), node: core.name, prune: false };
    core.memberClock.increment();
    handleNodeLeaveIntent(core, msg);
    if (hasAliveMembers(core)) {
      const sent = await this.#broadcastIntent(msg, signal, BroadcastPriority.leave);
      if (!sent) core.log.warn('serf: timed out waiting for the leave intent to go out; leaving anyway');
    }
    try {
      await this.#ml.leave({ timeoutMs: core.opts.broadcastTimeoutMs, ...(signal ? { signal } : {}) });
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      core.log.warn("serf: timed out waiting for memberlist's leave broadcast; leaving anyway");
    }
    await this.#delay(core.opts.leavePropagateDelayMs, signal);
    // The state may have changed while we waited (a shutdown).
    if ((core.state as SerfState) !== 'shutdown') core.state = 'left';
  }

  /**
   * Marks a failed member as left at once (Serf `RemoveFailedNode`), so it is no longer
   * reconnected to; with `prune`, it is also forgotten at once. Rejects with a TimeoutError
   * when the intent did not go out within `broadcastTimeoutMs`.
   */
  async forceLeave(node: string, options: SerfSignalOptions & { prune?: boolean } = {}): Promise<void> {
    this.#assertRunning('force a leave');
    const core = this.#core;
    const msg: MessageLeave = { lTime: core.memberClock.time(), node, prune: options.prune === true };
    core.memberClock.increment();
    handleNodeLeaveIntent(core, msg);
    if (!hasAliveMembers(core)) return;
    if (!(await this.#broadcastIntent(msg, options.signal, BroadcastPriority.normal))) {
      throw new TimeoutError(`timed out broadcasting the removal of ${node}`);
    }
  }

  /**
   * Queues a leave intent; resolves true once fully transmitted, false at `broadcastTimeoutMs`.
   * Our own leave goes ahead of other intents (a slow leave is how a node ends up failed).
   */
  #broadcastIntent(msg: MessageLeave, signal: AbortSignal | undefined, priority: number): Promise<boolean> {
    const core = this.#core;
    return new Promise<boolean>((resolve, reject) => {
      const timer = core.clock.setTimer(core.opts.broadcastTimeoutMs, () => finish(false));
      const onAbort = () => {
        timer.cancel();
        reject(signal?.reason);
      };
      const finish = (ok: boolean) => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      core.intentQueue.queue(encodeSerfMessage({ type: 'leave', body: msg }), {
        priority,
        finished: () => finish(true),
      });
    });
  }

  #delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = this.#core.clock.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops everything and closes the transport. Does not leave: call `leave()` first. */
  shutdown(): Promise<void> {
    return this.#shutdown('shutdown');
  }

  async #shutdown(reason: 'shutdown' | 'name-conflict'): Promise<void> {
    const core = this.#core;
    if (core.state === 'shutdown') return;
    if (core.state !== 'left') core.log.warn('serf: shutdown without a leave');
    core.state = 'shutdown';
    for (const ext of core.extensions.values()) this.#callExtension(ext, 'stop', () => ext.stop?.());
    for (const t of core.timers) t.cancel();
    core.timers.clear();
    for (const q of [...core.pendingQueries.values()]) q.close();
    await this.#ml.shutdown();
    core.events.emit('shutdown', { reason });
  }

  /**
   * Replaces our tags and gossips them (memberlist `updateNode`, a new incarnation). Resolves
   * when the update went out, or rejects with a TimeoutError after `broadcastTimeoutMs`.
   * @throws SizeLimitError when the encoded tags exceed 512 bytes (nothing is changed).
   */
  async setTags(tags: Readonly<Record<string, string>>, options: SerfSignalOptions = {}): Promise<void> {
    this.#assertAlive('set tags');
    const next = { ...tags };
    tagsToMeta(next, this.#core.opts.protocolVersion, this.#core.capabilities);
    this.#core.tags = next;
    await this.#ml.updateNode({
      timeoutMs: this.#core.opts.broadcastTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Sends a user event to every member (Serf `UserEvent`), delivered once to each, here too.
   * @throws SizeLimitError when the name plus payload, or the encoded event, exceeds
   *   `userEventSizeLimit` (nothing is sent).
   */
  userEvent(name: string, payload?: Uint8Array | string, options: UserEventOptions = {}): void {
    this.#assertRunning('send a user event');
    sendUserEvent(this.#core, name, toBytes(payload), options.coalesce ?? true);
  }

  /**
   * Sends a query to every member (or those the filters select) and collects acks and
   * responses until the deadline (Serf `Query`). This node receives it too.
   * @throws SizeLimitError over `querySizeLimit`; ConfigError for a bad parameter.
   */
  query(name: string, payload?: Uint8Array | string, params: QueryParams = {}): QueryResponse {
    this.#assertRunning('query');
    return startQuery(this.#core, name, toBytes(payload), params);
  }

  /** The timeout a query gets by default: `gossipInterval × queryTimeoutMult × ceil(log10(n + 1))`. */
  defaultQueryTimeoutMs(): number {
    return defaultQueryTimeoutMs(this.#core);
  }

  /** Every member Serf knows, with its status (failed and left ones too, until reaped). */
  /** Our Vivaldi network coordinate, or undefined with `disableCoordinates`. */
  get coordinate(): Coordinate | undefined {
    return this.#core.coordClient?.coordinate;
  }

  /** The last coordinate `name` sent us in an ack (ours for our own name), if any. */
  memberCoordinate(name: string): Coordinate | undefined {
    return this.#core.coordCache.get(name);
  }

  /**
   * Estimated round-trip time between two members in ms, from their network coordinates
   * (what `serf rtt` prints); `b` defaults to this node. Undefined when either is unknown.
   */
  estimateRttMs(a: string, b: string = this.#core.name): number | undefined {
    const ca = this.#core.coordCache.get(a);
    const cb = this.#core.coordCache.get(b);
    return ca && cb ? distanceSeconds(ca, cb) * 1000 : undefined;
  }

  members(): SerfMember[] {
    return [...this.#core.members.values()].map(toSerfMember);
  }

  /** One member by name. */
  member(name: string): SerfMember | undefined {
    const m = this.#core.members.get(name);
    return m ? toSerfMember(m) : undefined;
  }

  /** This node as the cluster sees it. */
  get localMember(): SerfMember {
    const m = this.#core.members.get(this.#core.name);
    if (m === undefined) throw new StateError('the local member exists once start() has run');
    return toSerfMember(m);
  }

  /** Serf's `Stats()` (what `serf info` prints), plus counters. */
  stats(): SerfInfo {
    const c = this.#core;
    return {
      members: c.members.size,
      failed: c.failedMembers.size,
      left: c.leftMembers.size,
      healthScore: this.#ml.healthScore,
      memberTime: c.memberClock.time(),
      eventTime: c.eventClock.time(),
      queryTime: c.queryClock.time(),
      intentQueue: c.intentQueue.length,
      eventQueue: c.eventQueue.length,
      queryQueue: c.queryQueue.length,
      encrypted: c.keyring !== undefined,
      counters: {
        ...c.stats,
        queuePruned: c.intentQueue.prunedCount + c.eventQueue.prunedCount + c.queryQueue.prunedCount,
      },
    };
  }

  #reconnect(): void {
    const core = this.#core;
    if (core.state !== 'alive') return;
    const target = pickReconnectTarget(core);
    if (target === undefined) return;
    const m = toSerfMember(target);
    const addr = m.addr.includes(':') ? `[${m.addr}]:${m.port}` : `${m.addr}:${m.port}`;
    core.stats.reconnectAttempts++;
    core.log.info('serf: attempting reconnect', { node: m.name, addr });
    this.#ml.join([addr]).catch((e: unknown) => {
      core.log.debug('serf: reconnect failed', { node: m.name, error: String(e) });
    });
  }

  #onConflict(existing: MlMember, other: MlMember): void {
    const core = this.#core;
    if (existing.name !== core.name) {
      core.log.warn('serf: name conflict', {
        node: existing.name,
        known: existing.address,
        claimed: other.address,
      });
      return;
    }
    core.log.error('serf: our node name conflicts with another node; names must be unique', {
      other: other.address,
      resolution: core.opts.enableNameConflictResolution,
    });
    if (!core.opts.enableNameConflictResolution || core.state !== 'alive') return;
    void resolveNodeConflict(core, other.address, () => this.#shutdown('name-conflict'));
  }
}
