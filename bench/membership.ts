/**
 * `npm run bench -- membership` (options: {@link usage}, or `--help`)
 *
 * `gossip agent`s against `serf agent`s, one process per node on loopback, same profile on both
 * sides, every figure measured the same way on both and printed as ours, serf's, the ratio of the
 * medians, the min–max over runs, and the machine's load (1-minute load average, min–max over
 * the runs of that figure). The two sides alternate (one cluster at a time; which side goes first
 * alternates run by run, so drift over the run favours neither).
 *
 * Observation, the same on both sides: ours through its HTTP API (one keep-alive connection per
 * agent), serf through its RPC protocol (one connection per agent, test/support/serf-rpc.ts,
 * what the `serf` CLI speaks; no process per poll). Member lists are polled in parallel, each
 * agent again `--poll-ms` after its previous answer; a time is the midpoint of the first poll
 * that saw the condition, so its resolution is the poll interval plus an answer (both printed).
 * User events are pushed, not polled: ours `GET /v1/events` (server-sent events), serf's RPC
 * `stream` of user events; a time is when the record reached the benchmark.
 *
 * Every agent runs in a session of its own (setsid), as a service would: with the kernel's
 * autogroup scheduling, agents sharing the benchmark's session would share one CPU slice
 * against whatever else runs on the machine.
 *
 * Figures, per size N (each a median over `--runs` clusters, min–max beside it):
 * - join from "all ready": N agents started without seeds and answering; then all but the first
 *   join the first at once (ours `POST /v1/join`, serf RPC `join`); until every agent lists N
 *   alive;
 * - join from "launch": the first agent started and answering; then the other N−1 launched at
 *   once, each told the first's address (ours `--join`, serf `-join`); from their launch until
 *   every agent lists N alive (start-up of N−1 processes on this machine's cores included);
 * - crash detection: `kill -9` of one agent; until every other lists it failed;
 * - leave: a graceful leave (ours `POST /v1/leave`, serf RPC `leave`); until every remaining
 *   agent lists it left;
 * - user event to 50 / 90 / 100 % of the N agents (sent through one agent, not coalesced; the
 *   sender counts), `--events` per cluster;
 * - steady state, with nothing polled, over a window of whole push-pull intervals that starts
 *   after every agent's first periodic push-pull on both sides (by default: settle until the
 *   profile's push-pull interval plus one interval scaled to N, memberlist's `pushPullScale`,
 *   after the last agent started, since memberlist's first push-pull comes a random stagger *and*
 *   an interval after its start and ours after the stagger alone; then a window of one scaled
 *   interval, in which every agent of either side starts exactly one push-pull; `--settle-s` and
 *   `--steady-s` override both): bytes on the wire per agent per second (the kernel's
 *   count of the loopback device in a network namespace of the benchmark's own, so that only
 *   these agents' packets are counted, IP headers included, the same for both), CPU per agent (/proc/PID/stat), resident memory per agent (VmRSS) and
 *   proportional set size (PSS: the binary's pages shared between agents divided among them);
 * - one agent alone (interleaved, `--start-runs`): start time (spawn until it answers: ours
 *   `GET /v1/agent`, serf an RPC handshake), idle CPU and RSS after 10 s, and a CLI command
 *   against it (`gossip members` / `serf members`, and `... version`), with `node -e 0` for scale.
 *
 * With root and `ip netns`, the whole benchmark re-runs itself inside a fresh network namespace
 * (deleted at the end, also on Ctrl-C); otherwise (or `--no-netns`) it runs here and prints no
 * bytes figure (other traffic on the host's loopback would be counted).
 *
 * Also printed: the in-memory join-storm tail (50 nodes, 2% loss, virtual time) over `--seeds`
 * seeds, with our two tail fixes and without them (what memberlist does).
 *
 * Every process is killed by PID at the end, on an exception, and on Ctrl-C.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { pushPullScaleMs } from '../src/membership/math.ts';
import { profileTuning } from '../src/membership/options.ts';
import { builtBin } from '../test/support/gossip-agent.ts';
import { joinStormTail, type TailSummary, WITHOUT_TAIL_FIXES } from '../test/support/join-storm.ts';
import { freePort, serfAvailable, sleep } from '../test/support/serf.ts';
import { SerfRpcClient } from '../test/support/serf-rpc.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

type Profile = 'lan' | 'local';
type SideName = 'gossip' | 'serf';
const SIDES: readonly SideName[] = ['gossip', 'serf'];

interface MemberView {
  name: string;
  status: string;
}

/** A stream of user events from one agent. */
interface EventStream {
  stop(): void;
  /** The stream ended without `stop()` (the agent closed it, or the connection failed). */
  ended(): boolean;
}

/** One running agent of either kind, as the benchmark drives it. */
interface BenchNode {
  readonly name: string;
  /** Gossip address (`ip:port`). */
  readonly addr: string;
  readonly pid: number;
  /** ms from spawn until it first answered. */
  readonly startMs: number;
  members(): Promise<MemberView[]>;
  join(seed: string): Promise<void>;
  leave(): Promise<void>;
  /** Sends a user event (not coalesced). */
  event(name: string, payload: string): Promise<void>;
  /** Calls `onEvent(name)` for every user event this agent delivers, until `stop()`. */
  streamEvents(onEvent: (name: string) => void): Promise<EventStream>;
  /** The `members` command of the side's own CLI against this agent, as an argument list. */
  readonly cliMembers: [string, string[]];
  /** kill -9 by PID (a no-op once it has exited), and closes the connections. */
  kill(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Processes: every one is recorded the moment it exists and killed by PID at the end, on an
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

/** A spawned agent in a session of its own: output kept (the agents log at warn), exit awaited. */
class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly spawnedAt = performance.now();
  output = '';

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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

  async kill(): Promise<void> {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await this.exited;
    }
    live.delete(this.child);
  }
}

const START_TIMEOUT_MS = 120_000;
/** How often a starting agent is tried until it answers. */
const START_POLL_MS = 5;

/** Polls `attempt` every {@link START_POLL_MS} until it resolves; throws when `p` exits or after the timeout. */
async function untilAnswers<T>(p: Proc, what: string, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    if (!p.running) throw new Error(`${what} exited at start:\n${p.output}`);
    try {
      return await attempt();
    } catch {
      // not yet
    }
    if (performance.now() - p.spawnedAt > START_TIMEOUT_MS)
      throw new Error(`${what} did not start:\n${p.output}`);
    await sleep(START_POLL_MS);
  }
}

interface StartOptions {
  profile: Profile;
  /** A seed to join at start (ours `--join`, serf `-join`). */
  join?: string;
}

/**
 * A port for an agent to listen on. In the benchmark's own namespace nothing else listens, so
 * ports are handed out in turn (no two agents starting at once can be given the same); on the
 * host, a port free at this moment.
 */
let portCounter = 20_000;
async function port(): Promise<number> {
  if (process.env[NETNS_ENV] === undefined) return freePort();
  if (portCounter > 60_000) portCounter = 20_000;
  return portCounter++;
}

async function startGossip(name: string, o: StartOptions): Promise<BenchNode> {
  const addr = `127.0.0.1:${await port()}`;
  const http = `127.0.0.1:${await port()}`;
  const p = new Proc(process.execPath, [
    builtBin(),
    'agent',
    ...['--node', name, '--bind', addr, '--http', http, '--profile', o.profile],
    ...['--log-level', 'warn', '--no-dashboard'],
    ...(o.join ? ['--join', o.join] : []),
  ]);
  const base = `http://${http}`;
  const call = async (method: string, path: string, body?: unknown, timeoutMs = 30_000) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${name} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as unknown;
  };
  try {
    await untilAnswers(p, `gossip agent ${name}`, () => call('GET', '/v1/agent', undefined, 2000));
    const startMs = performance.now() - p.spawnedAt;
    const streams: AbortController[] = [];
    return {
      name,
      addr,
      pid: p.pid,
      startMs,
      members: async () => ((await call('GET', '/v1/members')) as { members: MemberView[] }).members,
      join: async (seed) => {
        await call('POST', '/v1/join', { addrs: [seed] });
      },
      leave: async () => {
        await call('POST', '/v1/leave', {});
      },
      event: async (ev, payload) => {
        await call('POST', '/v1/event', { name: ev, payload, coalesce: false });
      },
      streamEvents: async (onEvent) => {
        const ctrl = new AbortController();
        streams.push(ctrl);
        const res = await fetch(`${base}/v1/events?types=user`, { signal: ctrl.signal });
        if (!res.ok || !res.body) throw new Error(`${name} /v1/events: ${res.status}`);
        const reader = res.body.getReader();
        let ended = false;
        void (async () => {
          const decoder = new TextDecoder();
          let buf = '';
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) {
                ended = true;
                return;
              }
              buf += decoder.decode(value, { stream: true });
              for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
                const record = buf.slice(0, end);
                buf = buf.slice(end + 2);
                const data = /^data: (.*)$/m.exec(record)?.[1];
                if (/^event: user$/m.test(record) && data)
                  onEvent((JSON.parse(data) as { name: string }).name);
              }
            }
          } catch {
            ended = !ctrl.signal.aborted; // aborted by stop(), or the agent went away
          }
        })();
        return { stop: () => ctrl.abort(), ended: () => ended };
      },
      cliMembers: [process.execPath, [builtBin(), 'members', '--http', http]],
      kill: async () => {
        for (const s of streams) s.abort();
        await p.kill();
      },
    };
  } catch (e) {
    await p.kill();
    throw e;
  }
}

async function startSerf(name: string, o: StartOptions): Promise<BenchNode> {
  const addr = `127.0.0.1:${await port()}`;
  const rpcAddr = `127.0.0.1:${await port()}`;
  const p = new Proc('serf', [
    'agent',
    `-node=${name}`,
    `-bind=${addr}`,
    `-rpc-addr=${rpcAddr}`,
    `-profile=${o.profile}`,
    '-log-level=warn',
    ...(o.join ? [`-join=${o.join}`] : []),
  ]);
  try {
    const rpc = await untilAnswers(p, `serf agent ${name}`, () => SerfRpcClient.connect(rpcAddr, 2000));
    const startMs = performance.now() - p.spawnedAt;
    const extra: SerfRpcClient[] = [];
    const utf8 = new TextEncoder();
    return {
      name,
      addr,
      pid: p.pid,
      startMs,
      members: async () => (await rpc.members(30_000)).map((m) => ({ name: m.Name, status: m.Status })),
      join: async (seed) => {
        await rpc.join([seed]);
      },
      leave: () => rpc.leave(),
      event: (ev, payload) => rpc.event(ev, utf8.encode(payload), false),
      streamEvents: async (onEvent) => {
        // A connection of its own, so that polls never queue behind the stream.
        const c = await SerfRpcClient.connect(rpcAddr);
        extra.push(c);
        await c.streamUserEvents((e) => onEvent(e.Name));
        let stopped = false;
        return {
          stop: () => {
            stopped = true;
            c.close();
          },
          ended: () => !stopped && c.closed,
        };
      },
      cliMembers: ['serf', ['members', `-rpc-addr=${rpcAddr}`]],
      kill: async () => {
        await p.kill();
        rpc.close();
        for (const c of extra) c.close();
      },
    };
  } catch (e) {
    await p.kill();
    throw e;
  }
}

const STARTERS: Record<SideName, (name: string, o: StartOptions) => Promise<BenchNode>> = {
  gossip: startGossip,
  serf: startSerf,
};

// ---------------------------------------------------------------------------------------------
// Readings

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

/** VmRSS and PSS of a process, in MiB. */
function memoryMiB(pid: number): { rss: number; pss: number } | undefined {
  try {
    const rss = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const pss = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    if (!rss || !pss) return undefined;
    return { rss: Number(rss[1]) / 1024, pss: Number(pss[1]) / 1024 };
  } catch {
    return undefined;
  }
}

/** Bytes the loopback device sent (only meaningful in the benchmark's own namespace). */
function loTxBytes(): number {
  return Number(readFileSync('/sys/class/net/lo/statistics/tx_bytes', 'utf8').trim());
}

function load1(): number {
  return loadavg()[0]!;
}

/** Answer times of every member-list poll, per side, to print the resolution. */
const pollAnswerMs: Record<SideName, number[]> = { gossip: [], serf: [] };

/**
 * Polls every observer until `ok` holds for its member list. Returns the ms from `t0` to the
 * midpoint of the first satisfying poll of the slowest observer; throws after `timeoutMs`. An
 * observer still starting (a promise) is polled from when it answers.
 */
async function timeUntil(
  side: SideName,
  observers: (BenchNode | Promise<BenchNode>)[],
  ok: (members: MemberView[]) => boolean,
  t0: number,
  o: Options,
  what: string,
): Promise<number> {
  const times = await Promise.all(
    observers.map(async (starting) => {
      const x = await starting;
      for (;;) {
        const sent = performance.now();
        const members = await x.members().catch(() => undefined);
        const answered = performance.now();
        pollAnswerMs[side].push(answered - sent);
        if (members && ok(members)) return (sent + answered) / 2 - t0;
        if (answered - t0 > o.timeoutMs)
          throw new Error(`${side} ${x.name}: no ${what} within ${o.timeoutMs} ms`);
        await sleep(o.pollMs);
      }
    }),
  );
  return Math.max(...times);
}

/** Starts `names` in parallel batches of `batch`; stops the started ones when one fails. */
async function startMany(
  side: SideName,
  names: string[],
  o: Options,
  start: StartOptions,
  batch = o.batch,
): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  try {
    for (let i = 0; i < names.length; i += batch) {
      const started = await Promise.allSettled(
        names.slice(i, i + batch).map((nm) => STARTERS[side](nm, start)),
      );
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

// ---------------------------------------------------------------------------------------------
// Figures: every figure is a list of values per side (one per run, or per event) with the load
// at the time of each.

interface Series {
  values: number[];
  loads: number[];
}

type FigureKey =
  | 'joinReadyMs'
  | 'joinLaunchMs'
  | 'crashMs'
  | 'leaveMs'
  | 'event50Ms'
  | 'event90Ms'
  | 'event100Ms'
  | 'bytesPerAgentPerS'
  | 'cpuMsPerSPerAgent'
  | 'rssMiB'
  | 'pssMiB'
  | 'startMsInCluster';

const FIGURES: Record<FigureKey, { label: string; unit: string }> = {
  joinReadyMs: { label: 'join, from all ready', unit: 'ms' },
  joinLaunchMs: { label: 'join, from launch of N-1', unit: 'ms' },
  crashMs: { label: 'crash detection (kill -9)', unit: 'ms' },
  leaveMs: { label: 'leave', unit: 'ms' },
  event50Ms: { label: 'user event to 50 %', unit: 'ms' },
  event90Ms: { label: 'user event to 90 %', unit: 'ms' },
  event100Ms: { label: 'user event to 100 %', unit: 'ms' },
  bytesPerAgentPerS: { label: 'bytes on the wire per agent per s', unit: 'B/s' },
  cpuMsPerSPerAgent: { label: 'CPU per agent, steady', unit: 'ms/s' },
  rssMiB: { label: 'RSS per agent, steady', unit: 'MiB' },
  pssMiB: { label: 'PSS per agent, steady', unit: 'MiB' },
  startMsInCluster: { label: 'agent start in a batch (spawn → answers)', unit: 'ms' },
};

type Collected = Record<FigureKey, Record<SideName, Series>>;

function emptyCollected(): Collected {
  const c = {} as Collected;
  for (const k of Object.keys(FIGURES) as FigureKey[])
    c[k] = { gossip: { values: [], loads: [] }, serf: { values: [], loads: [] } };
  return c;
}

function push(c: Collected, key: FigureKey, side: SideName, value: number | undefined, load: number): void {
  if (value === undefined || !Number.isFinite(value)) return;
  c[key][side].values.push(value);
  c[key][side].loads.push(load);
}

/** The ms from `t0` by which `fraction` of `n` arrivals had come (undefined when fewer came). */
function arrivalAt(arrivals: number[], n: number, fraction: number): number | undefined {
  const need = Math.ceil(n * fraction);
  const s = [...arrivals].sort((a, b) => a - b);
  return s.length >= need ? s[need - 1] : undefined;
}

/**
 * When the steady-state window starts (ms after the last agent of a cluster started) and how
 * long it lasts. Push-pulls are the only large periodic traffic, so a fair window holds the same
 * number of them per agent on both sides: memberlist starts its periodic push-pull a random
 * stagger in [0, interval) after start and sends the first one a whole (scaled) interval later;
 * ours sends its first at the stagger. After interval + scaled interval both sides have begun,
 * and a window of one scaled interval (memberlist's `pushPullScale`: 30 s for the LAN profile up
 * to 32 members, 60 s at 50) holds exactly one periodic push-pull per agent on either side.
 * `--settle-s` (from the last start) and `--steady-s` override the two.
 */
function steadyWindow(o: Options, n: number): { settleAfterStartMs: number; windowMs: number } {
  const intervalMs = profileTuning(o.profile).pushPullIntervalMs;
  const scaledMs = pushPullScaleMs(intervalMs, n);
  return {
    settleAfterStartMs: o.settleMs ?? intervalMs + scaledMs + 1000,
    windowMs: o.steadyS !== undefined ? o.steadyS * 1000 : scaledMs,
  };
}

// ---------------------------------------------------------------------------------------------
// One cluster of each kind

/** The "all ready" cluster: join, steady state, user events, crash, leave. */
async function runReadyCluster(
  side: SideName,
  n: number,
  run: number,
  o: Options,
  c: Collected,
  log: (s: string) => void,
): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `${side}-r${run}-${i}`);
  let nodes: BenchNode[] = [];
  const errors: string[] = [];
  const line: string[] = [];
  try {
    nodes = await startMany(side, names, o, { profile: o.profile });
    const lastStarted = performance.now();
    for (const x of nodes) push(c, 'startMsInCluster', side, x.startMs, load1());
    await Promise.all(nodes.map((x) => x.members()));
    const seed = nodes[0]!;

    // Join from all ready.
    let l = load1();
    const t0 = performance.now();
    const allAlive = (ms: MemberView[]) =>
      names.every((nm) => ms.some((m) => m.name === nm && m.status === 'alive'));
    try {
      const [ms] = await Promise.all([
        timeUntil(side, nodes, allAlive, t0, o, `convergence to ${n} alive`),
        Promise.all(nodes.slice(1).map((x) => x.join(seed.addr))),
      ]);
      push(c, 'joinReadyMs', side, ms, l);
      line.push(`join ${fmtMs(ms)}`);
    } catch (e) {
      errors.push(`join: ${(e as Error).message}`);
      return;
    }

    // Steady state: nothing polled, over whole push-pull intervals (see steadyWindow).
    const steady = steadyWindow(o, n);
    await sleep(Math.max(0, lastStarted + steady.settleAfterStartMs - performance.now()));
    l = load1();
    const cpu0 = nodes.map((x) => cpuMs(x.pid));
    const bytes0 = o.countBytes ? loTxBytes() : 0;
    const w0 = performance.now();
    await sleep(steady.windowMs);
    const seconds = (performance.now() - w0) / 1000;
    const bytes1 = o.countBytes ? loTxBytes() : 0;
    const cpu1 = nodes.map((x) => cpuMs(x.pid));
    const cpu = cpu0.flatMap((a, i) =>
      a !== undefined && cpu1[i] !== undefined ? [(cpu1[i]! - a) / seconds] : [],
    );
    const cpuMean = cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length);
    push(c, 'cpuMsPerSPerAgent', side, cpuMean, l);
    if (o.countBytes) push(c, 'bytesPerAgentPerS', side, (bytes1 - bytes0) / n / seconds, l);
    const mem = nodes.map((x) => memoryMiB(x.pid)).filter((m) => m !== undefined);
    for (const m of mem) {
      push(c, 'rssMiB', side, m.rss, l);
      push(c, 'pssMiB', side, m.pss, l);
    }
    line.push(`steady CPU ${cpuMean.toFixed(2)} ms/s per agent`);
    if (o.countBytes) line.push(`${((bytes1 - bytes0) / n / seconds).toFixed(0)} B/s per agent`);

    // User events: streams open on every agent, then each event sent through one of them. An
    // arrival counts once per agent (its first); a second delivery is reported, as is an agent
    // that missed an event (with whether its stream had ended).
    const arrivals = new Map<string, Map<number, number>>();
    const duplicates: string[] = [];
    const streams = await Promise.all(
      nodes.map((x, i) =>
        x.streamEvents((name) => {
          const a = arrivals.get(name);
          if (a === undefined) return;
          if (a.has(i)) duplicates.push(`${x.name} got ${name} twice`);
          else a.set(i, performance.now());
        }),
      ),
    );
    try {
      await sleep(500); // every subscription registered, replayed history read
      for (let e = 0; e < o.events; e++) {
        const name = `bench-${side}-${run}-${e}`;
        const got = new Map<number, number>();
        arrivals.set(name, got);
        l = load1();
        const te = performance.now();
        await nodes[e % n]!.event(name, 'x');
        const deadline = te + o.eventTimeoutMs;
        while (got.size < n && performance.now() < deadline) await sleep(10);
        const rel = [...got.values()].map((t) => t - te);
        push(c, 'event50Ms', side, arrivalAt(rel, n, 0.5), l);
        push(c, 'event90Ms', side, arrivalAt(rel, n, 0.9), l);
        push(c, 'event100Ms', side, arrivalAt(rel, n, 1), l);
        if (got.size < n) {
          const missed = nodes.flatMap((x, i) =>
            got.has(i) ? [] : [`${x.name}${streams[i]!.ended() ? ' (its stream had ended)' : ''}`],
          );
          errors.push(
            `event ${name}: ${got.size} of ${n} within ${o.eventTimeoutMs} ms; missed: ${missed.join(', ')}`,
          );
        } else line.push(`event ${e}: ${fmtMs(arrivalAt(rel, n, 0.9))}/${fmtMs(arrivalAt(rel, n, 1))}`);
        await sleep(o.eventGapMs);
      }
    } finally {
      for (const s of streams) s.stop();
    }
    if (duplicates.length > 0) errors.push(`duplicate deliveries: ${duplicates.join('; ')}`);

    // Crash detection.
    const victim = nodes.at(-1)!;
    const others = nodes.slice(0, -1);
    try {
      l = load1();
      const t1 = performance.now();
      await victim.kill();
      const ms = await timeUntil(
        side,
        others,
        (m) => m.some((x) => x.name === victim.name && x.status === 'failed'),
        t1,
        o,
        `${victim.name} failed`,
      );
      push(c, 'crashMs', side, ms, l);
      line.push(`crash ${fmtMs(ms)}`);
    } catch (e) {
      errors.push(`crash: ${(e as Error).message}`);
    }

    // Leave.
    const leaver = nodes.at(-2)!;
    const rest = nodes.slice(0, -2);
    try {
      l = load1();
      const t2 = performance.now();
      const leaving = leaver.leave().catch((e: Error) => errors.push(`leave call: ${e.message}`));
      const [ms] = await Promise.all([
        timeUntil(
          side,
          rest,
          (m) => m.some((x) => x.name === leaver.name && x.status === 'left'),
          t2,
          o,
          `${leaver.name} left`,
        ),
        leaving,
      ]);
      push(c, 'leaveMs', side, ms, l);
      line.push(`leave ${fmtMs(ms)}`);
    } catch (e) {
      errors.push(`leave: ${(e as Error).message}`);
    }
  } catch (e) {
    errors.push((e as Error).message.split('\n')[0]!);
  } finally {
    await Promise.all(nodes.map((x) => x.kill().catch(() => {})));
    killAllNow(); // agents of a start that failed half-way
    log(
      `  ${side.padEnd(6)} run ${run}, ready cluster: ${line.join(', ')}${errors.length ? `; ERRORS: ${errors.join('; ')}` : ''}`,
    );
  }
}

/** The "launch" cluster: the seed started, then N−1 launched at once with it as their seed. */
async function runLaunchCluster(
  side: SideName,
  n: number,
  run: number,
  o: Options,
  c: Collected,
  log: (s: string) => void,
): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `${side}-l${run}-${i}`);
  const nodes: BenchNode[] = [];
  let note = '';
  try {
    const seed = await STARTERS[side](names[0]!, { profile: o.profile });
    nodes.push(seed);
    const l = load1();
    const t0 = performance.now();
    const starting = names.slice(1).map((nm) =>
      STARTERS[side](nm, { profile: o.profile, join: seed.addr }).then((x) => {
        nodes.push(x);
        return x;
      }),
    );
    for (const p of starting) p.catch(() => {}); // reported through timeUntil; never unhandled
    const allAlive = (ms: MemberView[]) =>
      names.every((nm) => ms.some((m) => m.name === nm && m.status === 'alive'));
    // Each launched agent is polled as soon as it answers; the seed at once.
    const ms = await timeUntil(side, [seed, ...starting], allAlive, t0, o, `convergence to ${n} alive`);
    push(c, 'joinLaunchMs', side, ms, l);
    note = `join from launch ${fmtMs(ms)}`;
  } catch (e) {
    note = `ERROR: ${(e as Error).message}`;
  } finally {
    await Promise.all(nodes.map((x) => x.kill().catch(() => {})));
    killAllNow(); // agents whose start was still pending
    log(`  ${side.padEnd(6)} run ${run}, launch cluster: ${note}`);
  }
}

// ---------------------------------------------------------------------------------------------
// One agent alone: start time, idle CPU and memory, CLI commands against it.

interface AloneResult {
  startMs: Record<SideName, Series>;
  idleCpuMsPerS: Record<SideName, Series>;
  rssMiB: Record<SideName, Series>;
  cliMembersMs: Record<SideName, Series>;
  cliVersionMs: Record<SideName, Series>;
  nodeMs: Series;
}

function timeCommand(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  return ms;
}

async function runAlone(o: Options, log: (s: string) => void): Promise<AloneResult> {
  const s = (): Record<SideName, Series> => ({
    gossip: { values: [], loads: [] },
    serf: { values: [], loads: [] },
  });
  const r: AloneResult = {
    startMs: s(),
    idleCpuMsPerS: s(),
    rssMiB: s(),
    cliMembersMs: s(),
    cliVersionMs: s(),
    nodeMs: { values: [], loads: [] },
  };
  const version: Record<SideName, [string, string[]]> = {
    gossip: [process.execPath, [builtBin(), 'version']],
    serf: ['serf', ['version']],
  };
  for (const args of [version.gossip, version.serf]) timeCommand(...args); // warm the file cache
  for (let i = 0; i < o.startRuns; i++) {
    for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
      const l = load1();
      const x = await STARTERS[side](`${side}-alone-${i}`, { profile: o.profile });
      try {
        r.startMs[side].values.push(x.startMs);
        r.startMs[side].loads.push(l);
        await sleep(2000);
        const c0 = cpuMs(x.pid);
        const t0 = performance.now();
        await sleep(o.aloneS * 1000);
        const c1 = cpuMs(x.pid);
        if (c0 !== undefined && c1 !== undefined) {
          r.idleCpuMsPerS[side].values.push(((c1 - c0) * 1000) / (performance.now() - t0));
          r.idleCpuMsPerS[side].loads.push(load1());
        }
        const m = memoryMiB(x.pid);
        if (m) {
          r.rssMiB[side].values.push(m.rss);
          r.rssMiB[side].loads.push(load1());
        }
        for (let k = 0; k < Math.max(1, Math.round(o.cliRuns / o.startRuns)); k++) {
          const lc = load1();
          r.cliMembersMs[side].values.push(timeCommand(...x.cliMembers));
          r.cliMembersMs[side].loads.push(lc);
          r.cliVersionMs[side].values.push(timeCommand(...version[side]));
          r.cliVersionMs[side].loads.push(lc);
          if (side === 'gossip') {
            r.nodeMs.values.push(timeCommand(process.execPath, ['-e', '0']));
            r.nodeMs.loads.push(lc);
          }
        }
      } finally {
        await x.kill();
      }
    }
    log(
      `  alone, run ${i}: start ours ${fmtMs(r.startMs.gossip.values.at(-1))}, serf ${fmtMs(r.startMs.serf.values.at(-1))}`,
    );
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

function stat(xs: number[]): Stat | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return {
    median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2,
    min: s[0]!,
    max: s[s.length - 1]!,
    runs: s.length,
  };
}

export interface Figure {
  key: string;
  label: string;
  unit: string;
  n: number | null;
  ours: Stat | null;
  serf: Stat | null;
  /** ours / serf, of the medians. */
  ratio: number | null;
  /** 1-minute load average when measured, min–max over both sides' runs. */
  load: { min: number; max: number } | null;
  note?: string;
}

function figure(
  key: string,
  label: string,
  unit: string,
  n: number | null,
  s: Record<SideName, Series>,
  note?: string,
): Figure {
  const ours = stat(s.gossip.values);
  const serf = stat(s.serf.values);
  const loads = [...s.gossip.loads, ...s.serf.loads];
  return {
    key,
    label,
    unit,
    n,
    ours,
    serf,
    ratio: ours && serf && serf.median !== 0 ? ours.median / serf.median : null,
    load: loads.length ? { min: Math.min(...loads), max: Math.max(...loads) } : null,
    ...(note ? { note } : {}),
  };
}

function fmtMs(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v)} ms`;
}

function fmtVal(v: number, unit: string): string {
  if (unit === 'ms') return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
  if (unit === 'B/s') return `${v.toFixed(0)} B/s`;
  return `${v.toFixed(unit === 'ms/s' ? 2 : 1)} ${unit}`;
}

function fmtStat(s: Stat | null, unit: string): string {
  if (!s) return '—';
  return `${fmtVal(s.median, unit)} (${fmtVal(s.min, unit).replace(/ \S+$/, '')}–${fmtVal(s.max, unit)})`;
}

function printFigures(title: string, figures: Figure[]): void {
  const header = ['figure', 'ours: median (min–max)', 'serf: median (min–max)', 'ours/serf', 'load'];
  const body = figures.map((f) => [
    f.label,
    fmtStat(f.ours, f.unit),
    fmtStat(f.serf, f.unit),
    f.ratio === null ? '—' : `${f.ratio.toFixed(2)}x`,
    f.load ? `${f.load.min.toFixed(1)}–${f.load.max.toFixed(1)}` : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
  for (const f of figures) if (f.note) console.log(`  ${f.label}: ${f.note}`);
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

/**
 * The figures as a Markdown table (what the README shows): per figure and size, ours and serf's
 * medians with their min–max, the ratio of the medians, and the load average while measured.
 */
export function markdownTable(figures: readonly Figure[]): string {
  const rows = ['| figure | N | ours: median (min–max) | serf: median (min–max) | ours/serf | load |'];
  rows.push('|---|---|---|---|---|---|');
  for (const f of figures) {
    const load = f.load ? `${f.load.min.toFixed(1)}–${f.load.max.toFixed(1)}` : '—';
    const ratio = f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`;
    rows.push(
      `| ${f.label} | ${f.n ?? 1} | ${fmtStat(f.ours, f.unit)} | ${fmtStat(f.serf, f.unit)} | ${ratio} | ${load} |`,
    );
  }
  for (const f of figures) if (f.note) rows.push('', `${f.label}: ${f.note}.`);
  return rows.join('\n');
}

interface Options {
  sizes: number[];
  runs: number | undefined;
  profile: Profile;
  pollMs: number;
  batch: number;
  events: number;
  eventGapMs: number;
  eventTimeoutMs: number;
  /** ms from the last agent's start to the steady window; undefined: see steadyWindow. */
  settleMs: number | undefined;
  /** Length of the steady window in s; undefined: see steadyWindow. */
  steadyS: number | undefined;
  startRuns: number;
  aloneS: number;
  cliRuns: number;
  seeds: number;
  timeoutMs: number;
  format: 'table' | 'json' | 'markdown';
  netns: boolean;
  /** Counting loopback bytes is meaningful (inside the benchmark's own namespace). */
  countBytes: boolean;
}

/** The options, for `npm run bench -- membership --help`. */
export const usage =
  '[--sizes 10,50] [--runs K] [--profile lan|local] [--poll-ms 200] [--batch 8] [--events 3] [--settle-s S] [--steady-s S] [--start-runs 5] [--alone-s 10] [--cli-runs 10] [--seeds 40] [--timeout-s 120] [--format table|json|markdown] [--no-netns]';

function parseOptions(args: string[]): Options {
  const { values } = parseBenchArgs(args, {
    sizes: { type: 'string', default: '10,50' },
    runs: { type: 'string' },
    profile: { type: 'string', default: 'lan' },
    'poll-ms': { type: 'string', default: '200' },
    batch: { type: 'string', default: String(Math.max(4, availableParallelism() * 4)) },
    events: { type: 'string', default: '3' },
    'settle-s': { type: 'string' },
    'steady-s': { type: 'string' },
    'start-runs': { type: 'string', default: '5' },
    'alone-s': { type: 'string', default: '10' },
    'cli-runs': { type: 'string', default: '10' },
    seeds: { type: 'string', default: '40' },
    'timeout-s': { type: 'string', default: '120' },
    format: { type: 'string', default: 'table' },
    'no-netns': { type: 'boolean', default: false },
  });
  const num = (v: string, what: string, min: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min)
      throw new BenchUsageError(`--${what} must be a whole number >= ${min}`);
    return x;
  };
  if (values.profile !== 'lan' && values.profile !== 'local')
    throw new BenchUsageError('--profile must be lan or local');
  if (values.format !== 'table' && values.format !== 'json' && values.format !== 'markdown')
    throw new BenchUsageError('--format must be table, json or markdown');
  return {
    sizes: values.sizes.split(',').map((s) => num(s, 'sizes', 3)),
    runs: values.runs === undefined ? undefined : num(values.runs, 'runs', 1),
    profile: values.profile,
    pollMs: num(values['poll-ms'], 'poll-ms', 10),
    batch: num(values.batch, 'batch', 1),
    events: num(values.events, 'events', 0),
    eventGapMs: 2000,
    eventTimeoutMs: 15_000,
    settleMs: values['settle-s'] === undefined ? undefined : num(values['settle-s'], 'settle-s', 0) * 1000,
    steadyS: values['steady-s'] === undefined ? undefined : num(values['steady-s'], 'steady-s', 1),
    startRuns: num(values['start-runs'], 'start-runs', 0),
    aloneS: num(values['alone-s'], 'alone-s', 1),
    cliRuns: num(values['cli-runs'], 'cli-runs', 1),
    seeds: num(values.seeds, 'seeds', 0),
    timeoutMs: num(values['timeout-s'], 'timeout-s', 1) * 1000,
    format: values.format,
    netns: !values['no-netns'],
    countBytes: false,
  };
}

/** The environment variable that says "this process runs inside the benchmark's namespace". */
const NETNS_ENV = 'GOSSIP_BENCH_NETNS';

/**
 * Runs this benchmark again inside a fresh network namespace with only `lo`, then deletes it.
 * Returns false when namespaces are not available here (not root, no `ip`).
 */
function rerunInNamespace(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const ns = `gbench-${randomBytes(3).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return false;
  const del = () => spawnSync('ip', ['netns', 'del', ns]);
  try {
    if (spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status !== 0) return false;
    const onSignal = () => {}; // the child gets the terminal's signal too, and cleans up its agents
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      {
        stdio: 'inherit',
        env: { ...process.env, [NETNS_ENV]: ns },
      },
    );
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.exitCode = r.status ?? 1;
    return true;
  } finally {
    del();
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!serfAvailable()) throw new Error('the membership benchmark needs the serf binary on PATH');
  const inside = process.env[NETNS_ENV] !== undefined;
  if (o.netns && !inside && rerunInNamespace()) return;
  o.countBytes = inside;
  const json = o.format !== 'table';
  // Progress goes to stderr in JSON mode, so stdout is one JSON document.
  const log = (s: string) => (json ? console.error(s) : console.log(s));
  const uninstall = installCleanup();
  const serfVersion = spawnSync('serf', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  log(
    `membership benchmark: profile ${o.profile} on both sides, loopback` +
      (inside ? ` in network namespace ${process.env[NETNS_ENV]}` : ' (host namespace: no bytes figure)') +
      `, ${availableParallelism()} CPUs, node ${process.version}, ${serfVersion}; load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
  const figures: Figure[] = [];
  try {
    if (o.startRuns > 0) {
      log(`\none agent alone, ${o.startRuns} run(s) per side, interleaved`);
      const a = await runAlone(o, log);
      const alone: Figure[] = [
        figure('agentStartMs', 'agent start (spawn → answers), alone', 'ms', null, a.startMs),
        figure('idleCpuAloneMsPerS', `idle CPU, alone (${o.aloneS} s)`, 'ms/s', null, a.idleCpuMsPerS),
        figure('rssAloneMiB', 'RSS, alone', 'MiB', null, a.rssMiB),
        figure('cliMembersMs', 'CLI: members (whole process)', 'ms', null, a.cliMembersMs),
        figure('cliVersionMs', 'CLI: version (whole process)', 'ms', null, a.cliVersionMs),
      ];
      const nodeE0 = stat(a.nodeMs.values);
      if (nodeE0) {
        for (const f of alone.filter((x) => x.key.startsWith('cli') && x.ours)) {
          f.note = `ours is ${(f.ours!.median / nodeE0.median).toFixed(2)}x node -e 0 (${fmtMs(nodeE0.median)})`;
        }
      }
      figures.push(...alone);
      if (!json) printFigures('One agent alone', alone);
    }
    for (const n of o.sizes) {
      const k = o.runs ?? (n >= 50 ? 3 : 5);
      log(
        `\nN = ${n}: ${k} run(s) per side, started in batches of ${o.batch}; steady window ${steadyWindow(o, n).windowMs / 1000} s, from ${steadyWindow(o, n).settleAfterStartMs / 1000} s after the last agent started`,
      );
      const c = emptyCollected();
      for (let r = 0; r < k; r++) {
        const order = r % 2 === 0 ? SIDES : [...SIDES].reverse();
        for (const side of order) await runReadyCluster(side, n, r, o, c, log);
        for (const side of order) await runLaunchCluster(side, n, r, o, c, log);
      }
      const sized = (Object.keys(FIGURES) as FigureKey[])
        .filter((key) => key !== 'bytesPerAgentPerS' || o.countBytes)
        .map((key) => figure(key, FIGURES[key].label, FIGURES[key].unit, n, c[key]));
      figures.push(...sized);
      if (!json) printFigures(`N = ${n}: ${k} cluster(s) per side`, sized);
    }
  } finally {
    killAllNow();
    uninstall();
  }
  const answer = (side: SideName) => stat(pollAnswerMs[side]);
  if (!json) {
    console.log(
      `\nresolution: poll interval ${o.pollMs} ms + answer time (median, max: ours ` +
        `${answer('gossip')?.median.toFixed(1)}, ${answer('gossip')?.max.toFixed(0)} ms; serf ` +
        `${answer('serf')?.median.toFixed(1)}, ${answer('serf')?.max.toFixed(0)} ms)`,
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
  if (o.format === 'markdown') {
    console.log(markdownTable(figures));
    return;
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
          netns: inside ? process.env[NETNS_ENV] : null,
          pollAnswerMs: { gossip: answer('gossip'), serf: answer('serf') },
          figures,
          joinStormTail: tail ?? null,
        },
        null,
        2,
      ),
    );
  }
}
