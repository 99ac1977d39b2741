/**
 * Prometheus metrics (`/metrics`, text format, `gossip_` prefix). Values are read from the
 * protocol's own counters at scrape time, so the protocol core stays free of any metrics code
 * and nothing runs between scrapes (src/agent/prometheus.ts has the format, and why it is not
 * prom-client).
 */
import { readdirSync } from 'node:fs';
import type { MemberlistStats } from '../membership/core.ts';
import type { ReplicationLag, StateInfo } from '../state/index.ts';
import { Histogram, type Labels, Registry, type Sample } from './prometheus.ts';

export interface MetricsSources {
  memberlist: () => Readonly<MemberlistStats>;
  /** Input the transport dropped before the protocol saw it, by reason (added to the drops). */
  transportDropped?: () => Record<string, number>;
  membersByStatus: () => Record<string, number>;
  swimStatusCounts: () => Record<string, number>;
  healthScore: () => number;
  queueDepths: () => Record<string, number>;
  serfCounters: () => Record<string, number>;
  eventLoopLagMs: () => number;
  /** The replicated state's counters and sizes, and the maps held behind what was heard of. */
  state: () => StateInfo;
  stateLag: () => ReplicationLag[];
}

/** Samples of a `{label: count}` record. */
function byLabel(label: string, record: Record<string, number>): Sample[] {
  return Object.entries(record).map(([v, n]) => [{ [label]: v } as Labels, n]);
}

const NO_LABELS: Labels = {};

/** Open file descriptors (Linux: /proc/self/fd), or undefined where that cannot be read. */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor of the listing itself
  } catch {
    return undefined;
  }
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly pushPullDuration: Histogram;

  constructor(src: MetricsSources) {
    const r = this.registry;
    const gauge = (name: string, help: string, read: () => Sample[]) =>
      r.collected(name, help, 'gauge', read);
    const counter = (name: string, help: string, read: () => Sample[]) =>
      r.collected(name, help, 'counter', read);
    gauge('gossip_members', 'Members by Serf status (alive, leaving, left, failed).', () =>
      byLabel('status', src.membersByStatus()),
    );
    gauge('gossip_swim_members', 'Members by SWIM state (alive, suspect, dead, left).', () =>
      byLabel('state', src.swimStatusCounts()),
    );
    gauge(
      'gossip_health_score',
      'Lifeguard local health (awareness) score: 0 is healthy; probes slow down by score+1.',
      () => [[NO_LABELS, src.healthScore()]],
    );
    gauge('gossip_broadcast_queue_depth', 'Broadcasts waiting to be gossiped, by queue.', () =>
      byLabel('queue', src.queueDepths()),
    );
    gauge(
      'gossip_event_loop_lag_seconds',
      'Most recent event-loop lag measured by the membership layer.',
      () => [[NO_LABELS, src.eventLoopLagMs() / 1000]],
    );
    const ml = src.memberlist;
    const scalar = (name: string, help: string, pick: (s: Readonly<MemberlistStats>) => number) =>
      counter(name, help, () => [[NO_LABELS, pick(ml())]]);
    scalar('gossip_probes_total', 'Failure-detection probes started.', (s) => s.probes);
    scalar(
      'gossip_probe_failures_total',
      'Probes that ended with the target suspected.',
      (s) => s.probeFailures,
    );
    scalar(
      'gossip_probes_inconclusive_total',
      'Probes put down to our own event-loop stall.',
      (s) => s.probesInconclusive,
    );
    scalar('gossip_indirect_probes_total', 'Probes that needed indirect pings.', (s) => s.indirectProbes);
    scalar('gossip_acks_received_total', 'Acks received.', (s) => s.acksReceived);
    scalar('gossip_acks_sent_total', 'Acks sent.', (s) => s.acksSent);
    scalar('gossip_nacks_received_total', 'Nacks received.', (s) => s.nacksReceived);
    scalar('gossip_nacks_sent_total', 'Nacks sent.', (s) => s.nacksSent);
    scalar('gossip_suspicions_total', 'Suspicions this node started.', (s) => s.suspicionsStarted);
    scalar('gossip_refutations_total', 'Refutations of accusations against this node.', (s) => s.refutes);
    scalar('gossip_dead_declarations_total', 'Members this node declared dead.', (s) => s.deadDeclared);
    scalar('gossip_push_pulls_total', 'Push-pull exchanges (both directions).', (s) => s.pushPulls);
    scalar('gossip_push_pull_failures_total', 'Push-pull exchanges that failed.', (s) => s.pushPullFailures);
    scalar('gossip_packets_received_total', 'UDP packets received.', (s) => s.packetsReceived);
    scalar('gossip_packets_sent_total', 'UDP packets sent.', (s) => s.packetsSent);
    scalar(
      'gossip_bytes_received_total',
      'Bytes received, UDP packets and TCP streams.',
      (s) => s.bytesReceived,
    );
    scalar('gossip_bytes_sent_total', 'Bytes sent, UDP packets and TCP streams.', (s) => s.bytesSent);
    counter('gossip_messages_received_total', 'Messages received, by memberlist type.', () =>
      byLabel('type', ml().messagesReceived),
    );
    counter('gossip_messages_sent_total', 'Messages sent, by memberlist type.', () =>
      byLabel('type', ml().messagesSent),
    );
    counter('gossip_message_bytes_received_total', 'Message bytes received, by type.', () =>
      byLabel('type', ml().messageBytesReceived),
    );
    counter('gossip_message_bytes_sent_total', 'Message bytes sent, by type.', () =>
      byLabel('type', ml().messageBytesSent),
    );
    counter(
      'gossip_packets_dropped_total',
      'Input dropped, by reason (malformed, auth-failed, bad-crc, too-large, ...).',
      () => byLabel('reason', { ...ml().dropped, ...src.transportDropped?.() }),
    );
    counter('gossip_serf_total', 'Serf-layer counters (events, queries, intents), by kind.', () =>
      byLabel('kind', src.serfCounters()),
    );
    this.#stateMetrics(src);
    this.pushPullDuration = new Histogram(
      r,
      'gossip_push_pull_duration_seconds',
      'Duration of push-pull exchanges.',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    );
    // The process, read at scrape time.
    const startTimeS = Math.round(Date.now() / 1000 - process.uptime());
    counter('gossip_process_cpu_user_seconds_total', 'User CPU time of this process.', () => [
      [NO_LABELS, process.cpuUsage().user / 1e6],
    ]);
    counter('gossip_process_cpu_system_seconds_total', 'System CPU time of this process.', () => [
      [NO_LABELS, process.cpuUsage().system / 1e6],
    ]);
    counter('gossip_process_cpu_seconds_total', 'User and system CPU time of this process.', () => {
      const u = process.cpuUsage();
      return [[NO_LABELS, (u.user + u.system) / 1e6]];
    });
    gauge('gossip_process_start_time_seconds', 'When this process started, in Unix seconds.', () => [
      [NO_LABELS, startTimeS],
    ]);
    gauge('gossip_process_resident_memory_bytes', 'Resident memory of this process.', () => [
      [NO_LABELS, process.memoryUsage.rss()],
    ]);
    gauge('gossip_process_heap_bytes', 'JavaScript heap, by part (used, total, external).', () => {
      const m = process.memoryUsage();
      return [
        [{ part: 'used' }, m.heapUsed],
        [{ part: 'total' }, m.heapTotal],
        [{ part: 'external' }, m.external],
      ];
    });
    gauge('gossip_process_open_fds', 'Open file descriptors (sockets included).', () => {
      const n = openFds();
      return n === undefined ? [] : [[NO_LABELS, n]];
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: this.registry.render() };
  }
  /** `gossip_state_*`: the replicated state (src/state). */
  #stateMetrics(src: MetricsSources): void {
    const r = this.registry;
    const gauge = (name: string, help: string, pick: (s: StateInfo) => number) =>
      r.collected(name, help, 'gauge', () => [[NO_LABELS, pick(src.state())]]);
    const counter = (name: string, help: string, pick: (s: StateInfo) => number) =>
      r.collected(name, help, 'counter', () => [[NO_LABELS, pick(src.state())]]);
    gauge('gossip_state_entries', 'Visible keys over every node map held here.', (s) => s.entries);
    gauge('gossip_state_bytes', 'Bytes of keys and values over every node map held here.', (s) => s.bytes);
    gauge('gossip_state_nodes', 'Node maps held here (this node’s included).', (s) => s.nodes);
    gauge('gossip_state_own_keys', 'Keys of this node’s own map.', (s) => s.ownKeys);
    gauge(
      'gossip_state_queue_depth',
      'State updates and notices waiting to be gossiped.',
      (s) => s.queueDepth,
    );
    gauge(
      'gossip_state_pending_updates',
      'Out-of-order updates held until the versions before them arrive.',
      (s) => s.pendingUpdates,
    );
    gauge(
      'gossip_state_replication_lag_max_versions',
      'The most versions any map held here is behind what was heard of.',
      (s) => s.maxVersionsBehind,
    );
    r.collected(
      'gossip_state_replication_lag_versions',
      'Versions a map held here is behind what was heard of, by node (only maps that are behind).',
      'gauge',
      () => src.stateLag().map((l): Sample => [{ node: l.node }, l.versionsBehind]),
    );
    r.collected(
      'gossip_state_replication_lag_seconds',
      'How long a map held here has been behind what was heard of, by node (only maps that are behind).',
      'gauge',
      () => src.stateLag().map((l): Sample => [{ node: l.node }, l.behindForMs / 1000]),
    );
    counter('gossip_state_writes_total', 'Writes and deletes of this node’s own map.', (s) => s.writes);
    counter(
      'gossip_state_deltas_sent_total',
      'Deltas (one node map each) sent by anti-entropy.',
      (s) => s.deltasSent,
    );
    counter(
      'gossip_state_deltas_received_total',
      'Deltas (one node map each) received.',
      (s) => s.deltasReceived,
    );
    counter(
      'gossip_state_delta_entries_sent_total',
      'Entries in the deltas sent.',
      (s) => s.deltaEntriesSent,
    );
    counter(
      'gossip_state_delta_entries_received_total',
      'Entries in the deltas received.',
      (s) => s.deltaEntriesReceived,
    );
    counter(
      'gossip_state_resets_received_total',
      'Node maps received from scratch (new generation, or behind a collection point).',
      (s) => s.resetsReceived,
    );
    counter(
      'gossip_state_updates_received_total',
      'Gossiped updates that were new here.',
      (s) => s.updatesReceived,
    );
    counter(
      'gossip_state_bytes_sent_total',
      'Bytes of state messages sent (before framing).',
      (s) => s.bytesSent,
    );
    counter('gossip_state_bytes_received_total', 'Bytes of state messages received.', (s) => s.bytesReceived);
    counter(
      'gossip_state_generation_bumps_total',
      'Times this node raised its generation over one the cluster still held.',
      (s) => s.generationBumps,
    );
    r.collected('gossip_state_dropped_total', 'State input dropped, by reason.', 'counter', () =>
      byLabel('reason', src.state().dropped),
    );
    r.collected('gossip_state_writes_refused_total', 'Writes refused by a limit, by limit.', 'counter', () =>
      byLabel('limit', src.state().writesRefused),
    );
  }
}
