/**
 * `npm run bench -- sim [--nodes 10000,1000000]`: simulator speed.
 *
 * Strategies: node-rounds simulated per wall second (n × rounds played, Plumtree's warm-up
 * broadcast included) for each broadcast strategy, at 10⁴ and 10⁶ nodes by default, one
 * table. The figure folds in set-up (Plumtree builds its overlay inside the timed run) and
 * depends on how much each strategy sends per node-round: eager counts n-1 messages per
 * sender in O(1), push sends one per informed node, push-pull and pull one per live node.
 *
 * The full-protocol simulator's speed (simulated seconds per wall second at 1 000 and 5 000
 * nodes) is meant to join this file as a second function beside {@link runStrategyBench}.
 */
import { STRATEGY_NAMES, type StrategyName } from '../src/broadcast/strategy.ts';
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

/** Entry point for bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--nodes');
  const list = i >= 0 ? args[i + 1] : undefined;
  const nodeCounts = list === undefined ? STRATEGY_BENCH_NODES : list.split(',').map(Number);
  if (nodeCounts.some((n) => !Number.isInteger(n) || n < 2)) {
    console.error(`bench sim: --nodes takes a comma-separated list of integers >= 2, got "${list}"`);
    process.exitCode = 2;
    return;
  }
  await runStrategyBench(nodeCounts);
}
