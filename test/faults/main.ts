/**
 * `npm run test:faults [-- --faults ID,ID] [--impl gossip,serf] [--runs N] [--nodes 20]
 *  [--scale 1] [--poll-ms 500] [--json FILE] [--logs DIR]`
 *
 * The fault harness on real sockets: for each fault (ids: see `--list`), N agents of ours and,
 * separately, N real `serf agent`s, each node in its own network namespace, same topology, same
 * fault, same timing profile (`lan`), observed the same way (test/faults/cluster.ts). Prints one
 * line per run as it ends, then the table: per fault, its figures, ours next to serf's (min–max
 * over runs), with the machine load. `--scale 0.2` shortens every fault to a fifth, for a look;
 * `--logs DIR` keeps every agent's output there, one file per node and run, each line stamped
 * with the harness's clock (seconds since the cluster was made).
 *
 * Needs root, `ip netns`, `tc` and, for serf's column, `serf` on PATH. A full run takes about
 * 30 minutes (26 on 2 cores, load 2-12). Everything it starts is killed by PID and every namespace deleted, also on Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { netnsUnavailable } from '../support/netns.ts';
import { serfAvailable } from '../support/serf.ts';
import { IMPLS, type Impl } from './cluster.ts';
import { formatTable, type RunRecord, runCluster } from './harness.ts';
import { SCENARIOS } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    faults: { type: 'string' },
    impl: { type: 'string', default: IMPLS.join(',') },
    runs: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '20' },
    scale: { type: 'string', default: '1' },
    'poll-ms': { type: 'string', default: '500' },
    'settle-s': { type: 'string', default: '5' },
    json: { type: 'string' },
    logs: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
  strict: true,
});

function num(v: string, name: string, min: number, max: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max)
    throw new Error(`--${name} must be a number in [${min}, ${max}]; got "${v}"`);
  return x;
}

if (values.list) {
  for (const s of SCENARIOS) console.log(`${s.id.padEnd(12)} ${s.title({ scale: 1 })}`);
  process.exit(0);
}
if (values.logs) mkdirSync(values.logs, { recursive: true });
const scale = num(values.scale, 'scale', 0.01, 10);
const runs = num(values.runs, 'runs', 1, 20);
const nodes = num(values.nodes, 'nodes', 3, 24);
const pollMs = num(values['poll-ms'], 'poll-ms', 50, 10_000);
const settleMs = num(values['settle-s'], 'settle-s', 0, 600) * 1000;
const wanted = values.faults?.split(',') ?? SCENARIOS.map((s) => s.id);
const unknown = wanted.filter((id) => !SCENARIOS.some((s) => s.id === id));
if (unknown.length) throw new Error(`unknown fault(s) ${unknown.join(', ')}; --list shows them`);
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.id));
const impls = values.impl.split(',') as Impl[];
if (impls.some((i) => !IMPLS.includes(i))) throw new Error(`--impl takes ${IMPLS.join(', ')}`);

const unavailable = netnsUnavailable();
if (unavailable) {
  console.error(`test:faults needs network namespaces: ${unavailable}`);
  process.exit(1);
}
if (impls.includes('serf') && !serfAvailable()) {
  console.error('serf is not on PATH: install it (Debian: apt-get install serf) or pass --impl gossip');
  process.exit(1);
}

const serfVersion = spawnSync('serf', ['version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '?';
const started = new Date();
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
log(
  `fault harness: ${nodes} nodes per cluster, one network namespace each, profile lan on both sides; ` +
    `${availableParallelism()} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; node ${process.version}, ${serfVersion}`,
);
log(
  `observation: every node polled every ${pollMs} ms (ours GET /v1/members, serf RPC members), ` +
    `health sampled every 2 s; suspicions, refutations and failures counted from each node's log`,
);

const records: RunRecord[] = [];
for (const s of scenarios) {
  for (let run = 1; run <= runs; run++) {
    // Alternate which implementation goes first, so that drift in the machine's load favours neither.
    const order = run % 2 === 1 ? impls : [...impls].reverse();
    for (const impl of order) {
      records.push(
        ...(await runCluster([s], impl, run, {
          nodes,
          pollMs,
          settleMs,
          scale,
          log,
          ...(values.logs ? { logDir: values.logs } : {}),
        })),
      );
    }
  }
}

const timing = { scale };
const uptime = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
console.log(
  `\nFault harness, ${started.toISOString()} to ${new Date().toISOString()}: ${nodes} nodes, ${runs} run(s) per ` +
    `fault and implementation (min–max), scale ${scale}, polls every ${pollMs} ms. Machine: ` +
    `${availableParallelism()} CPUs; at the end: ${uptime}\n`,
);
console.log(formatTable(scenarios, records, timing, impls));
const failed = records.filter((r) => r.error);
if (failed.length) {
  console.log(`\n${failed.length} run(s) failed:`);
  for (const r of failed) console.log(`  ${r.scenario} ${r.impl} run ${r.run}: ${r.error}`);
}
if (values.json) {
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        started,
        ended: new Date(),
        nodes,
        runs,
        scale,
        pollMs,
        cpus: availableParallelism(),
        uptime,
        records,
      },
      null,
      2,
    ),
  );
  console.log(`\nrecords written to ${values.json}`);
}
process.exitCode = failed.length ? 1 : 0;
