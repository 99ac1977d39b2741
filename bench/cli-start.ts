/**
 * `npm run bench -- cli-start` (options: {@link usage}): how long the built `gossip` command
 * takes to start and finish, against `node -e 0` (Node's own start-up, the floor).
 *
 * Short commands run N times each, interleaved (so a load spike hits every command alike), and
 * are reported as min / median / max wall-clock ms, the median above `node -e 0` and the ratio
 * of the medians (issue 14's target: a CLI command <= 1.5x `node -e 0`). `gossip members
 * (agent)` asks an agent started for the purpose (idle, alone: it is the command a user runs),
 * `(no agent)` an address where nothing listens. The agent is measured from spawn until its
 * HTTP API answers `GET /v1/agent`. The machine's load (`os.loadavg`) is printed before and
 * after: compare figures only at a similar load.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtBin } from '../test/support/gossip-agent.ts';
import { freePort } from '../test/support/serf.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

const NO_AGENT = '127.0.0.1:1';

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function stats(ms: number[]): { min: number; median: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
}

function timeOnce(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  return ms;
}

/** A `gossip agent` spawned in a temporary directory: its HTTP address, and how to stop it. */
interface StartedAgent {
  http: string;
  /** ms from spawn until `GET /v1/agent` answered 200. */
  startMs: number;
  kill(): void;
}

/** Spawns `gossip agent` and resolves once `GET /v1/agent` answers 200. */
async function startAgent(bin: string): Promise<StartedAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'gossip-start-'));
  const http = `127.0.0.1:${await freePort()}`;
  const bind = `127.0.0.1:${await freePort()}`;
  const t0 = performance.now();
  const proc = spawn(process.execPath, [bin, 'agent', '--node', 'start', '--bind', bind, '--http', http], {
    stdio: 'ignore',
    cwd: dir,
  });
  const kill = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (;;) {
      if (performance.now() - t0 > 30_000) throw new Error('the agent did not answer within 30 s');
      try {
        const res = await fetch(`http://${http}/v1/agent`);
        if (res.ok) return { http, startMs: performance.now() - t0, kill };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (e) {
    kill();
    throw e;
  }
}

/** The options, for `npm run bench -- cli-start --help`. */
export const usage = '[--runs 20] [--agent-runs 5]';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseBenchArgs(argv, {
    runs: { type: 'string', default: '20' },
    'agent-runs': { type: 'string', default: '5' },
  });
  const runs = Number(values.runs);
  const agentRuns = Number(values['agent-runs']);
  for (const [flag, v] of [
    ['runs', runs],
    ['agent-runs', agentRuns],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new BenchUsageError(`--${flag} takes a whole number >= 1, got ${v}`);
  }
  const bin = builtBin();
  console.log(`cli-start: ${runs} runs per command, interleaved; load average before: ${load()}`);
  const target = await startAgent(bin);
  try {
    const cases: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['gossip version', [bin, 'version']],
      ['gossip --help', [bin, '--help']],
      ['gossip keygen', [bin, 'keygen']],
      ['gossip members (agent)', [bin, 'members', '--http', target.http]],
      ['gossip members (no agent)', [bin, 'members', '--http', NO_AGENT]],
    ];
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (const [, args] of cases) timeOnce(args); // warm the file cache
    for (let i = 0; i < runs; i++) for (const [name, args] of cases) times.get(name)!.push(timeOnce(args));
    const floor = stats(times.get('node -e 0')!).median;
    console.log(
      `${'command'.padEnd(28)} ${'min'.padStart(7)} ${'median'.padStart(7)} ${'max'.padStart(7)}  above node -e 0`,
    );
    for (const [name] of cases) {
      const s = stats(times.get(name)!);
      const above =
        name === 'node -e 0'
          ? ''
          : `+${(s.median - floor).toFixed(1)} ms, ${(s.median / floor).toFixed(2)}x (of the medians)`;
      console.log(
        `${name.padEnd(28)} ${s.min.toFixed(1).padStart(7)} ${s.median.toFixed(1).padStart(7)} ${s.max.toFixed(1).padStart(7)}  ${above}`,
      );
    }
  } finally {
    target.kill();
  }
  const agent: number[] = [];
  for (let i = 0; i < agentRuns; i++) {
    const a = await startAgent(bin);
    a.kill();
    agent.push(a.startMs);
  }
  const a = stats(agent);
  console.log(
    `${'gossip agent → HTTP up'.padEnd(28)} ${a.min.toFixed(1).padStart(7)} ${a.median.toFixed(1).padStart(7)} ${a.max.toFixed(1).padStart(7)}  (${agentRuns} runs)`,
  );
  console.log(`load average after: ${load()}`);
}
