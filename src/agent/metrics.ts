/**
 * Prometheus metrics (`/metrics`, text format, `gossip_` prefix), with prom-client. Values are
 * read from the protocol's own counters at scrape time, so the protocol core stays free of any
 * metrics library and pays nothing between scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MemberlistStats } from '../membership/core.ts';

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
}

/** A counter that mirrors a monotonically growing number read at scrape time. */
function mirrorCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Record<string, string>, number][],
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const prev = last.get(key) ?? 0;
        if (value > prev) this.inc(labels, value - prev);
        last.set(key, value);
      }
    },
  });
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly pushPullDuration: Histogram;

  constructor(src: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'gossip_process_' });
    new Gauge({
      name: 'gossip_members',
      help: 'Members by Serf status (alive, leaving, left, failed).',
      labelNames: ['status'],
      registers: [r],
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(src.membersByStatus())) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'gossip_swim_members',
      help: 'Members by SWIM state (alive, suspect, dead, left).',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(src.swimStatusCounts())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'gossip_health_score',
      help: 'Lifeguard local health (awareness) score: 0 is healthy; probes slow down by score+1.',
      registers: [r],
      collect() {
        this.set(src.healthScore());
      },
    });
    new Gauge({
      name: 'gossip_broadcast_queue_depth',
      help: 'Broadcasts waiting to be gossiped, by queue.',
      labelNames: ['queue'],
      registers: [r],
      collect() {
        for (const [queue, n] of Object.entries(src.queueDepths())) this.set({ queue }, n);
      },
    });
    new Gauge({
      name: 'gossip_event_loop_lag_seconds',
      help: 'Most recent event-loop lag measured by the membership layer.',
      registers: [r],
      collect() {
        this.set(src.eventLoopLagMs() / 1000);
      },
    });
    const ml = src.memberlist;
    const scalar = (name: string, help: string, pick: (s: Readonly<MemberlistStats>) => number) =>
      mirrorCounter(r, name, help, [], () => [[{}, pick(ml())]]);
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
    const byType = (pick: (s: Readonly<MemberlistStats>) => Record<string, number>) => () =>
      Object.entries(pick(ml())).map(([type, n]) => [{ type }, n] as [Record<string, string>, number]);
    mirrorCounter(
      r,
      'gossip_messages_received_total',
      'Messages received, by memberlist type.',
      ['type'],
      byType((s) => s.messagesReceived),
    );
    mirrorCounter(
      r,
      'gossip_messages_sent_total',
      'Messages sent, by memberlist type.',
      ['type'],
      byType((s) => s.messagesSent),
    );
    mirrorCounter(
      r,
      'gossip_message_bytes_received_total',
      'Message bytes received, by type.',
      ['type'],
      byType((s) => s.messageBytesReceived),
    );
    mirrorCounter(
      r,
      'gossip_message_bytes_sent_total',
      'Message bytes sent, by type.',
      ['type'],
      byType((s) => s.messageBytesSent),
    );
    mirrorCounter(
      r,
      'gossip_packets_dropped_total',
      'Input dropped, by reason (malformed, auth-failed, bad-crc, too-large, ...).',
      ['reason'],
      () =>
        Object.entries({ ...ml().dropped, ...src.transportDropped?.() }).map(
          ([reason, n]) => [{ reason }, n] as [Record<string, string>, number],
        ),
    );
    mirrorCounter(
      r,
      'gossip_serf_total',
      'Serf-layer counters (events, queries, intents), by kind.',
      ['kind'],
      () =>
        Object.entries(src.serfCounters()).map(
          ([kind, n]) => [{ kind }, n] as [Record<string, string>, number],
        ),
    );
    this.pushPullDuration = new Histogram({
      name: 'gossip_push_pull_duration_seconds',
      help: 'Duration of push-pull exchanges.',
      labelNames: ['initiated', 'join'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [r],
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
