/**
 * The deterministic protocol simulator: the real stack, Serf (`src/cluster`) over memberlist
 * (`src/membership`), on a virtual clock and an in-process `MemoryNetwork`, thousands of nodes
 * in one process, with faults and traffic from a seed and invariant checkers after every event
 * (after tigerbeetle's VOPR, `src/vopr.zig`).
 *
 * A run:
 * 1. **parameters**: {@link deriveParams} draws everything from the seed (see scenario.ts);
 * 2. **bootstrap**: the initial nodes start one after another and join through a random
 *    earlier one, until every node holds every other alive (no faults yet);
 * 3. **safety phase** (`durationMs`): the scenario's faults and traffic (user events,
 *    queries) play; after every event (each packet a node handles, each timer) the checkers
 *    run: incarnations never go backwards, deaths are declared only by a suspecter (or the
 *    leaver), accused live nodes refute, a user event is delivered at most once per node, a
 *    member that left is never resurrected;
 * 4. **liveness phase**: every fault heals (faults.ts); all running nodes must then converge
 *    to the same view, in memberlist and in Serf's member statuses, within
 *    {@link convergenceBoundMs} of the last change, else the run fails with a reason string
 *    naming who disagrees about whom.
 *
 * Measured (metrics.ts): crash detection times, false positives, convergence time (from the
 * last fault's start or end to the first moment all views agree), and load per node.
 *
 * Determinism: the seed feeds one `SeededRandom`, forked in a fixed order into the parameter,
 * network, node, fault and driver streams; time is virtual; the `join`/`leave`/`forceLeave`
 * promises are drained at the virtual instant they settle (sim-cluster.ts). The same options give the same
 * {@link ProtocolSimResult}, byte for byte; wall-clock figures are left to the caller.
 */
import { pushPullScaleMs, suspicionTimeoutMs } from '../membership/math.ts';
import type { Member } from '../membership/node-state.ts';
import { profileTuning } from '../membership/options.ts';
import type { Timer } from '../runtime/clock.ts';
import { SeededRandom } from '../runtime/random.ts';
import { VirtualClock } from '../runtime/virtual-clock.ts';
import { type LatencyFn, MemoryNetwork, type MemoryNetworkStats } from '../transport/memory.ts';
import { ipFromString, splitHostPort } from '../wire/ip.ts';
import type { Alive, PushNodeState } from '../wire/memberlist.ts';
import { encodePushPull } from '../wire/stream.ts';
import { ConvergenceChecker } from './checkers/convergence.ts';
import { DeadOriginChecker } from './checkers/dead-origin.ts';
import { IncarnationChecker } from './checkers/incarnation.ts';
import { MemberStatusChecker } from './checkers/member-status.ts';
import { RefuteChecker } from './checkers/refute.ts';
import { ResurrectionChecker } from './checkers/resurrection.ts';
import {
  TRACE_EVENT_TYPES,
  type TraceChecker,
  type TraceEvent,
  type TraceEventType,
  type Violation,
} from './checkers/trace.ts';
import { UserEventChecker } from './checkers/user-event.ts';
import { FaultInjector } from './faults.ts';
import {
  type AccusationCause,
  type DetectionResult,
  DetectionTracker,
  FalsePositiveCounter,
  type FalsePositiveResult,
  type Percentiles,
  percentiles,
  type Spread,
  spread,
} from './metrics.ts';
import {
  deriveParams,
  nodeAddr,
  type ParamOverrides,
  type ProtocolSimParams,
  type ScenarioName,
} from './scenario.ts';
import {
  type ProtocolTotals,
  type SentCounters,
  SimCluster,
  type SimNode,
  type SimStack,
} from './sim-cluster.ts';

/** Most violations kept in a result (the rest are counted). */
export const MAX_VIOLATIONS_KEPT = 50;

/** How often convergence is polled in clusters up to {@link CONVERGENCE_POLL_SMALL_NODES} nodes, ms. */
export const CONVERGENCE_POLL_MS = 100;
/** Above this many node slots the poll runs every {@link CONVERGENCE_POLL_LARGE_MS} (a check is O(n²)). */
export const CONVERGENCE_POLL_SMALL_NODES = 200;
/** Poll interval of large clusters, ms. */
export const CONVERGENCE_POLL_LARGE_MS = 1000;

/** Options of one protocol simulation. */
export interface ProtocolSimOptions {
  scenario: ScenarioName;
  /** Seed of every random choice, an integer in [0, 2^53). */
  seed: number;
  /** Node count (else drawn from the scenario's range). */
  nodes?: number | undefined;
  /** Safety phase length in seconds (else the scenario's default). */
  durationS?: number | undefined;
  /** Timing profile of the nodes. @default 'lan' */
  profile?: ParamOverrides['profile'];
  /** Run the invariant checkers after every event. @default true */
  isChecking?: boolean | undefined;
  /**
   * Observe events at all (metrics and checkers). False leaves only the protocol running, for
   * benchmarks; it implies `isChecking: false`. @default true
   */
  isObserving?: boolean | undefined;
  /** Nodes join through seed discovery (see `ProtocolSimParams.seedDiscovery`). @default false */
  seedDiscovery?: boolean | undefined;
  /** Edits the derived parameters before the run (tests: a fault schedule of their own). */
  adjustParams?: ((params: ProtocolSimParams) => ProtocolSimParams) | undefined;
  /**
   * Time between two node starts in the bootstrap, ms. Slower starts keep broadcast queues
   * short during the join storm (cheaper to simulate, same steady state).
   * @default min(20, 10000 / nodes): at most 10 s for the whole bootstrap
   */
  bootstrapSpacingMs?: number | undefined;
  /**
   * memberlist's `maxBroadcastQueueDepth` on every node (bench members bounds a heap
   * measurement's queues with it; it never bites while fewer broadcasts wait).
   * @default memberlist's (4096)
   */
  maxBroadcastQueueDepth?: number | undefined;
  /** Called now and then with where the run is (for a progress line). Must not throw. */
  onProgress?: ((progress: ProtocolSimProgress) => void) | undefined;
  /**
   * The layers each node runs: Serf over memberlist, as an agent does, or memberlist alone
   * (benchmarks of the membership layer; no Serf reconnects, so long partitions do not heal,
   * and no traffic, force-leaves or Serf checkers).
   * @default 'serf'
   */
  stack?: SimStack | undefined;
}

/** A run's phase. */
export type ProtocolSimPhase = 'bootstrap' | 'safety' | 'liveness';

/** Progress of a run. */
export interface ProtocolSimProgress {
  phase: ProtocolSimPhase;
  /** Virtual time now, ms. */
  nowMs: number;
  /** When the phase started, ms. */
  phaseStartMs: number;
  /** When the phase ends at the latest, ms. */
  phaseEndMs: number;
  /** Events run so far. */
  events: number;
  /** Nodes running. */
  running: number;
}

/** When each phase started and ended (virtual ms). */
export interface PhaseTimes {
  /** Bootstrap start (0) to the first moment every node held every other alive. */
  bootstrapMs: number;
  safetyStartMs: number;
  livenessStartMs: number;
  /** The last fault's start or end (convergence is timed from here). */
  lastChangeMs: number;
  endMs: number;
}

/** Convergence of a run. */
export interface ConvergenceResult {
  /** Whether all running nodes held the same view at the end. */
  isConverged: boolean;
  /** From the last change to the first moment all views agreed (null if they never did). */
  timeMs: number | null;
  /** The liveness bound: they must agree within this long of the last change. */
  boundMs: number;
  /** How often agreement was polled, ms (the resolution of `timeMs`). */
  pollMs: number;
  /**
   * From each heal (a cut, lossy link or stall ended; a node crashed, left, started or came
   * back) to the first moment all views agreed, over the heals that settled before the next
   * change; during the safety phase too, so background loss does not hide a partition's.
   */
  settleMs: Percentiles;
  /** Who disagreed about whom when the bound ran out (memberlist views, then Serf statuses); null when converged. */
  reason: string | null;
}

/** Load per node, over the safety and liveness phases. */
export interface LoadResult {
  /** Virtual ms measured (safety start to the end of the run). */
  windowMs: number;
  /** memberlist messages sent (UDP, compound parts counted one by one) per node per second. */
  messagesPerNodePerSecond: Spread;
  /** UDP packets sent per node per second. */
  packetsPerNodePerSecond: Spread;
  /** UDP and TCP bytes sent per node per second. */
  bytesPerNodePerSecond: Spread;
  /** Bytes per second of each slot, by slot; null for a slot that ran less than a second in the window. */
  perNodeBytesPerSecond: (number | null)[];
  /** Messages per second of each slot, by slot; null as above. */
  perNodeMessagesPerSecond: (number | null)[];
}

/**
 * What the checkers were fed and what they made of it: a run whose checkers saw nothing proves
 * nothing, so the sweep sums these over its seeds and fails when a kind stays at 0.
 */
export interface ObservedResult {
  /** Trace events by type (every checker sees every one). */
  events: Record<TraceEventType, number>;
  /** Per checker (by name): observations it held against its invariant. Empty without checking. */
  checks: Record<string, number>;
}

/** The record of one run: what `gossip sim --scenario ... --format json` prints. Key order is fixed. */
export interface ProtocolSimResult {
  /** Every derived parameter (the fault schedule included). */
  params: ProtocolSimParams;
  /** Whether every invariant held and the cluster converged within the bound. */
  isOk: boolean;
  /** Broken invariants, first {@link MAX_VIOLATIONS_KEPT}. */
  violations: Violation[];
  /** Violations beyond those kept. */
  violationsNotKept: number;
  phases: PhaseTimes;
  detection: DetectionResult;
  falsePositives: FalsePositiveResult;
  convergence: ConvergenceResult;
  load: LoadResult;
  /** memberlist counters summed over every node (and restart), plus the simulator's joins. */
  protocol: ProtocolTotals;
  /** Network-wide counters of the MemoryNetwork. */
  network: MemoryNetworkStats;
  /** Events run: timers fired plus packets handled. */
  events: number;
  observed: ObservedResult;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The liveness bound, ms: the longest suspicion (Lifeguard's max timeout, no confirmations),
 * four rounds of Serf's reconnect loop (a partition that outlived the suspicion timeout is
 * healed by reconnects: one to refute, one to carry the refutation across, two for luck), one
 * scaled push-pull interval (anti-entropy repairs what gossip missed), and 30 probe intervals
 * for probing, gossip and a health score of 8 to wind down.
 */
export function convergenceBoundMs(params: ProtocolSimParams): number {
  const t = profileTuning(params.profile);
  const n = params.slots;
  const max = t.suspicionMaxTimeoutMult * suspicionTimeoutMs(t.suspicionMult, n, t.probeIntervalMs);
  return round3(
    max + 4 * params.reconnectIntervalMs + pushPullScaleMs(t.pushPullIntervalMs, n) + 30 * t.probeIntervalMs,
  );
}

/** The bootstrap's bound: a minute plus twice the time it takes to start every node. */
export function bootstrapBoundMs(params: ProtocolSimParams, spacingMs: number): number {
  return 60_000 + 2 * spacingMs * params.initialNodes;
}

/** A 32-bit mix of (a, b, salt) as a float in [0, 1) (per-link latency). */
function hash01(a: number, b: number, salt: number): number {
  let h = Math.imul(a ^ salt, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 2 ** 32;
}

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A push-pull carrying every given local node alive, at the incarnation, address, metadata and
 * protocol versions it started with (bench/state.ts warms its cluster up with it).
 */
export function warmStartList(locals: readonly Member[]): Uint8Array {
  const states: PushNodeState[] = warmStartClaims(locals).map((a) => ({
    name: a.node,
    addr: a.addr,
    port: a.port,
    meta: a.meta,
    incarnation: a.incarnation,
    state: 0,
    vsn: a.vsn,
  }));
  return encodePushPull(false, states, new Uint8Array(0));
}

/**
 * The alive claims of a warm start (see {@link ProtocolSim.warmStart}): every given local node
 * at the incarnation, address, metadata and protocol versions it started with. Read-only: one
 * array serves every node.
 */
export function warmStartClaims(locals: readonly Member[]): Alive[] {
  return locals.map((m) => {
    const hp = splitHostPort(m.address)!;
    return {
      incarnation: m.incarnation,
      node: m.name,
      addr: ipFromString(hp.host)!,
      port: hp.port,
      meta: m.meta,
      vsn: [
        m.protocol.min,
        m.protocol.max,
        m.protocol.current,
        m.delegate.min,
        m.delegate.max,
        m.delegate.current,
      ],
    };
  });
}

/** One simulated run; {@link runProtocolSim} drives it through its phases. */
export class ProtocolSim {
  readonly params: ProtocolSimParams;
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly cluster: SimCluster;
  readonly faults: FaultInjector;
  readonly #options: ProtocolSimOptions;
  readonly #checkers: TraceChecker[] = [];
  readonly #convergence = new ConvergenceChecker();
  readonly #memberStatus = new MemberStatusChecker();
  readonly #detection = new DetectionTracker();
  readonly #falsePositives: FalsePositiveCounter;
  readonly #violations: Violation[] = [];
  readonly #observedEvents = Object.fromEntries(TRACE_EVENT_TYPES.map((t) => [t, 0])) as Record<
    TraceEventType,
    number
  >;
  #violationsNotKept = 0;
  readonly #driverRandom: SeededRandom;
  readonly #isObserving: boolean;
  #steps = 0;
  #phase: ProtocolSimPhase = 'bootstrap';
  #phaseStartMs = 0;
  #phaseEndMs = 0;
  readonly #pollMs: number;
  #lastChangeMs = 0;
  /** Whether the last change was a heal (its settling time is recorded). */
  #isSettling = false;
  readonly #settleTimes: number[] = [];
  #firstAgreeMs: number | undefined;
  #pollTimer: Timer | undefined;
  #isSettled = false;
  #bootstrapMs = Number.NaN;
  #safetyStartMs = Number.NaN;
  #livenessStartMs = Number.NaN;
  #loadStart: { sent: SentCounters; upMs: number }[] = [];
  #convergenceReason: string | null = null;

  constructor(options: ProtocolSimOptions) {
    this.#options = options;
    const root = new SeededRandom(options.seed);
    const derived = deriveParams(options.scenario, options.seed, root.fork(), {
      nodes: options.nodes,
      durationS: options.durationS,
      profile: options.profile,
    });
    if (options.seedDiscovery !== undefined) derived.seedDiscovery = options.seedDiscovery;
    this.params = options.adjustParams ? options.adjustParams(derived) : derived;
    const params = this.params;
    const networkRandom = root.fork();
    const nodeRandom = root.fork();
    const faultRandom = root.fork();
    this.#driverRandom = root.fork();
    this.#isObserving = options.isObserving ?? true;
    const isChecking = this.#isObserving && (options.isChecking ?? true);
    this.#pollMs =
      params.slots <= CONVERGENCE_POLL_SMALL_NODES ? CONVERGENCE_POLL_MS : CONVERGENCE_POLL_LARGE_MS;

    const net = params.network;
    let latency: number | LatencyFn = net.latencyMs;
    if (net.latencyModel === 'per-link') {
      const slotOf = new Map<string, number>();
      const salt = (options.seed % 2 ** 31) | 0;
      latency = (from, to) => {
        const a = slotOf.get(from);
        const b = slotOf.get(to);
        if (a === undefined || b === undefined) return net.latencyMs;
        return net.latencyMs + net.latencySpreadMs * hash01(a, b, salt);
      };
      for (let s = 0; s < params.slots; s++) slotOf.set(nodeAddr(s), s);
    }
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: networkRandom,
      latencyMs: latency,
      jitterMs: net.jitterMs,
    });

    const slowSlots = new Set<number>();
    for (const f of params.faults) if (f.kind === 'slow') slowSlots.add(f.node);
    const report = (checker: string) => (reason: string, atMs: number) =>
      this.#violation(checker, reason, atMs);
    const t = profileTuning(params.profile);
    const stack = options.stack ?? 'serf';
    if (isChecking) {
      this.#checkers.push(
        new IncarnationChecker(report('incarnation'), t.gossipToTheDeadTimeMs),
        new DeadOriginChecker(report('dead-origin')),
        new RefuteChecker(report('refute')),
      );
      if (stack === 'serf')
        this.#checkers.push(
          new UserEventChecker(report('user-event')),
          new ResurrectionChecker(report('resurrection')),
        );
    }
    this.cluster = new SimCluster({
      params,
      clock: this.clock,
      network: this.network,
      nodeRandom,
      driverRandom: this.#driverRandom,
      slowSlots,
      sink: this.#isObserving ? (e) => this.#observe(e) : undefined,
      isChecking,
      afterPacket: () => this.#endOfEvent(),
      maxBroadcastQueueDepth: options.maxBroadcastQueueDepth,
      stack,
    });
    this.faults = new FaultInjector(this.cluster, params, faultRandom, this.clock, this.network, {
      beforeCrash: (slot) => this.#beforeCrash(slot),
      changed: (atMs, isHeal) => this.#changed(atMs, isHeal),
    });
    const suspicionMaxMs =
      t.suspicionMaxTimeoutMult * suspicionTimeoutMs(t.suspicionMult, params.slots, t.probeIntervalMs);
    this.#falsePositives = new FalsePositiveCounter(
      (name) => this.cluster.isRunning(name),
      (accuser, accused) => this.#causeOf(accuser, accused, suspicionMaxMs),
    );
  }

  #causeOf(accuser: string, accused: string, suspicionMaxMs: number): AccusationCause {
    const a = this.cluster.node(accuser);
    const b = this.cluster.node(accused);
    if (a === undefined || b === undefined) return 'other';
    if (this.faults.isCut(a.addr, b.addr)) return 'partition';
    if (this.clock.now() - this.faults.stallEndsMs[b.slot]! < suspicionMaxMs) return 'slow';
    return 'other';
  }

  #violation(checker: string, reason: string, atMs: number): void {
    if (this.#violations.length >= MAX_VIOLATIONS_KEPT) {
      this.#violationsNotKept++;
      return;
    }
    this.#violations.push({ checker, atMs: round3(atMs), reason });
  }

  /** Violations so far. */
  get violations(): readonly Violation[] {
    return this.#violations;
  }

  #observe(e: TraceEvent): void {
    this.#observedEvents[e.type]++;
    for (const c of this.#checkers) c.observe(e);
    this.#detection.observe(e);
    this.#falsePositives.observe(e);
    if (e.type === 'stop' && e.how === 'leave') this.#changed(e.atMs, true);
  }

  #endOfEvent(): void {
    this.cluster.flushReadBacks();
    const now = this.clock.now();
    for (const c of this.#checkers) c.endOfEvent(now);
  }

  #beforeCrash(slot: number): void {
    if (!this.#isObserving) return;
    const victim = this.cluster.nodes[slot]!;
    const observers: string[] = [];
    for (const n of this.cluster.running()) {
      if (n === victim) continue;
      const s = n.ml?.member(victim.name)?.status;
      if (s === 'alive' || s === 'suspect') observers.push(n.name);
    }
    this.#detection.onCrash(victim.name, this.clock.now(), observers);
  }

  // ---- convergence polling ----

  #changed(atMs: number, isHeal: boolean): void {
    if (atMs >= this.#lastChangeMs) {
      this.#lastChangeMs = atMs;
      this.#isSettling = isHeal && this.#phase !== 'bootstrap';
    }
    this.#firstAgreeMs = undefined;
    this.#isSettled = false;
    if (this.#pollTimer === undefined)
      this.#pollTimer = this.clock.setTimer(this.#pollMs, () => this.#poll());
  }

  /** Whether all running nodes hold the same view now (memberlist's, and Serf's statuses). */
  #agrees(): boolean {
    if (this.cluster.leaving().length > 0) return false;
    if (this.#convergence.check(this.cluster) !== null) return false;
    return !this.cluster.hasSerf || this.#memberStatus.check(this.cluster) === null;
  }

  /**
   * Reports why the views do not agree at `atMs`: memberlist's views as `convergence`, Serf's
   * statuses as `member-status`, each with `prefix`. Returns the reasons joined (for the record).
   */
  #disagreement(prefix: string, atMs: number): string {
    const reasons: string[] = [];
    const views = this.#convergence.check(this.cluster, true);
    if (views !== null) {
      reasons.push(views);
      this.#violation('convergence', `${prefix}: ${views}`, atMs);
    }
    const statuses = this.cluster.hasSerf ? this.#memberStatus.check(this.cluster, true) : null;
    if (statuses !== null) {
      reasons.push(statuses);
      this.#violation('member-status', `${prefix}: ${statuses}`, atMs);
    }
    if (reasons.length === 0) {
      const leaving = `still leaving: ${this.cluster.leaving().join(', ')}`;
      reasons.push(leaving);
      this.#violation('convergence', `${prefix}: ${leaving}`, atMs);
    }
    return reasons.join('; ');
  }

  #poll(): void {
    this.#pollTimer = undefined;
    const now = this.clock.now();
    if (now >= this.#lastChangeMs && this.#agrees()) {
      if (this.#firstAgreeMs === undefined) {
        this.#firstAgreeMs = now;
        if (this.#isSettling) this.#settleTimes.push(round3(now - this.#lastChangeMs));
      }
      if (this.#phase === 'liveness' || this.#phase === 'bootstrap') this.#isSettled = true;
      return; // quiet until the next change
    }
    this.#pollTimer = this.clock.setTimer(this.#pollMs, () => this.#poll());
  }

  // ---- the loop ----

  async #runUntil(endMs: number, isDone: () => boolean): Promise<void> {
    const clock = this.clock;
    const cluster = this.cluster;
    const onProgress = this.#options.onProgress;
    for (;;) {
      if (isDone()) return;
      const next = clock.nextTimerAt();
      if (next === undefined || next > endMs) {
        clock.runUntil(endMs);
        return;
      }
      clock.step();
      this.#steps++;
      this.#endOfEvent();
      if (cluster.pendingOps > 0) {
        await drain();
        this.#endOfEvent();
      }
      if (onProgress !== undefined && (this.#steps & 16383) === 0) onProgress(this.progress());
    }
  }

  /** Where the run is. */
  progress(): ProtocolSimProgress {
    return {
      phase: this.#phase,
      nowMs: this.clock.now(),
      phaseStartMs: this.#phaseStartMs,
      phaseEndMs: this.#phaseEndMs,
      events: this.#steps + this.cluster.packetsHandled,
      running: this.cluster.running().length,
    };
  }

  /**
   * Starts the initial nodes one after another (every 20 ms, faster above 500 nodes so the
   * whole start takes at most 10 s), each joining through a random earlier one, and runs until
   * every node holds every other alive, or the bootstrap bound.
   */
  async bootstrap(): Promise<void> {
    const n = this.params.initialNodes;
    const spacingMs = this.#options.bootstrapSpacingMs ?? Math.min(20, 10_000 / n);
    this.#phase = 'bootstrap';
    this.cluster.start(0);
    for (let i = 1; i < n; i++) {
      const via = this.#driverRandom.int(i);
      this.clock.setTimer(i * spacingMs, () => {
        this.cluster.start(i);
        this.cluster.join(i, [via]);
        if (i === n - 1) this.#changed(this.clock.now(), false);
      });
    }
    if (n === 1) this.#changed(0, false);
    const bound = bootstrapBoundMs(this.params, spacingMs);
    this.#phaseEndMs = bound;
    await this.#runUntil(bound, () => this.#isSettled);
    if (!this.#isSettled) this.#disagreement(`the bootstrap did not converge within ${bound} ms`, bound);
    this.#bootstrapMs = round3(this.#firstAgreeMs ?? this.clock.now());
  }

  /**
   * A warm start for steady-state benchmarks, in place of {@link bootstrap}'s join storm: every
   * initial node starts at time 0 and then takes every other one alive, at the incarnation,
   * address, metadata and protocol versions it started with (read from its `localNode`), through
   * `Memberlist.assumeMembers`: memberlist's own alive transition, as the push-pull of a peer
   * that already knew the whole cluster would bring them (admission, insertion at a random
   * position, `join` and, on the full stack, Serf's member records), but without queuing their
   * re-gossip, since every node holds every member. The claims are built once and shared by all
   * nodes, so the set-up costs one transition per member entry (n²) and nothing is encoded,
   * sent or decoded. The nodes run the production code from their first timer on; their first
   * push-pulls, drawn within the first push-pull interval, are still ahead (a steady state
   * waits them out). No convergence polling: every view is complete by construction (checked
   * against a join storm's in test/sim/warm-start.test.ts).
   */
  async warmStart(): Promise<void> {
    const n = this.params.initialNodes;
    this.#phase = 'bootstrap';
    const started: SimNode[] = [];
    for (let i = 0; i < n; i++) started.push(this.cluster.start(i));
    const claims = warmStartClaims(started.map((node) => node.ml!.localNode));
    for (const node of started) node.ml!.assumeMembers(claims);
    this.#endOfEvent();
    this.#bootstrapMs = round3(this.clock.now());
  }

  /** Plays the fault schedule for the safety phase, checkers on. */
  async safety(): Promise<void> {
    this.#phase = 'safety';
    this.#isSettled = false;
    const start = this.clock.now();
    this.#phaseStartMs = start;
    this.#safetyStartMs = start;
    this.#loadStart = this.cluster.nodes.map((node) => ({ sent: node.sent(), upMs: node.upMs(start) }));
    this.faults.begin(start);
    this.#phaseEndMs = start + this.params.durationMs;
    await this.#runUntil(this.#phaseEndMs, () => false);
  }

  /** Heals every fault and runs until all views agree, or the liveness bound. */
  async liveness(): Promise<void> {
    this.#phase = 'liveness';
    const start = this.clock.now();
    this.#phaseStartMs = start;
    this.#livenessStartMs = start;
    this.faults.healAll();
    const bound = convergenceBoundMs(this.params);
    // Settled already (no change since the last agreement)? Confirm now.
    this.#isSettled = false;
    if (this.#pollTimer === undefined) {
      if (start >= this.#lastChangeMs && this.#agrees()) {
        this.#firstAgreeMs ??= start;
        this.#isSettled = true;
      } else {
        this.#pollTimer = this.clock.setTimer(this.#pollMs, () => this.#poll());
      }
    }
    this.#phaseEndMs = start + 4 * bound;
    await this.#runUntil(
      this.#phaseEndMs,
      () => this.#isSettled || this.clock.now() > this.#lastChangeMs + bound,
    );
    if (!this.#isSettled) {
      this.#convergenceReason = this.#disagreement(
        `the running nodes did not converge within ${bound} ms of the last change (at ${round3(this.#lastChangeMs)} ms)`,
        this.clock.now(),
      );
    }
  }

  /** Runs `ms` of virtual time with whatever is scheduled (benchmarks: steady state). */
  async runFor(ms: number): Promise<void> {
    await this.#runUntil(this.clock.now() + ms, () => false);
  }

  /** Events run so far: timers fired plus packets handled. */
  get events(): number {
    return this.#steps + this.cluster.packetsHandled;
  }

  /** The record of the run so far. */
  result(): ProtocolSimResult {
    const now = this.clock.now();
    const bound = convergenceBoundMs(this.params);
    const perNode = this.#load(now);
    const violations = [...this.#violations];
    return {
      params: this.params,
      isOk: violations.length === 0 && this.#isSettled,
      violations,
      violationsNotKept: this.#violationsNotKept,
      phases: {
        bootstrapMs: this.#bootstrapMs,
        safetyStartMs: round3(this.#safetyStartMs),
        livenessStartMs: round3(this.#livenessStartMs),
        lastChangeMs: round3(this.#lastChangeMs),
        endMs: round3(now),
      },
      detection: this.#detection.result(),
      falsePositives: this.#falsePositives.result(),
      convergence: {
        isConverged: this.#isSettled,
        timeMs: this.#firstAgreeMs === undefined ? null : round3(this.#firstAgreeMs - this.#lastChangeMs),
        boundMs: bound,
        pollMs: this.#pollMs,
        settleMs: percentiles(this.#settleTimes),
        reason: this.#convergenceReason,
      },
      load: perNode,
      protocol: this.cluster.protocolTotals(),
      network: structuredClone(this.network.stats) as MemoryNetworkStats,
      events: this.events,
      observed: {
        events: { ...this.#observedEvents },
        checks: Object.fromEntries(this.#allCheckers().map((c) => [c.name, c.checks])),
      },
    };
  }

  /** Every checker of the run that counts its checks (none without checking). */
  #allCheckers(): { name: string; checks: number }[] {
    if (this.#checkers.length === 0) return [];
    return [...this.#checkers, this.#convergence, ...(this.cluster.hasSerf ? [this.#memberStatus] : [])];
  }

  #load(now: number): LoadResult {
    const start = Number.isNaN(this.#safetyStartMs) ? 0 : this.#safetyStartMs;
    const messages: (number | null)[] = [];
    const packets: (number | null)[] = [];
    const bytes: (number | null)[] = [];
    for (const node of this.cluster.nodes) {
      const base = this.#loadStart[node.slot] ?? { sent: { messages: 0, packets: 0, bytes: 0 }, upMs: 0 };
      const upMs = node.upMs(now) - base.upMs;
      if (upMs < 1000) {
        messages.push(null);
        packets.push(null);
        bytes.push(null);
        continue;
      }
      const sent = node.sent();
      const perSecond = 1000 / upMs;
      messages.push(round3((sent.messages - base.sent.messages) * perSecond));
      packets.push(round3((sent.packets - base.sent.packets) * perSecond));
      bytes.push(round3((sent.bytes - base.sent.bytes) * perSecond));
    }
    const ran = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
    return {
      windowMs: round3(now - start),
      messagesPerNodePerSecond: spread(ran(messages)),
      packetsPerNodePerSecond: spread(ran(packets)),
      bytesPerNodePerSecond: spread(ran(bytes)),
      perNodeBytesPerSecond: bytes,
      perNodeMessagesPerSecond: messages,
    };
  }
}

/** Runs a whole simulation (bootstrap, safety, liveness) and returns its record. */
export async function runProtocolSim(options: ProtocolSimOptions): Promise<ProtocolSimResult> {
  const sim = new ProtocolSim(options);
  await sim.bootstrap();
  await sim.safety();
  await sim.liveness();
  return sim.result();
}
