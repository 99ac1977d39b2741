/**
 * The strategy driver, the SVG writer and `gossip sim` (strategy mode): determinism from the
 * seed, the JSON record's shape, the reproduce line, and flag validation.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { barChart, formatTick, histogram, lineChart, niceTicks } from '../../src/sim/plot.ts';
import { runStrategySim } from '../../src/sim/strategy-sim.ts';
import { type CliRun, runCli } from '../support/cli.ts';

function sim(args: string[]): Promise<CliRun> {
  return runCli(['sim', ...args]);
}

describe('runStrategySim', () => {
  it('gives the same record for the same seed, and another for another seed', () => {
    for (const strategy of ['point-to-point', 'eager', 'push', 'pull', 'push-pull', 'plumtree'] as const) {
      const options = {
        strategy,
        nodes: 3000,
        lossRate: 0.1,
        crashRate: 0.001,
        senderCrashRound: 2,
        seed: 11,
      };
      const a = JSON.stringify(runStrategySim(options));
      assert.equal(JSON.stringify(runStrategySim(options)), a, strategy);
      if (strategy !== 'point-to-point' && strategy !== 'eager')
        assert.notEqual(JSON.stringify(runStrategySim({ ...options, seed: 12 })), a, strategy);
    }
  });

  it('rejects bad options with a RangeError naming each field and value', () => {
    assert.throws(
      () => runStrategySim({ strategy: 'push', nodes: 1, fanout: 0, lossRate: 1, seed: -1 }),
      (e: Error) =>
        e instanceof RangeError &&
        /nodes must be .* got 1/.test(e.message) &&
        /fanout must be .* got 0/.test(e.message) &&
        /lossRate must be .* got 1/.test(e.message) &&
        /seed must be .* got -1/.test(e.message),
    );
    assert.throws(
      () => runStrategySim({ strategy: 'pull', nodes: 100, rumorK: 2, seed: 1 }),
      /rumorK applies to the push/,
    );
  });
});

describe('gossip sim --strategy', () => {
  it('prints byte-identical JSON for the same seed, with the fields the issue asks for', async () => {
    const args = ['--strategy', 'all', '--nodes', '2000', '--seed', '42', '--loss', '0.05'];
    const a = await sim(args);
    const b = await sim(args);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const runs = JSON.parse(a.stdout) as Record<string, unknown>[];
    assert.equal(runs.length, 6);
    for (const r of runs) {
      for (const key of [
        'strategy',
        'nodes',
        'fanout',
        'seed',
        'rounds',
        'coverage',
        'messages',
        'bytes',
        'maxSentByOneNode',
        'perRound',
      ])
        assert.ok(key in r, `missing ${key}`);
      const predicted = r['predicted'] as Record<string, unknown>;
      for (const key of ['rounds', 'messages', 'coverage']) assert.equal(typeof predicted[key], 'number');
      assert.equal(r['seed'], 42);
    }
    const other = await sim(['--strategy', 'all', '--nodes', '2000', '--seed', '43', '--loss', '0.05']);
    assert.notEqual(other.stdout, a.stdout);
  });

  it('prints on stderr a command that reproduces the run exactly', async () => {
    const first = await sim([
      '--strategy',
      'push',
      '--nodes',
      '5000',
      '--rumor-k',
      '2',
      '--sender-crash-round',
      '3',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const line = first.stderr.split('\n').find((l) => l.startsWith('reproduce: gossip sim '));
    assert.ok(line !== undefined, first.stderr);
    const again = await sim(line.slice('reproduce: gossip sim '.length).split(' '));
    assert.equal(again.stdout, first.stdout);
    assert.ok(!/wall|\bms\b/.test(first.stdout), 'no wall-clock figures in JSON');
  });

  it('prints a table with the theory beside each figure', async () => {
    const r = await sim(['--strategy', 'push-pull', '--nodes', '1000', '--seed', '1', '--format', 'table']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /strategy\s+fanout\s+rounds \(theory\)/);
    assert.match(r.stdout, /push-pull\s+1\s+\d+ \([\d.]+\)/);
  });

  it('draws the spread of each strategy against its theory with --plot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossip-sim-'));
    try {
      const file = join(dir, 'spread.svg');
      const r = await sim(['--strategy', 'all', '--nodes', '1000', '--seed', '1', '--plot', file]);
      assert.equal(r.code, 0, r.stderr);
      const svg = readFileSync(file, 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.equal(svg.match(/<polyline/g)?.length, 12);
      assert.equal(svg.match(/stroke-dasharray/g)?.length, 6);
      for (const name of ['point-to-point', 'eager', 'push', 'pull', 'push-pull', 'plumtree'])
        assert.ok(svg.includes(`>${name}</text>`), name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Each bad flag: exit code 2, and a message that names the value and hints at the fix.
  const invalid: [string[], RegExp][] = [
    [['--nodes', '100'], /--strategy is required: one of point-to-point, .*all/],
    [['--strategy', 'flood', '--nodes', '100'], /--strategy must be one of .*got "flood"/],
    [['--strategy', 'push'], /--nodes is required, for example --nodes 10000/],
    [['--strategy', 'push', '--nodes', '1'], /--nodes must be an integer from 2 to 10000000, got "1"/],
    [['--strategy', 'push', '--nodes', 'ten'], /--nodes must be an integer .*got "ten"/],
    [['--strategy', 'push', '--nodes', '100.5'], /--nodes must be an integer .*got "100.5"/],
    [
      ['--strategy', 'push', '--nodes', '100', '--fanout', '0'],
      /--fanout must be an integer from 1 to 64, got "0"/,
    ],
    [
      ['--strategy', 'push', '--nodes', '5', '--fanout', '5'],
      /--fanout must be an integer from 1 to 4, got "5".*n - 1 = 4/,
    ],
    [
      ['--strategy', 'push', '--nodes', '100', '--loss', '1'],
      /--loss must be a probability with 0 <= P < 1, got "1"; for example --loss 0.05/,
    ],
    [['--strategy', 'push', '--nodes', '100', '--loss', '5%'], /--loss must be a probability .*got "5%"/],
    [['--strategy', 'push', '--nodes', '100', '--crash', 'x'], /--crash must be a probability .*got "x"/],
    [
      ['--strategy', 'push', '--nodes', '100', '--sender-crash-round', '0'],
      /--sender-crash-round must be an integer from 1 .*got "0"/,
    ],
    [
      ['--strategy', 'pull', '--nodes', '100', '--rumor-k', '2'],
      /--rumor-k applies to --strategy push .*not "pull"/,
    ],
    [
      ['--strategy', 'push', '--nodes', '100', '--rumor-k', '0'],
      /--rumor-k must be an integer from 1 to 255, got "0"/,
    ],
    [['--strategy', 'push', '--nodes', '100', '--rumor-removal', 'coin'], /--rumor-removal needs --rumor-k/],
    [
      ['--strategy', 'push', '--nodes', '100', '--rumor-k', '2', '--rumor-removal', 'dice'],
      /--rumor-removal must be counter or coin, got "dice"/,
    ],
    [['--strategy', 'push', '--nodes', '100', '--seed', '-3'], /seed/],
    [
      ['--strategy', 'push', '--nodes', '100', '--max-rounds', '0'],
      /--max-rounds must be an integer from 1 .*got "0"/,
    ],
    [
      ['--strategy', 'push', '--nodes', '100', '--format', 'xml'],
      /--format must be json or table, got "xml"/,
    ],
    [
      ['--strategy', 'push', '--nodes', '100', '--plot', 'out.png'],
      /--plot writes an SVG file; .*got "out.png"/,
    ],
    [['--strategy', 'push', '--nodes', '100', '--bogus'], /Unknown option '--bogus'/],
    [['--strategy', 'push', '--nodes', '100', 'extra'], /Unexpected argument 'extra'/],
  ];
  for (const [args, expected] of invalid) {
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await sim(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, expected);
      assert.match(r.stderr, /\n\nUsage: gossip sim /);
      assert.equal(r.stdout, '');
    });
  }
});

describe('plot', () => {
  it('niceTicks steps by 1, 2 or 5 × 10^k and covers the range', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 31, 7), [0, 5, 10, 15, 20, 25, 30]);
    assert.deepEqual(niceTicks(0, 31, 4), [0, 10, 20, 30]);
    assert.deepEqual(niceTicks(3, 3), [3]);
    assert.equal(formatTick(25_000), '25k');
    assert.equal(formatTick(2_000_000), '2M');
    assert.equal(formatTick(0.25), '0.25');
  });

  it('lineChart is deterministic, escapes text and skips unusable points', () => {
    const series = [
      {
        name: 'a<b',
        points: [
          [0, 1],
          [1, 10],
          [2, Number.NaN],
          [3, 100],
        ] as [number, number][],
      },
      {
        name: 'theory',
        isDashed: true,
        points: [
          [0, 1],
          [3, 1000],
        ] as [number, number][],
      },
    ];
    const svg = lineChart(series, { title: 'x & y', yScale: 'log' });
    assert.equal(lineChart(series, { title: 'x & y', yScale: 'log' }), svg);
    assert.ok(svg.includes('a&#60;b') && svg.includes('x &#38; y'));
    assert.ok(!svg.includes('NaN'));
    assert.equal(svg.match(/<polyline/g)?.length, 2);
    for (const decade of ['1', '10', '100', '1000'])
      assert.ok(svg.includes(`>${decade}</text>`), 'log axis has a tick per decade');
  });

  it('histogram bins values; barChart draws one rect per bar', () => {
    const values = [1, 1, 2, 2, 2, 3, 9, Number.POSITIVE_INFINITY];
    const svg = histogram(values, { bins: 4, name: 'detection time' });
    // background + 4 bars + 1 legend box
    assert.equal(svg.match(/<rect/g)?.length, 6);
    assert.ok(svg.includes('detection time'));
    const bars = barChart([{ name: 'load', bars: [{ x0: 0, x1: 1, value: 3 }] }], { xLabel: 'node' });
    assert.equal(bars.match(/<rect/g)?.length, 3);
  });
});
