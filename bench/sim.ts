/**
 * `npm run bench -- sim` (options: {@link usage}, or `--help`): simulator speed.
 *
 * Strategies: node-rounds simulated per wall second (n × rounds played, Plumtree's warm-up
 * broadcast included) for each broadcast strategy, at 10⁴ and 10⁶ nodes by default, one
 * table. The figure folds in set-up (Plumtree builds its overlay inside the timed run) and
 * depends on how much each strategy sends per node-round: eager counts n-1 messages per
 * sender in O(1), push sends one per informed node, push-pull and pull one per live node.
 *
 * Full protocol ({@link runProtocolBench}): simulated seconds per wall second of the real
 * membership code (memberlist alone, the simulator's `memberlist` stack: the Serf layer is
 * not measured here) in the protocol simulator, LAN profile, no faults, in steady state, at
 * 1 000, 5 000 and 10 000 nodes by default (`--protocol-only` skips the strategy table). Steady
 * state means every node holds every other alive,
 * every broadcast queue is empty, and every node's first push-pull (drawn within the first
 * push-pull interval after its start) is behind it, so push-pulls run at their scaled interval.
 * Observation and checkers are off: this is the protocol's own cost on the simulator.
 *
 * How the cluster gets there (the set-up, timed apart):
 * - by default a **warm start** ({@link ProtocolSim.warmStart}): every node starts at time 0 and
 *   takes every other one alive through memberlist's own alive transition
 *   (`Memberlist.assumeMembers`: what a push-pull from a peer that knew the whole cluster
 *   brings), from claims built once and shared by all nodes, without queuing their re-gossip
 *   (every node holds every member: nobody is left to tell). The join storm is skipped, and
 *   nothing is encoded, sent or decoded: one alive transition per member entry, n² in all
 *   (about a minute at 5 000 nodes). The nodes run memberlist's default configuration; the run
 *   checks that the broadcast queue bound dropped nothing while measuring.
 * - with `--join-storm`, the simulator's bootstrap: nodes start 50 ms apart and join through a
 *   random earlier one, default queue bound, until every queue has drained (each of the n
 *   alive messages is gossiped 4·⌈log10(n+1)⌉ times by each of the n nodes first: far more
 *   work than the steady state itself, hours at 5 000 nodes).
 *
 * `--protocol-events` then shows the protocol at work in that steady cluster
 * ({@link runProtocolEvents}): a crash detected, and an update gossiped to every node.
 *
 * A size whose memory or set-up time is out of reach is skipped with the reason, estimated
 * from the size before it (every node holds every member: n² member entries, about 35 B each on
 * this stack, the V8 heap and a table's typed arrays together: the entries themselves are shared
 * between tables, see node-state.ts). `npm run bench` gives node
 * a 16 GB heap limit and a 64 MB young generation (`--max-semi-space-size`: the simulator
 * allocates a short-lived decoded message per packet, and with V8's default 16 MB the scavenges
 * took a third of its time).
 */
import { loadavg } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { STRATEGY_NAMES, type StrategyName } from '../src/broadcast/strategy.ts';
import { pushPullScaleMs } from '../src/membership/math.ts';
import { profileTuning } from '../src/membership/options.ts';
import { ProtocolSim } from '../src/sim/protocol-sim.ts';
import { nodeRoundsOf, runStrategySim } from '../src/sim/strategy-sim.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

/** One row of the strategy benchmark. */
export interface StrategyBenchRow {
  /** The strategy. */
  strategy: StrategyName;
  /** n. */
  nodes: number;
  /** Rounds played, warm-ups included. */
  roundsRun: number;
  /** Messages of the measured broadcast. */
  messages: number;
  /** Wall time of the whole run, set-up included. */
  wallSeconds: number;
  /** nodes × roundsRun / wallSeconds. */
  nodeRoundsPerSecond: number;
}

/** Node counts the strategy benchmark uses when none are given. */
export const STRATEGY_BENCH_NODES: readonly number[] = [10_000, 1_000_000];

/**
 * Runs every strategy at each node count (seed 1, fanout 1, no faults), prints one table
 * to stdout and returns the rows. A 10⁴-node push run first warms the JIT up.
 */
export async function runStrategyBench(
  nodeCounts: readonly number[] = STRATEGY_BENCH_NODES,
): Promise<StrategyBenchRow[]> {
  runStrategySim({ strategy: 'push', nodes: 10_000, seed: 0 });
  const rows: StrategyBenchRow[] = [];
  for (const nodes of nodeCounts) {
    for (const strategy of STRATEGY_NAMES) {
      const started = performance.now();
      const result = runStrategySim({ strategy, nodes, seed: 1 });
      const wallSeconds = (performance.now() - started) / 1000;
      const nodeRounds = nodeRoundsOf(result);
      rows.push({
        strategy,
        nodes,
        roundsRun: nodeRounds / nodes,
        messages: result.messages,
        wallSeconds,
        nodeRoundsPerSecond: nodeRounds / wallSeconds,
      });
    }
  }
  const header = ['strategy', 'nodes', 'rounds', 'messages', 'wall s', 'node-rounds/s'];
  const cells = rows.map((r) => [
    r.strategy,
    String(r.nodes),
    String(r.roundsRun),
    r.messages >= 1e6 ? r.messages.toExponential(2) : String(r.messages),
    r.wallSeconds.toFixed(3),
    r.nodeRoundsPerSecond.toExponential(2),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  console.log('broadcast strategies (seed 1, fanout 1, no faults)');
  console.log(line(header));
  for (const row of cells) console.log(line(row));
  return rows;
}

/** One row of the protocol benchmark. */
export interface ProtocolBenchRow {
  /** n. */
  nodes: number;
  /** Why the size was not run (null when it was). */
  skipped: string | null;
  /** How the cluster was formed: a warm start or the join storm. */
  start: 'warm' | 'join-storm';
  /** Wall seconds of the warm start or of the join storm's bootstrap. */
  startWallSeconds: number;
  /** Virtual seconds from the first start to the steady state. */
  setupSimSeconds: number;
  /** Wall seconds of that set-up (the start included). */
  setupWallSeconds: number;
  /** Virtual seconds measured in steady state. */
  steadySimSeconds: number;
  /** Wall seconds they took. */
  steadyWallSeconds: number;
  /** steadySimSeconds / steadyWallSeconds: the figure of merit. */
  simSecondsPerWallSecond: number;
  /**
   * CPU seconds this process used while measuring (user + system, every thread: the garbage
   * collector's helpers too, so it can exceed the wall time).
   */
  steadyCpuSeconds: number;
  /**
   * steadySimSeconds / steadyCpuSeconds: the same figure, but unmoved by other processes taking
   * the cores (on a shared machine the wall-clock figure is only as good as its load).
   */
  simSecondsPerCpuSecond: number;
  /** The machine's 1-minute load average when the measurement started and ended. */
  load: [number, number];
  /** Timers fired plus packets handled per wall second, in steady state. */
  eventsPerWallSecond: number;
  /**
   * Memory the cluster holds after the steady run and a full collection (MB): the V8 heap plus
   * array buffers (the member tables' index and time columns are typed arrays, outside the heap).
   */
  heapMegabytes: number;
  /** heap / n²: what one member entry costs. */
  bytesPerMemberEntry: number;
  /** With `events`: the crash and the update after the measurement. */
  events: ProtocolEventsResult | null;
}

/** Node counts of the protocol benchmark. */
export const PROTOCOL_BENCH_NODES: readonly number[] = [1000, 5000, 10_000];
/**
 * Above this many nodes the default window is {@link PROTOCOL_BENCH_LARGE_SECONDS}, not a whole
 * push-pull interval (300 virtual s at 10 000 nodes, on top of a set-up of 13 minutes, measured
 * on 2026-12-04): such a size is shown running in steady state, its anti-entropy not counted
 * (after a warm start every node's first push-pull falls within the first 30 virtual s, which the
 * set-up waits out, and its next a whole scaled interval later, so the window holds none).
 */
export const PROTOCOL_BENCH_FULL_WINDOW_MAX_NODES = 5000;
/** Virtual seconds measured above {@link PROTOCOL_BENCH_FULL_WINDOW_MAX_NODES} nodes, by default. */
export const PROTOCOL_BENCH_LARGE_SECONDS = 30;
/**
 * Virtual seconds measured per size, when given; by default one scaled push-pull interval
 * (memberlist `pushPullScale`: 180 s at 1 000 nodes, 270 s at 5 000), the shortest window in
 * which every node runs exactly one periodic push-pull, so anti-entropy (at 5 000 nodes, half
 * the steady-state cost) is counted at its long-run rate. A shorter window can fall between
 * push-pulls (after a warm start they all come within the same 30 s of every interval).
 */
export const PROTOCOL_BENCH_STEADY_SECONDS: number | undefined = undefined;
/** Longest set-up the benchmark attempts, in estimated wall seconds. */
export const PROTOCOL_BENCH_MAX_SETUP_SECONDS = 1800;
/**
 * Join storm: node starts 50 ms apart: a slower storm keeps broadcast queues short, which the
 * simulator runs faster (the steady state is the same).
 */
const PROTOCOL_BENCH_SPACING_MS = 50;
/** Most virtual seconds of settling after the start before giving up on a steady state. */
const PROTOCOL_BENCH_MAX_DRAIN_S = 600;

/** Before any size has been measured: ~40 B per member entry (measured: about 36 at 10 000 nodes, heap and typed arrays). */
const DEFAULT_BYTES_PER_ENTRY = 40;
/** Before any size has been measured: set-up wall seconds per member entry (warm start, join storm at 1 000 nodes). */
const DEFAULT_SETUP_SECONDS_PER_ENTRY = { warm: 8e-6, 'join-storm': 200e-6 };

/** A progress line on stderr (the tables go to stdout). */
function progress(text: string): void {
  process.stderr.write(`[bench sim] ${text}\n`);
}

/** A full garbage collection, so heap figures count live objects only (exposed on demand). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function skipReason(
  nodes: number,
  start: 'warm' | 'join-storm',
  previous: ProtocolBenchRow | undefined,
): string | null {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const measured = previous !== undefined && previous.skipped === null ? previous : undefined;
  const perEntry = measured?.bytesPerMemberEntry ?? DEFAULT_BYTES_PER_ENTRY;
  const needBytes = perEntry * nodes * nodes;
  if (needBytes > 0.8 * heapLimit)
    return `needs ≈ ${(needBytes / 1e9).toFixed(1)} GB of heap (${nodes}² member entries at ≈ ${Math.round(perEntry)} B each), the heap limit is ${(heapLimit / 1e9).toFixed(1)} GB (npm run bench raises it)`;
  // The warm start and the settling cost ~n² (every node merges and push-pulls every member);
  // the join storm's re-gossip ~n^2.5.
  const exponent = start === 'warm' ? 2 : 2.5;
  const setup =
    measured === undefined
      ? DEFAULT_SETUP_SECONDS_PER_ENTRY[start] * (nodes / 1000) ** (exponent - 2) * nodes * nodes
      : measured.setupWallSeconds * (nodes / measured.nodes) ** exponent;
  if (setup > PROTOCOL_BENCH_MAX_SETUP_SECONDS)
    return `its set-up (${start === 'warm' ? 'warm start' : 'the join storm'}) would take ≈ ${Math.round(setup / 60)} min, over the ${PROTOCOL_BENCH_MAX_SETUP_SECONDS / 60} min limit`;
  return null;
}

/** Options of {@link runProtocolBench}. */
export interface ProtocolBenchOptions {
  /** Node counts. @default {@link PROTOCOL_BENCH_NODES} */
  nodeCounts?: readonly number[];
  /** Virtual seconds measured per size. @default one scaled push-pull interval ({@link PROTOCOL_BENCH_STEADY_SECONDS}) */
  steadySeconds?: number | undefined;
  /** Try sizes estimated out of reach anyway. */
  force?: boolean;
  /** Form the cluster with the join storm instead of a warm start. */
  joinStorm?: boolean;
  /** After the measurement, crash a node and spread a node's update ({@link runProtocolEvents}). */
  events?: boolean;
}

/** What {@link runProtocolEvents} measured (virtual seconds from the crash or the update). */
export interface ProtocolEventsResult {
  /** The first node suspected the crashed one. */
  firstSuspectS: number | null;
  /** The first node declared it dead. */
  firstDeadS: number | null;
  /** Every running node held it dead. */
  allDeadS: number | null;
  /** 50, 90 and 100 % of the other running nodes held the updated node's new incarnation. */
  updateSpreadS: [number | null, number | null, number | null];
  /** Wall seconds of both. */
  wallSeconds: number;
}

/** Most virtual seconds {@link runProtocolEvents} waits for a crash's detection, or an update's spread. */
const PROTOCOL_EVENTS_MAX_S = 180;
/** How often the spread of an update is polled, virtual ms (its resolution). */
const PROTOCOL_EVENTS_POLL_MS = 250;

/**
 * The protocol at work in a steady cluster: crashes slot 0 and times its detection (first
 * suspicion, first `dead` verdict, every running node holding it dead, from memberlist's own
 * events), then has slot 1 gossip a new incarnation of itself (`Memberlist.updateNode`, how
 * Serf publishes tag changes: piggybacked gossip, as a user event spreads) and times its spread
 * to 50, 90 and 100 % of the other running nodes, polled every {@link PROTOCOL_EVENTS_POLL_MS}.
 */
export async function runProtocolEvents(sim: ProtocolSim): Promise<ProtocolEventsResult> {
  const wallStart = performance.now();
  const cluster = sim.cluster;
  const victim = cluster.nodes[0]!;
  const others = cluster.running().filter((n) => n !== victim);
  let firstSuspectMs: number | undefined;
  let firstDeadMs: number | undefined;
  let deadCount = 0;
  let allDeadMs: number | undefined;
  const offs: (() => void)[] = [];
  for (const node of others) {
    const ml = node.ml!;
    offs.push(
      ml.on('suspect', ({ member }) => {
        if (member.name === victim.name) firstSuspectMs ??= sim.clock.now();
      }),
      ml.on('dead', ({ member }) => {
        if (member.name === victim.name) firstDeadMs ??= sim.clock.now();
      }),
      ml.on('leave', ({ member }) => {
        if (member.name !== victim.name) return;
        deadCount++;
        if (deadCount === others.length) allDeadMs = sim.clock.now();
      }),
    );
  }
  const crashedAt = sim.clock.now();
  cluster.crash(victim.slot);
  for (let s = 0; s < PROTOCOL_EVENTS_MAX_S && allDeadMs === undefined; s++) await sim.runFor(1000);
  for (const off of offs) off();
  const since = (t: number | undefined, from: number) =>
    t === undefined ? null : Math.round(t - from) / 1000;

  const updater = cluster.nodes[1]!;
  const receivers = cluster.running().filter((n) => n !== updater);
  const before = updater.ml!.localNode.incarnation;
  const updatedAt = sim.clock.now();
  updater.ml!.updateNode().catch(() => {});
  const spread: [number | null, number | null, number | null] = [null, null, null];
  const goals = [0.5, 0.9, 1].map((f) => Math.ceil(f * receivers.length));
  for (let t = 0; t < PROTOCOL_EVENTS_MAX_S * 1000 && spread[2] === null; t += PROTOCOL_EVENTS_POLL_MS) {
    await sim.runFor(PROTOCOL_EVENTS_POLL_MS);
    let got = 0;
    for (const node of receivers) if ((node.ml!.member(updater.name)?.incarnation ?? 0) > before) got++;
    for (let i = 0; i < 3; i++)
      if (spread[i] === null && got >= goals[i]!) spread[i] = since(sim.clock.now(), updatedAt);
  }
  return {
    firstSuspectS: since(firstSuspectMs, crashedAt),
    firstDeadS: since(firstDeadMs, crashedAt),
    allDeadS: since(allDeadMs, crashedAt),
    updateSpreadS: spread,
    wallSeconds: (performance.now() - wallStart) / 1000,
  };
}

/**
 * Runs the protocol simulator at each node count (LAN, seed 1, no faults), measures steady
 * state, prints one table to stdout and returns the rows.
 */
export async function runProtocolBench(options: ProtocolBenchOptions = {}): Promise<ProtocolBenchRow[]> {
  const nodeCounts = options.nodeCounts ?? PROTOCOL_BENCH_NODES;
  const steadySeconds = options.steadySeconds ?? PROTOCOL_BENCH_STEADY_SECONDS;
  const start: 'warm' | 'join-storm' = options.joinStorm ? 'join-storm' : 'warm';
  const rows: ProtocolBenchRow[] = [];
  const header = [
    'nodes',
    'start wall s',
    'setup sim s',
    'setup wall s',
    'steady sim s',
    'wall s',
    'sim s/wall s',
    'CPU s',
    'sim s/CPU s',
    'events/wall s',
    'load 1m',
    'mem MB',
    'B/member',
  ];
  console.log('');
  console.log(
    `full protocol (LAN profile, seed 1, no faults; ${steadySeconds === undefined ? `one push-pull interval (${PROTOCOL_BENCH_LARGE_SECONDS} virtual s above ${PROTOCOL_BENCH_FULL_WINDOW_MAX_NODES} nodes)` : `${steadySeconds} virtual s`} measured in steady state: every node holds every other alive, queues empty, first push-pulls done)`,
  );
  console.log(
    start === 'warm'
      ? "set-up: warm start, not a join storm: every node starts at 0 and takes every other one alive through memberlist's alive transition (Memberlist.assumeMembers), nothing queued for re-gossip; then every node's first push-pull"
      : `set-up: join storm (starts ${PROTOCOL_BENCH_SPACING_MS} ms apart, each joining through a random earlier node) until every queue drained`,
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(header[c]!.length))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const nodes of nodeCounts) {
    const skipped = options.force ? null : skipReason(nodes, start, rows.at(-1));
    if (skipped !== null) {
      rows.push({
        nodes,
        skipped,
        start,
        startWallSeconds: 0,
        setupSimSeconds: 0,
        setupWallSeconds: 0,
        steadySimSeconds: 0,
        steadyWallSeconds: 0,
        simSecondsPerWallSecond: 0,
        steadyCpuSeconds: 0,
        simSecondsPerCpuSecond: 0,
        load: [0, 0],
        eventsPerWallSecond: 0,
        heapMegabytes: 0,
        bytesPerMemberEntry: 0,
        events: null,
      });
      console.log(`${String(nodes).padEnd(header[0]!.length)}  skipped: ${skipped}`);
      continue;
    }
    collectGarbage();
    const held = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const heapBefore = held();
    const started = performance.now();
    const sim = new ProtocolSim({
      scenario: 'crash',
      seed: 1,
      nodes,
      isObserving: false,
      stack: 'memberlist',
      bootstrapSpacingMs: PROTOCOL_BENCH_SPACING_MS,
      adjustParams: (p) => ({
        ...p,
        faults: [],
        network: { ...p.network, lossRate: 0, reorderRate: 0, duplicateRate: 0 },
      }),
    });
    progress(`${nodes} nodes: ${start === 'warm' ? 'warm start' : 'join storm'}...`);
    if (start === 'warm') await sim.warmStart();
    else await sim.bootstrap();
    const startWallSeconds = (performance.now() - started) / 1000;
    progress(`${nodes} nodes: started in ${startWallSeconds.toFixed(0)} s; settling`);
    const running = () => sim.cluster.nodes.flatMap((n) => (n.ml === undefined ? [] : [n.ml]));
    const queued = () => {
      let max = 0;
      for (const ml of running()) max = Math.max(max, ml.queueDepth);
      return max;
    };
    const pruned = () => {
      let sum = 0;
      for (const ml of running()) sum += ml.queuePruned;
      return sum;
    };
    // Every node's first push-pull comes within one (unscaled) interval of its start.
    const firstPushPullsDoneMs = sim.clock.now() + profileTuning(sim.params.profile).pushPullIntervalMs;
    for (
      let s = 0;
      s < PROTOCOL_BENCH_MAX_DRAIN_S && (queued() > 0 || sim.clock.now() < firstPushPullsDoneMs);
      s++
    )
      await sim.runFor(1000);
    const setupWallSeconds = (performance.now() - started) / 1000;
    const setupSimSeconds = sim.clock.now() / 1000;
    const tuning = profileTuning(sim.params.profile);
    const windowSeconds =
      steadySeconds ??
      (nodes > PROTOCOL_BENCH_FULL_WINDOW_MAX_NODES
        ? PROTOCOL_BENCH_LARGE_SECONDS
        : pushPullScaleMs(tuning.pushPullIntervalMs, nodes) / 1000);
    progress(
      `${nodes} nodes: steady state at ${setupSimSeconds.toFixed(0)} virtual s after ${setupWallSeconds.toFixed(0)} s; measuring ${windowSeconds} virtual s`,
    );
    const events = sim.events;
    const prunedBefore = pruned();
    const steadyStart = performance.now();
    const cpuStart = process.cpuUsage();
    const loadStart = loadavg()[0]!;
    await sim.runFor(windowSeconds * 1000);
    const steadyWallSeconds = (performance.now() - steadyStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const steadyCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const prunedWhileMeasuring = pruned() - prunedBefore;
    collectGarbage();
    const heap = Math.max(0, held() - heapBefore);
    const row: ProtocolBenchRow = {
      nodes,
      skipped: null,
      start,
      startWallSeconds,
      setupSimSeconds,
      setupWallSeconds,
      steadySimSeconds: windowSeconds,
      steadyWallSeconds,
      simSecondsPerWallSecond: windowSeconds / steadyWallSeconds,
      steadyCpuSeconds,
      simSecondsPerCpuSecond: windowSeconds / steadyCpuSeconds,
      load: [loadStart, loadavg()[0]!],
      eventsPerWallSecond: (sim.events - events) / steadyWallSeconds,
      heapMegabytes: heap / 1e6,
      bytesPerMemberEntry: heap / (nodes * nodes),
      events: null,
    };
    rows.push(row);
    console.log(
      line([
        String(nodes),
        startWallSeconds.toFixed(1),
        setupSimSeconds.toFixed(1),
        setupWallSeconds.toFixed(1),
        String(windowSeconds),
        steadyWallSeconds.toFixed(2),
        row.simSecondsPerWallSecond.toFixed(2),
        steadyCpuSeconds.toFixed(2),
        row.simSecondsPerCpuSecond.toFixed(2),
        row.eventsPerWallSecond.toExponential(2),
        `${row.load[0].toFixed(1)}→${row.load[1].toFixed(1)}`,
        row.heapMegabytes.toFixed(0),
        row.bytesPerMemberEntry.toFixed(0),
      ]),
    );
    if (options.events) {
      progress(`${nodes} nodes: crash, then an update spreading...`);
      const e = await runProtocolEvents(sim);
      row.events = e;
      const f = (x: number | null) => (x === null ? `over ${PROTOCOL_EVENTS_MAX_S}` : x.toFixed(2));
      console.log(
        `  crash of ${sim.cluster.nodes[0]!.name}: first suspicion ${f(e.firstSuspectS)} s, first dead ${f(e.firstDeadS)} s, all ${nodes - 1} hold it dead ${f(e.allDeadS)} s; ` +
          `update of ${sim.cluster.nodes[1]!.name} to 50/90/100 %: ${e.updateSpreadS.map(f).join(' / ')} s (virtual); ${e.wallSeconds.toFixed(0)} wall s`,
      );
    }
    const usage = process.resourceUsage();
    console.log(
      `  ${nodes} nodes: set-up ${setupWallSeconds.toFixed(0)} wall s (warm start ${startWallSeconds.toFixed(0)} s), max RSS of the process so far ${(usage.maxRSS / 1024).toFixed(0)} MB, held after a full GC ${row.heapMegabytes.toFixed(0)} MB (V8 heap + array buffers)`,
    );
    if (prunedWhileMeasuring > 0) {
      console.log(
        `  not a steady state: the queue bound dropped ${prunedWhileMeasuring} broadcasts while measuring`,
      );
      process.exitCode = 1;
    }
  }
  return rows;
}

function numberList(list: string | undefined): number[] | undefined {
  return list === undefined ? undefined : list.split(',').map(Number);
}

/** The options, for `npm run bench -- sim --help`. */
export const usage =
  '[--nodes 10000,1000000] [--protocol-nodes 1000,5000,10000] [--protocol-seconds S] [--protocol-only] [--join-storm] [--protocol-events] [--force]';

/** Entry point for bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseBenchArgs(args, {
    nodes: { type: 'string' },
    'protocol-nodes': { type: 'string' },
    'protocol-seconds': { type: 'string' },
    'protocol-only': { type: 'boolean', default: false },
    'join-storm': { type: 'boolean', default: false },
    'protocol-events': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  const nodeCounts = numberList(values.nodes) ?? STRATEGY_BENCH_NODES;
  if (nodeCounts.some((n) => !Number.isInteger(n) || n < 2))
    throw new BenchUsageError(`--nodes takes a comma-separated list of integers >= 2, got "${values.nodes}"`);
  const protocolNodes = numberList(values['protocol-nodes']) ?? PROTOCOL_BENCH_NODES;
  if (protocolNodes.some((n) => !Number.isInteger(n) || n < 2))
    throw new BenchUsageError(
      `--protocol-nodes takes a comma-separated list of integers >= 2, got "${values['protocol-nodes']}"`,
    );
  const seconds = numberList(values['protocol-seconds'])?.[0] ?? PROTOCOL_BENCH_STEADY_SECONDS;
  if (seconds !== undefined && !(seconds > 0))
    throw new BenchUsageError(
      `--protocol-seconds takes a positive number, got "${values['protocol-seconds']}"`,
    );
  if (!values['protocol-only']) await runStrategyBench(nodeCounts);
  await runProtocolBench({
    nodeCounts: protocolNodes,
    steadySeconds: seconds,
    force: values.force,
    joinStorm: values['join-storm'],
    events: values['protocol-events'],
  });
}
