/**
 * The simulated cluster: one slot per node (a fixed name `n7` and address `10.0.0.8:7946`),
 * each running the real stack, a `Serf` over its `Memberlist` (intents, reconnects, user
 * events, queries, tombstones), on a shared `VirtualClock` and `MemoryNetwork`; started,
 * crashed, restarted, made to leave, force-leave, join, send events and queries only through
 * the public API (`start`, `join`, `leave`, `forceLeave`, `userEvent`, `query`, `shutdown`)
 * and the injected clock, random and transport. The `memberlist` stack runs memberlist alone
 * (benchmarks of the membership layer: no reconnects, so it does not heal long partitions).
 *
 * What it adds on top:
 * - join retries: a node whose join fails tries again through another running node every
 *   {@link JOIN_RETRY_MS} (an agent's `retry_join`); or, with `params.seedDiscovery`, the real
 *   seed discovery loop on a simulated DNS name listing every running node ({@link SIM_SEED_NAME});
 * - observation: each node's memberlist and Serf events become {@link TraceEvent}s, and with
 *   `isChecking` the state a node's memberlist holds is read back after each packet that
 *   carried alive, suspect or dead messages (for the members they named) and after each
 *   push-pull merge (every member);
 * - every query is answered by every node that receives it (with its name);
 * - counters per slot, kept across restarts, for the load figures.
 *
 * Promises: `join`, `leave` and `forceLeave` resolve through microtasks. The driver drains
 * them (one `setImmediate`) after every event while {@link SimCluster.pendingOps} is above
 * zero, so a continuation always runs at the virtual instant its operation finished: runs stay
 * reproducible.
 */
import { Serf } from '../cluster/serf.ts';
import type { MemberEventType } from '../cluster/types.ts';
import { MemoryResolver, type Resolver } from '../discovery/resolver.ts';
import { type DiscoveryTarget, SeedDiscovery } from '../discovery/seed-discovery.ts';
import { memberlistTarget, serfTarget } from '../discovery/targets.ts';
import { Memberlist } from '../membership/memberlist.ts';
import type { Member } from '../membership/node-state.ts';
import type { Clock, Timer } from '../runtime/clock.ts';
import { type Random, SeededRandom } from '../runtime/random.ts';
import { StallableClock } from '../runtime/stallable-clock.ts';
import type { VirtualClock } from '../runtime/virtual-clock.ts';
import type { MemoryNetwork, MemoryTransport } from '../transport/memory.ts';
import { decodePacket } from '../wire/packet.ts';
import type { ClusterView, LiveNode } from './checkers/convergence.ts';
import type { SerfStatusView } from './checkers/member-status.ts';
import type { MemberStatus, SerfStatus, TraceEvent } from './checkers/trace.ts';
import { nodeAddr, nodeName, type ProtocolSimParams } from './scenario.ts';
import { DriftClock, type PacketTap, SimTransport } from './sim-node.ts';

/** How long a node waits before retrying a failed join through another node. */
export const JOIN_RETRY_MS = 2000;

/** The simulated DNS name of seed discovery: the IP of every running node (a headless Service). */
export const SIM_SEED_NAME = 'seeds.sim';
/** The TTL of its records, s (CoreDNS's Kubernetes default). */
export const SIM_SEED_TTL_S = 5;

/** Which layers each node runs. */
export type SimStack =
  /** Serf over memberlist: what an agent runs. */
  | 'serf'
  /** memberlist alone (no reconnect loop: benchmarks of the membership layer only). */
  | 'memberlist';

const MEMBER_EVENTS: readonly MemberEventType[] = [
  'member-join',
  'member-leave',
  'member-failed',
  'member-update',
  'member-reap',
];

const utf8 = new TextEncoder();

/** A slot's lifecycle. */
export type SlotStatus = 'never' | 'running' | 'leaving' | 'down';

/** Traffic a node sent. */
export interface SentCounters {
  /** memberlist messages in UDP packets (compound parts counted one by one). */
  messages: number;
  packets: number;
  /** UDP and TCP bytes. */
  bytes: number;
}

/** memberlist and Serf counters summed over every node and restart, and the simulator's own. */
export interface ProtocolTotals {
  probes: number;
  probeFailures: number;
  probesInconclusive: number;
  indirectProbes: number;
  tcpFallbackProbes: number;
  suspicionsStarted: number;
  deadDeclared: number;
  refutes: number;
  pushPulls: number;
  pushPullFailures: number;
  /** Joins the simulator asked for (first joins, rejoins and their retries). */
  joinAttempts: number;
  joinFailures: number;
  /** Serf: reconnect attempts to failed members. */
  reconnectAttempts: number;
  /** Serf: join intents nodes sent about themselves (joins and refuted leave intents). */
  joinIntentsSent: number;
  /** Serf: join and leave intents received by gossip. */
  intentsReceived: number;
  /** Serf: failed members back within the flap timeout. */
  flaps: number;
  /** Force-leaves the simulator made (an operator's `serf force-leave`). */
  forceLeaves: number;
  /** User events the simulator sent. */
  userEventsSent: number;
  /** Serf: user events delivered, over every node. */
  userEventsDelivered: number;
  /** Queries the simulator sent. */
  queriesSent: number;
  /** Serf: queries delivered (their filters matched), over every node. */
  queriesDelivered: number;
  /** Serf: responses the querying nodes collected. */
  queryResponses: number;
}

/** One node slot. */
export class SimNode {
  readonly slot: number;
  readonly name: string;
  readonly addr: string;
  /** The clock memberlist runs on: the root clock, possibly drifting, possibly stallable. */
  readonly clock: Clock;
  /** Set for slow nodes. */
  readonly stall: StallableClock | undefined;
  status: SlotStatus = 'never';
  /** Incremented at each start; a callback from an older life is ignored. */
  life = 0;
  /** The running Serf (the `serf` stack); undefined while down. */
  serf: Serf | undefined;
  /** The running memberlist (the Serf's own with the `serf` stack); undefined while down. */
  ml: Memberlist | undefined;
  transport: MemoryTransport | undefined;
  /** This life's seed discovery (with `params.seedDiscovery`, once it was told to join). */
  discovery: SeedDiscovery | undefined;
  /** Our own incarnation, followed through `refute` events. */
  incarnation = 0;
  /** Highest incarnation refuted to while the current packet was handled (0: none). */
  refutedTo = 0;
  readonly timers: Timer[] = [];
  /** Counters of ended lives. */
  readonly sentBefore: SentCounters = { messages: 0, packets: 0, bytes: 0 };
  upMsBefore = 0;
  upSinceMs = 0;

  constructor(slot: number, root: Clock, driftPpm: number, isSlow: boolean) {
    this.slot = slot;
    this.name = nodeName(slot);
    this.addr = nodeAddr(slot);
    const drifting = driftPpm === 0 ? root : new DriftClock(root, driftPpm);
    this.stall = isSlow ? new StallableClock(drifting) : undefined;
    this.clock = this.stall ?? drifting;
  }

  /** What this slot sent so far, over all its lives. */
  sent(): SentCounters {
    const out = { ...this.sentBefore };
    const ml = this.ml;
    if (ml !== undefined) {
      for (const v of Object.values(ml.stats.messagesSent)) out.messages += v;
      out.packets += ml.stats.packetsSent;
      out.bytes += this.transport?.stats.bytesSent ?? 0;
    }
    return out;
  }

  /** Milliseconds this slot has been running, over all its lives. */
  upMs(nowMs: number): number {
    return (
      this.upMsBefore + (this.status === 'running' || this.status === 'leaving' ? nowMs - this.upSinceMs : 0)
    );
  }
}

/** What a {@link SimCluster} is built from. */
export interface SimClusterOptions {
  params: ProtocolSimParams;
  clock: VirtualClock;
  network: MemoryNetwork;
  /** Forked once per node start, for memberlist's own random. */
  nodeRandom: Random;
  /** The simulator's own choices (join targets). */
  driverRandom: Random;
  /** Slots whose event loop may stall. */
  slowSlots: ReadonlySet<number>;
  /** Receives every observation; undefined turns observation off (benchmarks). */
  sink: ((e: TraceEvent) => void) | undefined;
  /** Read back member state after membership packets and push-pulls (for the checkers). */
  isChecking: boolean;
  /** Called after each packet a node handled (the checkers' end of event). */
  afterPacket: () => void;
  /** memberlist's `maxBroadcastQueueDepth` on every node; undefined keeps the default. */
  maxBroadcastQueueDepth?: number | undefined;
  /** @default 'serf' */
  stack?: SimStack | undefined;
}

export class SimCluster implements ClusterView, SerfStatusView {
  readonly nodes: SimNode[];
  readonly totals: ProtocolTotals = {
    probes: 0,
    probeFailures: 0,
    probesInconclusive: 0,
    indirectProbes: 0,
    tcpFallbackProbes: 0,
    suspicionsStarted: 0,
    deadDeclared: 0,
    refutes: 0,
    pushPulls: 0,
    pushPullFailures: 0,
    joinAttempts: 0,
    joinFailures: 0,
    reconnectAttempts: 0,
    joinIntentsSent: 0,
    intentsReceived: 0,
    flaps: 0,
    forceLeaves: 0,
    userEventsSent: 0,
    userEventsDelivered: 0,
    queriesSent: 0,
    queriesDelivered: 0,
    queryResponses: 0,
  };
  /** join/leave promises not settled yet. */
  pendingOps = 0;
  /** Packets handled by nodes (each one an event the checkers ran after). */
  packetsHandled = 0;
  readonly #o: SimClusterOptions;
  readonly #byName = new Map<string, SimNode>();
  /** Nodes to read back in full at the end of the event (after a push-pull merge). */
  readonly #dirty = new Set<SimNode>();
  /** The simulated DNS of seed discovery, its queries counted as pending operations. */
  readonly #resolver: Resolver;

  constructor(options: SimClusterOptions) {
    this.#o = options;
    const dns = new MemoryResolver();
    dns.setHost(SIM_SEED_NAME, () => ({
      ips: this.nodes.filter((n) => n.status === 'running').map((n) => n.addr.split(':')[0]!),
      ttlS: SIM_SEED_TTL_S,
    }));
    this.#resolver = {
      resolveHost: (host) => this.#track(dns.resolveHost(host)),
      resolveSrv: (name) => this.#track(dns.resolveSrv(name)),
    };
    const { params, clock } = options;
    this.nodes = [];
    for (let slot = 0; slot < params.slots; slot++) {
      const node = new SimNode(slot, clock, params.clockDriftPpm[slot] ?? 0, options.slowSlots.has(slot));
      this.nodes.push(node);
      this.#byName.set(node.name, node);
    }
  }

  /** The slot named `name`. */
  node(name: string): SimNode | undefined {
    return this.#byName.get(name);
  }

  /** Nodes running now (leaving ones included), in slot order. */
  running(): SimNode[] {
    return this.nodes.filter((n) => n.status === 'running' || n.status === 'leaving');
  }

  isRunning(name: string): boolean {
    const s = this.#byName.get(name)?.status;
    return s === 'running' || s === 'leaving';
  }

  #emit(e: TraceEvent): void {
    this.#o.sink?.(e);
  }

  #now(): number {
    return this.#o.clock.now();
  }

  /** Starts a new life of `slot` (a fresh process with the slot's name and address). Does not join. */
  start(slot: number): SimNode {
    const node = this.nodes[slot]!;
    if (node.status === 'running' || node.status === 'leaving') return node;
    const o = this.#o;
    node.life++;
    node.status = 'running';
    node.upSinceMs = this.#now();
    node.incarnation = 0;
    const transport = o.network.createTransport(node.addr);
    node.transport = transport;
    const tap = o.isChecking ? this.#tapFor(node) : undefined;
    const simTransport = new SimTransport(transport, node.clock, node.stall, tap);
    const memberlist = {
      enableCompression: o.params.compression,
      maxBroadcastQueueDepth: o.maxBroadcastQueueDepth,
    };
    let ml: Memberlist;
    if ((o.stack ?? 'serf') === 'serf') {
      const serf = new Serf({
        name: node.name,
        transport: simTransport,
        clock: node.clock,
        random: o.nodeRandom.fork(),
        profile: o.params.profile,
        memberlist,
        reconnectIntervalMs: o.params.reconnectIntervalMs,
      });
      node.serf = serf;
      ml = serf.memberlist;
      this.#listenSerf(node, serf);
    } else {
      ml = new Memberlist({
        name: node.name,
        transport: simTransport,
        clock: node.clock,
        random: o.nodeRandom.fork(),
        profile: o.params.profile,
        ...memberlist,
      });
    }
    node.ml = ml;
    this.#listen(node, ml);
    this.#emit({ type: 'start', atMs: this.#now(), node: node.name });
    if (node.serf !== undefined) node.serf.start();
    else ml.start();
    node.incarnation = ml.localNode.incarnation;
    return node;
  }

  #listenSerf(node: SimNode, serf: Serf): void {
    const observer = node.name;
    const sink = this.#o.sink;
    // Every node answers every query it receives, observed or not (the traffic is the same).
    serf.on('query', (q) => {
      if (!q.hasResponded && node.clock.now() <= q.deadline) q.respond(utf8.encode(observer));
    });
    if (sink === undefined) return;
    for (const event of MEMBER_EVENTS) {
      serf.on(event, ({ members }) => {
        for (const m of members)
          sink({ type: 'member', atMs: this.#now(), observer, member: m.name, event, status: m.status });
      });
    }
    serf.on('user', ({ name, lTime }) =>
      sink({ type: 'user-event', atMs: this.#now(), observer, name, lTime }),
    );
  }

  #listen(node: SimNode, ml: Memberlist): void {
    const observer = node.name;
    const sink = this.#o.sink;
    ml.on('leave', ({ member }) => {
      sink?.({
        type: 'leave',
        atMs: this.#now(),
        observer,
        member: member.name,
        incarnation: member.incarnation,
        status: member.status === 'left' ? 'left' : 'dead',
      });
    });
    ml.on('join', ({ member }) => {
      sink?.({
        type: 'join',
        atMs: this.#now(),
        observer,
        member: member.name,
        incarnation: member.incarnation,
      });
    });
    ml.on('refute', ({ incarnation, accusedIncarnation }) => {
      node.incarnation = incarnation;
      if (incarnation > node.refutedTo) node.refutedTo = incarnation;
      sink?.({ type: 'refute', atMs: this.#now(), node: observer, incarnation, accusedIncarnation });
    });
    if (sink === undefined) return;
    ml.on('suspect', ({ member, from }) =>
      sink({
        type: 'suspect',
        atMs: this.#now(),
        observer,
        member: member.name,
        incarnation: member.incarnation,
        from,
      }),
    );
    ml.on('dead', ({ member }) =>
      sink({
        type: 'dead',
        atMs: this.#now(),
        observer,
        member: member.name,
        incarnation: member.incarnation,
      }),
    );
    if (this.#o.isChecking) ml.on('pushPull', () => this.#dirty.add(node));
  }

  /** Reads back, after each packet with membership messages, what the node now holds about the members named. */
  #tapFor(node: SimNode): PacketTap {
    const life = node.life;
    return (data, deliver) => {
      const ml = node.ml;
      if (node.life !== life || ml === undefined) {
        deliver();
        return;
      }
      const received = ml.stats.messagesReceived;
      const before = (received.alive ?? 0) + (received.suspect ?? 0) + (received.dead ?? 0);
      const incarnationBefore = node.incarnation;
      node.refutedTo = 0;
      deliver();
      this.packetsHandled++;
      if (
        node.life === life &&
        (received.alive ?? 0) + (received.suspect ?? 0) + (received.dead ?? 0) !== before
      )
        this.#inspect(node, ml, data, incarnationBefore);
      this.#o.afterPacket();
    };
  }

  #inspect(node: SimNode, ml: Memberlist, data: Uint8Array, incarnationBefore: number): void {
    const decoded = decodePacket(data);
    if (!decoded.ok) return;
    const atMs = this.#now();
    for (const m of decoded.value.messages) {
      if (m.type !== 'alive' && m.type !== 'suspect' && m.type !== 'dead') continue;
      const name = m.body.node;
      this.#emitView(node.name, name, ml.member(name), atMs);
      if (name !== node.name || m.type === 'alive') continue;
      if (m.type === 'dead' && m.body.from === name) continue; // our own leave, echoed back
      this.#emit({
        type: 'accused',
        atMs,
        node: node.name,
        accusedIncarnation: m.body.incarnation,
        incarnationBefore,
        incarnationAfter: ml.localNode.incarnation,
        refutedTo: node.refutedTo === 0 ? null : node.refutedTo,
        isLeaving: node.status !== 'running' || ml.state !== 'running',
      });
    }
  }

  #emitView(observer: string, member: string, m: Member | undefined, atMs: number): void {
    this.#emit({
      type: 'view',
      atMs,
      observer,
      member,
      status: m === undefined ? null : (m.status as MemberStatus),
      incarnation: m?.incarnation ?? 0,
    });
  }

  /** Runs the end-of-event read-backs (full views after push-pulls). */
  flushReadBacks(): void {
    if (this.#dirty.size === 0) return;
    const atMs = this.#now();
    for (const node of this.#dirty) {
      const ml = node.ml;
      if (ml === undefined || node.status === 'down') continue;
      for (const m of ml.allMembers()) this.#emitView(node.name, m.name, m, atMs);
    }
    this.#dirty.clear();
  }

  #op<T>(p: Promise<T>): Promise<T | undefined> {
    this.pendingOps++;
    return p.then(
      (v) => {
        this.pendingOps--;
        return v;
      },
      () => {
        this.pendingOps--;
        return undefined;
      },
    );
  }

  /** Counts `p` as a pending operation until it settles (it still rejects). */
  #track<T>(p: Promise<T>): Promise<T> {
    this.pendingOps++;
    return p.finally(() => {
      this.pendingOps--;
    });
  }

  /**
   * Joins `slot` through one of `via` (running ones, chosen at random), retrying through any
   * running node every {@link JOIN_RETRY_MS} until a join succeeds or the node stops. With
   * `params.seedDiscovery`, the node's seed discovery starts once that first join succeeded
   * (the driver's join standing for discovery's first round through whichever seed answered),
   * so a run with discovery is the same run as without it until discovery first acts.
   */
  join(slot: number, via: readonly number[]): void {
    const node = this.nodes[slot]!;
    const ml = node.ml;
    if (ml === undefined || node.status !== 'running') return;
    const life = node.life;
    const candidates = via.filter((s) => s !== slot && this.nodes[s]!.status === 'running');
    const retry = () => {
      const t = this.#o.clock.setTimer(JOIN_RETRY_MS, () => {
        if (node.life !== life || node.status !== 'running') return;
        this.join(
          slot,
          this.running().map((n) => n.slot),
        );
      });
      node.timers.push(t);
    };
    const target = this.#o.driverRandom.pick(candidates);
    if (target === undefined) {
      retry();
      return;
    }
    this.totals.joinAttempts++;
    let isJoined = false;
    const addrs = [nodeAddr(target)];
    // An agent joins without replaying old user events (serf's -replay off).
    const joining = node.serf !== undefined ? node.serf.join(addrs, { ignoreOld: true }) : ml.join(addrs);
    void this.#op(
      joining.then(() => {
        isJoined = true;
      }),
    ).then(() => {
      if (isJoined && node.life === life && node.status === 'running' && this.#o.params.seedDiscovery)
        this.#startDiscovery(node, ml);
      if (isJoined || node.life !== life || node.status !== 'running') return;
      this.totals.joinFailures++;
      retry();
    });
  }

  /**
   * The production seed discovery loop for this life of `node`, on the simulated DNS; its
   * joins are Serf joins on the `serf` stack (as the agent's), memberlist joins otherwise.
   */
  #startDiscovery(node: SimNode, ml: Memberlist): void {
    if (node.discovery !== undefined) return;
    const base = node.serf !== undefined ? serfTarget(node.serf) : memberlistTarget(ml);
    const target: DiscoveryTarget = {
      localName: node.name,
      localAddresses: () => base.localAddresses(),
      members: () => base.members(),
      join: (addrs) => this.#track(base.join(addrs)),
      peek: (addr) => this.#track(base.peek(addr)),
      onMemberGone: (listener) => base.onMemberGone!(listener),
    };
    const discovery = new SeedDiscovery({
      seeds: [`${SIM_SEED_NAME}:7946`],
      target,
      resolver: this.#resolver,
      clock: node.clock,
      // Its own stream (from the run's seed, the slot and the life): the run's other streams
      // draw exactly what they drew without discovery.
      random: new SeededRandom(this.#o.params.seed * 4099 + node.slot * 131 + node.life),
    });
    discovery.on('round', (r) => {
      this.totals.joinAttempts += r.joins.length;
      for (const j of r.joins) if (!j.ok) this.totals.joinFailures++;
    });
    node.discovery = discovery;
    discovery.start();
  }

  /**
   * `by` force-leaves `slot` (an operator's `serf force-leave`); false when `by` does not run
   * the Serf layer now.
   */
  forceLeave(by: number, slot: number): boolean {
    const serf = this.nodes[by]!.serf;
    if (serf === undefined || this.nodes[by]!.status !== 'running') return false;
    this.totals.forceLeaves++;
    const member = this.nodes[slot]!.name;
    this.#emit({ type: 'force-leave', atMs: this.#now(), by: this.nodes[by]!.name, member });
    void this.#op(serf.forceLeave(member));
    return true;
  }

  /** `slot` sends the user event `name` (payload: its name), if it runs the Serf layer now. */
  userEvent(slot: number, name: string): void {
    const node = this.nodes[slot]!;
    if (node.serf === undefined || node.status !== 'running') return;
    this.totals.userEventsSent++;
    node.serf.userEvent(name, node.name);
  }

  /** `slot` queries every member with `name`, if it runs the Serf layer now; answers are counted by Serf. */
  query(slot: number, name: string): void {
    const node = this.nodes[slot]!;
    if (node.serf === undefined || node.status !== 'running') return;
    this.totals.queriesSent++;
    node.serf.query(name, node.name);
  }

  /** The node dies without leaving: its transport is gone at once, its timers stop. */
  crash(slot: number): void {
    const node = this.nodes[slot]!;
    if (node.status !== 'running' && node.status !== 'leaving') return;
    this.#o.network.crash(node.addr);
    this.#stop(node, 'crash');
  }

  /** The node leaves gracefully, then shuts down when the leave has been gossiped (or timed out). */
  leave(slot: number): void {
    const node = this.nodes[slot]!;
    const ml = node.ml;
    if (ml === undefined || node.status !== 'running') return;
    node.status = 'leaving';
    const life = node.life;
    void this.#op(node.serf !== undefined ? node.serf.leave() : ml.leave()).then(() => {
      if (node.life === life && node.status === 'leaving') this.#stop(node, 'leave');
    });
  }

  #stop(node: SimNode, how: 'crash' | 'leave'): void {
    const ml = node.ml!;
    const serf = node.serf;
    const sent = node.sent();
    node.sentBefore.messages = sent.messages;
    node.sentBefore.packets = sent.packets;
    node.sentBefore.bytes = sent.bytes;
    node.upMsBefore = node.upMs(this.#now());
    this.#addTotals(node);
    for (const t of node.timers) t.cancel();
    node.timers.length = 0;
    node.discovery?.stop();
    node.discovery = undefined;
    node.status = 'down';
    node.ml = undefined;
    node.serf = undefined;
    node.transport = undefined;
    void (serf ?? ml).shutdown();
    this.#dirty.delete(node);
    this.#emit({ type: 'stop', atMs: this.#now(), node: node.name, how });
  }

  #addTotals(node: SimNode): void {
    const s = node.ml!.stats;
    const t = this.totals;
    t.probes += s.probes;
    t.probeFailures += s.probeFailures;
    t.probesInconclusive += s.probesInconclusive;
    t.indirectProbes += s.indirectProbes;
    t.tcpFallbackProbes += s.tcpFallbackProbes;
    t.suspicionsStarted += s.suspicionsStarted;
    t.deadDeclared += s.deadDeclared;
    t.refutes += s.refutes;
    t.pushPulls += s.pushPulls;
    t.pushPullFailures += s.pushPullFailures;
    if (node.serf === undefined) return;
    const c = node.serf.stats().counters;
    t.reconnectAttempts += c.reconnectAttempts;
    t.joinIntentsSent += c.joinIntentsSent;
    t.intentsReceived += (c.messagesReceived.join ?? 0) + (c.messagesReceived.leave ?? 0);
    t.flaps += c.flaps;
    t.userEventsDelivered += c.userEvents;
    t.queriesDelivered += c.queries;
    t.queryResponses += c.queryResponses;
  }

  /** memberlist counters over every life so far, running nodes included. */
  protocolTotals(): ProtocolTotals {
    const saved = { ...this.totals };
    for (const n of this.nodes) if (n.ml !== undefined) this.#addTotals(n);
    const out = { ...this.totals };
    Object.assign(this.totals, saved);
    return out;
  }

  // ---- ClusterView, for the convergence checker ----

  live(): LiveNode[] {
    const out: LiveNode[] = [];
    for (const n of this.nodes)
      if (n.status === 'running') out.push({ name: n.name, incarnation: n.incarnation });
    return out;
  }

  down(): string[] {
    const out: string[] = [];
    for (const n of this.nodes) if (n.status === 'down') out.push(n.name);
    return out;
  }

  /** Names of nodes still leaving (a view cannot have settled while one is). */
  leaving(): string[] {
    return this.nodes.filter((n) => n.status === 'leaving').map((n) => n.name);
  }

  viewOf(observer: string, member: string): { status: MemberStatus; incarnation: number } | undefined {
    const m = this.#byName.get(observer)?.ml?.member(member);
    return m === undefined ? undefined : { status: m.status as MemberStatus, incarnation: m.incarnation };
  }

  aliveCount(observer: string): number {
    return this.#byName.get(observer)?.ml?.numMembers ?? 0;
  }

  // ---- SerfStatusView, for the member-status check ----

  /** Whether the nodes run the Serf layer. */
  get hasSerf(): boolean {
    return (this.#o.stack ?? 'serf') === 'serf';
  }

  serfStatusOf(observer: string, member: string): SerfStatus | undefined {
    return this.#byName.get(observer)?.serf?.member(member)?.status;
  }
}
