/**
 * The public face of the membership layer: a memberlist-compatible SWIM/Lifeguard node.
 *
 * ```ts
 * const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:7946' });
 * const ml = new Memberlist({ name: 'node-1', transport });
 * ml.on('join', ({ member }) => console.log('joined', member.name));
 * ml.start();
 * await ml.join(['127.0.0.1:7947']);
 * ```
 *
 * Construction does no I/O; `start()` attaches to the (already bound) transport and starts the
 * probe, gossip and push-pull timers on the injected clock. Long operations take an
 * `AbortSignal` and reject with `signal.reason` when it fires.
 */
import { ConfigError, JoinError, StateError, TimeoutError } from '../errors.ts';
import { type Logger, safeLogger, silentLogger } from '../log.ts';
import { type Clock, RealClock, type Timer } from '../runtime/clock.ts';
import type { Listener } from '../runtime/emitter.ts';
import { type Random, SeededRandom } from '../runtime/random.ts';
import { secureSeed } from '../runtime/seed.ts';
import type { Addr, Transport } from '../transport/transport.ts';
import type { Keyring } from '../wire/crypto.ts';
import { ipFromString, ipToString, joinHostPort, splitHostPort } from '../wire/ip.ts';
import { type Alive, encodeMessage } from '../wire/memberlist.ts';
import { Core, type MemberlistStats } from './core.ts';
import type { MemberlistDelegate, MemberlistEvents } from './delegate.ts';
import { gossip } from './gossip.ts';
import { pushPullScaleMs } from './math.ts';
import { type Member, type NodeStatus, STATUS_BY_CODE, toMember } from './node-state.ts';
import { defaultOptions, type MemberlistOptions, type ProfileName, validateOptions } from './options.ts';
import { handlePacket } from './packets.ts';
import { ProbeLoop } from './probe.ts';
import { handleStream, type PeekResult, peekNode, pushPullNode, sendReliable } from './streams.ts';
import { aliveNode, deadNode } from './transitions.ts';

/** What a {@link Memberlist} is made from: options (any subset, over a profile's defaults) and its edges. */
export interface MemberlistInit extends Partial<MemberlistOptions> {
  /** This node's name, unique in the cluster. */
  name: string;
  /** A bound transport (e.g. `await UdpTcpTransport.listen(...)`, or a `MemoryNetwork`'s). */
  transport: Transport;
  /** Timing profile the defaults come from. @default 'lan' */
  profile?: ProfileName;
  /** @default a real clock */
  clock?: Clock;
  /** @default a generator seeded from `seed`, or from the OS */
  random?: Random;
  /** Seed for the default generator. */
  seed?: number;
  /** Encryption keys; with at least one key, traffic is encrypted with the first (primary). */
  keyring?: Keyring;
  logger?: Logger;
  delegate?: MemberlistDelegate;
}

/** Options of long operations. */
export interface SignalOptions {
  signal?: AbortSignal;
}

/** One entry of a remote's member list, as {@link Memberlist.peekState} read it. */
export interface PeekedMember {
  name: string;
  /** `ip:port` (IPv6 in brackets). */
  address: string;
  status: NodeStatus;
  incarnation: number;
  /** The delegate's metadata (Serf: the encoded tags). */
  meta: Uint8Array;
  /** memberlist protocol versions it speaks. */
  protocol: { min: number; max: number; current: number };
  /** Delegate (Serf) protocol versions it speaks. */
  delegate: { min: number; max: number; current: number };
}

/** Where a {@link Memberlist} is in its life: created, running (started), left, shut down. */
export type Lifecycle = 'created' | 'running' | 'left' | 'shutdown';

export class Memberlist {
  readonly #core: Core;
  readonly #probeLoop: ProbeLoop;
  readonly #timers: Timer[] = [];
  #state: Lifecycle = 'created';
  #pushPullTimer: Timer | undefined;

  constructor(init: MemberlistInit) {
    const { transport, profile, clock, random, seed, keyring, logger, delegate, ...rest } = init;
    const base = defaultOptions(init.name, profile ?? 'lan');
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const options = validateOptions({ ...base, ...defined } as MemberlistOptions);
    if (!transport) throw new ConfigError('transport', 'a bound Transport is required');
    const theClock = clock ?? new RealClock();
    this.#core = new Core({
      options,
      clock: theClock,
      random: random ?? new SeededRandom(seed ?? secureSeed()),
      transport,
      keyring,
      logger: safeLogger(logger ?? silentLogger),
      delegate: delegate ?? {},
      // Not drawn from `random`: the seeded stream, and so a simulated run, stays the same.
      hashSeed: secureSeed(),
    });
    this.#probeLoop = new ProbeLoop(this.#core);
  }

  /** The validated options in effect. */
  get options(): Readonly<MemberlistOptions> {
    return this.#core.opts;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof MemberlistEvents>(event: K, listener: Listener<MemberlistEvents[K]>): () => void {
    return this.#core.events.on(event, listener);
  }

  /** Unsubscribes. */
  off<K extends keyof MemberlistEvents>(event: K, listener: Listener<MemberlistEvents[K]>): void {
    this.#core.events.off(event, listener);
  }

  /**
   * Starts the node: announces ourselves (incarnation 1), listens on the transport, and starts
   * the probe, gossip and push-pull loops, each at a random offset within its interval.
   */
  start(): void {
    if (this.#state !== 'created') throw new StateError(`cannot start a memberlist that is ${this.#state}`);
    const core = this.#core;
    const advertise = core.opts.advertiseAddr ?? core.transport.localAddr;
    const hp = splitHostPort(advertise);
    const ip = hp ? ipFromString(hp.host) : undefined;
    if (!hp || !ip || hp.port === 0) {
      throw new ConfigError(
        'advertiseAddr',
        `"${advertise}" is not an ip:port a peer can reach; give an address such as 10.0.0.5:7946 or [fd00::5]:7946`,
      );
    }
    if (ip.every((b) => b === 0)) {
      throw new ConfigError(
        'advertiseAddr',
        `"${advertise}" is the unspecified address; peers cannot reach it. Set advertiseAddr to this host's LAN address`,
      );
    }
    core.advertiseIp = ip;
    core.advertisePort = hp.port;
    this.#state = 'running';
    aliveNode(
      core,
      {
        incarnation: core.nextIncarnation(),
        node: core.opts.name,
        addr: ip,
        port: hp.port,
        meta: core.localMeta(),
        vsn: core.vsn(),
      },
      { bootstrap: true },
    );
    core.transport.attach({
      packet: (data, from, receivedAt) => handlePacket(core, data, from, receivedAt),
      stream: (stream) => handleStream(core, stream),
    });
    const o = core.opts;
    const gossiping = o.gossipIntervalMs > 0 && o.gossipNodes > 0;
    const lagAware = o.eventLoopLagThresholdMs > 0;
    // Event-loop lag is how late these loops' own timers fire (see lag.ts): with gossip on, its
    // ticks and the probe's sample it, and no timer of its own wakes an idle node up.
    this.#every(o.probeIntervalMs, () => this.#probeLoop.tick(), lagAware);
    if (gossiping) this.#every(o.gossipIntervalMs, () => gossip(core), lagAware);
    if (o.pushPullIntervalMs > 0) {
      this.#pushPullTimer = core.clock.setTimer(core.random.float() * o.pushPullIntervalMs, () =>
        this.#periodicPushPull(),
      );
    }
    if (o.eventLoopLagThresholdMs > 0) {
      core.lag.onSample = (lag) => {
        core.stats.eventLoopLagMs = lag;
        if (lag > core.stats.eventLoopLagMaxMs) core.stats.eventLoopLagMaxMs = lag;
        if (lag > o.eventLoopLagThresholdMs && core.awareness.applyDelta(1)) {
          core.events.emit('health', { score: core.awareness.score, reason: 'event-loop-lag' });
        }
      };
      if (!gossiping) core.lag.start();
    }
  }

  /**
   * Runs `fn` every `intervalMs` after a random stagger in `[0, interval)`, without drift. With
   * `sampleLag`, how late each tick fires is an event-loop lag sample (lag.ts).
   */
  #every(intervalMs: number, fn: () => void, sampleLag = false): void {
    const core = this.#core;
    const clock = core.clock;
    let next = clock.now() + core.random.float() * intervalMs;
    const slot = this.#timers.length;
    // One callback for every tick (a loop runs for the node's whole life: no closure per tick).
    const tick = () => {
      if (this.#state !== 'running' && this.#state !== 'left') return;
      // Like Go's ticker, skip ticks that were missed while we were stalled.
      const now = clock.now();
      const due = next;
      next += intervalMs;
      if (next <= now) next = now + intervalMs;
      this.#timers[slot] = clock.setTimer(next - now, tick);
      if (sampleLag) core.lag.record(now, Math.max(0, now - due));
      fn();
    };
    this.#timers[slot] = clock.setTimer(next - clock.now(), tick);
  }

  #periodicPushPull(): void {
    const core = this.#core;
    if (this.#state !== 'running' && this.#state !== 'left') return;
    this.#pushPullWithRandomMember();
    this.#pushPullTimer = core.clock.setTimer(
      pushPullScaleMs(core.opts.pushPullIntervalMs, core.numNodes()),
      () => this.#periodicPushPull(),
    );
  }

  #pushPullWithRandomMember(): void {
    const core = this.#core;
    const [peer] = core.nodes.randomNodes(
      1,
      core.random,
      (n) => n.name === core.opts.name || n.status !== 'alive',
    );
    if (!peer) return;
    pushPullNode(core, peer.address, false, (err) => {
      if (err) core.log.warn('push-pull failed', { peer: peer.name, error: err.message });
    });
  }

  #assertRunning(what: string): void {
    if (this.#state !== 'running') throw new StateError(`cannot ${what}: this memberlist is ${this.#state}`);
  }

  /**
   * Joins a cluster through one or more members' `ip:port` addresses, with a push-pull to each.
   * Resolves to the number of addresses that answered; rejects with a {@link JoinError} listing
   * each failure when none did.
   */
  async join(addrs: readonly string[], options: SignalOptions = {}): Promise<number> {
    this.#assertRunning('join');
    const core = this.#core;
    const causes: { addr: string; error: Error }[] = [];
    let successes = 0;
    for (const raw of addrs) {
      options.signal?.throwIfAborted();
      const hp = splitHostPort(raw, 7946);
      if (!hp || !ipFromString(hp.host)) {
        causes.push({
          addr: raw,
          error: new ConfigError('join', `"${raw}" is not an ip:port (resolve host names first)`),
        });
        continue;
      }
      const addr = hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
      const error = await this.#abortable(
        new Promise<Error | undefined>((resolve) => pushPullNode(core, addr, true, resolve)),
        options.signal,
      );
      if (error) {
        core.log.debug('join attempt failed', { addr, error: error.message });
        causes.push({ addr, error });
      } else {
        successes++;
      }
    }
    if (successes === 0) {
      throw new JoinError(
        `could not join through ${addrs.length === 1 ? addrs[0] : `any of ${addrs.join(', ')}`}: ${causes
          .map((c) => `${c.addr}: ${c.error.message}`)
          .join('; ')}`,
        causes,
      );
    }
    this.#afterJoin();
    return successes;
  }

  /**
   * Sends one UDP ping to `addr` (`ip:port`) with no target name (memberlist answers those
   * whatever its name) and resolves to the round-trip time in ms, or undefined when no ack came
   * within `timeoutMs`. `gossip doctor` uses it to tell a blocked UDP port (or a label or key
   * the peer drops silently) from a working one.
   */
  async pingAddress(
    addr: string,
    options: SignalOptions & { timeoutMs?: number } = {},
  ): Promise<number | undefined> {
    this.#assertRunning('ping');
    const hp = splitHostPort(addr, 7946);
    if (!hp || !ipFromString(hp.host)) throw new ConfigError('ping', `"${addr}" is not an ip:port`);
    const core = this.#core;
    const seqNo = core.nextSeqNo();
    const sent = core.clock.now();
    const result = new Promise<number | undefined>((resolve) => {
      core.setAckHandler(
        seqNo,
        options.timeoutMs ?? core.opts.probeTimeoutMs * 4,
        (_payload, receivedAt) => resolve(receivedAt - sent),
        undefined,
        () => resolve(undefined),
      );
    });
    core.sendRaw(
      joinHostPort(hp.host, hp.port),
      encodeMessage({
        type: 'ping',
        body: {
          seqNo,
          node: '',
          sourceAddr: core.advertiseIp,
          sourcePort: core.advertisePort,
          sourceNode: core.opts.name,
        },
      }),
      false,
    );
    return this.#abortable(result, options.signal);
  }

  /**
   * Reads the member list of the node at `addr` (`ip:port`) without joining it: a push-pull that
   * merges nothing on either side (see `peekNode`). Rejects with the exchange's error (refused,
   * timed out, wrong key, wrong protocol) when it fails; aborting rejects with the signal's reason.
   */
  async peekState(addr: string, options: SignalOptions = {}): Promise<PeekedMember[]> {
    this.#assertRunning('peek');
    const hp = splitHostPort(addr, 7946);
    if (!hp || !ipFromString(hp.host)) throw new ConfigError('peek', `"${addr}" is not an ip:port`);
    const to = joinHostPort(hp.host, hp.port);
    const result = await this.#abortable(
      new Promise<PeekResult>((resolve) => peekNode(this.#core, to, resolve)),
      options.signal,
    );
    if (!result.ok) throw result.error;
    return result.states.map((s) => ({
      name: s.name,
      address: joinHostPort(ipToString(s.addr), s.port),
      status: STATUS_BY_CODE[s.state] ?? 'dead',
      incarnation: s.incarnation,
      meta: s.meta,
      protocol: { min: s.vsn[0] ?? 0, max: s.vsn[1] ?? 0, current: s.vsn[2] ?? 0 },
      delegate: { min: s.vsn[3] ?? 0, max: s.vsn[4] ?? 0, current: s.vsn[5] ?? 0 },
    }));
  }

  /**
   * Removes memberlist's long join tail: tell the members we learned about directly that we are
   * here (rather than wait for gossip to reach them), and schedule a few early push-pulls to
   * catch members that joined at the same time.
   */
  #afterJoin(): void {
    const core = this.#core;
    const o = core.opts;
    if (o.joinAnnounceMax > 0) {
      const me = core.self!;
      const alive = encodeMessage({
        type: 'alive',
        body: {
          incarnation: me.incarnation,
          node: me.name,
          addr: me.addr,
          port: me.port,
          meta: me.meta,
          vsn: me.vsn,
        },
      });
      const peers = core.nodes.randomNodes(
        o.joinAnnounceMax,
        core.random,
        (n) => n.name === o.name || n.status !== 'alive',
      );
      for (const p of peers) core.sendToNode(p.address, [alive]);
    }
    for (const delay of o.postJoinPushPullDelaysMs) {
      this.#timers.push(
        core.clock.setTimer(delay * (0.75 + 0.5 * core.random.float()), () => {
          if (this.#state === 'running') this.#pushPullWithRandomMember();
        }),
      );
    }
  }

  /**
   * Takes each of `members` as a push-pull from a peer that held it alive would (memberlist's
   * alive transition, unchanged: version admission, the delegate's veto, the member limit, a
   * new member inserted at a random position, `join` emitted; a claim no newer than what we
   * hold changes nothing), except that none is queued for re-gossip. The simulator's warm start
   * builds a converged cluster with it: every node holds every member, so there is nobody left
   * to tell, and n nodes do not each decode an n-member push-pull. A real node learns members
   * only from its peers; this is not for it. The claims are only read (one array may serve
   * every node of a process).
   */
  assumeMembers(members: readonly Alive[]): void {
    this.#assertRunning('assume members');
    for (const a of members) aliveNode(this.#core, a, { regossip: false });
  }

  /**
   * Leaves gracefully: gossips our departure (first in every packet) and waits until it has
   * been transmitted its full retransmit count, or `timeoutMs` passes. After leaving, the node
   * still answers probes until `shutdown()`.
   */
  async leave(options: SignalOptions & { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'shutdown') throw new StateError('cannot leave: this memberlist is shut down');
    if (this.#state === 'created') throw new StateError('cannot leave: this memberlist was never started');
    if (this.#state === 'left') return;
    const core = this.#core;
    this.#state = 'left';
    core.hasLeft = true;
    const me = core.self!;
    const sent = new Promise<void>((resolve) =>
      deadNode(core, { incarnation: me.incarnation, node: me.name, from: me.name }, () => resolve()),
    );
    const anyAlive = core.nodes.list.some(
      (n) => n.name !== me.name && (n.status === 'alive' || n.status === 'suspect'),
    );
    if (!anyAlive) return;
    await this.#abortable(
      this.#withTimeout(sent, options.timeoutMs ?? core.opts.tcpTimeoutMs, 'leave broadcast'),
      options.signal,
    );
  }

  /**
   * Re-reads our metadata from the delegate and gossips it with a new incarnation (how Serf
   * publishes tag changes). Resolves when the update has been fully transmitted.
   */
  async updateNode(options: SignalOptions & { timeoutMs?: number } = {}): Promise<void> {
    this.#assertRunning('update the node');
    const core = this.#core;
    const me = core.self!;
    const sent = new Promise<void>((resolve) =>
      aliveNode(
        core,
        {
          incarnation: core.nextIncarnation(),
          node: me.name,
          addr: me.addr,
          port: me.port,
          meta: core.localMeta(),
          vsn: core.vsn(),
        },
        { bootstrap: true, finished: () => resolve() },
      ),
    );
    const anyAlive = core.nodes.list.some((n) => n.name !== me.name && n.status === 'alive');
    if (!anyAlive) return;
    await this.#abortable(
      this.#withTimeout(sent, options.timeoutMs ?? core.opts.tcpTimeoutMs, 'update broadcast'),
      options.signal,
    );
  }

  /** Stops every timer, closes the transport. Does not leave: call `leave()` first for a graceful exit. */
  async shutdown(): Promise<void> {
    if (this.#state === 'shutdown') return;
    const core = this.#core;
    this.#state = 'shutdown';
    core.hasShutdown = true;
    this.#probeLoop.stop();
    for (const t of this.#timers) t?.cancel();
    this.#pushPullTimer?.cancel();
    core.lag.stop();
    for (const s of core.suspicions.values()) s.cancel();
    core.suspicions.clear();
    for (const h of core.ackHandlers.values()) h.cancel();
    core.ackHandlers.clear();
    await core.transport.shutdown();
  }

  /** Sends a user message to `to` by UDP, best effort (memberlist `SendBestEffort`). */
  sendBestEffort(to: Addr, payload: Uint8Array): void {
    this.#assertRunningOrLeft('send');
    this.#core.sendToNode(to, [encodeMessage({ type: 'user', payload })]);
  }

  /** Sends a user message to `to` over a stream (memberlist `SendReliable`). */
  sendReliable(to: Addr, payload: Uint8Array, options: SignalOptions = {}): Promise<void> {
    this.#assertRunningOrLeft('send');
    return this.#abortable(
      new Promise<void>((resolve, reject) =>
        sendReliable(this.#core, to, payload, (err) => (err ? reject(err) : resolve())),
      ),
      options.signal,
    );
  }

  #assertRunningOrLeft(what: string): void {
    if (this.#state !== 'running' && this.#state !== 'left') {
      throw new StateError(`cannot ${what}: this memberlist is ${this.#state}`);
    }
  }

  /** Members that are alive or suspect (memberlist `Members()`). */
  members(): Member[] {
    const nodes = this.#core.nodes;
    const out: Member[] = [];
    for (let i = 0; i < nodes.size; i++) {
      const n = nodes.list[i]!;
      if (n.status === 'alive' || n.status === 'suspect') out.push(toMember(n, nodes.stateChangeAtIndex(i)));
    }
    return out;
  }

  /** Every member still remembered, dead and left ones included. */
  allMembers(): Member[] {
    const nodes = this.#core.nodes;
    return nodes.list.map((n, i) => toMember(n, nodes.stateChangeAtIndex(i)));
  }

  /** One member by name. */
  member(name: string): Member | undefined {
    return this.#core.nodes.member(name);
  }

  /** This node. */
  get localNode(): Member {
    const me = this.#core.nodes.member(this.#core.opts.name);
    if (!me) throw new StateError('the local node exists once start() has run');
    return me;
  }

  /** Alive members, this node included (memberlist `NumMembers`). */
  get numMembers(): number {
    let n = 0;
    for (const m of this.#core.nodes.list) if (m.status === 'alive') n++;
    return n;
  }

  /** Lifeguard local health score: 0 is healthy; probes slow down by `score + 1`. */
  get healthScore(): number {
    return this.#core.awareness.score;
  }

  /** Broadcasts waiting in memberlist's own queue. */
  get queueDepth(): number {
    return this.#core.queue.length;
  }

  /** Broadcasts dropped from memberlist's queue because it held `maxBroadcastQueueDepth` already. */
  get queuePruned(): number {
    return this.#core.queue.prunedCount;
  }

  /** Counters (live object; read, do not mutate). */
  get stats(): Readonly<MemberlistStats> {
    return this.#core.stats;
  }

  /** Lifecycle state. */
  get state(): Lifecycle {
    return this.#state;
  }

  /** The clock this node runs on. */
  get clock(): Clock {
    return this.#core.clock;
  }

  #withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    if (!(timeoutMs > 0)) return p;
    return new Promise<T>((resolve, reject) => {
      const t = this.#core.clock.setTimer(timeoutMs, () =>
        reject(new TimeoutError(`timed out waiting for the ${what} (${timeoutMs} ms)`)),
      );
      p.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (e) => {
          t.cancel();
          reject(e);
        },
      );
    });
  }

  #abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return p;
    signal.throwIfAborted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
