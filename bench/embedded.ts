/**
 * `npm run bench -- embedded` (options: {@link usage}, or `--help`)
 *
 * The embedded case: N membership nodes in one process, on real loopback sockets, against
 * hashicorp/memberlist embedded in one Go process the same way:
 *
 * - ours: bench/embedded/node.mjs, N `Memberlist`s of the built package (dist/), one
 *   `UdpTcpTransport` each, LAN profile, the per-address admission limits raised (all nodes
 *   share 127.0.0.1; memberlist has no such limits);
 * - theirs: bench/embedded/memberlist.go, N `memberlist.Create(DefaultLANConfig())`, one
 *   `NetTransport` each; built here from source with Debian's `golang-go` and
 *   `golang-github-hashicorp-memberlist-dev` in GOPATH mode (`GO111MODULE=off`, nothing
 *   downloaded). Without them the Go side is skipped, saying what to install.
 *
 * Both programs take the same arguments and print the same JSON lines (`listening`, `joined`,
 * `converged` or `timeout`); both bind port 0 (the kernel picks) on 127.0.0.1 and join the same
 * way, chosen by `--join`:
 * - `seed-serial` (default): every node joins through node 0, one join after another;
 * - `seed`: all joins at once through node 0, no retry (memberlist's seed refuses push-pulls
 *   beyond 128 in flight, `maxPushPullRequests`; a node whose join failed stays alone);
 * - `seed-retry`: all at once, a failed join retried every second, up to 10 times.
 *
 * Measured from outside, the same way for both processes: after `converged`, `--settle-s` of
 * quiet, then a window of `--window-s` (default: one scaled push-pull interval of the size,
 * memberlist's `pushPullScale`: 60 s at 50 nodes, 150 s at 500, so every node's periodic
 * push-pull is in it) in which CPU is the change of utime + stime in /proc/PID/stat and memory
 * the mean of VmRSS in /proc/PID/status sampled every second. Per node: CPU as % of one core
 * divided by N; memory as (RSS − RSS of the same program with 0 nodes) / N, the empty process
 * measured in the same run. Each size is run `--runs` times per side, alternating sides; the
 * table gives the median and min–max, the ratio ours/theirs of the medians, and the load
 * average (os.loadavg) at the start and end of each size.
 *
 * Every child is ended by closing its stdin, then SIGKILL by PID if it has not exited in 5 s.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pushPullScaleMs } from '../src/membership/math.ts';
import { defaultLanTuning } from '../src/membership/options.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GO_SOURCE = join(ROOT, 'bench', 'embedded', 'memberlist.go');
const NODE_PROGRAM = join(ROOT, 'bench', 'embedded', 'node.mjs');
/** Where Debian's golang-github-hashicorp-memberlist-dev puts the sources (a GOPATH). */
export const DEBIAN_GOPATH = '/usr/share/gocode';
const MEMBERLIST_SOURCES = join(DEBIAN_GOPATH, 'src', 'github.com', 'hashicorp', 'memberlist');
/** Linux clock ticks per second (utime and stime in /proc/PID/stat). */
const CLOCK_TICKS = 100;

export type JoinMode = 'seed-serial' | 'seed' | 'seed-retry';
export type Side = 'gossip' | 'memberlist';

/** One measured run of one side at one size. */
export interface EmbeddedRun {
  side: Side;
  nodes: number;
  join: JoinMode;
  /** Joins that still failed (after retries). */
  joinsFailed: number;
  /** Seconds from the start of the joins to the end of the last one. */
  joinSeconds: number;
  /** Seconds from the end of the joins until every node saw all N alive; null if never. */
  convergeSeconds: number | null;
  /** When it did not converge: the fewest members alive any node saw. */
  leastAlive: number | null;
  /** The window measured (s); 0 when it did not converge. */
  windowSeconds: number;
  /** CPU of the whole process over the window, % of one core. */
  cpuPercent: number;
  /** Mean VmRSS over the window, MiB. */
  rssMiB: number;
}

/** What {@link buildGoProgram} found. */
export type GoBuild = { ok: true; binary: string } | { ok: false; reason: string };

/** Builds the Go reference program (cached by Go's build cache), or says why it cannot. */
export function buildGoProgram(): GoBuild {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    return {
      ok: false,
      reason:
        'Go is not installed (Debian: apt-get install -y golang-go golang-github-hashicorp-memberlist-dev)',
    };
  }
  if (!existsSync(join(MEMBERLIST_SOURCES, 'memberlist.go'))) {
    return {
      ok: false,
      reason: `memberlist's sources are not under ${MEMBERLIST_SOURCES} (Debian: apt-get install -y golang-github-hashicorp-memberlist-dev)`,
    };
  }
  const dir = join(tmpdir(), 'gossip-bench-embedded');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'memberlist-embedded');
  const r = spawnSync('go', ['build', '-o', binary, GO_SOURCE], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: DEBIAN_GOPATH,
      GOCACHE: join(dir, 'go-cache'),
      GOFLAGS: '',
      GOPROXY: 'off',
    },
  });
  if (r.status !== 0) return { ok: false, reason: `go build failed: ${(r.stderr || r.stdout).trim()}` };
  return { ok: true, binary };
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields are counted after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** VmRSS of a process, MiB. */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Child {
  proc: ChildProcess;
  pid: number;
  /** The next JSON line (rejects when the process exits first). */
  next(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
function killAll(): void {
  for (const p of running) if (p.pid !== undefined) p.kill('SIGKILL');
}
process.on('exit', killAll);

function launch(command: string, args: string[]): Child {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
  running.add(proc);
  const lines: Record<string, unknown>[] = [];
  const waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  let stderr = '';
  let exited: Error | undefined;
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const w = waiting.shift();
    if (w) w.resolve(value);
    else lines.push(value);
  });
  proc.on('exit', (code, signal) => {
    running.delete(proc);
    exited = new Error(`${command} exited (${code ?? signal}): ${stderr.trim()}`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    proc,
    pid: proc.pid!,
    next: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : exited
          ? Promise.reject(exited)
          : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
    async stop() {
      if (exited) return;
      const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.stdin!.end();
      const killed = sleep(5000).then(() => {
        if (!exited) proc.kill('SIGKILL');
      });
      await Promise.race([done, killed]);
      await done;
    },
  };
}

/** Options of one run. */
export interface RunOptions {
  side: Side;
  nodes: number;
  join: JoinMode;
  goBinary: string | undefined;
  settleSeconds: number;
  windowSeconds: number;
  convergeTimeoutSeconds: number;
  /** Called with a line of progress. */
  progress?: (text: string) => void;
}

function childFor(o: RunOptions): Child {
  if (o.side === 'memberlist') {
    return launch(o.goBinary!, [
      '-nodes',
      String(o.nodes),
      '-join',
      o.join,
      '-converge-timeout',
      `${o.convergeTimeoutSeconds}s`,
    ]);
  }
  return launch(process.execPath, [
    NODE_PROGRAM,
    '-nodes',
    String(o.nodes),
    '-join',
    o.join,
    '-converge-timeout-ms',
    String(o.convergeTimeoutSeconds * 1000),
  ]);
}

/** Measures a window of `seconds`: CPU % of one core and mean RSS. */
async function measureWindow(pid: number, seconds: number): Promise<{ cpuPercent: number; rssMiB: number }> {
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const samples: number[] = [];
  while (performance.now() - started < seconds * 1000) {
    samples.push(rssMiB(pid));
    await sleep(Math.min(1000, seconds * 1000 - (performance.now() - started)));
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  return {
    cpuPercent: (100 * cpu) / elapsed,
    rssMiB: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length),
  };
}

/** One run: start, join, converge, settle, measure, stop. */
export async function runOnce(o: RunOptions): Promise<EmbeddedRun> {
  const child = childFor(o);
  try {
    const listening = await child.next();
    if (listening.event !== 'listening')
      throw new Error(`expected listening, got ${JSON.stringify(listening)}`);
    const base: EmbeddedRun = {
      side: o.side,
      nodes: o.nodes,
      join: o.join,
      joinsFailed: 0,
      joinSeconds: 0,
      convergeSeconds: 0,
      leastAlive: null,
      windowSeconds: 0,
      cpuPercent: 0,
      rssMiB: 0,
    };
    if (o.nodes > 0) {
      const joined = await child.next();
      const outcome = await child.next();
      base.joinsFailed = Number(joined.failed);
      base.joinSeconds = (Number(joined.ms) - Number(listening.ms)) / 1000;
      if (outcome.event !== 'converged') {
        base.convergeSeconds = null;
        base.leastAlive = Number(outcome.least);
        o.progress?.(
          `${o.side} ${o.nodes}: not converged ${o.convergeTimeoutSeconds} s after the joins (${base.joinsFailed} joins failed; the fewest alive any node saw: ${base.leastAlive})`,
        );
        return base;
      }
      base.convergeSeconds = (Number(outcome.ms) - Number(joined.ms)) / 1000;
      o.progress?.(
        `${o.side} ${o.nodes}: joined in ${base.joinSeconds.toFixed(1)} s, converged ${base.convergeSeconds.toFixed(1)} s later; settling ${o.settleSeconds} s, measuring ${o.windowSeconds} s`,
      );
    }
    await sleep(o.settleSeconds * 1000);
    const m = await measureWindow(child.pid, o.windowSeconds);
    o.progress?.(
      `${o.side} ${o.nodes}: ${m.cpuPercent.toFixed(2)} % of a core, ${m.rssMiB.toFixed(1)} MiB RSS over ${o.windowSeconds} s (load ${loadavg()[0]!.toFixed(1)})`,
    );
    return { ...base, windowSeconds: o.windowSeconds, ...m };
  } finally {
    await child.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Figures of one side at one size over its runs. */
export interface SideSummary {
  side: Side;
  nodes: number;
  runs: EmbeddedRun[];
  /** Runs that converged (and were measured). */
  converged: number;
  /** Per node, median and min–max over the converged runs: MiB over the empty process. */
  memoryPerNodeMiB: { median: number; min: number; max: number } | null;
  /** Per node, % of one core. */
  cpuPerNodePercent: { median: number; min: number; max: number } | null;
  convergeSeconds: { median: number; min: number; max: number } | null;
  /** Seconds the joins took (every run, converged or not). */
  joinSeconds: { median: number; min: number; max: number } | null;
}

function spreadOf(xs: number[]): { median: number; min: number; max: number } | null {
  return xs.length === 0 ? null : { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

function summarize(side: Side, nodes: number, runs: EmbeddedRun[], emptyRssMiB: number): SideSummary {
  const ok = runs.filter((r) => r.convergeSeconds !== null);
  return {
    side,
    nodes,
    runs,
    converged: ok.length,
    memoryPerNodeMiB: spreadOf(ok.map((r) => (r.rssMiB - emptyRssMiB) / nodes)),
    cpuPerNodePercent: spreadOf(ok.map((r) => r.cpuPercent / nodes)),
    convergeSeconds: spreadOf(ok.map((r) => r.convergeSeconds!)),
    joinSeconds: spreadOf(runs.map((r) => r.joinSeconds)),
  };
}

/** The default window: one scaled push-pull interval of memberlist's LAN profile at n nodes. */
export function defaultWindowSeconds(nodes: number): number {
  return pushPullScaleMs(defaultLanTuning().pushPullIntervalMs, nodes) / 1000;
}

function progress(text: string): void {
  process.stderr.write(`[bench embedded] ${text}\n`);
}

const fmt = (s: { median: number; min: number; max: number } | null, digits: number) =>
  s === null ? 'n/a' : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** The options, for `npm run bench -- embedded --help`. */
export const usage =
  '[--nodes 50,500] [--runs 3] [--join seed-serial|seed|seed-retry] [--window-s S] [--settle-s 10] [--converge-timeout-s 600] [--format table|json]';

/** Entry point for bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseBenchArgs(args, {
    nodes: { type: 'string', default: '50,500' },
    runs: { type: 'string', default: '3' },
    join: { type: 'string', default: 'seed-serial' },
    'window-s': { type: 'string' },
    'settle-s': { type: 'string', default: '10' },
    'converge-timeout-s': { type: 'string', default: '600' },
    format: { type: 'string', default: 'table' },
  });
  const sizes = values.nodes.split(',').map(Number);
  const runs = Number(values.runs);
  const joinMode = values.join as JoinMode;
  const settleSeconds = Number(values['settle-s']);
  const convergeTimeoutSeconds = Number(values['converge-timeout-s']);
  const problems: string[] = [];
  if (sizes.some((n) => !Number.isInteger(n) || n < 2))
    problems.push('--nodes takes integers >= 2, e.g. 50,500');
  if (!Number.isInteger(runs) || runs < 1) problems.push('--runs takes an integer >= 1');
  if (!['seed-serial', 'seed', 'seed-retry'].includes(joinMode))
    problems.push('--join takes seed-serial, seed or seed-retry');
  if (values['window-s'] !== undefined && !(Number(values['window-s']) > 0))
    problems.push('--window-s takes a positive number of seconds');
  if (!(settleSeconds >= 0)) problems.push('--settle-s takes a number of seconds >= 0');
  if (!(convergeTimeoutSeconds > 0)) problems.push('--converge-timeout-s takes a positive number of seconds');
  if (values.format !== 'table' && values.format !== 'json') problems.push('--format takes table or json');
  if (problems.length > 0) throw new BenchUsageError(problems.join('; '));
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--check'], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    console.error(`bench embedded: dist/ is stale (${check.stderr.trim()}); npm run bench builds it first`);
    process.exitCode = 2;
    return;
  }
  const go = buildGoProgram();
  if (!go.ok) console.log(`memberlist side skipped: ${go.reason}`);
  const sides: Side[] = go.ok ? ['gossip', 'memberlist'] : ['gossip'];
  const goBinary = go.ok ? go.binary : undefined;

  const common = { join: joinMode, goBinary, convergeTimeoutSeconds, progress };
  // The empty process of each side (0 nodes): what is subtracted from RSS.
  const empty = new Map<Side, number>();
  for (const side of sides) {
    const r = await runOnce({ ...common, side, nodes: 0, settleSeconds: 2, windowSeconds: 5 });
    empty.set(side, r.rssMiB);
    progress(`${side}: the empty process holds ${r.rssMiB.toFixed(1)} MiB`);
  }

  const results: {
    nodes: number;
    loadBefore: number[];
    loadAfter: number[];
    sides: SideSummary[];
    ratio: { memory: number | null; cpu: number | null; converge: number | null };
  }[] = [];
  for (const nodes of sizes) {
    const windowSeconds =
      values['window-s'] !== undefined ? Number(values['window-s']) : defaultWindowSeconds(nodes);
    const loadBefore = loadavg();
    const bySide = new Map<Side, EmbeddedRun[]>(sides.map((s) => [s, []]));
    for (let i = 0; i < runs; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
        bySide.get(side)!.push(await runOnce({ ...common, side, nodes, settleSeconds, windowSeconds }));
      }
    }
    const summaries = sides.map((s) => summarize(s, nodes, bySide.get(s)!, empty.get(s)!));
    const ours = summaries.find((s) => s.side === 'gossip')!;
    const theirs = summaries.find((s) => s.side === 'memberlist');
    const ratio = (a: { median: number } | null | undefined, b: { median: number } | null | undefined) =>
      a && b && b.median > 0 ? a.median / b.median : null;
    results.push({
      nodes,
      loadBefore,
      loadAfter: loadavg(),
      sides: summaries,
      ratio: {
        memory: ratio(ours.memoryPerNodeMiB, theirs?.memoryPerNodeMiB),
        cpu: ratio(ours.cpuPerNodePercent, theirs?.cpuPerNodePercent),
        converge: ratio(ours.convergeSeconds, theirs?.convergeSeconds),
      },
    });
  }

  if (values.format === 'json') {
    console.log(
      JSON.stringify({ join: joinMode, runs, emptyRssMiB: Object.fromEntries(empty), results }, null, 2),
    );
    return;
  }
  console.log(
    `embedded: N nodes in one process, loopback sockets, LAN profile, joined ${joinMode} through node 0; median (min–max) of ${runs} runs`,
  );
  console.log(
    `per node: MiB = (mean RSS − the empty process: ${[...empty].map(([side, mib]) => `${side} ${mib.toFixed(1)}`).join(', ')} MiB) / N, CPU = % of one core / N, over a window after convergence; converge s from the end of the joins`,
  );
  const header = ['nodes', 'side', 'converged', 'join s', 'converge s', 'MiB/node', 'CPU %/node', 'load 1m'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const s of r.sides) {
      rows.push([
        String(r.nodes),
        s.side,
        `${s.converged}/${s.runs.length}`,
        fmt(s.joinSeconds, 1),
        fmt(s.convergeSeconds, 1),
        fmt(s.memoryPerNodeMiB, 3),
        fmt(s.cpuPerNodePercent, 4),
        `${r.loadBefore[0]!.toFixed(1)}→${r.loadAfter[0]!.toFixed(1)}`,
      ]);
    }
    const ratio = (x: number | null) =>
      x === null ? 'n/a' : `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}×`;
    rows.push([
      String(r.nodes),
      'ratio',
      '',
      '',
      ratio(r.ratio.converge),
      ratio(r.ratio.memory),
      ratio(r.ratio.cpu),
      '',
    ]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const r of results)
    for (const s of r.sides)
      for (const run of s.runs)
        if (run.convergeSeconds === null)
          console.log(
            `  ${s.side} at ${r.nodes} nodes did not converge within ${convergeTimeoutSeconds} s (${run.joinsFailed} joins failed; fewest alive seen: ${run.leastAlive})`,
          );
}
