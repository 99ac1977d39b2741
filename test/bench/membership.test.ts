/**
 * The short version of `npm run bench -- membership`: the smallest run (3 agents of each kind,
 * one cluster, one agent alone, one event) in JSON, to show that the benchmark still runs end to
 * end against a real `serf` and reports every figure for both sides with a ratio. The figures
 * themselves are not checked (targets live in the benchmark, never in timed tests), only that
 * each was measured.
 */
// npm test: heavy (ours and serf's agents, crash detection and leave on real time)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtBin } from '../support/gossip-agent.ts';
import { serfAvailable } from '../support/serf.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}
interface Figure {
  key: string;
  n: number | null;
  ours: Stat | null;
  serf: Stat | null;
  ratio: number | null;
  load: { min: number; max: number } | null;
}

describe('npm run bench -- membership (short)', {
  skip: !serfAvailable() && 'the serf binary is not installed (CI installs it)',
}, () => {
  it('runs against serf and reports ours, serf, ratio, spread and load for every figure', () => {
    builtBin(); // the build is fresh
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/main.ts',
        'membership',
        ...['--sizes', '3', '--runs', '1', '--events', '1', '--settle-s', '0', '--steady-s', '1'],
        ...['--start-runs', '1', '--alone-s', '1', '--cli-runs', '1', '--seeds', '0'],
        ...['--format', 'json'],
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 180_000 },
    );
    assert.equal(r.status, 0, `the benchmark failed:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /ERROR/, 'a phase failed');
    const out = JSON.parse(r.stdout) as { figures: Figure[]; netns: string | null };
    const keys = out.figures.map((f) => f.key);
    const expected = [
      'agentStartMs',
      'idleCpuAloneMsPerS',
      'rssAloneMiB',
      'cliMembersMs',
      'cliVersionMs',
      'joinReadyMs',
      'joinLaunchMs',
      'crashMs',
      'leaveMs',
      'event50Ms',
      'event90Ms',
      'event100Ms',
      'cpuMsPerSPerAgent',
      'rssMiB',
      'pssMiB',
      'startMsInCluster',
      // Counted only inside the benchmark's own network namespace (root with `ip netns`).
      ...(out.netns ? ['bytesPerAgentPerS'] : []),
    ];
    for (const k of expected) assert.ok(keys.includes(k), `no figure ${k}: ${keys.join(', ')}`);
    for (const f of out.figures) {
      assert.ok(f.ours && f.serf, `${f.key}: measured on both sides`);
      assert.ok(f.ours.min <= f.ours.median && f.ours.median <= f.ours.max, `${f.key}: a spread`);
      assert.ok(f.load && f.load.min >= 0, `${f.key}: the load beside it`);
      // Serf's idle CPU over 1 s may be 0 (no ratio then); every other figure has one.
      if (f.serf.median > 0) assert.equal(typeof f.ratio, 'number', `${f.key}: a ratio`);
    }
  });
});
