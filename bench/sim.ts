/**
 * `npm run bench -- sim [--nodes 10000,1000000] [--protocol-nodes 1000,5000] [--protocol-seconds 20] [--force]`:
 * simulator speed.
 *
 * Strategies: node-rounds simulated per wall second (n × rounds played, Plumtree's warm-up
 * broadcast included) for each broadcast strategy, at 10⁴ and 10⁶ nodes by default, one
 * table. The figure folds in set-up (Plumtree builds its overlay inside the timed run) and
 * depends on how much each strategy sends per node-round: eager counts n-1 messages per
 * sender in O(1), push sends one per informed node, push-pull and pull one per live node.
 *
 * Full protocol ({@link runProtocolBench}): simulated seconds per wall second of the real
 * membership code in the protocol simulator, LAN profile, no faults, in steady state, at
 * 1 000 and 5 000 nodes by default. Steady state means after the bootstrap's join storm has
 * drained: every node holds every other alive and every broadcast queue is empty (each of
 * the n alive messages is gossiped 4·⌈log10(n+1)⌉ times by each of the n nodes first, which
 * costs far more than the steady state itself; the setup is timed apart). Observation and
 * checkers are off: this is the protocol's own cost on the simulator.
 *
 * A size whose memory or set-up time is out of reach is skipped with the reason, estimated
 * from the size before it (every node holds every member: n² member entries).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { STRATEGY_NAMES, type StrategyName } from '../src/broadcast/strategy.ts';
import { ProtocolSim } from '../src/sim/protocol-sim.ts';
import { nodeRoundsOf, runStrategySim } from '../src/sim/strategy-sim.ts';

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
  /** Virtual seconds from the first start to the last queue drained. */
  setupSimSeconds: number;
  /** Wall seconds of that set-up. */
  setupWallSeconds: number;
  /** Virtual seconds measured in steady state. */
  steadySimSeconds: number;
  /** Wall seconds they took. */
  steadyWallSeconds: number;
  /** steadySimSeconds / steadyWallSeconds: the figure of merit. */
  simSecondsPerWallSecond: number;
  /** Timers fired plus packets handled per wall second, in steady state. */
  eventsPerWallSecond: number;
  /** Heap in use after the steady run (MB). */
  heapMegabytes: number;
  /** heap / n²: what one member entry costs. */
  bytesPerMemberEntry: number;
}

/** Node counts of the protocol benchmark. */
export const PROTOCOL_BENCH_NODES: readonly number[] = [1000, 5000];
/** Virtual seconds measured per size. */
export const PROTOCOL_BENCH_STEADY_SECONDS = 20;
/** Longest set-up the benchmark attempts, in estimated wall seconds. */
export const PROTOCOL_BENCH_MAX_SETUP_SECONDS = 1800;
/**
 * Node starts 50 ms apart: a slower join storm keeps broadcast queues short, which the
 * simulator runs faster (the steady state is the same).
 */
const PROTOCOL_BENCH_SPACING_MS = 50;
/** Most virtual seconds of draining after the bootstrap before giving up on a steady state. */
const PROTOCOL_BENCH_MAX_DRAIN_S = 600;

/** Before any size has been measured: ~800 B per member entry, set-up ~n^2.5 from 200 s at 1 000 nodes. */
const DEFAULT_BYTES_PER_ENTRY = 800;

/** A full garbage collection, so heap figures count live objects only (exposed on demand). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function skipReason(nodes: number, previous: ProtocolBenchRow | undefined): string | null {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const perEntry =
    previous && previous.skipped === null ? previous.bytesPerMemberEntry : DEFAULT_BYTES_PER_ENTRY;
  const needBytes = perEntry * nodes * nodes;
  if (needBytes > 0.8 * heapLimit)
    return `needs ≈ ${(needBytes / 1e9).toFixed(1)} GB of heap (${nodes}² member entries at ≈ ${Math.round(perEntry)} B each), the heap limit is ${(heapLimit / 1e9).toFixed(1)} GB`;
  const base = previous && previous.skipped === null ? previous : { nodes: 1000, setupWallSeconds: 200 };
  const setup = base.setupWallSeconds * (nodes / base.nodes) ** 2.5;
  if (setup > PROTOCOL_BENCH_MAX_SETUP_SECONDS)
    return `its set-up (the join storm) would take ≈ ${Math.round(setup / 60)} min, over the ${PROTOCOL_BENCH_MAX_SETUP_SECONDS / 60} min limit`;
  return null;
}

/**
 * Runs the protocol simulator at each node count (LAN, seed 1, no faults), measures steady
 * state, prints one table to stdout and returns the rows. With `force`, sizes estimated out
 * of reach are tried anyway.
 */
export async function runProtocolBench(
  nodeCounts: readonly number[] = PROTOCOL_BENCH_NODES,
  steadySeconds = PROTOCOL_BENCH_STEADY_SECONDS,
  force = false,
): Promise<ProtocolBenchRow[]> {
  const rows: ProtocolBenchRow[] = [];
  const header = [
    'nodes',
    'setup sim s',
    'setup wall s',
    'steady sim s',
    'wall s',
    'sim s/wall s',
    'events/wall s',
    'heap MB',
    'B/member',
  ];
  console.log('');
  console.log(
    `full protocol (LAN profile, seed 1, no faults; steady state after the join storm drained; ${steadySeconds} virtual s measured)`,
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(header[c]!.length))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const nodes of nodeCounts) {
    const skipped = force ? null : skipReason(nodes, rows.at(-1));
    if (skipped !== null) {
      rows.push({
        nodes,
        skipped,
        setupSimSeconds: 0,
        setupWallSeconds: 0,
        steadySimSeconds: 0,
        steadyWallSeconds: 0,
        simSecondsPerWallSecond: 0,
        eventsPerWallSecond: 0,
        heapMegabytes: 0,
        bytesPerMemberEntry: 0,
      });
      console.log(`${String(nodes).padEnd(header[0]!.length)}  skipped: ${skipped}`);
      continue;
    }
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const sim = new ProtocolSim({
      scenario: 'crash',
      seed: 1,
      nodes,
      isObserving: false,
      bootstrapSpacingMs: PROTOCOL_BENCH_SPACING_MS,
      adjustParams: (p) => ({
        ...p,
        faults: [],
        network: { ...p.network, lossRate: 0, reorderRate: 0, duplicateRate: 0 },
      }),
    });
    await sim.bootstrap();
    const queued = () => {
      let max = 0;
      for (const n of sim.cluster.nodes) max = Math.max(max, n.ml?.queueDepth ?? 0);
      return max;
    };
    for (let s = 0; s < PROTOCOL_BENCH_MAX_DRAIN_S && queued() > 0; s++) await sim.runFor(1000);
    const setupWallSeconds = (performance.now() - started) / 1000;
    const setupSimSeconds = sim.clock.now() / 1000;
    const events = sim.events;
    const steadyStart = performance.now();
    await sim.runFor(steadySeconds * 1000);
    const steadyWallSeconds = (performance.now() - steadyStart) / 1000;
    collectGarbage();
    const heap = Math.max(0, process.memoryUsage().heapUsed - heapBefore);
    const row: ProtocolBenchRow = {
      nodes,
      skipped: null,
      setupSimSeconds,
      setupWallSeconds,
      steadySimSeconds: steadySeconds,
      steadyWallSeconds,
      simSecondsPerWallSecond: steadySeconds / steadyWallSeconds,
      eventsPerWallSecond: (sim.events - events) / steadyWallSeconds,
      heapMegabytes: heap / 1e6,
      bytesPerMemberEntry: heap / (nodes * nodes),
    };
    rows.push(row);
    console.log(
      line([
        String(nodes),
        setupSimSeconds.toFixed(1),
        setupWallSeconds.toFixed(1),
        String(steadySeconds),
        steadyWallSeconds.toFixed(2),
        row.simSecondsPerWallSecond.toFixed(2),
        row.eventsPerWallSecond.toExponential(2),
        row.heapMegabytes.toFixed(0),
        row.bytesPerMemberEntry.toFixed(0),
      ]),
    );
  }
  return rows;
}

function listFlag(args: string[], flag: string): number[] | undefined {
  const i = args.indexOf(flag);
  const list = i >= 0 ? args[i + 1] : undefined;
  return list === undefined ? undefined : list.split(',').map(Number);
}

/** Entry point for bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const nodeCounts = listFlag(args, '--nodes') ?? STRATEGY_BENCH_NODES;
  if (nodeCounts.some((n) => !Number.isInteger(n) || n < 2)) {
    console.error(
      `bench sim: --nodes takes a comma-separated list of integers >= 2, got "${nodeCounts.join(',')}"`,
    );
    process.exitCode = 2;
    return;
  }
  const protocolNodes = listFlag(args, '--protocol-nodes') ?? PROTOCOL_BENCH_NODES;
  if (protocolNodes.some((n) => !Number.isInteger(n) || n < 2)) {
    console.error(
      `bench sim: --protocol-nodes takes a comma-separated list of integers >= 2, got "${protocolNodes.join(',')}"`,
    );
    process.exitCode = 2;
    return;
  }
  const seconds = listFlag(args, '--protocol-seconds')?.[0] ?? PROTOCOL_BENCH_STEADY_SECONDS;
  if (!(seconds > 0)) {
    console.error(`bench sim: --protocol-seconds takes a positive number, got "${seconds}"`);
    process.exitCode = 2;
    return;
  }
  await runStrategyBench(nodeCounts);
  await runProtocolBench(protocolNodes, seconds, args.includes('--force'));
}
