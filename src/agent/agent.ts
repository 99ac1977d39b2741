/**
 * The agent: one Serf-compatible node as a long-running program. It owns what the library
 * leaves out — sockets, files, the HTTP API and dashboard, metrics, logs, the join retry loop,
 * and the lifecycle (start, graceful leave, shutdown). The CLI starts it and handles signals.
 *
 * Event pipeline, in Serf's order: cluster events → (snapshot) → coalescing → handlers, and in
 * parallel → the event hub that the HTTP event stream and the dashboard read.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type {
  AgentEvent,
  AgentEventMap,
  AgentEventType,
  AgentResponse,
  InfoResponse,
  KeysResponse,
  KvEntryJson,
  KvListResponse,
  KvWatchEvent,
  KvWriteResponse,
  MemberDetail,
  MemberJson,
  QueryLine,
  ReplicasResponse,
  RttResponse,
} from '../api/types.ts';
import {
  CoalescingStage,
  MemberEventCoalescer,
  Serf,
  type SerfEvent,
  type SerfMember,
  UserEventCoalescer,
} from '../cluster/index.ts';
import { DnsResolver } from '../discovery/dns-resolver.ts';
import type { Resolver } from '../discovery/resolver.ts';
import { SeedDiscovery } from '../discovery/seed-discovery.ts';
import { parseSeeds } from '../discovery/seeds.ts';
import { resolveSources } from '../discovery/sources.ts';
import { serfTarget } from '../discovery/targets.ts';
import { JoinError, StateError } from '../errors.ts';
import { type HealthReport, HealthTracker } from '../health/health.ts';
import { gracefulShutdown, type ShutdownResult } from '../health/shutdown.ts';
import type { Member } from '../membership/index.ts';
import { RealClock, type Timer } from '../runtime/clock.ts';
import { ReplicatedState } from '../state/index.ts';
import { UdpTcpTransport } from '../transport/udp-tcp.ts';
import { PACKAGE_VERSION, PROTOCOL_SUMMARY } from '../version.ts';
import { Keyring } from '../wire/crypto.ts';
import { joinHostPort, splitHostPort } from '../wire/ip.ts';
import type { AgentConfig, LogLevel } from './config.ts';
import {
  DASHBOARD_HEADERS,
  type DashboardAssets,
  dashboardMissing,
  loadDashboardAssets,
} from './dashboard.ts';
import { HandlerRunner, parseHandlerSpec } from './handlers.ts';
import { type AgentApi, createHttpApp, type MemberFilter, type QueryOrder } from './http.ts';
import { Hub } from './hub.ts';
import { KEYRING_DIR_TAG, KeyringDirRotator, keyringFromDir, readKeyringDir } from './keyring-dir.ts';
import { readKeyringFile, writeKeyringFile } from './keyring-file.ts';
import * as kv from './kv.ts';
import { type AgentLogger, createAgentLogger, type LogRecord } from './logging.ts';
import { AgentMetrics } from './metrics.ts';
import { chooseAdvertiseAddr, hostNetwork, isLoopbackAddr } from './network.ts';
import { serve } from './router.ts';
import { readSnapshot, type SnapshotState, SnapshotWriter } from './snapshot.ts';
import { StateFile } from './state-file.ts';

/** Serf agent's coalescing of member and user events before handlers (3 s quantum, 1 s quiet). */
export const COALESCE_PERIOD_MS = 3000;
export const QUIESCENT_PERIOD_MS = 1000;

/** A record on the agent's event stream (`GET /v1/events`), typed in `src/api/types.ts`. */
export type { AgentEvent };

/** An event's data without its time, which {@link Agent} adds when it publishes. */
type Untimed<T> = T extends unknown ? Omit<T, 'at'> : never;

/** Events kept for a dashboard that connects late. */
export const EVENT_HUB_HISTORY = 500;

/** How often the agent publishes `stats` (the dashboard's charts) while someone reads the event stream. */
export const STATS_INTERVAL_MS = 1000;
/**
 * How often it does while nobody does: the history a dashboard opened later replays is coarser,
 * and an idle agent wakes up for it once in 10 s instead of every second. A reader's arrival
 * brings the next sample forward to {@link STATS_INTERVAL_MS}.
 */
export const STATS_IDLE_INTERVAL_MS = 10_000;

const LEVEL_ORDER: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class Agent implements AgentApi {
  readonly config: AgentConfig;
  readonly log: AgentLogger;
  readonly events = new Hub<AgentEvent>(EVENT_HUB_HISTORY);
  readonly serf: Serf;
  /** The replicated key/value state (`gossip kv`, `/v1/kv`). */
  readonly state: ReplicatedState;
  readonly transport: UdpTcpTransport;
  readonly metrics: AgentMetrics;
  /** Liveness and readiness (`/v1/health/live`, `/v1/health/ready`). */
  readonly healthTracker: HealthTracker;
  readonly startedAt = Date.now();
  #http: Server | undefined;
  #httpAddr = '';
  #dashboard: DashboardAssets | undefined;
  /** The dashboard is on and built; its files are read on the first request. */
  #dashboardWanted = false;
  #discovery: SeedDiscovery | undefined;
  readonly #resolver: Resolver;
  /** Our own addresses besides the advertised one (never joined: a join to ourselves is no join). */
  readonly #ownAddrs: readonly string[];
  #statsTimer: Timer | undefined;
  #stopped = false;
  #onExit: (code: number) => void = () => {};
  readonly #clock = new RealClock();
  readonly #snapshot: SnapshotWriter | undefined;
  readonly #previous: SnapshotState | undefined;
  readonly #stateFile: StateFile | undefined;
  readonly handlers: HandlerRunner;
  readonly #stages: CoalescingStage<SerfEvent>[] = [];

  private constructor(
    config: AgentConfig,
    log: AgentLogger,
    transport: UdpTcpTransport,
    serf: Serf,
    snapshot: { writer: SnapshotWriter; state: SnapshotState } | undefined,
    resolver: Resolver,
    ownAddrs: readonly string[],
    state: { state: ReplicatedState; file: StateFile | undefined },
  ) {
    this.config = config;
    this.#resolver = resolver;
    this.#ownAddrs = ownAddrs;
    this.log = log;
    this.transport = transport;
    this.serf = serf;
    this.state = state.state;
    this.#stateFile = state.file;
    this.#snapshot = snapshot?.writer;
    this.#previous = snapshot?.state;
    // Without seeds, the node is meant to start a cluster: ready once running.
    this.healthTracker = new HealthTracker(serf, { alone: config.join.length === 0 });
    this.handlers = new HandlerRunner(
      config.eventHandlers.flatMap(parseHandlerSpec),
      () => serf.localMember,
      log,
    );
    const ml = serf.memberlist;
    this.metrics = new AgentMetrics({
      memberlist: () => ml.stats,
      transportDropped: () => {
        const t = transport.stats;
        return {
          'transport-streams-full': t.inboundStreamsRejected,
          'transport-not-ready': t.inboundStreamsDroppedBeforeAttach + t.packetsDroppedBeforeAttach,
        };
      },
      membersByStatus: () => {
        const out: Record<string, number> = { alive: 0, leaving: 0, left: 0, failed: 0 };
        for (const m of serf.members()) out[m.status] = (out[m.status] ?? 0) + 1;
        return out;
      },
      swimStatusCounts: () => {
        const out: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
        for (const m of ml.allMembers()) out[m.status] = (out[m.status] ?? 0) + 1;
        return out;
      },
      healthScore: () => ml.healthScore,
      queueDepths: () => {
        const s = serf.stats();
        return {
          memberlist: ml.queueDepth,
          intents: s.intentQueue,
          events: s.eventQueue,
          queries: s.queryQueue,
        };
      },
      serfCounters: () => {
        const out: Record<string, number> = {};
        for (const [k, v] of Object.entries(serf.stats().counters)) if (typeof v === 'number') out[k] = v;
        return out;
      },
      eventLoopLagMs: () => ml.stats.eventLoopLagMs,
      state: () => this.state.info(),
      stateLag: () => this.state.replicationLag(),
    });
  }

  /**
   * Builds an agent from a validated config: binds the gossip sockets and creates the Serf
   * node, but starts nothing. Throws a `ConfigError` with the fix when something is wrong.
   */
  static async create(config: AgentConfig, options: { out?: NodeJS.WritableStream } = {}): Promise<Agent> {
    const log = createAgentLogger({
      level: config.logLevel,
      format: config.logFormat,
      ...(options.out ? { out: options.out } : {}),
    });
    config.eventHandlers.flatMap(parseHandlerSpec); // validate before binding anything
    const dirKeys = config.keyringDir ? readKeyringDir(config.keyringDir) : undefined;
    const keyring = dirKeys ? keyringFromDir(dirKeys) : loadKeyring(config, log);
    let snapshot: { writer: SnapshotWriter; state: SnapshotState } | undefined;
    if (config.dataDir) {
      const path = join(config.dataDir, 'snapshot');
      const state = readSnapshot(path, log);
      snapshot = { writer: new SnapshotWriter(path, state, log), state };
    }
    const transport = await UdpTcpTransport.listen({ bindAddr: config.bindAddr });
    const resolver = new DnsResolver();
    let advertise: string;
    let ownAddrs: string[];
    try {
      ({ advertise, ownAddrs } = await chooseAddresses(config, transport.localAddr, resolver, log));
    } catch (e) {
      await transport.shutdown();
      throw e;
    }
    const s = snapshot?.state;
    const serf = new Serf({
      name: config.nodeName,
      transport,
      // With --keyring-dir, the files' keyring fingerprint is published for the rotation.
      tags: dirKeys ? { ...config.tags, [KEYRING_DIR_TAG]: dirKeys.fingerprint } : config.tags,
      profile: config.profile,
      memberlist: {
        advertiseAddr: advertise,
        label: config.label,
        labelAcceptUnlabeled: config.labelAcceptUnlabeled,
        labelSendUnlabeled: config.labelSendUnlabeled,
      },
      reconnectIntervalMs: config.reconnectIntervalMs,
      reconnectTimeoutMs: config.reconnectTimeoutMs,
      tombstoneTimeoutMs: config.tombstoneTimeoutMs,
      logger: log,
      ...(keyring ? { keyring } : {}),
      ...(s ? { restoredClocks: { member: s.memberClock, event: s.eventClock, query: s.queryClock } } : {}),
    });
    // Our own map survives restarts in the data dir; the generation is the wall clock (and, with
    // a state file, past the saved one), so a restarted node's new writes win everywhere.
    const stateFile = config.dataDir ? new StateFile(join(config.dataDir, 'state'), log) : undefined;
    let state: ReplicatedState;
    try {
      state = new ReplicatedState({
        serf,
        generation: Date.now(),
        ...(stateFile ? { persistence: stateFile } : {}),
      });
    } catch (e) {
      await transport.shutdown();
      throw e;
    }
    const agent = new Agent(config, log, transport, serf, snapshot, resolver, ownAddrs, {
      state,
      file: stateFile,
    });
    if (dirKeys && config.keyringDir) {
      agent.#keyringDir = new KeyringDirRotator({
        dir: config.keyringDir,
        serf,
        clock: agent.#clock,
        logger: log,
        initial: dirKeys,
        report: (r) =>
          agent.events.publish({ event: 'keyring-dir', data: { ...r, at: new Date().toISOString() } }),
      });
    }
    return agent;
  }

  /** The `--keyring-dir` watcher and rotation, when configured. */
  #keyringDir: KeyringDirRotator | undefined;

  /** The HTTP API's `ip:port` (known once started). */
  get httpAddr(): string {
    return this.#httpAddr;
  }

  /** The gossip address peers reach us at. */
  get gossipAddr(): string {
    return this.serf.memberlist.localNode.address;
  }

  /** Called with the exit code when the agent stops itself (after an API leave, or losing a name conflict). */
  onExit(fn: (code: number) => void): void {
    this.#onExit = fn;
  }

  /**
   * Starts the HTTP API, then gossip and the background join. `announce` runs once the HTTP
   * address is known and before gossip starts logging (the CLI prints the dashboard URL there).
   */
  async start(announce?: (agent: Agent) => void): Promise<void> {
    const serf = this.serf;
    if (this.config.dashboard) {
      const missing = dashboardMissing();
      if (missing === undefined) this.#dashboardWanted = true;
      else this.log.warn(`no dashboard: ${missing}`);
    }
    await this.#listenHttp();
    announce?.(this);
    this.#wireEvents();
    serf.start();
    this.log.info('gossip agent running', {
      node: this.config.nodeName,
      gossip: this.gossipAddr,
      http: `http://${this.#httpAddr}/`,
      encrypted: serf.keyring !== undefined,
      ...(this.config.label ? { label: this.config.label } : {}),
      profile: this.config.profile,
      protocol: PROTOCOL_SUMMARY,
    });
    this.#rejoinFromSnapshot();
    if (this.config.join.length > 0) this.#startDiscovery();
    this.#keyringDir?.start();
    this.#scheduleStats(STATS_INTERVAL_MS);
  }

  async #listenHttp(): Promise<void> {
    const hp = splitHostPort(this.config.httpAddr)!;
    const app = createHttpApp(this, this.config.httpToken);
    try {
      this.#http = await serve(app, hp.host, hp.port);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new StateError(
        e.code === 'EADDRINUSE'
          ? `the HTTP address ${this.config.httpAddr} is in use: pick another with --http IP:PORT (port 0 picks a free one)`
          : `cannot serve HTTP on ${this.config.httpAddr}: ${e.message}`,
      );
    }
    const bound = this.#http.address() as AddressInfo;
    this.#httpAddr = joinHostPort(bound.address, bound.port);
  }

  /** Seed discovery (src/discovery), running while the agent does; undefined without `--join`. */
  get discovery(): SeedDiscovery | undefined {
    return this.#discovery;
  }

  /**
   * Joins through the seeds in the background and keeps resolving them for as long as the agent
   * runs (src/discovery): a node left alone, or on an island, finds the cluster again. It
   * replaces Serf's `retry_join`, which stops after the first join.
   */
  #startDiscovery(): void {
    const c = this.config;
    const discovery = new SeedDiscovery({
      seeds: c.join,
      target: serfTarget(this.serf, { ignoreOld: !c.replay, extraAddresses: this.#ownAddrs }),
      resolver: this.#resolver,
      clock: this.#clock,
      logger: this.log,
      retryBaseMs: c.retryJoinMs,
      retryMaxMs: c.retryJoinMaxMs,
      maxAttempts: c.joinMaxAttempts,
      ttlFloorMs: c.discoveryTtlMinMs,
      ttlCeilingMs: c.discoveryTtlMaxMs,
      bootstrap:
        c.bootstrapMinPeers > 0
          ? { minPeers: c.bootstrapMinPeers, stableMarginMs: c.bootstrapStableMs }
          : undefined,
    });
    discovery.on('formed', ({ reason, through, peers }) => {
      // The bootstrap gate chose us to start the cluster: ready alone, by choice.
      if (reason === 'lowest-name') this.healthTracker.markAlone('formed a new cluster (bootstrap gate)');
      this.log.info(
        reason === 'lowest-name'
          ? 'formed a new cluster (lowest name among the peers found)'
          : 'joined the cluster',
        {
          reason,
          through,
          members: peers.length + 1,
        },
      );
      this.events.publish({
        event: 'discovery',
        data: { formed: reason, through, at: new Date().toISOString() },
      });
    });
    discovery.on('gave-up', ({ attempts, lastOutcome }) => {
      this.log.error(`no join after ${attempts} attempts (--join-max-attempts): stopping`, { lastOutcome });
      void this.stop().then(() => this.#onExit(1));
    });
    this.#discovery = discovery;
    discovery.start();
  }

  /** After a restart without a graceful leave, rejoin the members the snapshot remembers. */
  #rejoinFromSnapshot(): void {
    const prev = this.#previous;
    if (!prev || prev.left || prev.alive.size === 0) return;
    const previous = [...prev.alive]
      .filter(([n]) => n !== this.config.nodeName)
      .map(([name, addr]) => ({ name, addr }));
    if (previous.length === 0) return;
    this.log.info('rejoining the members remembered in the snapshot', { count: previous.length });
    this.serf
      .rejoin(previous)
      .catch((e: Error) => this.log.warn('snapshot rejoin failed', { error: e.message }));
  }

  /**
   * Serf's event pipeline: snapshot first (it must see every event), then coalescing (bursts of
   * member events and coalescable user events become one), then the handlers.
   */
  #wireHandlers(): void {
    const serf = this.serf;
    const snap = this.#snapshot;
    const handlers = this.handlers;
    let sink = (e: SerfEvent) => handlers.handle(e);
    if (handlers.size > 0) {
      for (const coalescer of [new UserEventCoalescer(), new MemberEventCoalescer()]) {
        const next = sink;
        const stage = new CoalescingStage<SerfEvent>({
          clock: this.#clock,
          coalescer,
          emit: next,
          coalescePeriodMs: COALESCE_PERIOD_MS,
          quiescentPeriodMs: QUIESCENT_PERIOD_MS,
        });
        this.#stages.push(stage);
        sink = (e) => stage.push(e);
      }
    }
    serf.on('event', (e) => {
      if (snap) {
        if (e.type === 'user') snap.eventClock(e.lTime);
        else if (e.type === 'query') snap.queryClock(e.lTime);
        else if (e.type === 'member-join' || e.type === 'member-update') {
          for (const m of e.members) snap.alive(m.name, joinHostPort(m.addr, m.port));
        } else if (e.type === 'member-leave' || e.type === 'member-failed' || e.type === 'member-reap') {
          for (const m of e.members) snap.notAlive(m.name);
        }
      }
      if (handlers.size > 0) sink(e);
    });
    if (snap) {
      serf.on('clock', ({ clock, time }) => {
        if (clock === 'member') snap.memberClock(time);
      });
    }
    const keyringFile = this.config.keyringFile;
    if (keyringFile) {
      serf.on('keyring', () => this.#saveKeyring());
    }
  }

  #saveKeyring(): void {
    const file = this.config.keyringFile;
    const keyring = this.serf.keyring;
    if (!file || !keyring) return;
    try {
      writeKeyringFile(file, keyring);
    } catch (e) {
      this.log.error('cannot write the keyring file', { path: file, error: (e as Error).message });
    }
  }

  #wireEvents(): void {
    const serf = this.serf;
    const ml = serf.memberlist;
    this.#wireHandlers();
    const publish = <E extends AgentEventType>(event: E, data: Untimed<AgentEventMap[E]>) =>
      this.events.publish({ event, data: { ...data, at: new Date().toISOString() } } as AgentEvent);
    for (const type of [
      'member-join',
      'member-leave',
      'member-failed',
      'member-update',
      'member-reap',
    ] as const) {
      serf.on(type, (e) => {
        for (const m of e.members) {
          publish(type, { member: this.#detail(m) });
        }
      });
    }
    serf.on('user', (e) =>
      publish('user', { name: e.name, ...payloadJson(e.payload), lTime: e.lTime, coalesce: e.coalesce }),
    );
    serf.on('query', (q) => {
      publish('query', { name: q.name, ...payloadJson(q.payload), lTime: q.lTime, from: q.sourceNode });
    });
    serf.on('shutdown', ({ reason }) => {
      if (reason === 'name-conflict') {
        this.log.error(
          'another node owns this name and the cluster agrees with it: shutting down (no leave)',
          {
            node: this.config.nodeName,
          },
        );
        void this.stop().then(() => this.#onExit(1));
      }
    });
    ml.on('suspect', ({ member, from }) =>
      publish('member-suspect', { member: this.#swimDetail(member), from }),
    );
    ml.on('refute', ({ incarnation, reason }) => publish('refute', { incarnation, reason }));
    ml.on('memberRefuted', ({ member }) => publish('member-refute', { member: this.#swimDetail(member) }));
    ml.on('probe', (p) => publish('probe', { ...p }));
    ml.on('health', ({ score, reason }) => publish('health', { score, reason }));
    ml.on('dropped', ({ reason, from, detail }) => this.log.debug('dropped input', { reason, from, detail }));
    ml.on('pushPull', (e) =>
      this.metrics.pushPullDuration.observe(
        { initiated: String(e.initiated), join: String(e.join) },
        e.durationMs / 1000,
      ),
    );
  }

  #lastStats = { at: 0, in: 0, out: 0, bytesIn: 0, bytesOut: 0 };

  #publishStats(): void {
    if (this.#stopped) return;
    const s = this.serf.memberlist.stats;
    const now = performance.now();
    const dt = this.#lastStats.at === 0 ? 1 : (now - this.#lastStats.at) / 1000;
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const msgsIn = sum(s.messagesReceived);
    const msgsOut = sum(s.messagesSent);
    const members: Record<string, number> = { alive: 0, leaving: 0, left: 0, failed: 0 };
    for (const m of this.serf.members()) members[m.status] = (members[m.status] ?? 0) + 1;
    this.events.publish({
      event: 'stats',
      data: {
        at: new Date().toISOString(),
        healthScore: this.serf.memberlist.healthScore,
        queueDepth: (() => {
          const st = this.serf.stats();
          return this.serf.memberlist.queueDepth + st.intentQueue + st.eventQueue + st.queryQueue;
        })(),
        msgsInPerSec: (msgsIn - this.#lastStats.in) / dt,
        msgsOutPerSec: (msgsOut - this.#lastStats.out) / dt,
        bytesInPerSec: (s.bytesReceived - this.#lastStats.bytesIn) / dt,
        bytesOutPerSec: (s.bytesSent - this.#lastStats.bytesOut) / dt,
        members,
      },
    });
    this.#lastStats = { at: now, in: msgsIn, out: msgsOut, bytesIn: s.bytesReceived, bytesOut: s.bytesSent };
    this.#scheduleStats(this.events.subscribers > 0 ? STATS_INTERVAL_MS : STATS_IDLE_INTERVAL_MS);
  }

  /** The delay of the pending `stats` sample. */
  #statsDelayMs = 0;

  #scheduleStats(delayMs: number): void {
    this.#statsTimer?.cancel();
    this.#statsDelayMs = delayMs;
    this.#statsTimer = this.#clock.setTimer(delayMs, () => this.#publishStats());
  }

  // -------------------------------------------------------------------------------------------
  // AgentApi

  #filtered(filter: MemberFilter): SerfMember[] {
    return this.serf.members().filter((m) => {
      if (filter.status !== undefined && m.status !== filter.status) return false;
      if (filter.name && !filter.name.test(m.name)) return false;
      for (const [k, re] of filter.tags) if (!re.test(m.tags[k] ?? '')) return false;
      return true;
    });
  }

  /** `serf members -format=json` shape. */
  membersJson(filter: MemberFilter): MemberJson[] {
    return this.#filtered(filter).map((m) => ({
      name: m.name,
      addr: joinHostPort(m.addr, m.port),
      port: m.port,
      tags: m.tags,
      status: m.status,
      protocol: { max: m.delegate.max, min: m.delegate.min, version: m.delegate.version },
    }));
  }

  #detail(m: SerfMember): MemberDetail {
    const swim = this.serf.memberlist.member(m.name);
    return {
      name: m.name,
      addr: joinHostPort(m.addr, m.port),
      port: m.port,
      tags: m.tags,
      status: m.status,
      swimStatus: swim?.status ?? (m.status === 'left' ? 'left' : 'dead'),
      incarnation: swim?.incarnation ?? 0,
      // The clock is monotonic (ms); turn the last SWIM state change into wall time.
      lastChange: swim
        ? new Date(Date.now() - (this.#clock.now() - swim.stateChangeAt)).toISOString()
        : undefined,
      protocol: { max: m.delegate.max, min: m.delegate.min, version: m.delegate.version },
      memberlistProtocol: { max: m.protocol.max, min: m.protocol.min, version: m.protocol.version },
      isLocal: m.name === this.config.nodeName,
    };
  }

  #swimDetail(member: Member): MemberDetail | { name: string; swimStatus: Member['status'] } {
    const serfMember = this.serf.member(member.name);
    return serfMember
      ? { ...this.#detail(serfMember), swimStatus: member.status }
      : { name: member.name, swimStatus: member.status };
  }

  membersDetail(filter: MemberFilter): MemberDetail[] {
    return this.#filtered(filter).map((m) => this.#detail(m));
  }

  member(name: string): MemberDetail | undefined {
    const m = this.serf.member(name);
    return m ? this.#detail(m) : undefined;
  }

  self(): AgentResponse {
    const ml = this.serf.memberlist;
    const s = this.serf.stats();
    return {
      ...this.#detail(this.serf.localMember),
      healthScore: ml.healthScore,
      healthScoreMax: ml.options.awarenessMaxMultiplier,
      queues: {
        memberlist: ml.queueDepth,
        intents: s.intentQueue,
        events: s.eventQueue,
        queries: s.queryQueue,
      },
      uptimeMs: Date.now() - this.startedAt,
      version: PACKAGE_VERSION,
      clocks: this.serf.clocks,
      encrypted: s.encrypted,
      http: this.#httpAddr,
      profile: this.config.profile,
      eventLoopLagMs: ml.stats.eventLoopLagMs,
    };
  }

  info(): InfoResponse {
    const s = this.serf.stats();
    return {
      agent: { name: this.config.nodeName, version: PROTOCOL_SUMMARY },
      runtime: { os: process.platform, arch: process.arch, node: process.version, pid: process.pid },
      serf: {
        members: s.members,
        failed: s.failed,
        left: s.left,
        health_score: s.healthScore,
        member_time: s.memberTime,
        event_time: s.eventTime,
        query_time: s.queryTime,
        intent_queue: s.intentQueue,
        event_queue: s.eventQueue,
        query_queue: s.queryQueue,
        encrypted: s.encrypted,
      },
      tags: this.serf.tags,
    };
  }

  async join(addrs: string[], replay: boolean): Promise<number> {
    const resolved = await resolveJoinAddrs(addrs, this.#resolver);
    const n = await this.serf.join(resolved, { ignoreOld: !replay });
    this.#discovery?.poke();
    return n;
  }

  /** Graceful leave (the agent keeps answering until `stop()`). */
  async leave(): Promise<void> {
    this.log.info('leaving the cluster gracefully');
    await this.serf.leave();
    this.#snapshot?.leave();
    this.log.info('left the cluster');
  }

  afterLeave(): void {
    void this.stop().then(() => this.#onExit(0));
  }

  userEvent(name: string, payload: Uint8Array, coalesce: boolean): number {
    const lTime = this.serf.clocks.event;
    this.serf.userEvent(name, payload, { coalesce });
    return lTime;
  }

  /** Sends a query at once (so size errors throw before any streaming), then streams its answers. */
  query(q: QueryOrder, signal: AbortSignal): AsyncIterable<QueryLine> {
    const resp = this.serf.query(q.name, q.payload, {
      filterNodes: q.filterNodes,
      filterTags: q.filterTags,
      requestAck: q.requestAck,
      relayFactor: q.relayFactor,
      signal,
      ...(q.timeoutMs !== undefined ? { timeoutMs: q.timeoutMs } : {}),
    });
    const started = performance.now();
    const stamp = () => ({
      elapsedMs: Math.round(performance.now() - started),
      at: new Date().toISOString(),
    });
    return (async function* () {
      let acks = 0;
      let responses = 0;
      try {
        for await (const r of resp) {
          if (r.type === 'ack') {
            acks++;
            yield { type: 'ack', from: r.from, ...stamp() } as const;
          } else {
            responses++;
            yield {
              type: 'response',
              from: r.from,
              payload: new TextDecoder().decode(r.payload),
              ...stamp(),
            } as const;
          }
        }
      } catch (e) {
        if (!signal.aborted) throw e;
      }
      yield { type: 'done', acks, responses } as const;
    })();
  }

  rtt(a: string, b: string | undefined): RttResponse | string {
    const other = b ?? this.config.nodeName;
    for (const n of [a, other]) {
      if (this.serf.member(n) === undefined) return `no member named "${n}"`;
      if (this.serf.memberCoordinate(n) === undefined) {
        return `no network coordinate for "${n}" yet (coordinates come with probe acks; try again in a few seconds)`;
      }
    }
    return { a, b: other, rttMs: this.serf.estimateRttMs(a, other)! };
  }

  async listKeys(): Promise<KeysResponse> {
    return this.serf.keyManager.listKeys();
  }

  async keyOp(op: 'install' | 'use' | 'remove', key: string): Promise<KeysResponse> {
    Keyring.parseKey(key);
    const km = this.serf.keyManager;
    const r = await (op === 'install'
      ? km.installKey(key)
      : op === 'use'
        ? km.useKey(key)
        : km.removeKey(key));
    this.#saveKeyring();
    return r;
  }

  async setTags(set: Record<string, string>, del: string[]): Promise<Record<string, string>> {
    const tags = { ...this.serf.tags, ...set };
    for (const k of del) delete tags[k];
    await this.serf.setTags(tags);
    return this.serf.tags;
  }

  subscribeEvents(signal: AbortSignal): AsyncIterable<AgentEvent> {
    const sub = this.events.subscribe({ replay: true, signal });
    // A reader came while samples were sparse: the next one in a second, then every second.
    if (this.#statsTimer !== undefined && !this.#stopped && this.#statsDelayMs > STATS_INTERVAL_MS) {
      this.#scheduleStats(STATS_INTERVAL_MS);
    }
    return sub;
  }

  async *subscribeLogs(level: string, signal: AbortSignal): AsyncIterable<LogRecord> {
    const min = LEVEL_ORDER[level] ?? 1;
    for await (const r of this.log.hub.subscribe({ replay: true, signal })) {
      if ((LEVEL_ORDER[r.level] ?? 0) >= min) yield r;
    }
  }

  renderMetrics(): Promise<{ contentType: string; body: string }> {
    return this.metrics.render();
  }

  /** A dashboard file; the files are read on the first request (an agent nobody looks at holds none). */
  async dashboardAsset(path: string) {
    if (this.#dashboardWanted && this.#dashboard === undefined) {
      try {
        this.#dashboard = loadDashboardAssets();
      } catch (e) {
        this.#dashboardWanted = false;
        this.log.warn(`no dashboard: ${(e as Error).message}`);
      }
    }
    const a = this.#dashboard?.get(path);
    return a ? { ...a, headers: DASHBOARD_HEADERS } : undefined;
  }

  setLogLevel(level: LogLevel): void {
    this.log.setLevel(level);
  }

  kvList(filter: { node?: string | undefined; prefix?: string | undefined }): KvListResponse {
    return kv.kvList(this.state, filter);
  }

  kvGet(key: string, node: string | undefined): KvEntryJson | undefined {
    return kv.kvGet(this.state, key, node);
  }

  kvSet(
    key: string,
    value: Uint8Array,
    options: { ttlMs?: number | undefined; ephemeral: boolean },
  ): KvWriteResponse {
    return kv.kvSet(this.state, key, value, options);
  }

  kvDelete(key: string): KvWriteResponse | undefined {
    return kv.kvDelete(this.state, key);
  }

  kvWatch(
    options: { node?: string | undefined; prefix?: string | undefined; since?: string | undefined },
    signal: AbortSignal,
  ): AsyncIterable<KvWatchEvent> {
    return kv.kvWatch(this.state, options, signal);
  }

  kvWatchCount(): number {
    return this.state.watchCount;
  }

  kvMaxValueBytes(): number {
    return this.state.options.maxValueBytes;
  }

  replicas(node: string): Promise<ReplicasResponse> {
    return kv.replicas(this.state, node);
  }

  /** Liveness and readiness, as the health endpoints answer. */
  health(): HealthReport {
    return this.healthTracker.health();
  }

  #shutdown: Promise<ShutdownResult> | undefined;

  /**
   * The SIGTERM sequence (src/health/shutdown.ts): not ready, leave, stay up while the leave
   * spreads, stop, all within `shutdownGraceMs` less the exit margin. Calling it again returns
   * the same shutdown.
   */
  shutdownGracefully(): Promise<ShutdownResult> {
    this.#shutdown ??= gracefulShutdown(this.serf, {
      gracePeriodMs: this.config.shutdownGraceMs,
      health: this.healthTracker,
      logger: this.log,
      stop: async () => {
        if (this.serf.state === 'left') this.#snapshot?.leave();
        await this.stop();
      },
    }).then((r) => {
      this.log.info(
        r.leftGracefully ? 'left the cluster and stopped' : 'stopped (the leave did not complete)',
        {
          elapsedMs: Math.round(r.elapsedMs),
          budgetMs: r.plan.deadlineMs,
        },
      );
      return r;
    });
    return this.#shutdown;
  }

  /** Stops everything: HTTP, timers, gossip. Does not leave; call `leave()` first for that. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#discovery?.stop();
    this.#keyringDir?.stop();
    this.#statsTimer?.cancel();
    for (const stage of this.#stages) stage.stop();
    this.healthTracker.markLeaving('the agent is stopping');
    await this.serf.shutdown();
    await this.handlers.idle();
    this.#snapshot?.close();
    this.#stateFile?.close();
    await new Promise<void>((resolve) => {
      if (!this.#http) return resolve();
      this.#http.close(() => resolve());
      this.#http.closeAllConnections?.();
    });
    this.log.info('agent stopped');
  }
}

/** The keyring from the keyring file and/or --encrypt; writes the file when it is new. */
function loadKeyring(config: AgentConfig, log: AgentLogger): Keyring | undefined {
  const file = config.keyringFile;
  let keyring = file ? readKeyringFile(file) : undefined;
  if (config.encryptKey) {
    const key = Keyring.parseKey(config.encryptKey);
    if (!keyring) keyring = new Keyring([key]);
    else if (!keyring.hasKey(key)) {
      keyring.addKey(key);
      log.warn('--encrypt key was not in the keyring file; installed it (not primary)', { file });
    }
  }
  if (file && keyring) writeKeyringFile(file, keyring);
  return keyring;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as `{payload}` text when it is valid UTF-8, else `{payloadBase64}`. */
export function payloadJson(payload: Uint8Array): { payload: string } | { payloadBase64: string } {
  try {
    return { payload: strictUtf8.decode(payload) };
  } catch {
    return { payloadBase64: Buffer.from(payload).toString('base64') };
  }
}

/**
 * Resolves seeds (`IP:PORT`, `HOST:PORT`, `dns+srv://NAME`; port 7946 by default) to `ip:port`
 * for one join. Rejects with a JoinError saying why when none resolves.
 */
export async function resolveJoinAddrs(
  addrs: readonly string[],
  resolver: Resolver = new DnsResolver(),
): Promise<string[]> {
  let sources: ReturnType<typeof parseSeeds>;
  try {
    sources = parseSeeds(addrs);
  } catch (e) {
    throw new JoinError((e as Error).message, []);
  }
  const pass = await resolveSources(sources, resolver, new Set());
  if (pass.addrs.length === 0) {
    const why = pass.sources.map((s) => `${s.spec}: ${s.error ?? 'no address'}`).join('; ');
    throw new JoinError(`cannot resolve ${why}`, []);
  }
  return pass.addrs;
}

/**
 * The address to advertise (network.ts has the rule) and every other address that is ours. The
 * seeds are resolved once first when the rule needs them: bound to a wildcard (a seed's subnet
 * decides), or advertising loopback (refused towards peers that are not on loopback).
 */
async function chooseAddresses(
  config: AgentConfig,
  bound: string,
  resolver: Resolver,
  log: AgentLogger,
): Promise<{ advertise: string; ownAddrs: string[] }> {
  const hp = splitHostPort(bound)!;
  const network = hostNetwork();
  const wildcard = hp.host === '0.0.0.0' || hp.host === '::';
  const loopback = isLoopbackAddr(config.advertiseAddr ?? bound);
  let seedIps: string[] = [];
  const needsSeeds = config.join.length > 0 && ((wildcard && config.advertiseAddr === undefined) || loopback);
  if (needsSeeds) {
    const pass = await resolveSources(parseSeeds(config.join), resolver, new Set());
    seedIps = pass.addrs.map((a) => splitHostPort(a)!.host);
  }
  const choice = chooseAdvertiseAddr({ bound, advertise: config.advertiseAddr, seedIps, network });
  if (wildcard && config.advertiseAddr === undefined) {
    log.info('advertising an address picked by rule, since the bind address is a wildcard', {
      advertise: choice.addr,
      why: choice.reason,
      ...(choice.iface ? { interface: choice.iface } : {}),
      hint: 'set --advertise IP:PORT to choose',
    });
  }
  const own = new Set<string>([bound]);
  if (wildcard) {
    for (const a of network.addrs) {
      if (hp.host === '0.0.0.0' && a.family !== 'IPv4') continue;
      own.add(joinHostPort(a.address.split('%')[0]!, hp.port));
    }
  }
  own.delete(choice.addr);
  return { advertise: choice.addr, ownAddrs: [...own] };
}
