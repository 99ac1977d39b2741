/**
 * One cluster of the fault harness: N agents of one implementation (`gossip agent` or real
 * `serf agent`), each alone in its own network namespace behind one bridge (test/support/netns.ts
 * with one single-address side per node, plus spare sides for a node that comes back elsewhere),
 * and the observation that is the same for both implementations:
 *
 * - **views**, polled at a fixed rate from the root namespace: every running node's member list,
 *   ours with `GET /v1/members` over HTTP, serf's with the `members` command of its msgpack RPC
 *   (one long-lived connection per agent, test/support/serf-rpc.ts); every poll is recorded as
 *   it is answered, and each (observer, member) status change kept with its time;
 * - **health**, sampled every {@link HEALTH_SAMPLE_MS}: the Lifeguard awareness score (ours
 *   `GET /v1/agent` `healthScore`, serf's RPC `stats` `serf.health_score`);
 * - **logs**, read line by line from each agent's output as it is written: suspicions the node
 *   raised from its own probes, refutations of accusations against itself, and every member it
 *   marked failed. Both log these at info/warn, uncoalesced (serf's RPC event stream coalesces
 *   member events for 3 s, so a failure refuted within that window would be invisible there).
 *
 * Gossip uses port {@link GOSSIP_PORT} on every node; the HTTP API (ours) and RPC (serf) use
 * {@link API_PORT}. Packet faults are BPF rules on the gossip port only, so the observation
 * traffic is never dropped.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtBin } from '../support/gossip-agent.ts';
import { NetnsTopology } from '../support/netns.ts';
import { sleep } from '../support/serf.ts';
import { SerfRpcClient, serfAddrToString } from '../support/serf-rpc.ts';

export type Impl = 'gossip' | 'serf';
export const IMPLS: readonly Impl[] = ['gossip', 'serf'];

export const GOSSIP_PORT = 7946;
export const API_PORT = 7373;
/** How often the health score of every node is sampled. */
export const HEALTH_SAMPLE_MS = 2000;
/** How long one poll may take before it counts as unanswered (a stopped node never answers). */
const POLL_TIMEOUT_MS = 3000;
/** Log lines kept per node for error messages (the counts are taken as lines arrive). */
const LOG_TAIL_LINES = 200;

/** A member as one observer lists it. */
export interface MemberView {
  name: string;
  addr: string;
  status: string;
}

/** Something a node logged that the harness counts. */
export interface LogMark {
  /**
   * `suspect`: the node suspected a member after its own probe failed; `declared`: a suspicion the
   * node held timed out and it declared the member dead (the origin of a failure); `failed`: the
   * node marked a member failed (its own declaration or one it heard of); `refute`: the node
   * refuted an accusation against itself; `stall` (ours only): the node found a probe
   * inconclusive because its own event loop had stalled (starved of CPU), and suspected nobody.
   */
  kind: 'suspect' | 'declared' | 'refute' | 'failed' | 'stall';
  /** ms since the cluster's epoch, when the line was read. */
  atMs: number;
  /** The member it is about (suspect, failed); the node itself for a refutation. */
  target: string;
}

/** The lines both implementations log for the events we count. */
const LOG_PATTERNS: Record<Impl, { kind: LogMark['kind']; re: RegExp }[]> = {
  gossip: [
    { kind: 'suspect', re: /\] +suspect (\S+) has failed, no acks received/ },
    { kind: 'declared', re: /\] +marking a member as failed: suspicion timed out node=(\S+)/ },
    { kind: 'refute', re: /\] +refuting a (?:suspicion of|death notice about) ourselves/ },
    { kind: 'failed', re: /\] +serf: member-failed node=(\S+)/ },
    {
      kind: 'stall',
      re: /\] +probe inconclusive: our own event loop stalled; not suspecting the target node=(\S+)/,
    },
  ],
  serf: [
    { kind: 'suspect', re: /memberlist: Suspect (\S+) has failed, no acks received/ },
    { kind: 'declared', re: /memberlist: Marking (\S+) as failed, suspect timeout reached/ },
    { kind: 'refute', re: /memberlist: Refuting a (?:suspect|dead) message/ },
    { kind: 'failed', re: /serf: EventMemberFailed: (\S+)/ },
  ],
};

/** A status change in one observer's polled view of one member. */
export interface ViewChange {
  observer: string;
  target: string;
  atMs: number;
  status: string;
  addr: string;
}

const CLK_TCK = 100;

/** CPU ms (user + system) a process has used, from /proc/PID/stat. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** One agent: a name, a home side (namespace) that can change on a restart, and a process. */
export class FaultNode {
  readonly name: string;
  readonly impl: Impl;
  readonly #cluster: FaultCluster;
  side: string;
  #proc: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #rpc: SerfRpcClient | undefined;
  #rpcConnecting: Promise<SerfRpcClient> | undefined;
  #tail: string[] = [];
  #partial = '';
  /** Everything counted from the logs, over every incarnation of the process. */
  readonly marks: LogMark[] = [];
  stopped = false;

  constructor(cluster: FaultCluster, name: string, impl: Impl, side: string) {
    this.#cluster = cluster;
    this.name = name;
    this.impl = impl;
    this.side = side;
  }

  get ip(): string {
    return this.#cluster.topo.side(this.side).ips[0]!;
  }

  get addr(): string {
    return `${this.ip}:${GOSSIP_PORT}`;
  }

  get apiAddr(): string {
    return `${this.ip}:${API_PORT}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** The last lines the agent wrote. */
  get logTail(): string {
    return this.#tail.join('\n');
  }

  /** Starts the agent in its side's namespace, joining through `join` (`ip:port`). */
  start(join: string[]): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const args =
      this.impl === 'gossip'
        ? [
            builtBin(),
            'agent',
            ...['--node', this.name, '--bind', this.addr, '--http', this.apiAddr],
            ...['--http-token', this.#cluster.token, '--no-dashboard', '--profile', 'lan'],
            ...join.flatMap((j) => ['--join', j]),
          ]
        : [
            'agent',
            `-node=${this.name}`,
            `-bind=${this.addr}`,
            `-rpc-addr=${this.apiAddr}`,
            '-profile=lan',
            '-log-level=info',
            ...join.map((j) => `-join=${j}`),
          ];
    // Each agent in a session of its own (setsid execs in place: the PID stays the agent's). With
    // the kernel's autogroup scheduling (sched_autogroup_enabled, on here), CPU is shared fairly
    // between sessions, not processes: 20 agents in the harness's session would share one
    // session's slice, and on a busy machine ours (a few times serf's CPU per agent) would be
    // starved into event-loop stalls of seconds. Apart, each gets what a service started on its
    // own would get; the same for both implementations.
    const { proc } = this.#cluster.topo.spawnIn(this.side, 'setsid', [
      this.impl === 'gossip' ? process.execPath : 'serf',
      ...args,
    ]);
    this.#proc = proc;
    this.stopped = false;
    this.#partial = '';
    const onData = (d: Buffer) => this.#onOutput(d.toString());
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('error', () => {});
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  #onOutput(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    const atMs = this.#cluster.now();
    const dir = this.#cluster.logDir;
    if (dir && lines.length > 0) {
      const stamp = `+${(atMs / 1000).toFixed(3)}`;
      appendFileSync(
        join(dir, `${this.#cluster.logPrefix}${this.name}.log`),
        lines.map((l) => `${stamp} ${l}\n`).join(''),
      );
    }
    for (const line of lines) {
      this.#tail.push(line);
      if (this.#tail.length > LOG_TAIL_LINES) this.#tail.shift();
      for (const { kind, re } of LOG_PATTERNS[this.impl]) {
        const m = re.exec(line);
        if (m) this.marks.push({ kind, atMs, target: m[1] ?? this.name });
      }
    }
  }

  /** Waits until the agent answers a member-list request. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.impl} ${this.name} exited at start:\n${this.logTail}`);
      try {
        await this.members();
        return;
      } catch (e) {
        if (Date.now() > deadline)
          throw new Error(`${this.impl} ${this.name} not ready: ${(e as Error).message}\n${this.logTail}`);
      }
      await sleep(200);
    }
  }

  async #serf(): Promise<SerfRpcClient> {
    if (this.#rpc) return this.#rpc;
    this.#rpcConnecting ??= SerfRpcClient.connect(this.apiAddr, POLL_TIMEOUT_MS).finally(() => {
      this.#rpcConnecting = undefined;
    });
    const c = await this.#rpcConnecting;
    this.#rpc = c;
    return c;
  }

  /** A serf RPC call; a broken connection is dropped, to be made again by the next call. */
  async #serfCall<T>(f: (c: SerfRpcClient) => Promise<T>): Promise<T> {
    const c = await this.#serf();
    try {
      return await f(c);
    } catch (e) {
      if (this.#rpc === c) {
        c.close();
        this.#rpc = undefined;
      }
      throw e;
    }
  }

  async #http(path: string): Promise<unknown> {
    const res = await fetch(`http://${this.apiAddr}${path}`, {
      headers: { authorization: `Bearer ${this.#cluster.token}` },
      signal: AbortSignal.timeout(POLL_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`${this.name} ${path}: ${res.status}`);
    return path === '/metrics' ? res.text() : res.json();
  }

  /** The agent's member list: ours over HTTP, serf's over its RPC. */
  async members(): Promise<MemberView[]> {
    if (this.impl === 'gossip') {
      const r = (await this.#http('/v1/members')) as { members: MemberView[] };
      return r.members.map((m) => ({ name: m.name, addr: m.addr, status: m.status }));
    }
    const ms = await this.#serfCall((c) => c.members(POLL_TIMEOUT_MS));
    return ms.map((m) => ({ name: m.Name, addr: `${serfAddrToString(m.Addr)}:${m.Port}`, status: m.Status }));
  }

  /** The Lifeguard awareness score (0 is healthy). */
  async healthScore(): Promise<number> {
    if (this.impl === 'gossip') {
      return ((await this.#http('/v1/agent')) as { healthScore: number }).healthScore;
    }
    const s = await this.#serfCall((c) => c.stats(POLL_TIMEOUT_MS));
    return Number(s.serf?.health_score ?? Number.NaN);
  }

  /** Ours only: the Prometheus text of `/metrics`. */
  async metrics(): Promise<string> {
    return (await this.#http('/metrics')) as string;
  }

  /** `kill -9` by PID; waits for the exit. */
  async kill(): Promise<void> {
    this.#rpc?.close();
    this.#rpc = undefined;
    if (this.running && this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {}
      await Promise.race([this.#exited, sleep(10_000)]);
    }
  }

  /** SIGSTOP: the process is frozen (its sockets stay open, packets queue up). */
  pause(): void {
    if (this.pid === undefined) throw new Error(`${this.name} has no process`);
    process.kill(this.pid, 'SIGSTOP');
    this.stopped = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (this.pid === undefined) throw new Error(`${this.name} has no process`);
    process.kill(this.pid, 'SIGCONT');
    this.stopped = false;
  }

  close(): void {
    this.#rpc?.close();
    this.#rpc = undefined;
  }
}

type PollListener = (observer: FaultNode, members: MemberView[], atMs: number) => void;

export interface FaultClusterOptions {
  impl: Impl;
  nodes: number;
  /** Nodes that can also be started elsewhere (an address of their own, unused at first). */
  spareSides?: number;
  pollMs: number;
  /** Where to keep every agent's full output (one file per node), if anywhere. */
  logDir?: string;
  /** File name prefix of those logs (e.g. the fault and implementation). */
  logPrefix?: string;
}

/**
 * N nodes of one implementation, each in its own namespace, observed from the root namespace.
 * Side letters: `a`, `b`, ... one per node in order, then the spares.
 */
export class FaultCluster {
  readonly impl: Impl;
  readonly topo: NetnsTopology;
  readonly nodes: FaultNode[] = [];
  readonly spareSides: string[] = [];
  readonly token: string;
  readonly pollMs: number;
  readonly logDir: string | undefined;
  readonly logPrefix: string;
  readonly #epoch = performance.now();
  /** Per observer, the latest view: member name -> what it listed. */
  readonly latest = new Map<string, Map<string, MemberView>>();
  readonly changes: ViewChange[] = [];
  /** Per node, the highest health score sampled since {@link resetHealth}. */
  readonly maxHealth = new Map<string, number>();
  polls = 0;
  pollErrors = 0;
  readonly pollAnswerMs: number[] = [];
  #listeners = new Set<PollListener>();
  #polling = false;
  #pollers: Promise<void>[] = [];

  private constructor(options: FaultClusterOptions, topo: NetnsTopology) {
    this.impl = options.impl;
    this.topo = topo;
    this.token = topo.token;
    this.pollMs = options.pollMs;
    this.logDir = options.logDir;
    this.logPrefix = options.logPrefix ?? '';
  }

  /** ms since the cluster was made: the time base of every mark, change and figure. */
  now(): number {
    return performance.now() - this.#epoch;
  }

  static create(options: FaultClusterOptions): FaultCluster {
    const spare = options.spareSides ?? 0;
    const count = options.nodes + spare;
    if (count > 26) throw new Error(`at most 26 nodes and spares (one side letter each); got ${count}`);
    const letters = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i));
    const topo = NetnsTopology.create({ sides: Object.fromEntries(letters.map((l) => [l, 1])) });
    const c = new FaultCluster(options, topo);
    for (let i = 0; i < options.nodes; i++) {
      c.nodes.push(new FaultNode(c, `n${String(i + 1).padStart(2, '0')}`, options.impl, letters[i]!));
    }
    c.spareSides.push(...letters.slice(options.nodes));
    return c;
  }

  node(name: string): FaultNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /**
   * Starts every node: the first alone, the rest joining through it, in batches (serf exits
   * when its start-up join fails, so the seed must answer first). Waits until all answer.
   */
  async start(batch = 5): Promise<void> {
    const [seed, ...rest] = this.nodes;
    if (!seed) return;
    seed.start([]);
    await seed.ready();
    for (let i = 0; i < rest.length; i += batch) {
      const group = rest.slice(i, i + batch);
      for (const n of group) n.start([seed.addr]);
      await Promise.all(group.map((n) => n.ready()));
    }
  }

  /** Starts polling every node's view (and sampling health) until {@link stopPolling}. */
  startPolling(): void {
    if (this.#polling) return;
    this.#polling = true;
    for (const n of this.nodes) this.#pollers.push(this.#pollLoop(n), this.#healthLoop(n));
  }

  async stopPolling(): Promise<void> {
    this.#polling = false;
    await Promise.all(this.#pollers.splice(0));
  }

  async #pollLoop(n: FaultNode): Promise<void> {
    while (this.#polling) {
      const started = this.now();
      if (n.running && !n.stopped) {
        try {
          const ms = await n.members();
          const at = this.now();
          this.polls++;
          this.pollAnswerMs.push(at - started);
          this.#record(n, ms, at);
        } catch {
          if (n.running && !n.stopped) this.pollErrors++;
        }
      }
      await sleep(Math.max(0, this.pollMs - (this.now() - started)));
    }
  }

  async #healthLoop(n: FaultNode): Promise<void> {
    while (this.#polling) {
      if (n.running && !n.stopped) {
        const h = await n.healthScore().catch(() => undefined);
        if (h !== undefined && Number.isFinite(h))
          this.maxHealth.set(n.name, Math.max(h, this.maxHealth.get(n.name) ?? 0));
      }
      await sleep(HEALTH_SAMPLE_MS);
    }
  }

  resetHealth(): void {
    this.maxHealth.clear();
  }

  #record(observer: FaultNode, ms: MemberView[], atMs: number): void {
    let view = this.latest.get(observer.name);
    if (!view) {
      view = new Map();
      this.latest.set(observer.name, view);
    }
    for (const m of ms) {
      const prev = view.get(m.name);
      if (!prev || prev.status !== m.status || prev.addr !== m.addr) {
        this.changes.push({ observer: observer.name, target: m.name, atMs, status: m.status, addr: m.addr });
      }
      view.set(m.name, m);
    }
    for (const l of this.#listeners) l(observer, ms, atMs);
  }

  /**
   * Resolves, per observer in `observers`, with the time (ms since the epoch) of the first poll
   * answered after now whose member list satisfies `ok`; the overall time is their maximum.
   * Rejects after `timeoutMs`, naming the observers still waiting.
   */
  until(
    what: string,
    observers: FaultNode[],
    ok: (members: MemberView[], observer: FaultNode) => boolean,
    timeoutMs: number,
  ): Promise<Map<string, number>> {
    const waiting = new Set(observers.map((o) => o.name));
    const seen = new Map<string, number>();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const listener: PollListener = (o, ms, at) => {
        if (!waiting.has(o.name) || !ok(ms, o)) return;
        waiting.delete(o.name);
        seen.set(o.name, at);
        if (waiting.size === 0) {
          done();
          resolve(seen);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${this.impl}: ${what}: not seen within ${timeoutMs} ms by ${[...waiting].join(', ')}`),
        );
      }, timeoutMs);
      if (waiting.size === 0) {
        done();
        resolve(seen);
        return;
      }
      this.#listeners.add(listener);
    });
  }

  /** Sum of the packets the nodes' BPF filters dropped (both hooks), from the qdisc counters. */
  droppedPackets(): number {
    let dropped = 0;
    for (const s of this.topo.sides) dropped += this.topo.lossStats(s.name)?.dropped ?? 0;
    return dropped;
  }

  /** Removes every packet filter. */
  clearFilters(): void {
    this.topo.setFilters(Object.fromEntries(this.topo.sides.map((s) => [s.name, {}])));
  }

  /** Stops polling, kills every agent, deletes the namespaces. */
  async destroy(): Promise<void> {
    await this.stopPolling();
    for (const n of this.nodes) {
      n.close();
      if (n.stopped && n.pid !== undefined) {
        try {
          process.kill(n.pid, 'SIGCONT');
        } catch {}
      }
    }
    await Promise.all(this.nodes.map((n) => n.kill()));
    await this.topo.destroy();
  }
}
