/**
 * `npm run bench -- membership [--sizes 10,50] [--clusters K] [--profile lan|local]
 *  [--poll-ms 200] [--batch 8] [--seeds 40] [--format table|json]`
 *
 * Real processes on loopback: for each size N, K clusters of N `gossip agent`s and, separately,
 * K clusters of N `serf agent`s (ours and serf's alternate, one cluster at a time), same profile
 * on both sides. Per cluster:
 *
 * - start-up: N agents started in parallel batches, each waited for until its API answers a
 *   member-list request (ours: the banner, then one `GET /v1/members`; serf: `serf members`);
 *   reported on its own, and the clock of the next phase starts only once all are ready and
 *   `--settle-ms` has passed;
 * - join convergence: every agent but the first joins through the first one at once (ours
 *   `POST /v1/join`, serf `serf join`); the time until every agent lists all N alive;
 * - RSS per agent (VmRSS of /proc/PID/status) once converged;
 * - crash detection: `kill -9` of the last agent; the time until every other agent lists it
 *   `failed`;
 * - leave propagation: a graceful leave of the next-to-last agent (ours `POST /v1/leave`, the
 *   request `gossip leave` sends, so that the CLI's own ~0.4 s Node start-up is not counted; serf
 *   `serf leave`); the time until every remaining agent lists it `left`. Also counted: leaves
 *   that some observer listed as `failed` before `left` (the leave intent lost to the memberlist
 *   dead message; fixed up by a later push-pull).
 *
 * Observation: every agent is polled in parallel (ours `GET /v1/members`, serf
 * `serf members -format=json -rpc-addr=...`), each one again `--poll-ms` after its previous
 * answer, the same cadence on both sides; an agent that has seen the condition is no longer
 * polled. A time is the midpoint of the first poll that saw the condition, so the resolution is
 * about the poll interval plus the answer time (both printed).
 *
 * Also printed: the in-memory join-storm tail (50 nodes, 2% loss, virtual time) over many seeds,
 * with our two tail fixes and without them (what memberlist does).
 *
 * Every process is killed by PID at the end, on an exception, and on Ctrl-C.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { builtBin } from '../test/support/gossip-agent.ts';
import { joinStormTail, type TailSummary, WITHOUT_TAIL_FIXES } from '../test/support/join-storm.ts';
import { freePort, serfAvailable, sleep } from '../test/support/serf.ts';

type Profile = 'lan' | 'local';
type SideName = 'gossip' | 'serf';

interface MemberView {
  name: string;
  status: string;
}

/** One running agent of either kind, as the benchmark drives it. */
interface BenchNode {
  readonly name: string;
  readonly addr: string;
  readonly pid: number;
  members(): Promise<MemberView[]>;
  join(seed: string): Promise<void>;
  leave(): Promise<void>;
  /** kill -9 by PID (a no-op once it has exited). */
  kill(): Promise<void>;
  /**
   * Ours only: the Lifeguard counters from `/metrics` (probes put down to our own event-loop
   * stall, and the health score), to tell CPU contention apart from protocol behaviour.
   */
  lifeguard?(): Promise<LifeguardView>;
}

interface LifeguardView {
  probesInconclusive: number;
  healthScore: number;
}

/** A value of an unlabelled metric in Prometheus text, 0 when absent. */
function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

// ---------------------------------------------------------------------------------------------
// Processes. The agents are spawned here rather than through test/support's helpers so that
// each PID is recorded the moment it exists: every one is killed by PID at the end, on an
// exception, on a start-up that times out, and on Ctrl-C or SIGTERM.

const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const p of live) {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

function installCleanup(): () => void {
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: killing ${live.size} agent(s) by PID`);
    killAllNow();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAllNow);
  };
}

/** A spawned agent process: output kept (the agents log at warn), exit awaited, PID tracked. */
class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output = '';

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    const onData = (d: Buffer) => {
      if (this.output.length < 1 << 20) this.output += d.toString();
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.once('error', () => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9 by PID, and wait for the exit. */
  async kill(): Promise<void> {
    if (this.running && this.child.pid !== undefined) {
      process.kill(this.child.pid, 'SIGKILL');
      await this.exited;
    }
    live.delete(this.child);
  }
}

function execOut(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args[0]}: ${err.message.trim()} ${stderr.trim()}`)) : resolve(stdout),
    ),
  );
}

const START_TIMEOUT_MS = 60_000;

async function startGossip(name: string, profile: Profile): Promise<BenchNode> {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const p = new Proc(process.execPath, [
    builtBin(),
    'agent',
    ...['--node', name, '--bind', addr, '--http', '127.0.0.1:0', '--profile', profile],
    ...['--log-level', 'warn', '--no-dashboard'],
  ]);
  try {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let http = '';
    for (;;) {
      const m = /dashboard:\s+http:\/\/([^/\s]+)\//.exec(p.output);
      if (m) {
        http = m[1]!;
        break;
      }
      if (!p.running) throw new Error(`gossip agent ${name} exited at start:\n${p.output}`);
      if (performance.now() > deadline) throw new Error(`gossip agent ${name} did not start:\n${p.output}`);
      await sleep(20);
    }
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://${http}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok) throw new Error(`${name} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as unknown;
    };
    return {
      name,
      addr,
      pid: p.pid,
      members: async () => ((await call('GET', '/v1/members')) as { members: MemberView[] }).members,
      join: async (seed) => {
        await call('POST', '/v1/join', { addrs: [seed] });
      },
      leave: async () => {
        await call('POST', '/v1/leave', {});
      },
      kill: () => p.kill(),
      lifeguard: async () => {
        const res = await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        return {
          probesInconclusive: metricValue(text, 'gossip_probes_inconclusive_total'),
          healthScore: metricValue(text, 'gossip_health_score'),
        };
      },
    };
  } catch (e) {
    await p.kill();
    throw e;
  }
}

async function startSerf(name: string, profile: Profile): Promise<BenchNode> {
  const addr = `127.0.0.1:${await freePort()}`;
  const rpc = `-rpc-addr=127.0.0.1:${await freePort()}`;
  const p = new Proc('serf', [
    'agent',
    `-node=${name}`,
    `-bind=${addr}`,
    rpc,
    `-profile=${profile}`,
    '-log-level=warn',
  ]);
  const serfCli = (args: string[], timeoutMs = 30_000) =>
    execOut('serf', [args[0]!, rpc, ...args.slice(1)], timeoutMs);
  try {
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!p.running) throw new Error(`serf agent ${name} exited at start:\n${p.output}`);
      if (
        await serfCli(['members'], 5000).then(
          () => true,
          () => false,
        )
      )
        break;
      if (performance.now() > deadline) throw new Error(`serf agent ${name} did not start:\n${p.output}`);
      await sleep(20);
    }
    return {
      name,
      addr,
      pid: p.pid,
      members: async () =>
        (JSON.parse(await serfCli(['members', '-format=json'])) as { members: MemberView[] }).members,
      join: async (seed) => {
        await serfCli(['join', seed]);
      },
      leave: async () => {
        await serfCli(['leave']);
      },
      kill: () => p.kill(),
    };
  } catch (e) {
    await p.kill();
    throw e;
  }
}

const STARTERS: Record<SideName, (name: string, profile: Profile) => Promise<BenchNode>> = {
  gossip: startGossip,
  serf: startSerf,
};

// ---------------------------------------------------------------------------------------------
// Measurement

/** Answer times of every poll, per side, to print the resolution. */
const pollAnswerMs: Record<SideName, number[]> = { gossip: [], serf: [] };

/**
 * Polls every observer until `ok` holds for its member list. Returns, per observer, ms from
 * `t0` to the midpoint of its first satisfying poll; throws after `timeoutMs`.
 */
async function timeUntil(
  side: SideName,
  observers: BenchNode[],
  ok: (members: MemberView[]) => boolean,
  t0: number,
  pollMs: number,
  timeoutMs: number,
  what: string,
  seen?: (observer: BenchNode, members: MemberView[]) => void,
): Promise<number[]> {
  return Promise.all(
    observers.map(async (o) => {
      for (;;) {
        const sent = performance.now();
        const members = await o.members().catch(() => undefined);
        const answered = performance.now();
        pollAnswerMs[side].push(answered - sent);
        if (members) seen?.(o, members);
        if (members && ok(members)) return (sent + answered) / 2 - t0;
        if (answered - t0 > timeoutMs)
          throw new Error(`${side} ${o.name}: no ${what} within ${timeoutMs} ms`);
        await sleep(pollMs);
      }
    }),
  );
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, in ms, from /proc/PID/stat. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Mean CPU ms per process between two readings (processes read both times only). */
function meanCpuDelta(before: (number | undefined)[], after: (number | undefined)[]): number | null {
  const d: number[] = [];
  for (let i = 0; i < before.length; i++) {
    const a = before[i];
    const b = after[i];
    if (a !== undefined && b !== undefined) d.push(b - a);
  }
  return d.length ? d.reduce((x, y) => x + y, 0) / d.length : null;
}

function vmRssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `n` agents in parallel batches; stops the ones started when one fails. */
async function startCluster(
  side: SideName,
  n: number,
  cluster: number,
  profile: Profile,
  batch: number,
): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const names = Array.from({ length: Math.min(batch, n - i) }, (_, j) => `${side}-c${cluster}-${i + j}`);
      const started = await Promise.allSettled(names.map((name) => STARTERS[side](name, profile)));
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    return nodes;
  } catch (e) {
    await Promise.all(nodes.map((x) => x.kill().catch(() => {})));
    throw e;
  }
}

interface ClusterResult {
  startupMs: number;
  joinCallsMs: number;
  joinMs: number | null;
  rssKiB: number[];
  /** Mean CPU ms per agent per second while idle (the settle period), and over the join phase. */
  idleCpuMsPerS: number | null;
  joinCpuMs: number | null;
  crashMs: number | null;
  leaveMs: number | null;
  /** Observers that listed the leaver `failed` before `left` (a leave mistaken for a crash). */
  failedBeforeLeft: number;
  /**
   * Ours only, read once the crash was seen by all: probes the observers put down to their own
   * event-loop stall since start (summed), and the highest health score among them.
   */
  lifeguard: { probesInconclusive: number; maxHealthScore: number } | null;
  errors: string[];
}

async function runCluster(
  side: SideName,
  n: number,
  cluster: number,
  o: Options,
  log: (s: string) => void,
): Promise<ClusterResult> {
  const t = performance.now();
  const nodes = await startCluster(side, n, cluster, o.profile, o.batch);
  const startupMs = performance.now() - t;
  const r: ClusterResult = {
    startupMs,
    joinCallsMs: 0,
    joinMs: null,
    rssKiB: [],
    idleCpuMsPerS: null,
    joinCpuMs: null,
    crashMs: null,
    leaveMs: null,
    failedBeforeLeft: 0,
    lifeguard: null,
    errors: [],
  };
  try {
    // Ready means answering the same request we poll with, on both sides (for ours this also
    // takes the first-request cost of a fresh Node process off the clock).
    await Promise.all(nodes.map((x) => x.members()));
    const cpuIdle0 = nodes.map((x) => cpuMs(x.pid));
    const tIdle = performance.now();
    await sleep(o.settleMs);
    const cpuJoin0 = nodes.map((x) => cpuMs(x.pid));
    const idle = meanCpuDelta(cpuIdle0, cpuJoin0);
    if (idle !== null && o.settleMs > 0) r.idleCpuMsPerS = (idle * 1000) / (performance.now() - tIdle);
    const names = nodes.map((x) => x.name);
    const seed = nodes[0]!;
    // Join: everyone but the seed, at once.
    const t0 = performance.now();
    const joins = Promise.all(nodes.slice(1).map((x) => x.join(seed.addr))).then(() => {
      r.joinCallsMs = performance.now() - t0;
    });
    const allAlive = (ms: MemberView[]) =>
      names.every((nm) => ms.some((m) => m.name === nm && m.status === 'alive'));
    try {
      const [times] = await Promise.all([
        timeUntil(side, nodes, allAlive, t0, o.pollMs, o.timeoutMs, `convergence to ${n} alive`),
        joins,
      ]);
      r.joinMs = Math.max(...times);
      r.joinCpuMs = meanCpuDelta(
        cpuJoin0,
        nodes.map((x) => cpuMs(x.pid)),
      );
    } catch (e) {
      r.errors.push(`join: ${(e as Error).message}`);
      return r;
    }
    r.rssKiB = nodes.map((x) => vmRssKiB(x.pid)).filter((v): v is number => v !== undefined);

    // Crash detection: kill -9 of the last agent.
    const victim = nodes.at(-1)!;
    const others = nodes.slice(0, -1);
    try {
      const t1 = performance.now();
      await victim.kill();
      const times = await timeUntil(
        side,
        others,
        (ms) => ms.some((m) => m.name === victim.name && m.status === 'failed'),
        t1,
        o.pollMs,
        o.timeoutMs,
        `${victim.name} failed`,
      );
      r.crashMs = Math.max(...times);
      const views = await Promise.all(others.flatMap((x) => (x.lifeguard ? [x.lifeguard()] : [])));
      if (views.length > 0) {
        r.lifeguard = {
          probesInconclusive: views.reduce((sum, v) => sum + v.probesInconclusive, 0),
          maxHealthScore: Math.max(...views.map((v) => v.healthScore)),
        };
      }
    } catch (e) {
      r.errors.push(`crash: ${(e as Error).message}`);
    }

    // Leave propagation: graceful leave of the next-to-last agent.
    const leaver = nodes.at(-2)!;
    const rest = nodes.slice(0, -2);
    const sawFailed = new Set<string>();
    try {
      const t2 = performance.now();
      const leaving = leaver.leave().catch((e: Error) => r.errors.push(`leave call: ${e.message}`));
      const [times] = await Promise.all([
        timeUntil(
          side,
          rest,
          (ms) => ms.some((m) => m.name === leaver.name && m.status === 'left'),
          t2,
          o.pollMs,
          o.timeoutMs,
          `${leaver.name} left`,
          (observer, ms) => {
            if (ms.some((m) => m.name === leaver.name && m.status === 'failed')) sawFailed.add(observer.name);
          },
        ),
        leaving,
      ]);
      r.leaveMs = Math.max(...times);
      r.failedBeforeLeft = sawFailed.size;
    } catch (e) {
      r.errors.push(`leave: ${(e as Error).message}`);
    }
    return r;
  } finally {
    await Promise.all(nodes.map((x) => x.kill().catch(() => {})));
    const line =
      `  ${side.padEnd(6)} cluster ${cluster}: started in ${fmtS(startupMs)}, ` +
      `join ${fmtMs(r.joinMs)} (join calls done at ${fmtMs(r.joinCallsMs)}), crash ${fmtMs(r.crashMs)}` +
      (r.lifeguard
        ? ` (inconclusive probes ${r.lifeguard.probesInconclusive}, max health score ${r.lifeguard.maxHealthScore})`
        : '') +
      `, leave ${fmtMs(r.leaveMs)}` +
      (r.failedBeforeLeft
        ? ` (${r.failedBeforeLeft} observer(s) listed the leaver failed before left)`
        : '') +
      (r.errors.length ? `; ERRORS: ${r.errors.join('; ')}` : '');
    log(line);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function worst(xs: number[]): number | null {
  return xs.length ? Math.max(...xs) : null;
}

function fmtMs(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v)} ms`;
}

function fmtS(v: number): string {
  return `${(v / 1000).toFixed(1)} s`;
}

interface SideSummary {
  clusters: number;
  failures: number;
  startupMsMedian: number | null;
  joinMsMedian: number | null;
  joinMsWorst: number | null;
  crashMsMedian: number | null;
  crashMsWorst: number | null;
  leaveMsMedian: number | null;
  leaveMsWorst: number | null;
  rssMiBMedian: number | null;
  rssMiBMax: number | null;
  idleCpuMsPerSMedian: number | null;
  joinCpuMsMedian: number | null;
  /** Leaves in which at least one observer listed the leaver failed before left. */
  leavesSeenFailedFirst: number;
  errors: string[];
}

function summarise(rs: ClusterResult[]): SideSummary {
  const pick = (f: (r: ClusterResult) => number | null) => rs.map(f).filter((v): v is number => v !== null);
  const rss = rs.flatMap((r) => r.rssKiB).map((k) => k / 1024);
  return {
    clusters: rs.length,
    failures: rs.filter((r) => r.errors.length > 0).length,
    startupMsMedian: median(pick((r) => r.startupMs)),
    joinMsMedian: median(pick((r) => r.joinMs)),
    joinMsWorst: worst(pick((r) => r.joinMs)),
    crashMsMedian: median(pick((r) => r.crashMs)),
    crashMsWorst: worst(pick((r) => r.crashMs)),
    leaveMsMedian: median(pick((r) => r.leaveMs)),
    leaveMsWorst: worst(pick((r) => r.leaveMs)),
    rssMiBMedian: median(rss),
    rssMiBMax: worst(rss),
    idleCpuMsPerSMedian: median(pick((r) => r.idleCpuMsPerS)),
    joinCpuMsMedian: median(pick((r) => r.joinCpuMs)),
    leavesSeenFailedFirst: rs.filter((r) => r.failedBeforeLeft > 0).length,
    errors: rs.flatMap((r) => r.errors),
  };
}

interface SizeResult {
  n: number;
  clusters: number;
  gossip: SideSummary;
  serf: SideSummary;
  /** ours / serf, per metric. */
  ratio: Record<string, number | null>;
}

type Unit = 'ms' | 'MiB' | 'ms/s';

const ROWS: [keyof SideSummary, string, Unit][] = [
  ['joinMsMedian', 'join convergence, median', 'ms'],
  ['joinMsWorst', 'join convergence, worst', 'ms'],
  ['crashMsMedian', 'crash detection (kill -9), median', 'ms'],
  ['crashMsWorst', 'crash detection (kill -9), worst', 'ms'],
  ['leaveMsMedian', 'leave propagation, median', 'ms'],
  ['leaveMsWorst', 'leave propagation, worst', 'ms'],
  ['rssMiBMedian', 'RSS per agent, median', 'MiB'],
  ['rssMiBMax', 'RSS per agent, max', 'MiB'],
  ['idleCpuMsPerSMedian', 'CPU per agent, idle', 'ms/s'],
  ['joinCpuMsMedian', 'CPU per agent, join until converged', 'ms'],
  ['startupMsMedian', 'start-up of all N (not in the times)', 'ms'],
];

function ratioOf(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

function printSize(s: SizeResult): void {
  const fmt = (v: unknown, unit: Unit) =>
    typeof v !== 'number' ? '—' : unit === 'ms' ? `${Math.round(v)} ms` : `${v.toFixed(1)} ${unit}`;
  const header = ['metric', 'ours (gossip)', 'serf', 'ours/serf'];
  const body = ROWS.map(([k, label, unit]) => [
    label,
    fmt(s.gossip[k], unit),
    fmt(s.serf[k], unit),
    s.ratio[k] === null || s.ratio[k] === undefined ? '—' : `${s.ratio[k]!.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nN = ${s.n}: ${s.clusters} cluster(s) per side`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
  console.log(
    `leaves first seen as a failure by some observer: ours ${s.gossip.leavesSeenFailedFirst} of ${s.gossip.clusters}, ` +
      `serf ${s.serf.leavesSeenFailedFirst} of ${s.serf.clusters}`,
  );
  for (const side of ['gossip', 'serf'] as const) {
    if (s[side].failures > 0)
      console.log(`  ${side}: ${s[side].failures} cluster(s) had errors: ${s[side].errors.join(' | ')}`);
  }
}

function printTail(t: { seeds: number; withFixes: TailSummary; withoutFixes: TailSummary }): void {
  console.log(
    `\nIn-memory join storm (50 nodes join one seed within 2 s, 2% loss, 1±2 ms latency, virtual time),` +
      ` ms from the last join until all list 50 alive, over ${t.seeds} seeds:`,
  );
  const rows: [string, TailSummary][] = [
    ['ours (direct announce + early push-pulls)', t.withFixes],
    ['without the tail fixes (memberlist)', t.withoutFixes],
  ];
  const w = Math.max(...rows.map(([l]) => l.length));
  console.log(`${''.padEnd(w)}  ${'median'.padStart(7)}  ${'p90'.padStart(7)}  ${'worst'.padStart(7)}  seed`);
  for (const [label, s] of rows)
    console.log(
      `${label.padEnd(w)}  ${String(s.medianMs).padStart(7)}  ${String(s.p90Ms).padStart(7)}  ${String(s.worstMs).padStart(7)}  ${s.worstSeed}`,
    );
}

// ---------------------------------------------------------------------------------------------

interface Options {
  sizes: number[];
  clusters: number | undefined;
  profile: Profile;
  pollMs: number;
  batch: number;
  seeds: number;
  settleMs: number;
  timeoutMs: number;
  format: 'table' | 'json';
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '10,50' },
      clusters: { type: 'string' },
      profile: { type: 'string', default: 'lan' },
      'poll-ms': { type: 'string', default: '200' },
      batch: { type: 'string', default: String(Math.max(4, availableParallelism() * 4)) },
      seeds: { type: 'string', default: '40' },
      'settle-ms': { type: 'string', default: '2000' },
      'timeout-s': { type: 'string', default: '120' },
      format: { type: 'string', default: 'table' },
    },
    strict: true,
  });
  const num = (v: string, what: string, min: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${what} must be a whole number >= ${min}`);
    return x;
  };
  if (values.profile !== 'lan' && values.profile !== 'local')
    throw new Error('--profile must be lan or local');
  if (values.format !== 'table' && values.format !== 'json')
    throw new Error('--format must be table or json');
  return {
    sizes: values.sizes.split(',').map((s) => num(s, 'sizes', 3)),
    clusters: values.clusters === undefined ? undefined : num(values.clusters, 'clusters', 1),
    profile: values.profile,
    pollMs: num(values['poll-ms'], 'poll-ms', 10),
    batch: num(values.batch, 'batch', 1),
    seeds: num(values.seeds, 'seeds', 0),
    settleMs: num(values['settle-ms'], 'settle-ms', 0),
    timeoutMs: num(values['timeout-s'], 'timeout-s', 1) * 1000,
    format: values.format,
  };
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!serfAvailable()) throw new Error('the membership benchmark needs the serf binary on PATH');
  const json = o.format === 'json';
  // Progress goes to stderr in JSON mode, so stdout is one JSON document.
  const log = (s: string) => (json ? console.error(s) : console.log(s));
  const uninstall = installCleanup();
  const serfVersion = spawnSync('serf', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  log(
    `membership benchmark: profile ${o.profile} on both sides, loopback, ${availableParallelism()} CPUs, ` +
      `node ${process.version}, ${serfVersion}`,
  );
  log(
    `observation: every agent polled in parallel, each again ${o.pollMs} ms after its previous answer ` +
      `(ours GET /v1/members, serf 'serf members -format=json'); a time is the midpoint of the first poll that saw it`,
  );
  const sizes: SizeResult[] = [];
  try {
    for (const n of o.sizes) {
      const k = o.clusters ?? (n >= 50 ? 3 : 5);
      log(`\nN = ${n}: ${k} cluster(s) per side, started in batches of ${o.batch}, ${o.settleMs} ms settle`);
      const results: Record<SideName, ClusterResult[]> = { gossip: [], serf: [] };
      for (let c = 0; c < k; c++) {
        // Alternate which side goes first, so that drift over the run does not favour one.
        const order: SideName[] = c % 2 === 0 ? ['gossip', 'serf'] : ['serf', 'gossip'];
        for (const side of order) results[side].push(await runCluster(side, n, c, o, log));
      }
      const gossip = summarise(results.gossip);
      const serf = summarise(results.serf);
      const ratio: Record<string, number | null> = {};
      for (const [key] of ROWS)
        ratio[key] = ratioOf(gossip[key] as number | null, serf[key] as number | null);
      const s: SizeResult = { n, clusters: k, gossip, serf, ratio };
      sizes.push(s);
      if (!json) printSize(s);
    }
  } finally {
    killAllNow();
    uninstall();
  }
  const pollAnswer = {
    gossipMsMedian: median(pollAnswerMs.gossip),
    serfMsMedian: median(pollAnswerMs.serf),
    gossipMsP90: pollAnswerMs.gossip.sort((a, b) => a - b)[Math.floor(pollAnswerMs.gossip.length * 0.9)],
    serfMsP90: pollAnswerMs.serf.sort((a, b) => a - b)[Math.floor(pollAnswerMs.serf.length * 0.9)],
  };
  if (!json) {
    console.log(
      `\nresolution: poll interval ${o.pollMs} ms + answer time (median/p90: ours ` +
        `${pollAnswer.gossipMsMedian?.toFixed(1)}/${pollAnswer.gossipMsP90?.toFixed(1)} ms, serf CLI ` +
        `${pollAnswer.serfMsMedian?.toFixed(1)}/${pollAnswer.serfMsP90?.toFixed(1)} ms)`,
    );
  }
  let tail: { seeds: number; withFixes: TailSummary; withoutFixes: TailSummary } | undefined;
  if (o.seeds > 0) {
    log(`\nin-memory join storm over ${o.seeds} seeds ...`);
    tail = {
      seeds: o.seeds,
      withFixes: await joinStormTail(o.seeds),
      withoutFixes: await joinStormTail(o.seeds, WITHOUT_TAIL_FIXES),
    };
    if (!json) printTail(tail);
  }
  if (json) {
    console.log(
      JSON.stringify(
        {
          profile: o.profile,
          pollMs: o.pollMs,
          batch: o.batch,
          cpus: availableParallelism(),
          node: process.version,
          serf: serfVersion,
          pollAnswer,
          sizes,
          joinStormTail: tail ?? null,
        },
        null,
        2,
      ),
    );
  }
}
