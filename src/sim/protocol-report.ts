/**
 * Text and charts for a protocol simulation: the parameter listing printed before a run, the
 * table format, and the `--plot` chart (the detection-time distribution above the load per
 * node, two charts of src/sim/plot.ts stacked in one SVG document).
 *
 * Pure functions of a run's params or record (plus wall-clock figures the caller measured),
 * so their output is as reproducible as the record.
 */
import { barChart, histogram } from './plot.ts';
import type { ProtocolSimResult } from './protocol-sim.ts';
import { describeFault, describeTraffic, type ProtocolSimParams } from './scenario.ts';

/** Most faults listed one per line before "… and N more". */
export const PARAMS_MAX_FAULT_LINES = 40;
/** Above this many nodes the load chart is a histogram rather than one bar per node. */
export const LOAD_BARS_MAX_NODES = 200;

const pct = (x: number) => `${Math.round(x * 10_000) / 100}%`;
const ms = (x: number) => `${Math.round(x * 1000) / 1000} ms`;

/** Every derived parameter, one per line (for stderr before the run). */
export function describeParams(p: ProtocolSimParams): string[] {
  const n = p.network;
  const lines = [
    `scenario ${p.scenario}, profile ${p.profile}, ${p.initialNodes} nodes at the start` +
      (p.slots > p.initialNodes ? ` (up to ${p.slots - p.initialNodes} more join later)` : ''),
    `safety phase ${p.durationMs / 1000} s; compression ${p.compression ? 'on' : 'off (simulator speed)'}; ` +
      `Serf reconnect every ${p.reconnectIntervalMs / 1000} s` +
      (p.seedDiscovery ? '; joins through seed discovery' : ''),
    `latency ${n.latencyModel === 'uniform' ? ms(n.latencyMs) : `per link ${ms(n.latencyMs)} + U[0, ${ms(n.latencySpreadMs)})`}` +
      ` + jitter U[0, ${ms(n.jitterMs)})`,
    `loss ${pct(n.lossRate)}, reordering ${pct(n.reorderRate)} (up to ${ms(n.reorderDelayMs)}), duplication ${pct(n.duplicateRate)} (safety phase)`,
  ];
  const drifting = p.clockDriftPpm.filter((d) => d !== 0).length;
  if (drifting > 0) {
    const max = Math.max(...p.clockDriftPpm.map(Math.abs));
    lines.push(`clock drift on ${drifting} nodes, up to ±${max} ppm`);
  }
  lines.push(`faults: ${p.faults.length === 0 ? 'none' : ''}`);
  for (const f of p.faults.slice(0, PARAMS_MAX_FAULT_LINES)) lines.push(`  ${describeFault(f)}`);
  if (p.faults.length > PARAMS_MAX_FAULT_LINES)
    lines.push(`  … and ${p.faults.length - PARAMS_MAX_FAULT_LINES} more (all in the JSON record)`);
  lines.push(`traffic: ${p.traffic.length === 0 ? 'none' : ''}`);
  for (const x of p.traffic.slice(0, PARAMS_MAX_FAULT_LINES)) lines.push(`  ${describeTraffic(x)}`);
  if (p.traffic.length > PARAMS_MAX_FAULT_LINES)
    lines.push(`  … and ${p.traffic.length - PARAMS_MAX_FAULT_LINES} more (all in the JSON record)`);
  return lines;
}

function fmt(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1e6) return x.toExponential(2);
  return String(Math.round(x * 10) / 10);
}

function seconds(x: number | null): string {
  return x === null ? '-' : `${(x / 1000).toFixed(2)} s`;
}

/** The table format: the run's figures, one per line, with the wall-clock time the caller measured. */
export function formatProtocolTable(r: ProtocolSimResult, wallSeconds: number): string {
  const p = r.params;
  const d = r.detection;
  const fp = r.falsePositives;
  const c = r.convergence;
  const l = r.load;
  const simSeconds = r.phases.endMs / 1000;
  const rows: [string, string][] = [
    [
      'run',
      `${p.scenario}, seed ${p.seed}, ${p.initialNodes} nodes at the start (${p.slots} slots), ${p.profile}`,
    ],
    [
      'verdict',
      r.isOk
        ? 'pass: every invariant held, converged'
        : `FAIL: ${r.violations.length + r.violationsNotKept} violations`,
    ],
    [
      'detection (crash → last node)',
      `p50 ${seconds(d.lastMs.p50)}, p99 ${seconds(d.lastMs.p99)}, p100 ${seconds(d.lastMs.p100)} over ${d.detected} of ${d.crashes} crashes`,
    ],
    ['detection (crash → first node)', `p50 ${seconds(d.firstMs.p50)}, p100 ${seconds(d.firstMs.p100)}`],
    [
      'false positives (running node)',
      `${fp.deadDeclarations.total} declared dead, ${fp.deadMarks.total} dead marks, ${fp.suspicions.total} suspicions`,
    ],
    [
      '  of which across a cut / slow',
      `dead ${fp.deadDeclarations.partition} / ${fp.deadDeclarations.slow}, suspicions ${fp.suspicions.partition} / ${fp.suspicions.slow}`,
    ],
    [
      'convergence after the last change',
      `${c.isConverged ? seconds(c.timeMs) : 'never'} (bound ${seconds(c.boundMs)}); after each heal p50 ${seconds(c.settleMs.p50)}, p100 ${seconds(c.settleMs.p100)}`,
    ],
    [
      'per node per second',
      `${fmt(l.messagesPerNodePerSecond.mean)} messages, ${fmt(l.packetsPerNodePerSecond.mean)} packets, ${fmt(l.bytesPerNodePerSecond.mean)} bytes (p99 ${fmt(l.bytesPerNodePerSecond.p99)}, max ${fmt(l.bytesPerNodePerSecond.max)})`,
    ],
    [
      'protocol',
      `${r.protocol.probes} probes, ${r.protocol.probeFailures} failed, ${r.protocol.refutes} refutes, ${r.protocol.pushPulls} push-pulls, ${r.protocol.reconnectAttempts} reconnects`,
    ],
    [
      'serf',
      `${r.protocol.userEventsDelivered} user events delivered (${r.protocol.userEventsSent} sent), ${r.protocol.queryResponses} query responses (${r.protocol.queriesSent} queries), ${r.protocol.intentsReceived} intents received, ${r.protocol.forceLeaves} force-leaves`,
    ],
    ['simulated', `${simSeconds.toFixed(1)} s, ${r.events} events`],
    [
      'wall',
      `${wallSeconds.toFixed(2)} s (${(simSeconds / Math.max(wallSeconds, 1e-9)).toFixed(1)} simulated s per wall s)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const v of r.violations) lines.push(`violation [${v.checker}] at ${seconds(v.atMs)}: ${v.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The `--plot` document: the detection-time distribution (every observer of every crash) over
 * the bytes each node sent per second (one bar per node, or a histogram above
 * {@link LOAD_BARS_MAX_NODES} nodes).
 */
export function protocolCharts(r: ProtocolSimResult): string {
  const p = r.params;
  const facts = `${p.scenario}, seed ${p.seed}, ${p.nodes} nodes, ${p.profile}`;
  const d = r.detection;
  const detection = histogram(
    d.observerTimesMs.map((t) => t / 1000),
    {
      title: 'failure detection: crash → each node marks it dead',
      xLabel: 'seconds after the crash',
      yLabel: 'observations',
      name: 'observer detections',
      notes:
        d.crashes === 0
          ? ['no crash in this run', facts]
          : [
              `${d.detected} of ${d.crashes} crashes seen by all`,
              `last node: p50 ${seconds(d.lastMs.p50)}`,
              `p99 ${seconds(d.lastMs.p99)}, p100 ${seconds(d.lastMs.p100)}`,
              facts,
            ],
    },
  );
  const bySlot = r.load.perNodeBytesPerSecond;
  const bytes = bySlot.filter((v): v is number => v !== null);
  const loadNotes = [
    `mean ${fmt(r.load.bytesPerNodePerSecond.mean)} B/s`,
    `p99 ${fmt(r.load.bytesPerNodePerSecond.p99)}, max ${fmt(r.load.bytesPerNodePerSecond.max)}`,
    'UDP and TCP, sent',
    facts,
  ];
  const load =
    bytes.length <= LOAD_BARS_MAX_NODES
      ? barChart(
          [
            {
              name: 'bytes/s sent',
              bars: bySlot.flatMap((v, i) => (v === null ? [] : [{ x0: i, x1: i + 1, value: v }])),
            },
          ],
          {
            title: 'load per node (safety and liveness phases)',
            xLabel: 'node slot (n0, n1, …; gaps ran under 1 s)',
            yLabel: 'bytes per second',
            notes: loadNotes,
          },
        )
      : histogram(bytes, {
          title: 'load per node (safety and liveness phases)',
          xLabel: 'bytes per second sent',
          yLabel: 'nodes',
          name: 'nodes',
          notes: loadNotes,
        });
  return stack([detection, load]);
}

/** Stacks standalone SVG documents vertically in one document (nested `<svg>` elements). */
function stack(documents: readonly string[]): string {
  let y = 0;
  let width = 0;
  const parts: string[] = [];
  for (const doc of documents) {
    const w = Number(/width="(\d+)"/.exec(doc)?.[1] ?? 900);
    const h = Number(/height="(\d+)"/.exec(doc)?.[1] ?? 560);
    parts.push(doc.trimEnd().replace('<svg ', `<svg x="0" y="${y}" `));
    y += h;
    width = Math.max(width, w);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n${parts.join('\n')}\n</svg>\n`;
}
