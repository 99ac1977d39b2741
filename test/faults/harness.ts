/**
 * Runs one fault on one implementation (a fresh cluster: start, converge, settle, fault,
 * measure, tear down) and prints the figures of many runs as one table, ours next to serf's.
 */
import { loadavg } from 'node:os';
import { FaultCluster, type Impl } from './cluster.ts';
import type { Figure, Scenario, ScenarioResult, Timing } from './scenarios.ts';

export interface RunOptions extends Timing {
  nodes: number;
  pollMs: number;
  /** Quiet time between convergence and the fault. */
  settleMs: number;
  log: (s: string) => void;
  /** Keep every agent's output here (test/faults/cluster.ts `logDir`). */
  logDir?: string;
}

export interface RunRecord {
  scenario: string;
  impl: Impl;
  run: number;
  /** Seconds from the first agent's start until every node listed every node alive. */
  convergedS: number | null;
  figures: Record<string, Figure>;
  notes: string[];
  pollAnswerMsMedian: number | null;
  polls: number;
  pollErrors: number;
  error?: string;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Faults on one fresh cluster of `impl`, one after the other (each waits for the cluster to be
 * all alive again and quiet for `settleMs` first). Never throws: a failed fault is a record with
 * `error`, and the faults after it are not run.
 */
export async function runCluster(
  scenarios: Scenario[],
  impl: Impl,
  run: number,
  o: RunOptions,
): Promise<RunRecord[]> {
  const records: RunRecord[] = scenarios.map((s) => ({
    scenario: s.id,
    impl,
    run,
    convergedS: null,
    figures: {},
    notes: [],
    pollAnswerMsMedian: null,
    polls: 0,
    pollErrors: 0,
  }));
  let c: FaultCluster | undefined;
  let current = records[0]!;
  const tag = (r: RunRecord) => `${r.scenario} ${impl} run ${run}`;
  try {
    c = FaultCluster.create({
      impl,
      nodes: o.nodes,
      spareSides: 1,
      pollMs: o.pollMs,
      ...(o.logDir
        ? { logDir: o.logDir, logPrefix: `${scenarios.map((s) => s.id).join('+')}-${impl}-${run}-` }
        : {}),
    });
    const t0 = c.now();
    await c.start();
    c.startPolling();
    for (const [i, s] of scenarios.entries()) {
      current = records[i]!;
      const cl = c;
      const nodes = cl.nodes;
      const from = i === 0 ? t0 : cl.now();
      const seen = await cl.until(
        'all alive before the fault',
        nodes,
        (ms) =>
          nodes.every((n) => ms.some((m) => m.name === n.name && m.status === 'alive' && m.addr === n.addr)),
        120_000,
      );
      current.convergedS = Number(((Math.max(...seen.values()) - from) / 1000).toFixed(1));
      o.log(
        `${tag(current)}: ${o.nodes} nodes all alive everywhere ${current.convergedS} s after ` +
          `${i === 0 ? 'the first start' : 'the previous fault'} (load ${loadavg()[0]!.toFixed(2)})`,
      );
      await new Promise((r) => setTimeout(r, o.settleMs));
      const polls0 = cl.polls;
      const errors0 = cl.pollErrors;
      const answers0 = cl.pollAnswerMs.length;
      try {
        const result: ScenarioResult = await s.run(cl, o, o.log);
        current.figures = result.figures;
        current.notes = result.notes;
      } finally {
        current.polls = cl.polls - polls0;
        current.pollErrors = cl.pollErrors - errors0;
        current.pollAnswerMsMedian = median(cl.pollAnswerMs.slice(answers0));
      }
      o.log(
        `${tag(current)}: ${Object.entries(current.figures)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}${current.notes.length ? `\n  ${current.notes.join('\n  ')}` : ''}`,
      );
    }
  } catch (e) {
    current.error = (e as Error).message;
    o.log(`${tag(current)}: ERROR ${current.error}`);
  } finally {
    await c?.destroy().catch((e: Error) => {
      current.error = `${current.error ?? ''} teardown: ${e.message}`;
    });
  }
  return records;
}

/** Min–max of the runs' values ("3", "2–5"), or the notes when a run has no number. */
function cell(values: Figure[]): string {
  if (values.length === 0) return '—';
  const nums = values.filter((v): v is number => typeof v === 'number');
  const others = [...new Set(values.filter((v) => typeof v === 'string'))] as string[];
  const parts: string[] = [];
  if (nums.length) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    parts.push(lo === hi ? String(lo) : `${lo}–${hi}`);
  }
  parts.push(...others);
  return parts.length ? parts.join(', ') : '—';
}

/** The table: per fault, its figures, ours and serf's side by side (min–max over runs). */
export function formatTable(
  scenarios: Scenario[],
  records: RunRecord[],
  timing: Timing,
  impls: Impl[],
): string {
  const header = [
    'fault',
    'figure',
    'target',
    ...impls.map((i) => (i === 'gossip' ? 'ours (gossip)' : 'serf')),
  ];
  const rows: string[][] = [];
  for (const s of scenarios) {
    const recs = records.filter((r) => r.scenario === s.id);
    if (recs.length === 0) continue;
    const runs = (impl: Impl) => recs.filter((r) => r.impl === impl);
    let first = true;
    const title = s.title(timing);
    const add = (label: string, target: string, values: (impl: Impl) => string) => {
      rows.push([first ? title : '', label, target, ...impls.map(values)]);
      first = false;
    };
    add('runs (errors)', '', (impl) => {
      const rs = runs(impl);
      const errs = rs.filter((r) => r.error).length;
      return rs.length === 0 ? '—' : `${rs.length}${errs ? ` (${errs} failed)` : ''}`;
    });
    for (const f of s.figures) {
      add(f.label, f.target ?? '', (impl) =>
        cell(
          runs(impl)
            .filter((r) => !r.error)
            .map((r) => r.figures[f.id] ?? null)
            .filter((v) => v !== null),
        ),
      );
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
