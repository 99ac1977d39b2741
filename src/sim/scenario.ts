/**
 * Scenarios of the protocol simulator and the derivation of a run's parameters from one seed
 * (swarm testing, after tigerbeetle's `options_swarm` in `src/vopr.zig`).
 *
 * A scenario names a range of node counts, a default duration and the kinds of fault it
 * injects; {@link deriveParams} draws everything else from the seed: the node count (unless
 * given), the network (latency model, jitter, loss, reordering, duplication) and the fault
 * schedule (crashes and restarts, graceful leaves, partitions of three shapes, slow nodes,
 * lossy nodes, joins, clock drift). The draws happen in a fixed order from a stream forked
 * off `SeededRandom(seed)`, and a value given on the command line replaces a drawn one after
 * it was drawn, so giving `--nodes` with the value the seed would have picked changes nothing.
 *
 * Fault times are relative to the start of the safety phase (the bootstrap before it lasts
 * until the cluster has converged, which the schedule cannot know in advance).
 */
import type { ProfileName } from '../membership/options.ts';
import type { Random } from '../runtime/random.ts';

/** The scenarios, in the order `--help` lists them. */
export const SCENARIO_NAMES = [
  'crash',
  'partition',
  'churn',
  'loss',
  'slow-node',
  'join-storm',
  'random',
] as const;
/** A scenario name. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Most nodes a protocol simulation accepts (memory is O(n²): every node holds every member). */
export const PROTOCOL_SIM_MAX_NODES = 10_000;
/**
 * Heap one member entry costs in a protocol simulation (memberlist's and Serf's tables; n
 * nodes hold n² entries), for `gossip sim`'s warning that a cluster will not fit the heap.
 * `npm run bench -- members` measures it and prints it beside this figure: 212 B per entry
 * (marginal, 200 → 600 nodes, warm start, after 30 virtual s) in December 2026, of which the
 * memberlist table is about 25 B (its entries are shared between nodes) and Serf's member
 * records the rest; rounded up, as the warning is a floor.
 */
export const SIM_MEMBER_ENTRY_BYTES = 220;
/** Longest safety phase accepted, in seconds of virtual time. */
export const PROTOCOL_SIM_MAX_DURATION_S = 24 * 3600;
/** Most faults one schedule holds (a bound on the derivation loops). */
export const MAX_FAULTS = 10_000;
/** Most one-way links an asymmetric partition blocks (|A| × |B|; the MemoryNetwork allows 10⁶). */
export const MAX_ASYMMETRIC_LINKS = 250_000;

/** What a scenario is, for `--help` and the derivation. */
export interface ScenarioSpec {
  /** One line for `--help`. */
  summary: string;
  /** Node count range drawn from when `--nodes` is not given (inclusive). */
  nodes: readonly [number, number];
  /** Safety phase length when `--duration` is not given, in seconds. */
  durationS: number;
}

/** Every scenario's spec. */
export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioSpec>> = {
  crash: { summary: 'a few nodes crash (no leave); failure detection time', nodes: [8, 64], durationS: 60 },
  partition: {
    summary: 'symmetric, asymmetric or single-node partitions that heal',
    nodes: [6, 48],
    durationS: 120,
  },
  churn: {
    summary: 'crashes, restarts, graceful leaves and new joins, one after another',
    nodes: [8, 48],
    durationS: 120,
  },
  loss: {
    summary: 'heavy packet loss, reordering, duplication, a lossy node; false positives',
    nodes: [8, 64],
    durationS: 120,
  },
  'slow-node': {
    summary: 'nodes whose event loop stalls again and again; Lifeguard false positives',
    nodes: [8, 32],
    durationS: 120,
  },
  'join-storm': {
    summary: 'most of the cluster starts at once and joins through a few seeds',
    nodes: [16, 128],
    durationS: 60,
  },
  random: {
    summary: 'faults composed at random from the seed (the sweep of npm test and npm run test:sweep)',
    nodes: [4, 24],
    durationS: 60,
  },
};

/** How one-way latency is drawn. */
export type LatencyModel =
  /** Every link has the same base latency. */
  | 'uniform'
  /** Each one-way link has its own base latency in `[latencyMs, latencyMs + latencySpreadMs)`. */
  | 'per-link';

/** The network of a run. Loss, reordering and duplication hold during the safety phase only. */
export interface NetworkParams {
  latencyModel: LatencyModel;
  /** Base one-way latency, ms. */
  latencyMs: number;
  /** Per-link model: the spread of link latencies above the base, ms. */
  latencySpreadMs: number;
  /** Uniform extra delay in [0, jitterMs) on every packet. */
  jitterMs: number;
  /** Probability a packet is lost. */
  lossRate: number;
  /** Probability a packet gets an extra delay in [0, reorderDelayMs). */
  reorderRate: number;
  reorderDelayMs: number;
  /** Probability a packet is delivered twice. */
  duplicateRate: number;
}

/** A partition's shape. */
export type PartitionShape =
  /** Nothing crosses between the groups. */
  | 'symmetric'
  /** Packets from group A to group B are dropped; B to A still flow (streams fail both ways). */
  | 'asymmetric';

/** One scheduled fault; `atMs` (and `untilMs`) count from the start of the safety phase. */
export type Fault =
  /** The node dies without leaving; with `restartAtMs` it comes back (same name and address) and rejoins. */
  | { kind: 'crash'; atMs: number; node: number; restartAtMs: number | null }
  /** The node leaves gracefully and shuts down; with `rejoinAtMs` it starts again and rejoins. */
  | { kind: 'leave'; atMs: number; node: number; rejoinAtMs: number | null }
  /**
   * A node that has never run starts and joins through one of `seeds` (picked at random among
   * those running then; a failed join is retried through any running node).
   */
  | { kind: 'join'; atMs: number; node: number; seeds: number[] }
  /** Links between the groups are cut (see {@link PartitionShape}) until `untilMs`. */
  | {
      kind: 'partition';
      atMs: number;
      untilMs: number;
      shape: PartitionShape;
      groupA: number[];
      groupB: number[];
    }
  /** One node is cut off from everyone until `untilMs`. */
  | { kind: 'isolate'; atMs: number; untilMs: number; node: number }
  /**
   * The node's event loop stalls again and again until `untilMs`: each stall lasts
   * U[stallMsMin, stallMsMax), with U[gapMsMin, gapMsMax) of normal running between stalls.
   */
  | {
      kind: 'slow';
      atMs: number;
      untilMs: number;
      node: number;
      stallMsMin: number;
      stallMsMax: number;
      gapMsMin: number;
      gapMsMax: number;
    }
  /** Every link to and from the node loses packets at `lossRate` until `untilMs` (a bad NIC). */
  | { kind: 'lossy-node'; atMs: number; untilMs: number; node: number; lossRate: number }
  /**
   * An operator removes a node that crashed for good: `by` (when running then) force-leaves it
   * (`serf force-leave`, Serf `RemoveFailedNode`), after which every member should hold it left.
   */
  | { kind: 'force-leave'; atMs: number; node: number; by: number };

/**
 * Application traffic on the full stack, timed like the faults. The sender, when not running
 * at that moment, sends nothing.
 */
export type Traffic =
  /** `node` sends the user event `name` (payload: its own name) to every member. */
  | { kind: 'user-event'; atMs: number; node: number; name: string }
  /** `node` queries every member with `name`; each member answers with its own name. */
  | { kind: 'query'; atMs: number; node: number; name: string };

/** Everything a run is made of. Deterministic in (scenario, seed, overrides). */
export interface ProtocolSimParams {
  scenario: ScenarioName;
  seed: number;
  profile: ProfileName;
  /**
   * The scenario's size, what `--nodes` sets: the cluster size for most scenarios, the size
   * after the storm for `join-storm`.
   */
  nodes: number;
  /** Nodes the bootstrap starts (the cluster when the safety phase begins). */
  initialNodes: number;
  /** Node slots in all: `initialNodes` plus those that join later. */
  slots: number;
  /** Safety phase length, ms. */
  durationMs: number;
  network: NetworkParams;
  /** Per-slot clock drift in parts per million (0 = exact). Empty when no node drifts. */
  clockDriftPpm: number[];
  /**
   * Packet compression on the nodes. Off in the simulator for speed: it changes packet sizes
   * (bytes per second), not the protocol's decisions.
   */
  compression: boolean;
  /**
   * The interval of each node's Serf reconnect loop (Serf `ReconnectInterval`, default 30 s):
   * every this many ms a node picks, with probability failed/alive, a member it holds failed
   * and push-pulls with it. Without it memberlist never heals a partition that outlived the
   * suspicion timeout: each side forgets the other.
   */
  reconnectIntervalMs: number;
  /**
   * Nodes find each other through seed discovery (src/discovery, what `gossip agent --join`
   * runs) instead of the driver's join-through-a-running-node retries: every joining node runs
   * a `SeedDiscovery` whose seed name lists every running node (a Kubernetes headless Service),
   * resolved again at its TTL for as long as the node runs. Off by default, so a seed's run
   * stays what it was; `--seed-discovery` turns it on.
   */
  seedDiscovery: boolean;
  /** The faults, by start time. */
  faults: Fault[];
  /** User events and queries, by time. */
  traffic: Traffic[];
}

/** Values that replace the drawn ones. */
export interface ParamOverrides {
  nodes?: number | undefined;
  durationS?: number | undefined;
  profile?: ProfileName | undefined;
}

/** Serf's `ReconnectInterval`. */
export const SERF_RECONNECT_INTERVAL_MS = 30_000;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A uniform draw in [lo, hi), rounded to µs so the JSON stays short. */
function uniform(r: Random, lo: number, hi: number): number {
  return round3(lo + r.float() * (hi - lo));
}

/** A log-uniform draw in [lo, hi): as likely to be a few seconds as a minute. */
function logUniform(r: Random, lo: number, hi: number): number {
  return round3(Math.exp(Math.log(lo) + r.float() * (Math.log(hi) - Math.log(lo))));
}

function intIn(r: Random, lo: number, hi: number): number {
  return lo + r.int(hi - lo + 1);
}

/** Base network draws for a profile: latency, jitter, and light background faults. */
function drawNetwork(r: Random, profile: ProfileName): NetworkParams {
  const scale = profile === 'wan' ? 100 : profile === 'local' ? 0.1 : 1;
  const latencyModel: LatencyModel = r.chance(0.5) ? 'uniform' : 'per-link';
  const latencyMs = uniform(r, 0.1 * scale, (profile === 'wan' ? 0.8 : 0.5) * scale);
  const latencySpreadMs = latencyModel === 'per-link' ? uniform(r, 0, scale) : 0;
  const jitterMs = uniform(r, 0, 0.5 * scale);
  const lossRate = r.chance(0.5) ? 0 : uniform(r, 0, 0.01);
  const reorderRate = r.chance(0.5) ? 0 : uniform(r, 0, 0.05);
  const reorderDelayMs = uniform(r, scale, 10 * scale);
  const duplicateRate = r.chance(0.5) ? 0 : uniform(r, 0, 0.02);
  return {
    latencyModel,
    latencyMs,
    latencySpreadMs,
    jitterMs,
    lossRate,
    reorderRate,
    reorderDelayMs,
    duplicateRate,
  };
}

/**
 * Tracks which slots are up over the schedule as it is drawn, so that faults keep at least
 * two nodes running and never crash a node twice.
 */
class Plan {
  readonly faults: Fault[] = [];
  /** Per slot: time (ms) from which it is free to be faulted again; Infinity while down for good. */
  readonly #busyUntil: number[];
  /** Per slot: the intervals during which it is down. */
  readonly #down: Array<Array<[number, number]>>;
  readonly #random: Random;
  readonly #initial: number;

  constructor(slots: number, initial: number, random: Random) {
    this.#busyUntil = new Array<number>(slots).fill(0);
    this.#down = Array.from({ length: slots }, (_, i) =>
      i < initial ? [] : [[Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as [number, number]],
    );
    this.#random = random;
    this.#initial = initial;
  }

  isUp(node: number, at: number): boolean {
    return !this.#down[node]!.some(([a, b]) => at >= a && at < b);
  }

  /** Nodes up during all of [from, to). */
  upThrough(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#down.length; i++) {
      if (!this.#down[i]!.some(([a, b]) => a < to && b > from)) out.push(i);
    }
    return out;
  }

  /** Up nodes at `at` (those joining later count once their join time has passed). */
  upAt(at: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#down.length; i++) if (this.isUp(i, at)) out.push(i);
    return out;
  }

  /** A random node free to be taken down over [from, to), keeping at least two others up. */
  pickVictim(from: number, to: number): number | undefined {
    const up = this.upThrough(from, to);
    // Keep two nodes up throughout, besides the victim.
    if (up.length <= 2) return undefined;
    return this.#random.pick(up.filter((i) => this.#busyUntil[i]! <= from));
  }

  markDown(node: number, from: number, to: number): void {
    this.#down[node]!.push([from, to]);
    this.#busyUntil[node] = to;
  }

  /** Declares that `node` (not yet running) joins at `at`. */
  markJoins(node: number, at: number): void {
    const d = this.#down[node]!;
    d.length = 0;
    if (node >= this.#initial) d.push([Number.NEGATIVE_INFINITY, at]);
    this.#busyUntil[node] = at;
  }

  add(fault: Fault): void {
    if (this.faults.length >= MAX_FAULTS) return;
    this.faults.push(fault);
  }
}

/** Draws the crash faults: `count` nodes crash at random times, each restarting with probability `restartP`. */
function drawCrashes(r: Random, plan: Plan, durationMs: number, count: number, restartP: number): void {
  for (let c = 0; c < count; c++) {
    const at = uniform(r, 0.05 * durationMs, 0.9 * durationMs);
    const restarts = r.chance(restartP);
    const restartAt = restarts ? round3(at + logUniform(r, 1000, Math.max(2000, 0.9 * durationMs))) : null;
    const victim = plan.pickVictim(at, restartAt ?? Number.POSITIVE_INFINITY);
    if (victim === undefined) continue;
    plan.markDown(victim, at, restartAt ?? Number.POSITIVE_INFINITY);
    plan.add({ kind: 'crash', atMs: at, node: victim, restartAtMs: restartAt });
  }
}

/** A random split of the nodes up at `at` into group A (size in [1, n/2]) and B (the rest). */
function drawGroups(r: Random, nodes: number[], maxA: number): [number[], number[]] {
  const shuffled = r.shuffle([...nodes]);
  const k = Math.min(maxA, intIn(r, 1, Math.max(1, Math.floor(shuffled.length / 2))));
  const a = shuffled.slice(0, k).sort((x, y) => x - y);
  const b = shuffled.slice(k).sort((x, y) => x - y);
  return [a, b];
}

/** Draws `count` partitions one after another: symmetric, asymmetric or isolating one node. */
function drawPartitions(r: Random, plan: Plan, durationMs: number, count: number, slots: number): void {
  let t = uniform(r, 0.05 * durationMs, 0.3 * durationMs);
  for (let p = 0; p < count; p++) {
    const left = 0.95 * durationMs - t;
    if (left < 1000) return;
    const length = logUniform(r, 1000, Math.max(1001, Math.min(90_000, left)));
    const until = round3(t + length);
    const shapeDraw = r.int(3);
    if (shapeDraw === 2) {
      const node = r.int(slots);
      plan.add({ kind: 'isolate', atMs: t, untilMs: until, node });
    } else {
      const all: number[] = [];
      for (let i = 0; i < slots; i++) all.push(i);
      // An asymmetric cut is one blocked link per (a, b) pair: keep it within the network's bound.
      const maxA = shapeDraw === 1 ? Math.max(1, Math.floor(MAX_ASYMMETRIC_LINKS / slots)) : slots;
      const [groupA, groupB] = drawGroups(r, all, maxA);
      plan.add({
        kind: 'partition',
        atMs: t,
        untilMs: until,
        shape: shapeDraw === 0 ? 'symmetric' : 'asymmetric',
        groupA,
        groupB,
      });
    }
    t = round3(until + uniform(r, 1000, 10_000));
  }
}

/** Draws `count` slow nodes, each stalling on and off over a window of the safety phase. */
function drawSlowNodes(r: Random, plan: Plan, durationMs: number, count: number, slots: number): void {
  const chosen = r.shuffle(Array.from({ length: slots }, (_, i) => i)).slice(0, count);
  for (const node of chosen.sort((a, b) => a - b)) {
    const at = uniform(r, 0, 0.3 * durationMs);
    const until = uniform(r, Math.min(durationMs, at + 5000), durationMs);
    const stallMsMin = uniform(r, 100, 1000);
    const stallMsMax = uniform(r, stallMsMin + 100, 5000);
    const gapMsMin = uniform(r, 200, 2000);
    const gapMsMax = uniform(r, gapMsMin + 100, 10_000);
    plan.add({ kind: 'slow', atMs: at, untilMs: until, node, stallMsMin, stallMsMax, gapMsMin, gapMsMax });
  }
}

/** Draws churn: a sequence of crashes (some restart), graceful leaves (some rejoin) and new joins. */
function drawChurn(r: Random, plan: Plan, durationMs: number, initial: number, slots: number): void {
  let t = uniform(r, 1000, 5000);
  let nextNew = initial;
  const meanGapMs = uniform(r, 2000, 10_000);
  while (t < 0.9 * durationMs && plan.faults.length < MAX_FAULTS) {
    const what = r.float();
    if (what < 0.2 && nextNew < slots) {
      const up = plan.upAt(t);
      const seeds = r
        .shuffle(up)
        .slice(0, Math.min(3, up.length))
        .sort((a, b) => a - b);
      plan.markJoins(nextNew, t);
      plan.add({ kind: 'join', atMs: t, node: nextNew, seeds });
      nextNew++;
    } else if (what < 0.45) {
      const rejoinAt = r.chance(0.5) ? round3(t + uniform(r, 2000, 30_000)) : null;
      const node = plan.pickVictim(t, rejoinAt ?? Number.POSITIVE_INFINITY);
      if (node !== undefined) {
        plan.markDown(node, t, rejoinAt ?? Number.POSITIVE_INFINITY);
        plan.add({ kind: 'leave', atMs: t, node, rejoinAtMs: rejoinAt });
      }
    } else {
      const restartAt = r.chance(0.6) ? round3(t + logUniform(r, 500, 40_000)) : null;
      const node = plan.pickVictim(t, restartAt ?? Number.POSITIVE_INFINITY);
      if (node !== undefined) {
        plan.markDown(node, t, restartAt ?? Number.POSITIVE_INFINITY);
        plan.add({ kind: 'crash', atMs: t, node, restartAtMs: restartAt });
      }
    }
    t = round3(t + meanGapMs * (0.25 + 1.5 * r.float()));
  }
}

/**
 * Draws the operators' force-leaves: each node that crashes for good is, with probability
 * 1/2, force-left 2 to 20 s later by a node up at that moment.
 */
function drawForceLeaves(r: Random, plan: Plan, durationMs: number): void {
  const crashes = plan.faults.filter(
    (f): f is Extract<Fault, { kind: 'crash' }> => f.kind === 'crash' && f.restartAtMs === null,
  );
  for (const c of crashes) {
    if (!r.chance(0.5)) continue;
    const at = round3(c.atMs + uniform(r, 2000, 20_000));
    const by = r.pick(plan.upAt(at).filter((s) => s !== c.node));
    if (at >= 0.95 * durationMs || by === undefined) continue;
    plan.add({ kind: 'force-leave', atMs: at, node: c.node, by });
  }
}

/** User events sent per second of the safety phase, on average (one every 10 s). */
const USER_EVENTS_PER_S = 0.1;
/** Queries sent per second of the safety phase, on average (one every 30 s). */
const QUERIES_PER_S = 1 / 30;

/** Draws the traffic: user events and queries at random times, each from a node up then. */
function drawTraffic(r: Random, plan: Plan, durationMs: number): Traffic[] {
  const out: Traffic[] = [];
  const draw = (kind: Traffic['kind'], perS: number, prefix: string) => {
    const mean = (perS * durationMs) / 1000;
    const count = Math.min(MAX_FAULTS, intIn(r, Math.floor(mean / 2), Math.ceil(1.5 * mean)));
    for (let i = 0; i < count; i++) {
      const at = uniform(r, 0.02 * durationMs, 0.95 * durationMs);
      const node = r.pick(plan.upAt(at));
      if (node !== undefined) out.push({ kind, atMs: at, node, name: `${prefix}${i}` });
    }
  };
  draw('user-event', USER_EVENTS_PER_S, 'event-');
  draw('query', QUERIES_PER_S, 'query-');
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Slots used by churn's new joins, beyond the initial nodes. */
function churnExtraSlots(n: number): number {
  return Math.max(2, Math.ceil(n / 4));
}

/**
 * Derives every parameter of a run from `(scenario, seed)`; `overrides` replace drawn values.
 * Throws a RangeError for values out of range (the CLI validates before calling).
 */
export function deriveParams(
  scenario: ScenarioName,
  seed: number,
  random: Random,
  overrides: ParamOverrides = {},
): ProtocolSimParams {
  const spec = SCENARIOS[scenario];
  if (spec === undefined) throw new RangeError(`unknown scenario "${String(scenario)}"`);
  const r = random;
  const drawnNodes = intIn(r, spec.nodes[0], spec.nodes[1]);
  const nodesTotal = overrides.nodes ?? drawnNodes;
  if (!Number.isInteger(nodesTotal) || nodesTotal < 2 || nodesTotal > PROTOCOL_SIM_MAX_NODES)
    throw new RangeError(`nodes must be an integer in [2, ${PROTOCOL_SIM_MAX_NODES}], got ${nodesTotal}`);
  const durationS = overrides.durationS ?? spec.durationS;
  if (!(durationS > 0 && durationS <= PROTOCOL_SIM_MAX_DURATION_S))
    throw new RangeError(`duration must be in (0, ${PROTOCOL_SIM_MAX_DURATION_S}] s, got ${durationS}`);
  const durationMs = round3(durationS * 1000);
  const profile = overrides.profile ?? 'lan';
  const network = drawNetwork(r, profile);

  let initial = nodesTotal;
  let slots = nodesTotal;
  // Each scenario draws from its own fork, so adding a draw to one does not shift another's.
  const s = r.fork();
  let plan: Plan;
  switch (scenario) {
    case 'crash': {
      plan = new Plan(slots, initial, s);
      drawCrashes(s, plan, durationMs, intIn(s, 1, Math.max(1, Math.floor(initial / 8))), 0);
      break;
    }
    case 'partition': {
      plan = new Plan(slots, initial, s);
      drawPartitions(s, plan, durationMs, intIn(s, 1, 2), slots);
      break;
    }
    case 'churn': {
      slots = initial + churnExtraSlots(initial);
      plan = new Plan(slots, initial, s);
      drawChurn(s, plan, durationMs, initial, slots);
      break;
    }
    case 'loss': {
      network.lossRate = uniform(s, 0.05, 0.3);
      network.reorderRate = uniform(s, 0, 0.2);
      network.duplicateRate = uniform(s, 0, 0.1);
      plan = new Plan(slots, initial, s);
      if (s.chance(0.5)) {
        plan.add({
          kind: 'lossy-node',
          atMs: 0,
          untilMs: durationMs,
          node: s.int(slots),
          lossRate: uniform(s, 0.3, 0.8),
        });
      }
      break;
    }
    case 'slow-node': {
      plan = new Plan(slots, initial, s);
      drawSlowNodes(s, plan, durationMs, intIn(s, 1, Math.max(1, Math.floor(initial / 8))), slots);
      break;
    }
    case 'join-storm': {
      initial = Math.max(2, Math.round(nodesTotal * uniform(s, 0.1, 0.3)));
      plan = new Plan(slots, initial, s);
      const seedCount = Math.min(initial, intIn(s, 1, 3));
      const seeds = Array.from({ length: seedCount }, (_, i) => i);
      const stormAt = uniform(s, 1000, 5000);
      const windowMs = uniform(s, 0, 2000);
      for (let node = initial; node < slots; node++) {
        const at = round3(stormAt + s.float() * windowMs);
        plan.markJoins(node, at);
        plan.add({ kind: 'join', atMs: at, node, seeds: [seeds[s.int(seedCount)]!] });
      }
      break;
    }
    case 'random': {
      const kinds = {
        crash: s.chance(0.5),
        partition: s.chance(0.5),
        slow: s.chance(0.3),
        churn: s.chance(0.3),
      };
      const networkFaults = s.chance(0.5);
      const drift = s.chance(0.3);
      if (!kinds.crash && !kinds.partition && !kinds.slow && !kinds.churn && !networkFaults)
        kinds.crash = true;
      if (kinds.churn) slots = initial + churnExtraSlots(initial);
      plan = new Plan(slots, initial, s);
      if (networkFaults) {
        network.lossRate = uniform(s, 0, 0.2);
        network.reorderRate = uniform(s, 0, 0.2);
        network.duplicateRate = uniform(s, 0, 0.05);
        if (s.chance(0.3))
          plan.add({
            kind: 'lossy-node',
            atMs: uniform(s, 0, 0.5 * durationMs),
            untilMs: durationMs,
            node: s.int(initial),
            lossRate: uniform(s, 0.2, 0.7),
          });
      }
      if (kinds.churn) drawChurn(s, plan, durationMs, initial, slots);
      if (kinds.crash)
        drawCrashes(s, plan, durationMs, intIn(s, 1, Math.max(1, Math.floor(initial / 4))), 0.5);
      if (kinds.partition) drawPartitions(s, plan, durationMs, intIn(s, 1, 2), initial);
      if (kinds.slow)
        drawSlowNodes(s, plan, durationMs, intIn(s, 1, Math.max(1, Math.floor(initial / 6))), initial);
      const clockDriftPpm = drift
        ? Array.from({ length: slots }, () => Math.round(uniform(s, -1000, 1000)))
        : [];
      plan.faults.sort((a, b) => a.atMs - b.atMs);
      return finish(clockDriftPpm);
    }
  }
  plan.faults.sort((a, b) => a.atMs - b.atMs);
  return finish([]);

  function finish(clockDriftPpm: number[]): ProtocolSimParams {
    // The Serf layer's parts of the schedule come last, from a fork of their own, so that
    // adding them left every schedule drawn before unchanged.
    const t = r.fork();
    drawForceLeaves(t, plan, durationMs);
    plan.faults.sort((a, b) => a.atMs - b.atMs);
    const traffic = drawTraffic(t, plan, durationMs);
    return {
      scenario,
      seed,
      profile,
      nodes: nodesTotal,
      initialNodes: initial,
      slots,
      durationMs,
      network,
      clockDriftPpm,
      compression: false,
      reconnectIntervalMs: SERF_RECONNECT_INTERVAL_MS,
      seedDiscovery: false,
      faults: plan.faults,
      traffic,
    };
  }
}

/** `n7` for slot 7: the node's name. */
export function nodeName(slot: number): string {
  return `n${slot}`;
}

/** The node's address on the simulated network: `10.0.x.y:7946`, fixed per slot (a restart keeps it). */
export function nodeAddr(slot: number): string {
  const n = slot + 1;
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:7946`;
}

/** A one-line description of a fault, for the parameter listing on stderr. */
export function describeFault(f: Fault): string {
  const at = `${(f.atMs / 1000).toFixed(3)} s`;
  const list = (xs: number[]) =>
    xs.length <= 8
      ? xs.map(nodeName).join(',')
      : `${xs.slice(0, 8).map(nodeName).join(',')},… (${xs.length})`;
  switch (f.kind) {
    case 'crash':
      return `${at}: crash ${nodeName(f.node)}${f.restartAtMs === null ? '' : `, restart at ${(f.restartAtMs / 1000).toFixed(3)} s`}`;
    case 'leave':
      return `${at}: ${nodeName(f.node)} leaves${f.rejoinAtMs === null ? '' : `, rejoins at ${(f.rejoinAtMs / 1000).toFixed(3)} s`}`;
    case 'join':
      return `${at}: ${nodeName(f.node)} starts and joins through ${f.seeds.length > 1 ? 'one of ' : ''}${list(f.seeds)}`;
    case 'partition':
      return `${at}: ${f.shape} partition [${list(f.groupA)}] ${f.shape === 'symmetric' ? '<-/->' : '-/->'} [${list(f.groupB)}] until ${(f.untilMs / 1000).toFixed(3)} s`;
    case 'isolate':
      return `${at}: ${nodeName(f.node)} isolated until ${(f.untilMs / 1000).toFixed(3)} s`;
    case 'slow':
      return `${at}: ${nodeName(f.node)} stalls for ${f.stallMsMin}-${f.stallMsMax} ms every ${f.gapMsMin}-${f.gapMsMax} ms until ${(f.untilMs / 1000).toFixed(3)} s`;
    case 'lossy-node':
      return `${at}: ${nodeName(f.node)} loses ${(f.lossRate * 100).toFixed(1)}% of its packets until ${(f.untilMs / 1000).toFixed(3)} s`;
    case 'force-leave':
      return `${at}: ${nodeName(f.by)} force-leaves ${nodeName(f.node)}`;
  }
}

/** A one-line description of a traffic item. */
export function describeTraffic(x: Traffic): string {
  const at = `${(x.atMs / 1000).toFixed(3)} s`;
  return x.kind === 'user-event'
    ? `${at}: ${nodeName(x.node)} sends user event ${x.name}`
    : `${at}: ${nodeName(x.node)} queries ${x.name}`;
}
