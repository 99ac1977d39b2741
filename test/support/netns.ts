/**
 * Real `gossip agent` processes on real sockets in Linux network namespaces, for partition and
 * packet-loss tests (needs root and `ip netns`; see {@link netnsUnavailable}).
 *
 * Topology of one {@link NetnsTopology} (every name carries a random suffix, so that parallel
 * runs never collide; the /24 is claimed atomically through a state file):
 *
 *     root namespace:  bridge gbr<id>  10.213.N.1/24   (the test process talks to the agents here)
 *                       |                    |
 *                 veth gv<id>a          veth gv<id>b          (host ends, bridge ports)
 *                       |                    |
 *     namespace gossip-<id>-a           gossip-<id>-b         (one per side; `eth0` inside)
 *       agents 10.213.N.11, .12, ...      agents 10.213.N.21, .22, ...
 *
 * Agents of one side share their side's namespace (each on its own address), so a partition
 * cuts exactly between the sides. It is done with bridge port isolation when the kernel has it
 * (`bridge link set dev gv<id>X isolated on` on every side's port: isolated ports cannot reach
 * each other, but still reach the bridge itself, so the test keeps querying every agent's HTTP
 * API from the root namespace); otherwise by taking the host veths down, and the agents are then
 * queried with the CLI inside their namespace. Packet loss is a classic-BPF `tc` filter in
 * direct-action mode on a side's host veth (`ld rand`, drop below a threshold): neither netem
 * nor the gact "drop" action is needed. {@link NetnsTopology.setFilters} installs any such rules
 * (test/support/bpf.ts: by protocol, port, destination range and fraction, per direction) on
 * many sides at once; the fault harness (test/faults) builds its loss, one-way loss, UDP-only
 * blocking and partitions from them.
 *
 * Cleanup always runs: {@link NetnsTopology.destroy} (call it from an `after` hook), a
 * synchronous sweep on SIGINT/SIGTERM and on process exit, and, for a run that was killed
 * outright, a sweep of stale topologies (owner process gone) at the next {@link NetnsTopology.create}.
 * It kills the agents it started by PID and deletes every namespace, veth and bridge it made.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PacketRule, ruleBytecode } from './bpf.ts';
import { builtBin, type MemberJson } from './gossip-agent.ts';
import { sleep } from './serf.ts';

/** Where topologies record what they made, so that a later run can sweep after a killed one. */
const STATE_DIR = '/run/gossip-netns';
const GOSSIP_PORT = 7946;
const HTTP_PORT = 7373;

function sh(args: string[], allowFail = false): { ok: boolean; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  const ok = r.status === 0;
  if (!ok && !allowFail) {
    throw new Error(`${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message}): ${r.stderr}`);
  }
  return { ok, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * Why namespace tests cannot run here (not root, no `ip`, `ip netns add` or veths refused), or
 * undefined when they can. Cheap: creates and deletes one probe namespace and veth pair.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'the ip command (iproute2) is not installed';
  const id = randomBytes(3).toString('hex');
  const ns = `gossip-probe-${id}`;
  const add = sh(['ip', 'netns', 'add', ns], true);
  if (!add.ok) return `ip netns add failed: ${add.out.trim()}`;
  try {
    const veth = sh(['ip', 'link', 'add', `gq${id}`, 'type', 'veth', 'peer', 'name', `gr${id}`], true);
    if (!veth.ok) return `cannot create a veth pair: ${veth.out.trim()}`;
    sh(['ip', 'link', 'del', `gq${id}`], true);
    return undefined;
  } finally {
    sh(['ip', 'netns', 'del', ns], true);
  }
}

/** Packet filters of one side; see {@link NetnsTopology.setFilters}. */
export interface SideFilters {
  toSide?: PacketRule[];
  fromSide?: PacketRule[];
}

/**
 * Runs `tc` commands in one process (`tc -force -batch -`): `-force` carries on past a failing
 * line (deleting a qdisc that is not there); the other lines' failures are reported.
 */
function tcBatch(lines: string[]): void {
  if (lines.length === 0) return;
  const r = spawnSync('tc', ['-force', '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const errors = (r.stderr ?? '')
    .split('\n')
    .filter((l) => l.trim() && !/Cannot find specified qdisc|Command failed -:\d+$|Invalid handle/.test(l));
  if (r.error || errors.length > 0) {
    throw new Error(
      `tc -batch failed (${r.error?.message ?? r.status}): ${errors.join('; ')}\n${lines.join('\n')}`,
    );
  }
}

/** What a topology made, written to its state file for a later sweep. */
interface TopologyState {
  ownerPid: number;
  namespaces: string[];
  links: string[];
  agentPids: number[];
  /** Files and directories to remove (per-namespace `/etc/netns/NS`, scratch files). */
  paths?: string[];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The network namespace inode of a named namespace, or of a process. */
function nsInode(name: string): number | undefined {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

function pidNsInode(pid: number): number | undefined {
  try {
    const m = /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Synchronous teardown (usable from signal and exit handlers): SIGKILLs the listed agent PIDs
 * (only those still inside one of our namespaces, so a recycled PID is never hit), deletes the
 * host-side links (which destroys their peers) and the namespaces.
 */
function teardownSync(state: TopologyState): void {
  const inodes = new Set(state.namespaces.map(nsInode).filter((i) => i !== undefined));
  for (const pid of state.agentPids) {
    const ino = pidNsInode(pid);
    if (ino !== undefined && inodes.has(ino)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  for (const link of state.links) sh(['ip', 'link', 'del', link], true);
  for (const ns of state.namespaces) sh(['ip', 'netns', 'del', ns], true);
  for (const p of state.paths ?? []) rmSync(p, { recursive: true, force: true });
}

/** Removes the topologies of runs whose process is gone (killed with SIGKILL, say). */
function sweepStale(): void {
  let files: string[];
  try {
    files = readdirSync(STATE_DIR);
  } catch {
    return;
  }
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    const path = join(STATE_DIR, f);
    let state: TopologyState;
    try {
      state = JSON.parse(readFileSync(path, 'utf8')) as TopologyState;
    } catch {
      continue; // being written by its (live) owner
    }
    if (typeof state.ownerPid !== 'number' || pidAlive(state.ownerPid)) continue;
    teardownSync(state);
    rmSync(path, { force: true });
  }
}

const live = new Set<NetnsTopology>();
let handlersInstalled = false;

function onSignal(sig: NodeJS.Signals): void {
  for (const t of [...live]) t.destroySync();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

function onExit(): void {
  for (const t of [...live]) t.destroySync();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
}

function removeHandlers(): void {
  if (!handlersInstalled || live.size > 0) return;
  handlersInstalled = false;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', onExit);
}

/** One side of the split: a namespace, its host veth on the bridge, and its agents' addresses. */
export interface Side {
  name: string;
  ns: string;
  /** The host end of the side's veth (a bridge port, where partition and loss are applied). */
  hostVeth: string;
  /** Agent addresses of this side, in order. */
  ips: string[];
}

export interface NetnsAgentOptions {
  node: string;
  /** The gossip bind address. @default this agent's address, port 7946 (e.g. `0.0.0.0:7946` for a wildcard) */
  bind?: string;
  join?: string[];
  profile?: 'lan' | 'wan' | 'local';
  extraArgs?: string[];
}

/** A `gossip agent` running inside a side's namespace. */
export class NetnsAgent {
  readonly node: string;
  readonly side: Side;
  readonly ip: string;
  readonly #topo: NetnsTopology;
  readonly #proc: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';

  constructor(topo: NetnsTopology, side: Side, ip: string, options: NetnsAgentOptions, token: string) {
    this.#topo = topo;
    this.node = options.node;
    this.side = side;
    this.ip = ip;
    const args = [
      'netns',
      'exec',
      side.ns,
      process.execPath,
      builtBin(),
      'agent',
      '--node',
      options.node,
      '--bind',
      options.bind ?? this.addr,
      '--http',
      this.httpAddr,
      '--http-token',
      token,
      '--no-dashboard',
      '--profile',
      options.profile ?? 'local',
    ];
    for (const j of options.join ?? []) args.push('--join', j);
    args.push(...(options.extraArgs ?? []));
    // `ip netns exec` switches namespace and execs the command: the PID is the agent's.
    this.#proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      this.#log += d.toString();
    };
    this.#proc.stdout?.on('data', onData);
    this.#proc.stderr?.on('data', onData);
    this.#exited = new Promise((resolve) => this.#proc.once('exit', () => resolve()));
  }

  /** The gossip `ip:port`. */
  get addr(): string {
    return `${this.ip}:${GOSSIP_PORT}`;
  }

  get httpAddr(): string {
    return `${this.ip}:${HTTP_PORT}`;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** Waits for the startup banner (HTTP API up). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/dashboard:\s+http:\/\//.test(this.#log)) {
      if (!this.running) throw new Error(`agent ${this.node} exited (${this.#proc.exitCode}):\n${this.#log}`);
      if (Date.now() > deadline) throw new Error(`agent ${this.node} did not start:\n${this.#log}`);
      await sleep(50);
    }
  }

  /** The agent's member list (`GET /v1/members`), over the bridge or through the CLI in the namespace. */
  members(): Promise<MemberJson[]> {
    return this.#topo.rootReachesAgents ? this.#membersHttp() : this.#membersCli();
  }

  async #membersHttp(): Promise<MemberJson[]> {
    // As long as the CLI's bound below: on a starved machine an answer can take seconds.
    const res = await fetch(`http://${this.httpAddr}/v1/members`, {
      headers: { authorization: `Bearer ${this.#topo.token}` },
      signal: AbortSignal.timeout(15_000),
    }).catch((e: Error) => {
      throw new Error(`${this.node} /v1/members: ${e.message}`);
    });
    if (!res.ok) throw new Error(`${this.node} /v1/members: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { members: MemberJson[] }).members;
  }

  #membersCli(): Promise<MemberJson[]> {
    const args = ['netns', 'exec', this.side.ns, process.execPath, builtBin(), 'members'];
    args.push('--http', this.httpAddr, '--format', 'json');
    return new Promise((resolve, reject) =>
      execFile(
        'ip',
        args,
        {
          timeout: 15_000,
          encoding: 'utf8',
          env: { ...process.env, GOSSIP_HTTP_TOKEN: this.#topo.token },
        },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`gossip members on ${this.node}: ${err.message}\n${stderr}`));
          else resolve((JSON.parse(stdout) as { members: MemberJson[] }).members);
        },
      ),
    );
  }

  /** SIGKILL by PID, and waits for the exit (bounded). */
  async kill(): Promise<void> {
    if (this.running && this.#proc.pid !== undefined) {
      try {
        process.kill(this.#proc.pid, 'SIGKILL');
      } catch {}
      await Promise.race([this.#exited, sleep(5000)]);
    }
  }
}

export interface TopologyOptions {
  /** Agents per side, e.g. `{a: 2, b: 2}`: a namespace per side, an address per agent. */
  sides: Record<string, number>;
  /**
   * How to cut the sides apart: `isolate` (bridge port isolation), `link-down`, or `auto`
   * (isolation when the kernel has it). `GOSSIP_NETNS_PARTITION` overrides it.
   * @default auto
   */
  partition?: 'auto' | 'isolate' | 'link-down';
}

/** Sides in uniquely named namespaces behind one bridge; see the module comment. */
export class NetnsTopology {
  readonly id: string;
  readonly subnet: string;
  readonly bridge: string;
  readonly bridgeIp: string;
  readonly sides: Side[] = [];
  readonly token = randomBytes(16).toString('hex');
  /** How {@link partition} cuts the sides apart. */
  partitionMode: 'isolate' | 'link-down' = 'isolate';
  readonly agents: NetnsAgent[] = [];
  #partitioned = false;
  #state: TopologyState;
  #statePath: string;
  #destroyed = false;

  private constructor(id: string, octet: number, statePath: string) {
    this.id = id;
    this.subnet = `10.213.${octet}`;
    this.bridge = `gbr${id}`;
    this.bridgeIp = `${this.subnet}.1`;
    this.#statePath = statePath;
    this.#state = { ownerPid: process.pid, namespaces: [], links: [], agentPids: [] };
  }

  /**
   * False in `link-down` mode, where a partition also cuts the root namespace off a side: agents
   * are then always queried through the CLI inside their namespace.
   */
  get rootReachesAgents(): boolean {
    return this.partitionMode === 'isolate';
  }

  /** Builds the topology (sweeping stale ones of killed runs first). Throws, cleaned up, on failure. */
  static create(options: TopologyOptions): NetnsTopology {
    mkdirSync(STATE_DIR, { recursive: true });
    sweepStale();
    const used = new Set<number>();
    for (const m of sh(['ip', '-4', '-o', 'addr', 'show']).out.matchAll(/\b10\.213\.(\d+)\./g)) {
      used.add(Number(m[1]));
    }
    for (const m of sh(['ip', '-4', 'route', 'show']).out.matchAll(/\b10\.213\.(\d+)\./g)) {
      used.add(Number(m[1]));
    }
    // Claim a free /24 atomically: the state file is named after it and created exclusively.
    let topo: NetnsTopology | undefined;
    for (let attempt = 0; attempt < 64 && !topo; attempt++) {
      const octet = Math.floor(Math.random() * 254) + 1;
      if (used.has(octet)) continue;
      const path = join(STATE_DIR, `10.213.${octet}.json`);
      const t = new NetnsTopology(randomBytes(3).toString('hex'), octet, path);
      try {
        writeFileSync(path, JSON.stringify(t.#state), { flag: 'wx' });
      } catch {
        continue;
      }
      topo = t;
    }
    if (!topo) throw new Error('no free 10.213.N.0/24 subnet for the test network');
    live.add(topo);
    installHandlers();
    try {
      topo.#build(options);
    } catch (e) {
      topo.destroySync();
      throw e;
    }
    return topo;
  }

  #save(): void {
    writeFileSync(this.#statePath, JSON.stringify(this.#state));
  }

  #build(options: TopologyOptions): void {
    const st = this.#state;
    const br = this.bridge;
    st.links.push(br);
    this.#save();
    sh(['ip', 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    sh(['ip', 'addr', 'add', `${this.bridgeIp}/24`, 'dev', br]);
    sh(['ip', 'link', 'set', br, 'up']);
    let sideNo = 0;
    for (const [name, count] of Object.entries(options.sides)) {
      sideNo++;
      if (!/^[a-z]$/.test(name)) throw new Error(`side names are single letters; got "${name}"`);
      if (count < 1 || count > 9) throw new Error(`1..9 agents per side; got ${count} for ${name}`);
      const ns = `gossip-${this.id}-${name}`;
      const hostVeth = `gv${this.id}${name}`;
      const peer = `gp${this.id}${name}`;
      st.namespaces.push(ns);
      st.links.push(hostVeth);
      this.#save();
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peer]);
      sh(['ip', 'link', 'set', peer, 'netns', ns]);
      sh(['ip', '-n', ns, 'link', 'set', peer, 'name', 'eth0']);
      sh(['ip', 'link', 'set', hostVeth, 'master', br]);
      sh(['ip', 'link', 'set', hostVeth, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      const ips: string[] = [];
      for (let i = 1; i <= count; i++) {
        const ip = `${this.subnet}.${sideNo * 10 + i}`;
        sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        ips.push(ip);
      }
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      this.sides.push({ name, ns, hostVeth, ips });
    }
    const wanted = process.env.GOSSIP_NETNS_PARTITION ?? options.partition ?? 'auto';
    if (wanted !== 'auto' && wanted !== 'isolate' && wanted !== 'link-down') {
      throw new Error(`GOSSIP_NETNS_PARTITION must be auto, isolate or link-down; got "${wanted}"`);
    }
    const canIsolate = this.sides.every(
      (s) => sh(['bridge', 'link', 'set', 'dev', s.hostVeth, 'isolated', 'off'], true).ok,
    );
    if (wanted === 'isolate' && !canIsolate) throw new Error('this kernel has no bridge port isolation');
    this.partitionMode = wanted === 'link-down' || !canIsolate ? 'link-down' : 'isolate';
  }

  side(name: string): Side {
    const s = this.sides.find((x) => x.name === name);
    if (!s) throw new Error(`no side "${name}"`);
    return s;
  }

  /** Starts an agent on the side's `index`-th address (0-based); wait for {@link NetnsAgent.ready}. */
  startAgent(sideName: string, index: number, options: NetnsAgentOptions): NetnsAgent {
    if (this.#destroyed) throw new Error('topology destroyed');
    const side = this.side(sideName);
    const ip = side.ips[index];
    if (ip === undefined) throw new Error(`side ${sideName} has no address #${index}`);
    const a = new NetnsAgent(this, side, ip, options, this.token);
    this.agents.push(a);
    if (a.pid !== undefined) {
      this.#state.agentPids.push(a.pid);
      this.#save();
    }
    return a;
  }

  /**
   * Gives the side's namespace its own resolver: `ip netns exec` bind-mounts
   * `/etc/netns/NS/resolv.conf` over `/etc/resolv.conf` (removed at teardown).
   */
  setNameserver(sideName: string, ip: string): void {
    const dir = `/etc/netns/${this.side(sideName).ns}`;
    this.#removeAtTeardown(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${ip}\noptions timeout:1 attempts:2\n`);
  }

  #removeAtTeardown(path: string): void {
    const paths = this.#state.paths ?? [];
    paths.push(path);
    this.#state.paths = paths;
    this.#save();
  }

  /** A scratch directory removed at teardown (config files for processes the test starts). */
  scratchDir(): string {
    const dir = join(STATE_DIR, `scratch-${this.id}`);
    this.#removeAtTeardown(dir);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /**
   * Starts `command` inside the side's namespace (a DNS server, say); it is killed by PID at
   * teardown like the agents. Its output goes to the returned `log()`.
   */
  spawnIn(sideName: string, command: string, args: string[]): { proc: ChildProcess; log: () => string } {
    if (this.#destroyed) throw new Error('topology destroyed');
    const proc = spawn('ip', ['netns', 'exec', this.side(sideName).ns, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    if (proc.pid !== undefined) {
      this.#state.agentPids.push(proc.pid);
      this.#save();
    }
    this.#extraProcs.push(proc);
    return { proc, log: () => out };
  }

  readonly #extraProcs: ChildProcess[] = [];

  /** Runs `ip ARGS...` inside the side's namespace (`ip -n NS`), e.g. `['addr', 'del', ...]`. */
  ipIn(sideName: string, args: string[]): void {
    sh(['ip', '-n', this.side(sideName).ns, ...args]);
  }

  /** Cuts every side off every other (the root namespace keeps reaching all with `isolate`). */
  partition(): void {
    for (const s of this.sides) {
      if (this.partitionMode === 'isolate')
        sh(['bridge', 'link', 'set', 'dev', s.hostVeth, 'isolated', 'on']);
      else if (s !== this.sides[0]) sh(['ip', 'link', 'set', s.hostVeth, 'down']);
    }
    this.#partitioned = true;
  }

  /** Ends the partition. */
  heal(): void {
    for (const s of this.sides) {
      if (this.partitionMode === 'isolate')
        sh(['bridge', 'link', 'set', 'dev', s.hostVeth, 'isolated', 'off']);
      else sh(['ip', 'link', 'set', s.hostVeth, 'up']);
    }
    this.#partitioned = false;
  }

  get partitioned(): boolean {
    return this.#partitioned;
  }

  /**
   * Drops a random `fraction` of the packets crossing the side's host veth, each way: a
   * classic-BPF filter (test/support/bpf.ts) in direct-action mode on `clsact` egress and ingress.
   */
  setLoss(sideName: string, fraction: number): void {
    if (!(fraction > 0 && fraction < 1)) throw new Error(`loss must be in (0, 1); got ${fraction}`);
    this.setFilters({ [sideName]: { toSide: [{ fraction }], fromSide: [{ fraction }] } });
  }

  /**
   * Replaces the packet filters of each side named in `bySide` (all in one `tc -batch` run, so
   * that a fault starts on every side at once): `toSide` rules see what the bridge sends into the
   * side's namespace (the host veth's egress), `fromSide` rules what the side sends out (its
   * ingress). Each rule is one filter; a packet is dropped by the first rule that matches it.
   * A side given no rules is left without filters.
   */
  setFilters(bySide: Record<string, SideFilters>): void {
    const lines: string[] = [];
    for (const [name, rules] of Object.entries(bySide)) {
      const dev = this.side(name).hostVeth;
      lines.push(`qdisc del dev ${dev} clsact`);
      const hooks = [
        ['egress', rules.toSide ?? []],
        ['ingress', rules.fromSide ?? []],
      ] as const;
      if (hooks.every(([, list]) => list.length === 0)) continue;
      lines.push(`qdisc add dev ${dev} clsact`);
      for (const [dir, list] of hooks) {
        for (const rule of list)
          lines.push(`filter add dev ${dev} ${dir} bpf da bytecode "${ruleBytecode(rule)}"`);
      }
    }
    tcBatch(lines);
  }

  /** Removes the side's loss filter and every other packet filter (if any). */
  clearLoss(sideName: string): void {
    this.setFilters({ [sideName]: {} });
  }

  /**
   * Packets that met the side's loss filters (both ways) and how many they dropped, from the
   * `clsact` qdisc's counters (`tc -s qdisc`); undefined without a filter.
   */
  lossStats(sideName: string): { packets: number; dropped: number } | undefined {
    const r = sh(['tc', '-s', 'qdisc', 'show', 'dev', this.side(sideName).hostVeth], true);
    const m = /qdisc clsact[^\n]*\n\s*Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(r.out);
    return m ? { packets: Number(m[1]), dropped: Number(m[2]) } : undefined;
  }

  /** Names of our links and namespaces that still exist (empty after a clean teardown). */
  leftovers(): string[] {
    const links = sh(['ip', '-o', 'link', 'show'], true).out;
    const nss = sh(['ip', 'netns', 'list'], true).out;
    return [...this.#state.links, ...this.#state.namespaces].filter(
      (n) => links.includes(`${n}:`) || links.includes(`${n}@`) || nss.split(/\s+/).includes(n),
    );
  }

  /** Kills every agent (by PID) and deletes everything it created. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all(this.agents.map((a) => a.kill()));
    this.destroySync();
  }

  /** Synchronous {@link destroy} (signal and exit handlers): SIGKILL, no waiting. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const a of this.agents) {
      if (a.running && a.pid !== undefined) {
        try {
          process.kill(a.pid, 'SIGKILL');
        } catch {}
      }
    }
    for (const p of this.#extraProcs) {
      if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {}
      }
    }
    teardownSync(this.#state);
    rmSync(this.#statePath, { force: true });
    live.delete(this);
    removeHandlers();
  }
}
