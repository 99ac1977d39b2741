/**
 * `gossip sim`: deterministic simulation at sizes no machine room holds.
 *
 * Strategy mode (`--strategy`) runs the broadcast family of `src/broadcast` (point-to-point,
 * eager, push, pull, push-pull, Plumtree) on up to 10⁷ nodes and prints each run's record
 * beside the theory's prediction. Scenario mode (`--scenario`) runs the full membership
 * protocol (src/sim/protocol-sim.ts) under a named fault scenario, with invariant checkers
 * after every event. `parseSimFlags` parses every flag, `run` picks the mode (the two are
 * mutually exclusive), and each mode lives in its own function.
 *
 * Output contract: stdout carries the result (JSON by default: byte-identical for the same
 * flags and seed, with no wall-clock figures) or a table. stderr carries, first, the exact
 * command that reproduces the run (in scenario mode: first the seed and every derived
 * parameter), then timings, and progress when stderr is a terminal. A scenario run whose
 * invariants broke exits with 1 and prints the reproduce command again.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { MAX_FANOUT, MAX_RUMOR_K, STRATEGY_NAMES, type StrategyName } from '../../broadcast/strategy.ts';
import type { ProfileName } from '../../membership/options.ts';
import { secureSeed } from '../../runtime/seed.ts';
import { type LineSeries, lineChart, PALETTE } from '../../sim/plot.ts';
import { describeParams, formatProtocolTable, protocolCharts } from '../../sim/protocol-report.ts';
import { ProtocolSim, type ProtocolSimProgress, type ProtocolSimResult } from '../../sim/protocol-sim.ts';
import {
  PROTOCOL_SIM_MAX_DURATION_S,
  PROTOCOL_SIM_MAX_NODES,
  SCENARIO_NAMES,
  SCENARIOS,
  type ScenarioName,
  SIM_MEMBER_ENTRY_BYTES,
} from '../../sim/scenario.ts';
import {
  nodeRoundsOf,
  runStrategySim,
  SIM_DEFAULT_MAX_ROUNDS,
  SIM_MAX_NODES,
  SIM_MAX_ROUNDS,
  type StrategySimProgress,
  type StrategySimResult,
} from '../../sim/strategy-sim.ts';
import type { Command, CommandIo } from '../command.ts';
import { UsageError } from '../command.ts';

const SCENARIO_LIST = SCENARIO_NAMES.map((name) => {
  const spec = SCENARIOS[name];
  return `  ${name.padEnd(14)}  ${spec.summary}\n${' '.repeat(18)}(${spec.nodes[0]}-${spec.nodes[1]} nodes, ${spec.durationS} s)`;
}).join('\n');

const HELP = `Usage: gossip sim --strategy NAME|all --nodes N [options]
       gossip sim --scenario NAME [--nodes N] [--seed S] [--duration SECONDS] [options]

Strategy mode simulates how one message spreads through N nodes, deterministically from a
seed, and sets each run beside the theory (rounds, messages, coverage).

Scenario mode runs the whole stack (Serf over memberlist: SWIM with Lifeguard, intents,
reconnects, user events, queries) on a virtual clock and an in-process network, under faults
and traffic drawn from the seed, with invariant checkers after every event; then heals every
fault and checks that all running nodes converge, in memberlist and in Serf's member
statuses. It prints detection times, false positives, convergence time and load per node.

Strategies:
  point-to-point  the producer sends to each consumer (n-1 messages, all from one node)
  eager           eager reliable broadcast: every node re-sends to all on first receipt (n(n-1))
  push            each informed node pushes to --fanout random nodes per round
                  (with --rumor-k K: Demers' rumor mongering, stop after K useless contacts)
  pull            every node asks --fanout random nodes for news per round
  push-pull       every node calls --fanout random nodes; they exchange what they have
  plumtree        eager push on a spanning tree of a random overlay, lazy IHAVE elsewhere;
                  one warm-up broadcast builds the tree, the second one is measured
  all             every strategy above, one after another

Scenarios:
${SCENARIO_LIST}

Strategy options:
  --strategy NAME          required; one of the names above
  --nodes N                required; 2 to ${SIM_MAX_NODES}
  --fanout F               gossip fanout, 1 to ${MAX_FANOUT} (default 1, the phone-call model)
  --loss P                 probability a message is lost, 0 <= P < 1 (default 0)
  --crash P                probability a live node crashes in a round, 0 <= P < 1 (default 0)
  --sender-crash-round R   the origin dies part-way through round R (R >= 1)
  --rumor-k K              push only: rumor mongering with counter K, 1 to ${MAX_RUMOR_K}
  --rumor-removal counter|coin
                           with --rumor-k: stop after K useless contacts, or with
                           probability 1/K at each (default counter)
  --max-rounds R           round limit per broadcast, 1 to ${SIM_MAX_ROUNDS} (default ${SIM_DEFAULT_MAX_ROUNDS})

Scenario options:
  --scenario NAME          required; one of the names above
  --nodes N                2 to ${PROTOCOL_SIM_MAX_NODES} (default: drawn from the scenario's range)
  --duration SECONDS       safety phase in virtual seconds (default: the scenario's)
  --profile lan|wan|local  memberlist timing profile (default lan)
  --seed-discovery         nodes join through seed discovery (what \`gossip agent --join\`
                           runs) on a simulated DNS name listing every running node, instead
                           of the driver joining them through a running node

Common options:
  --seed S                 integer seed, 0 to 2^53-1 (default: a random one, printed)
  --format json|table      stdout format (default json)
  --plot FILE.svg          strategies: informed nodes per round against the theory's curve;
                           scenarios: detection-time distribution and load per node

The same flags and seed print byte-identical JSON. stderr starts with the command that
reproduces the run (scenarios: with the seed and every derived parameter before it).
A scenario run whose invariants broke exits with status 1.

Examples:
  gossip sim --strategy all --nodes 100000 --seed 1 --format table --plot spread.svg
  gossip sim --strategy push --nodes 10000 --rumor-k 2 --seed 7
  gossip sim --strategy push-pull --nodes 1000000 --loss 0.1 --sender-crash-round 1
  gossip sim --scenario crash --nodes 1000 --seed 1 --format table --plot crash.svg
  gossip sim --scenario random --seed 42`;

/** Every `gossip sim` flag, as node:util parseArgs sees it. */
const FLAGS = {
  strategy: { type: 'string' },
  nodes: { type: 'string' },
  fanout: { type: 'string' },
  loss: { type: 'string' },
  crash: { type: 'string' },
  'sender-crash-round': { type: 'string' },
  'rumor-k': { type: 'string' },
  'rumor-removal': { type: 'string' },
  seed: { type: 'string' },
  'max-rounds': { type: 'string' },
  format: { type: 'string' },
  plot: { type: 'string' },
  scenario: { type: 'string' },
  duration: { type: 'string' },
  profile: { type: 'string' },
  'seed-discovery': { type: 'boolean' },
} as const;

/** The validated flags of strategy mode. */
export interface StrategyModeFlags {
  /** Strategies to run, in order. */
  strategies: StrategyName[];
  /** The `--strategy` value as given (a name or `all`). */
  strategyFlag: string;
  /** --nodes. */
  nodes: number;
  /** --fanout (default 1). */
  fanout: number;
  /** --loss (default 0). */
  lossRate: number;
  /** --crash (default 0). */
  crashRate: number;
  /** --sender-crash-round, or undefined. */
  senderCrashRound: number | undefined;
  /** --rumor-k, or undefined. */
  rumorK: number | undefined;
  /** --rumor-removal when --rumor-k is given (default counter). */
  rumorRemoval: 'counter' | 'coin' | undefined;
  /** --seed, or a random one. */
  seed: number;
  /** --max-rounds. */
  maxRounds: number;
  /** --format. */
  format: 'json' | 'table';
  /** --plot file, or undefined. */
  plot: string | undefined;
}

type RawFlags = {
  [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean'
    ? boolean | undefined
    : string | undefined;
};

/** Parses `args` into raw flag strings; unknown flags and positionals are usage errors. */
function parseSimFlags(args: string[]): RawFlags {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(message.replace(/\. To specify a positional.*$/s, ''));
  }
}

function parseInteger(flag: string, raw: string, min: number, max: number, hint: string): number {
  const value = /^\s*[+]?\d+(\.\d+)?(e\+?\d+)?\s*$/i.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${raw}"; ${hint}`);
  return value;
}

function parseProbability(flag: string, raw: string, hint: string): number {
  const value = /^\s*[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 0 && value < 1))
    throw new UsageError(`--${flag} must be a probability with 0 <= P < 1, got "${raw}"; ${hint}`);
  return value;
}

/** Validates strategy-mode flags; every message names the bad value and the fix. */
export function strategyModeFlags(raw: RawFlags): StrategyModeFlags {
  const names = [...STRATEGY_NAMES, 'all'];
  if (raw.strategy === undefined) throw new UsageError(`--strategy is required: one of ${names.join(', ')}`);
  if (!names.includes(raw.strategy))
    throw new UsageError(`--strategy must be one of ${names.join(', ')}, got "${raw.strategy}"`);
  const strategies = raw.strategy === 'all' ? [...STRATEGY_NAMES] : [raw.strategy as StrategyName];
  if (raw.nodes === undefined) throw new UsageError('--nodes is required, for example --nodes 10000');
  const nodes = parseInteger('nodes', raw.nodes, 2, SIM_MAX_NODES, 'for example --nodes 10000');
  const fanoutMax = Math.min(MAX_FANOUT, nodes - 1);
  const fanout =
    raw.fanout === undefined
      ? 1
      : parseInteger(
          'fanout',
          raw.fanout,
          1,
          fanoutMax,
          `a node contacts at most ${fanoutMax} others per round here (n - 1 = ${nodes - 1})`,
        );
  const lossRate =
    raw.loss === undefined ? 0 : parseProbability('loss', raw.loss, 'for example --loss 0.05 for 5%');
  const crashRate =
    raw.crash === undefined
      ? 0
      : parseProbability('crash', raw.crash, 'it is per node per round, for example --crash 0.001');
  const senderCrashRound =
    raw['sender-crash-round'] === undefined
      ? undefined
      : parseInteger(
          'sender-crash-round',
          raw['sender-crash-round'],
          1,
          SIM_MAX_ROUNDS,
          'round 1 is the first send, for example --sender-crash-round 1',
        );
  let rumorK: number | undefined;
  if (raw['rumor-k'] !== undefined) {
    rumorK = parseInteger('rumor-k', raw['rumor-k'], 1, MAX_RUMOR_K, 'for example --rumor-k 2');
    if (raw.strategy !== 'push' && raw.strategy !== 'all')
      throw new UsageError(
        `--rumor-k applies to --strategy push (or all), not "${raw.strategy}"; drop --rumor-k or use --strategy push`,
      );
  }
  let rumorRemoval: 'counter' | 'coin' | undefined;
  if (raw['rumor-removal'] !== undefined) {
    if (raw['rumor-removal'] !== 'counter' && raw['rumor-removal'] !== 'coin')
      throw new UsageError(`--rumor-removal must be counter or coin, got "${raw['rumor-removal']}"`);
    if (rumorK === undefined)
      throw new UsageError('--rumor-removal needs --rumor-k, for example --rumor-k 2 --rumor-removal coin');
    rumorRemoval = raw['rumor-removal'];
  }
  const seed =
    raw.seed === undefined
      ? secureSeed()
      : parseInteger('seed', raw.seed, 0, Number.MAX_SAFE_INTEGER, 'any whole number, for example --seed 1');
  const maxRounds =
    raw['max-rounds'] === undefined
      ? SIM_DEFAULT_MAX_ROUNDS
      : parseInteger('max-rounds', raw['max-rounds'], 1, SIM_MAX_ROUNDS, 'for example --max-rounds 1000');
  const format = raw.format ?? 'json';
  if (format !== 'json' && format !== 'table')
    throw new UsageError(`--format must be json or table, got "${format}"`);
  const plot = raw.plot;
  if (plot !== undefined && !/\.svg$/i.test(plot))
    throw new UsageError(`--plot writes an SVG file; give it a name ending in .svg, got "${plot}"`);
  return {
    strategies,
    strategyFlag: raw.strategy,
    nodes,
    fanout,
    lossRate,
    crashRate,
    senderCrashRound,
    rumorK,
    rumorRemoval: rumorK === undefined ? undefined : (rumorRemoval ?? 'counter'),
    seed,
    maxRounds,
    format,
    plot,
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line that reproduces a strategy-mode run: every effective value spelled out. */
export function reproduceCommand(f: StrategyModeFlags): string {
  const parts = ['gossip', 'sim', '--strategy', f.strategyFlag, '--nodes', String(f.nodes)];
  parts.push('--fanout', String(f.fanout), '--loss', String(f.lossRate), '--crash', String(f.crashRate));
  if (f.senderCrashRound !== undefined) parts.push('--sender-crash-round', String(f.senderCrashRound));
  if (f.rumorK !== undefined)
    parts.push('--rumor-k', String(f.rumorK), '--rumor-removal', f.rumorRemoval ?? 'counter');
  parts.push('--seed', String(f.seed), '--max-rounds', String(f.maxRounds), '--format', f.format);
  if (f.plot !== undefined) parts.push('--plot', shellQuote(f.plot));
  return parts.join(' ');
}

/** JSON with two-space indent, but arrays of scalars on one line (perRound stays readable). */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\n\s+([^[\]{}]*?)\n\s*\]/g,
    (_, inner: string) => `[${inner.split(/,\n\s*/).join(', ')}]`,
  );
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e6) return x.toExponential(2);
  if (Number.isInteger(x)) return String(x);
  return String(Math.round(x * 1000) / 1000);
}

/** The table format: one line per run, measured (theory). */
function formatTable(results: readonly StrategySimResult[], wallSeconds: readonly number[]): string {
  const header = [
    'strategy',
    'fanout',
    'rounds (theory)',
    'messages (theory)',
    'coverage (theory)',
    'max/node',
    'redundancy',
    'bytes',
    'wall s',
  ];
  const rows = results.map((r, i) => [
    r.rumorK === null ? r.strategy : `${r.strategy} k=${r.rumorK}`,
    fmt(r.fanout),
    `${r.rounds} (${fmt(r.predicted.rounds)})`,
    `${fmt(r.messages)} (${fmt(r.predicted.messages)})`,
    `${fmt(r.coverage)} (${fmt(r.predicted.coverage)})`,
    fmt(r.maxSentByOneNode),
    fmt(r.redundancy),
    fmt(r.bytes),
    (wallSeconds[i] ?? 0).toFixed(2),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const first = results[0];
  const title =
    first === undefined
      ? ''
      : `n = ${first.nodes}, loss ${first.lossRate}, crash ${first.crashRate}, seed ${first.seed}` +
        (first.senderCrashRound === null ? '' : `, sender crashes in round ${first.senderCrashRound}`);
  return [title, line(header), ...rows.map(line), ''].join('\n');
}

/** The --plot chart: fraction of nodes informed per round, measured (solid) and theory (dashed). */
export function spreadChart(results: readonly StrategySimResult[]): string {
  const series: LineSeries[] = [];
  results.forEach((r, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const name = r.rumorK === null ? r.strategy : `${r.strategy} (rumor k=${r.rumorK})`;
    series.push({ name, color, points: r.perRound.map((v, t) => [t, v / r.nodes] as const) });
    series.push({
      name: `${name}, theory`,
      color,
      isDashed: true,
      isInLegend: false,
      points: r.predicted.perRound.map((v, t) => [t, v / r.nodes] as const),
    });
  });
  const first = results[0];
  const facts =
    first === undefined
      ? []
      : [
          `n = ${first.nodes}, loss ${first.lossRate}, crash ${first.crashRate}`,
          `seed ${first.seed}${first.senderCrashRound === null ? '' : `, sender dies in round ${first.senderCrashRound}`}`,
        ];
  return lineChart(series, {
    title: 'gossip sim: informed nodes per round',
    xLabel: 'round',
    yLabel: 'fraction of nodes informed (live)',
    yMin: 0,
    yMax: 1,
    notes: [
      'solid: simulated',
      'dashed: theory (mean field)',
      ...(results.some((r) => r.strategy === 'plumtree')
        ? ['plumtree dashed: flood depth, reached', 'by its warm-up broadcast']
        : []),
      ...facts,
    ],
  });
}

/** Least wall time between two progress lines on the terminal. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * A progress callback that rewrites one terminal line on stderr with `line(p)`, at most every
 * PROGRESS_INTERVAL_MS of wall time; none when progress is off (stderr not a terminal).
 */
function throttledProgress<P>(
  io: CommandIo,
  isEnabled: boolean,
  line: (p: P) => string,
): ((p: P) => void) | undefined {
  if (!isEnabled) return undefined;
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    io.stderr(`\r\x1b[K${line(p)}`);
  };
}

function progressReporter(io: CommandIo, isEnabled: boolean): ((p: StrategySimProgress) => void) | undefined {
  return throttledProgress<StrategySimProgress>(
    io,
    isEnabled,
    (p) =>
      `${p.strategy}${p.isWarmup ? ' (warm-up)' : ''}: round ${p.round}, ` +
      `${p.informedLive} of ${p.liveCount} live nodes informed`,
  );
}

/** Strategy mode: runs each strategy, prints the records, draws the plot. */
async function runStrategyMode(flags: StrategyModeFlags, io: CommandIo): Promise<number> {
  io.stderr(`reproduce: ${reproduceCommand(flags)}\n`);
  const isTty = process.stderr.isTTY === true;
  const onRound = progressReporter(io, isTty);
  const results: StrategySimResult[] = [];
  const wallSeconds: number[] = [];
  for (const strategy of flags.strategies) {
    const started = performance.now();
    const result = runStrategySim({
      strategy,
      nodes: flags.nodes,
      fanout: flags.fanout,
      lossRate: flags.lossRate,
      crashRate: flags.crashRate,
      senderCrashRound: flags.senderCrashRound,
      rumorK: strategy === 'push' ? flags.rumorK : undefined,
      rumorRemoval: strategy === 'push' ? flags.rumorRemoval : undefined,
      seed: flags.seed,
      maxRounds: flags.maxRounds,
      ...(onRound === undefined ? {} : { onRound }),
    });
    const seconds = (performance.now() - started) / 1000;
    if (isTty) io.stderr('\r\x1b[K');
    results.push(result);
    wallSeconds.push(seconds);
    const rate = nodeRoundsOf(result) / Math.max(seconds, 1e-9);
    io.stderr(
      `${strategy}: ${result.rounds} rounds (theory ${fmt(result.predicted.rounds)}), ${fmt(result.messages)} messages, ` +
        `coverage ${fmt(result.coverage)}; ${seconds.toFixed(2)} s wall, ${rate.toExponential(2)} node-rounds/s\n`,
    );
  }
  if (flags.format === 'json') {
    io.stdout(`${formatJson(results.length === 1 ? results[0] : results)}\n`);
  } else {
    io.stdout(formatTable(results, wallSeconds));
  }
  if (flags.plot !== undefined) {
    writeFileSync(flags.plot, spreadChart(results));
    io.stderr(`plot: wrote ${flags.plot}\n`);
  }
  return 0;
}

/** The validated flags of scenario mode. */
export interface ScenarioModeFlags {
  /** --scenario. */
  scenario: ScenarioName;
  /** --nodes, or undefined to draw it from the seed. */
  nodes: number | undefined;
  /** --seed, or a random one. */
  seed: number;
  /** --duration in seconds, or undefined for the scenario's default. */
  durationS: number | undefined;
  /** --profile. */
  profile: ProfileName;
  /** --seed-discovery. */
  seedDiscovery: boolean;
  /** --format. */
  format: 'json' | 'table';
  /** --plot file, or undefined. */
  plot: string | undefined;
}

/** Flags that belong to strategy mode only. */
const STRATEGY_ONLY_FLAGS = [
  'fanout',
  'loss',
  'crash',
  'sender-crash-round',
  'rumor-k',
  'rumor-removal',
  'max-rounds',
] as const;

/** Validates scenario-mode flags; every message names the bad value and the fix. */
export function scenarioModeFlags(raw: RawFlags): ScenarioModeFlags {
  const scenario = raw.scenario;
  if (scenario === undefined || !(SCENARIO_NAMES as readonly string[]).includes(scenario))
    throw new UsageError(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got "${scenario}"`);
  if (raw.strategy !== undefined)
    throw new UsageError('--scenario and --strategy are separate modes; give one of them');
  for (const flag of STRATEGY_ONLY_FLAGS) {
    if (raw[flag] !== undefined)
      throw new UsageError(
        `--${flag} belongs to --strategy mode; a scenario draws its faults from the seed (drop --${flag})`,
      );
  }
  const nodes =
    raw.nodes === undefined
      ? undefined
      : parseInteger('nodes', raw.nodes, 2, PROTOCOL_SIM_MAX_NODES, 'for example --nodes 1000');
  const seed =
    raw.seed === undefined
      ? secureSeed()
      : parseInteger('seed', raw.seed, 0, Number.MAX_SAFE_INTEGER, 'any whole number, for example --seed 1');
  let durationS: number | undefined;
  if (raw.duration !== undefined) {
    const value = /^\s*[+]?(\d+\.?\d*|\.\d+)\s*$/.test(raw.duration) ? Number(raw.duration) : Number.NaN;
    if (!(value > 0 && value <= PROTOCOL_SIM_MAX_DURATION_S))
      throw new UsageError(
        `--duration must be a number of seconds above 0 and at most ${PROTOCOL_SIM_MAX_DURATION_S}, got "${raw.duration}"; for example --duration 60`,
      );
    durationS = value;
  }
  const profile = raw.profile ?? 'lan';
  if (profile !== 'lan' && profile !== 'wan' && profile !== 'local')
    throw new UsageError(`--profile must be lan, wan or local, got "${profile}"`);
  const format = raw.format ?? 'json';
  if (format !== 'json' && format !== 'table')
    throw new UsageError(`--format must be json or table, got "${format}"`);
  const plot = raw.plot;
  if (plot !== undefined && !/\.svg$/i.test(plot))
    throw new UsageError(`--plot writes an SVG file; give it a name ending in .svg, got "${plot}"`);
  const seedDiscovery = raw['seed-discovery'] === true;
  return { scenario: scenario as ScenarioName, nodes, seed, durationS, profile, seedDiscovery, format, plot };
}

/** The command line that reproduces a scenario run: every effective value spelled out. */
export function scenarioReproduceCommand(f: ScenarioModeFlags, nodes: number, durationS: number): string {
  const parts = [
    'gossip',
    'sim',
    '--scenario',
    f.scenario,
    '--nodes',
    String(nodes),
    '--seed',
    String(f.seed),
  ];
  parts.push('--duration', String(durationS), '--profile', f.profile);
  if (f.seedDiscovery) parts.push('--seed-discovery');
  parts.push('--format', f.format);
  if (f.plot !== undefined) parts.push('--plot', shellQuote(f.plot));
  return parts.join(' ');
}

function scenarioProgress(io: CommandIo, isEnabled: boolean): ((p: ProtocolSimProgress) => void) | undefined {
  return throttledProgress<ProtocolSimProgress>(
    io,
    isEnabled,
    (p) =>
      `${p.phase}: ${((p.nowMs - p.phaseStartMs) / 1000).toFixed(1)} of at most ${((p.phaseEndMs - p.phaseStartMs) / 1000).toFixed(1)} s simulated, ` +
      `${p.running} nodes running, ${p.events} events`,
  );
}

/** Scenario mode: seed and parameters first, then the run, the record, the plot. */
async function runScenarioMode(flags: ScenarioModeFlags, io: CommandIo): Promise<number> {
  const isTty = process.stderr.isTTY === true;
  const sim = new ProtocolSim({
    scenario: flags.scenario,
    seed: flags.seed,
    nodes: flags.nodes,
    durationS: flags.durationS,
    profile: flags.profile,
    seedDiscovery: flags.seedDiscovery,
    onProgress: scenarioProgress(io, isTty),
  });
  const params = sim.params;
  const reproduce = scenarioReproduceCommand(flags, params.nodes, params.durationMs / 1000);
  io.stderr(`seed ${flags.seed}\n`);
  for (const line of describeParams(params)) io.stderr(`${line}\n`);
  io.stderr(`reproduce: ${reproduce}\n`);
  const needBytes = SIM_MEMBER_ENTRY_BYTES * params.slots * params.slots;
  const heapLimit = getHeapStatistics().heap_size_limit;
  if (needBytes > 0.8 * heapLimit) {
    io.stderr(
      `warning: ${params.slots} nodes need ≈ ${(needBytes / 1e9).toFixed(1)} GB of heap (every node holds every member, ` +
        `≈ ${SIM_MEMBER_ENTRY_BYTES} B each) and this process has ${(heapLimit / 1e9).toFixed(1)} GB; ` +
        'raise it with NODE_OPTIONS=--max-old-space-size=MB or use fewer nodes\n',
    );
  }
  const started = performance.now();
  await sim.bootstrap();
  await sim.safety();
  await sim.liveness();
  const result: ProtocolSimResult = sim.result();
  const seconds = (performance.now() - started) / 1000;
  if (isTty) io.stderr('\r\x1b[K');
  const simSeconds = result.phases.endMs / 1000;
  io.stderr(
    `${flags.scenario}: ${result.isOk ? 'pass' : 'FAIL'}; ${simSeconds.toFixed(1)} s simulated in ${seconds.toFixed(2)} s wall ` +
      `(${(simSeconds / Math.max(seconds, 1e-9)).toFixed(1)} simulated s per wall s), ${result.events} events\n`,
  );
  if (flags.format === 'json') io.stdout(`${formatJson(result)}\n`);
  else io.stdout(formatProtocolTable(result, seconds));
  if (flags.plot !== undefined) {
    writeFileSync(flags.plot, protocolCharts(result));
    io.stderr(`plot: wrote ${flags.plot}\n`);
  }
  if (!result.isOk) {
    for (const v of result.violations) io.stderr(`violation [${v.checker}] at ${v.atMs} ms: ${v.reason}\n`);
    io.stderr(`reproduce with: ${reproduce}\n`);
    return 1;
  }
  return 0;
}

/** The `gossip sim` command. */
export const command: Command = {
  help: HELP,
  async run(args, io) {
    const raw = parseSimFlags(args);
    if (raw.scenario !== undefined) return runScenarioMode(scenarioModeFlags(raw), io);
    return runStrategyMode(strategyModeFlags(raw), io);
  },
};
