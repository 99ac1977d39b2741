/**
 * The protocol simulator (src/sim/protocol-sim.ts) and `gossip sim --scenario`:
 * - the randomized sweep: 100 seeds of the `random` scenario on the full stack, every
 *   invariant holding (with the reproduce command of any seed that fails), and every kind of
 *   event the checkers need observed (`npm run test:sweep` runs more seeds);
 * - determinism: the same seed prints the same JSON, byte for byte; another seed differs;
 * - every scenario runs and passes on a small cluster;
 * - each checker can fail: a synthetic bad trace gives its reason string;
 * - calibration: simulated crash detection on LAN defaults against real nodes on loopback;
 * - the CLI: seed and parameters first on stderr, the reproduce line, table, plot, flag errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Memberlist } from '../../src/membership/index.ts';
import { RealClock, SeededRandom } from '../../src/runtime/index.ts';
import { type ClusterView, ConvergenceChecker } from '../../src/sim/checkers/convergence.ts';
import { DeadOriginChecker } from '../../src/sim/checkers/dead-origin.ts';
import { IncarnationChecker } from '../../src/sim/checkers/incarnation.ts';
import { MemberStatusChecker, type SerfStatusView } from '../../src/sim/checkers/member-status.ts';
import { RefuteChecker } from '../../src/sim/checkers/refute.ts';
import { ResurrectionChecker } from '../../src/sim/checkers/resurrection.ts';
import type { MemberStatus, SerfStatus, TraceChecker, TraceEvent } from '../../src/sim/checkers/trace.ts';
import { UserEventChecker } from '../../src/sim/checkers/user-event.ts';
import { percentile } from '../../src/sim/metrics.ts';
import { runProtocolSim } from '../../src/sim/protocol-sim.ts';
import { type ProtocolSimParams, SCENARIO_NAMES } from '../../src/sim/scenario.ts';
import { runSweep, unobserved } from '../../src/sim/sweep.ts';
import { UdpTcpTransport } from '../../src/transport/udp-tcp.ts';
import { type CliRun, runCli } from '../support/cli.ts';
import { SWEEP_DURATION_S, SWEEP_SEEDS, sweepSeedBase } from '../support/sweep.ts';

function sim(args: string[]): Promise<CliRun> {
  return runCli(['sim', ...args]);
}

describe('protocol simulator: randomized sweep', () => {
  it(`holds every invariant and converges on ${SWEEP_SEEDS} seeds of --scenario random, and saw every kind of event`, async () => {
    const base = sweepSeedBase();
    const started = performance.now();
    const sweep = await runSweep({ seeds: SWEEP_SEEDS, base, durationS: SWEEP_DURATION_S });
    const wall = (performance.now() - started) / 1000;
    const events = Object.entries(sweep.observed.events)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const checks = Object.entries(sweep.observed.checks)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const p = sweep.protocol;
    const serf =
      `${p.intentsReceived} intents received, ${p.reconnectAttempts} reconnects, ${p.forceLeaves} force-leaves, ` +
      `${p.userEventsDelivered} user events delivered (${p.userEventsSent} sent), ${p.queryResponses} query responses (${p.queriesSent} queries)`;
    console.log(
      `sweep: ${SWEEP_SEEDS} seeds from ${base}, ${(sweep.simulatedMs / 1000).toFixed(0)} s simulated in ${wall.toFixed(1)} s wall\n` +
        `  observed: ${events}\n  checked: ${checks}\n  serf: ${serf}`,
    );
    const failures = sweep.failures.map(
      (f) =>
        `seed ${f.seed}: ${f.violations.map((v) => `[${v.checker}] at ${v.atMs} ms: ${v.reason}`).join('\n    ')}\n  reproduce: ${f.reproduce}`,
    );
    assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
    // A checker fed nothing can never fail: the sweep must have seen every kind of event.
    assert.deepEqual(unobserved(sweep), []);
  });
});

describe('protocol simulator: known findings', () => {
  // Found by the sweep (seed 2341 of 1000-3000). n2 comes back from a 22 s isolation holding
  // every other member dead; n4 restarts and joins through it, then n6 starts and joins
  // through it too. n2's push-pull lists n0, n5, ... as dead, and memberlist's mergeState
  // turns remote dead/suspect entries into a suspicion of members it knows, dropping the
  // ones it does not: n6 never learns their addresses. n2 and n4 then crash before Serf's
  // reconnect loop has bridged the two sides; n6 retries only the members it saw fail (n2,
  // n4), and the main side never heard of n6. The split is permanent: a liveness gap
  // memberlist and Serf share, not a broken safety invariant.
  //
  // The fix is seed discovery that never stops (src/discovery, `gossip agent --join`): n6
  // still joins through n2 first, then its discovery finds n0, n1, ... in the seed name, not
  // members of its own, and joins them. The run is the same run until discovery first acts
  // (its random stream is its own), so the control below is the finding itself.
  //
  // Under the full stack (Serf over memberlist, not the simulator's old copy of Serf's
  // reconnect loop) seed 2341's random schedule converges by itself, so the finding is pinned
  // by its schedule written out: n2 is cut off for 99 s, long enough to hold every other member
  // dead and then forget them (memberlist drops the dead after gossipToTheDeadTime, 30 s, so it
  // no longer gossips to them either); n6 joins through n2 one second after the heal, and n2
  // crashes a second later, before any Serf reconnect tick (every 30 s) bridges the sides.
  it('a node that joined through an isolated member that then died finds the cluster (the seed 2341 finding)', async () => {
    const opts = {
      scenario: 'churn',
      seed: 1,
      nodes: 6,
      durationS: 120,
      adjustParams: (p: ProtocolSimParams): ProtocolSimParams => ({
        ...p,
        slots: 7,
        network: { ...p.network, lossRate: 0, reorderRate: 0, duplicateRate: 0 },
        clockDriftPpm: [],
        faults: [
          { kind: 'isolate', atMs: 1000, untilMs: 100_000, node: 2 },
          { kind: 'join', atMs: 101_000, node: 6, seeds: [2] },
          { kind: 'crash', atMs: 102_000, node: 2, restartAtMs: null },
        ],
        traffic: [],
      }),
    } as const;
    const fixed = await runProtocolSim({ ...opts, seedDiscovery: true });
    assert.ok(fixed.isOk, fixed.convergence.reason ?? JSON.stringify(fixed.violations));
    const control = await runProtocolSim({ ...opts, seedDiscovery: false });
    assert.equal(control.isOk, false, 'without seed discovery the gap is still there');
    assert.match(control.convergence.reason ?? '', /does not know n6|n6 does not know/);
  });

  // Found by the long sweep (npm run test:sweep -- --base 1000 --seeds 2000 --duration 60: the
  // one failure in 2000 runs). Under 15 % loss and an asymmetric partition, n13 takes up n1's
  // suspicion of n8 at incarnation 2; n8 refutes (to 3) and then leaves gracefully at 3,
  // gossiping its leave intent. n13 gets the intent (n8 'leaving') but neither the refutation nor memberlist's
  // leave message in time, so its own suspicion at 2 times out: memberlist declares n8 dead at
  // 2, and Serf, holding it leaving, makes it left. Then the refutation at 3 arrives, newer than
  // the death memberlist knows of: memberlist takes n8 alive again and Serf follows
  // (member-join), until n8, gone, is declared dead again (member-failed) and a push-pull's
  // left members make it left for good. Serf behaves the same (its handleNodeJoin makes any
  // member alive that memberlist says is). A fix needs Serf to tell a revival that predates
  // the leave from a restart, which its Lamport times cannot do reliably: push-pulls pass a
  // leave on one tick past its time, so a restarted member's join intent need not be newer.
  it('a member that left is not revived by its own refutation arriving after the leave (seed 2960)', {
    todo: 'a transient revival after a graceful leave, as in Serf; see the comment above',
  }, async () => {
    const r = await runProtocolSim({ scenario: 'random', seed: 2960, durationS: 60 });
    assert.ok(r.isOk, JSON.stringify(r.violations.slice(0, 2)));
  });
});

describe('protocol simulator: scenarios and determinism', () => {
  it('runs every scenario on a small cluster with every invariant holding', async () => {
    for (const scenario of SCENARIO_NAMES) {
      const nodes = scenario === 'join-storm' ? 24 : 10;
      const r = await runProtocolSim({ scenario, seed: 3, nodes, durationS: 40 });
      assert.ok(r.isOk, `${scenario}: ${JSON.stringify(r.violations)}`);
      assert.equal(r.params.nodes, nodes);
      assert.equal(r.convergence.isConverged, true, scenario);
      if (scenario === 'crash') {
        assert.ok(r.detection.crashes >= 1 && r.detection.detected === r.detection.crashes);
        assert.ok(r.detection.lastMs.p50! > 0);
      }
      if (scenario === 'join-storm') assert.ok(r.params.slots > r.params.initialNodes);
      assert.ok(r.load.bytesPerNodePerSecond.mean > 0, scenario);
      // The full stack: the Serf layer delivered the traffic (each event to its sender too).
      assert.ok(r.protocol.userEventsSent > 0, scenario);
      assert.ok(r.protocol.userEventsDelivered > r.protocol.userEventsSent, scenario);
      assert.ok(r.protocol.intentsReceived > 0, scenario);
    }
  });

  it('prints byte-identical JSON for the same seed, and different JSON for another', async () => {
    const args = ['--scenario', 'random', '--seed', '17', '--duration', '20'];
    const a = await sim(args);
    const b = await sim(args);
    const c = await sim(['--scenario', 'random', '--seed', '18', '--duration', '20']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
    const r = JSON.parse(a.stdout) as Record<string, unknown>;
    for (const key of [
      'params',
      'isOk',
      'violations',
      'phases',
      'detection',
      'falsePositives',
      'convergence',
      'load',
      'protocol',
      'network',
      'events',
      'observed',
    ])
      assert.ok(key in r, key);
    assert.doesNotMatch(a.stdout, /wall/i, 'no wall-clock figures in the JSON');
  });

  it('prints the seed, then every derived parameter, then the command that reproduces the run', async () => {
    const first = await sim(['--scenario', 'partition', '--seed', '5', '--duration', '30']);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stderr.split('\n');
    assert.equal(lines[0], 'seed 5');
    assert.match(lines[1]!, /^scenario partition, profile lan, \d+ nodes at the start/);
    assert.ok(lines.some((l) => /^latency /.test(l)));
    assert.ok(lines.some((l) => /^loss .*reordering .*duplication/.test(l)));
    assert.ok(lines.some((l) => /partition|isolated/.test(l)));
    const reproduce = lines.find((l) => l.startsWith('reproduce: gossip sim '));
    assert.ok(reproduce !== undefined);
    assert.ok(
      lines.indexOf(reproduce) < lines.findIndex((l) => l.startsWith('partition: ')),
      'the reproduce line comes before the run',
    );
    const again = await sim(reproduce.slice('reproduce: gossip sim '.length).split(' '));
    assert.equal(again.stdout, first.stdout);
  });

  it('prints a table and draws detection times and load per node with --plot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossip-protocol-sim-'));
    try {
      const file = join(dir, 'crash.svg');
      const r = await sim([
        '--scenario',
        'crash',
        '--nodes',
        '12',
        '--seed',
        '2',
        '--format',
        'table',
        '--plot',
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^run +crash, seed 2/m);
      assert.match(r.stdout, /detection \(crash → last node\) +p50 \d+\.\d+ s/);
      assert.match(r.stdout, /false positives/);
      assert.match(r.stdout, /convergence after the last change/);
      assert.match(r.stdout, /per node per second/);
      assert.match(r.stdout, /simulated s per wall s/);
      const svg = readFileSync(file, 'utf8');
      assert.match(svg, /^<svg /);
      assert.match(svg, /failure detection/);
      assert.match(svg, /load per node/);
      assert.equal((svg.match(/<svg /g) ?? []).length, 3, 'two charts in one document');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [args, message] of [
    [['--scenario', 'meteor'], /--scenario must be one of crash, partition/],
    [['--scenario', 'crash', '--strategy', 'push'], /separate modes/],
    [['--scenario', 'crash', '--loss', '0.1'], /--loss belongs to --strategy mode/],
    [['--scenario', 'crash', '--nodes', '1'], /--nodes must be an integer from 2/],
    [['--scenario', 'crash', '--duration', '0'], /--duration must be a number of seconds above 0/],
    [['--scenario', 'crash', '--profile', 'moon'], /--profile must be lan, wan or local/],
    [['--scenario', 'crash', '--plot', 'x.png'], /--plot writes an SVG file/],
  ] as const) {
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await sim([...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
    });
  }
});

/** Feeds `events` to `checker`, calling endOfEvent after each; returns the reasons reported. */
function run(make: (report: (reason: string) => void) => TraceChecker, events: TraceEvent[]): string[] {
  const reasons: string[] = [];
  const checker = make((reason) => reasons.push(reason));
  for (const e of events) {
    checker.observe(e);
    checker.endOfEvent(e.atMs);
  }
  return reasons;
}

describe('invariant checkers fail on bad traces', () => {
  it('incarnation: a held incarnation that goes backwards', () => {
    const make = (report: (r: string) => void) => new IncarnationChecker(report, 30_000);
    const good: TraceEvent[] = [
      { type: 'join', atMs: 0, observer: 'a', member: 'b', incarnation: 1 },
      { type: 'view', atMs: 5, observer: 'a', member: 'b', status: 'alive', incarnation: 3 },
      { type: 'leave', atMs: 10, observer: 'a', member: 'b', incarnation: 3, status: 'dead' },
      // forgotten after gossipToTheDeadTime, learned again from the restarted member
      { type: 'join', atMs: 50_000, observer: 'a', member: 'b', incarnation: 1 },
      // the observer restarted: a new process may learn any incarnation
      { type: 'start', atMs: 60_000, node: 'a' },
      { type: 'view', atMs: 60_001, observer: 'a', member: 'b', status: 'alive', incarnation: 1 },
    ];
    assert.deepEqual(run(make, good), []);
    const bad: TraceEvent[] = [
      { type: 'join', atMs: 0, observer: 'a', member: 'b', incarnation: 4 },
      { type: 'view', atMs: 7, observer: 'a', member: 'b', status: 'suspect', incarnation: 2 },
    ];
    assert.deepEqual(run(make, bad), [
      'a held b at incarnation 4, then at 2 (read back, now suspect); incarnations must not go backwards',
    ]);
    // Dead for less than gossipToTheDeadTime: it cannot have been forgotten yet.
    const early: TraceEvent[] = [
      { type: 'leave', atMs: 0, observer: 'a', member: 'b', incarnation: 5, status: 'dead' },
      { type: 'join', atMs: 1000, observer: 'a', member: 'b', incarnation: 1 },
    ];
    assert.match(run(make, early)[0]!, /a held b at incarnation 5, then at 1 \(join event/);
  });

  it('dead-origin: a death nobody declared, a verdict without a suspicion, a leave nobody made', () => {
    const make = (report: (r: string) => void) => new DeadOriginChecker(report);
    const good: TraceEvent[] = [
      { type: 'suspect', atMs: 0, observer: 'a', member: 'c', incarnation: 2, from: 'a' },
      { type: 'leave', atMs: 5000, observer: 'a', member: 'c', incarnation: 2, status: 'dead' },
      { type: 'dead', atMs: 5000, observer: 'a', member: 'c', incarnation: 2 },
      { type: 'leave', atMs: 5001, observer: 'b', member: 'c', incarnation: 2, status: 'dead' },
      { type: 'leave', atMs: 6000, observer: 'd', member: 'd', incarnation: 1, status: 'left' },
      { type: 'leave', atMs: 6001, observer: 'b', member: 'd', incarnation: 1, status: 'left' },
    ];
    // The verdict's own `leave` comes a moment before its `dead` event, within one event.
    const reasons: string[] = [];
    const checker = make((r) => reasons.push(r));
    for (const e of good.slice(0, 3)) checker.observe(e);
    checker.endOfEvent(5000);
    for (const e of good.slice(3)) {
      checker.observe(e);
      checker.endOfEvent(e.atMs);
    }
    assert.deepEqual(reasons, []);
    assert.deepEqual(
      run(make, [{ type: 'leave', atMs: 9, observer: 'b', member: 'c', incarnation: 3, status: 'dead' }]),
      [
        'b marked c dead at incarnation 3, but no node had declared it dead at that incarnation (no suspicion timed out)',
      ],
    );
    assert.deepEqual(
      run(make, [
        { type: 'suspect', atMs: 0, observer: 'a', member: 'c', incarnation: 1, from: 'b' },
        { type: 'dead', atMs: 4, observer: 'a', member: 'c', incarnation: 2 },
      ]),
      [
        'a declared c dead at incarnation 2 without having suspected it at that incarnation (its last suspicion was at 1)',
      ],
    );
    assert.deepEqual(
      run(make, [{ type: 'leave', atMs: 2, observer: 'b', member: 'e', incarnation: 1, status: 'left' }]),
      ['b marked e as left at incarnation 1, but e never left at that incarnation'],
    );
  });

  it('refute: an accused live node that does not refute', () => {
    const make = (report: (r: string) => void) => new RefuteChecker(report);
    const accused = (over: Partial<Extract<TraceEvent, { type: 'accused' }>>): TraceEvent => ({
      type: 'accused',
      atMs: 1,
      node: 'a',
      accusedIncarnation: 3,
      incarnationBefore: 3,
      incarnationAfter: 4,
      refutedTo: 4,
      isLeaving: false,
      ...over,
    });
    assert.deepEqual(
      run(make, [
        accused({}),
        accused({ accusedIncarnation: 2, incarnationAfter: 3, refutedTo: null }), // stale: no answer needed
        accused({ incarnationAfter: 3, refutedTo: null, isLeaving: true }), // leaving: no refutation
      ]),
      [],
    );
    assert.deepEqual(run(make, [accused({ incarnationAfter: 3, refutedTo: null })]), [
      'a learned it was accused at incarnation 3 (its own was 3) but did not refute: its incarnation is 3, no refute event',
    ]);
  });

  it('user-event: a user event delivered twice to one node (in one life)', () => {
    const make = (report: (r: string) => void) => new UserEventChecker(report);
    const delivered = (observer: string, atMs: number, name = 'deploy', lTime = 7): TraceEvent => ({
      type: 'user-event',
      atMs,
      observer,
      name,
      lTime,
    });
    const good: TraceEvent[] = [
      delivered('a', 1),
      delivered('b', 2),
      delivered('a', 3, 'deploy', 8), // another event of the same name
      delivered('a', 4, 'rollback', 7), // another name at the same time
      { type: 'start', atMs: 10, node: 'a' }, // a new process may be given it again
      delivered('a', 11),
    ];
    assert.deepEqual(run(make, good), []);
    assert.deepEqual(run(make, [delivered('a', 1), delivered('b', 2), delivered('a', 5)]), [
      'a delivered user event deploy (event time 7) again at 5 ms, first at 1 ms; a user event is delivered at most once per node',
    ]);
  });

  it('resurrection: a member that left gracefully brought back before it started again', () => {
    const make = (report: (r: string) => void) => new ResurrectionChecker(report);
    const member = (
      atMs: number,
      event: Extract<TraceEvent, { type: 'member' }>['event'],
      status: SerfStatus,
    ) => ({ type: 'member', atMs, observer: 'a', member: 'c', event, status }) as TraceEvent;
    const leaves: TraceEvent[] = [
      { type: 'start', atMs: 0, node: 'c' },
      { type: 'leave', atMs: 100, observer: 'c', member: 'c', incarnation: 2, status: 'left' },
      member(101, 'member-leave', 'left'),
    ];
    // Back after a restart: fine, also when the news of the old leave arrives after the restart.
    const restarted: TraceEvent[] = [
      ...leaves.slice(0, 2),
      { type: 'start', atMs: 200, node: 'c' },
      member(201, 'member-leave', 'left'),
      member(300, 'member-join', 'alive'),
    ];
    assert.deepEqual(run(make, restarted), []);
    // A force-left member (no leave of its own) that comes back is not held to it.
    const forced: TraceEvent[] = [
      { type: 'start', atMs: 0, node: 'c' },
      { type: 'force-leave', atMs: 50, by: 'b', member: 'c' },
      member(60, 'member-leave', 'left'),
      member(70, 'member-join', 'alive'),
    ];
    assert.deepEqual(run(make, forced), []);
    // Reaped, then learned afresh: forgotten, not resurrected.
    assert.deepEqual(
      run(make, [...leaves, member(150, 'member-reap', 'left'), member(160, 'member-join', 'alive')]),
      [],
    );
    assert.deepEqual(run(make, [...leaves, member(150, 'member-join', 'alive')]), [
      'a held c as left from 101 ms, then reported member-join (now alive) though c has not started again since it left; a member that left is never resurrected',
    ]);
    assert.match(
      run(make, [...leaves, member(150, 'member-failed', 'failed')])[0]!,
      /reported member-failed \(now failed\)/,
    );
  });

  it('member-status: names who holds a running or departed member at another status', () => {
    const statuses: Record<string, Record<string, SerfStatus>> = {
      a: { a: 'alive', b: 'alive', c: 'left', d: 'failed' },
      b: { a: 'alive', b: 'alive', c: 'left' }, // never knew d (joined after it crashed): fine
    };
    const view = (down: string[]): SerfStatusView => ({
      live: () => [
        { name: 'a', incarnation: 1 },
        { name: 'b', incarnation: 1 },
      ],
      down: () => down,
      serfStatusOf: (o, m) => statuses[o]?.[m],
    });
    const checker = new MemberStatusChecker();
    assert.equal(checker.check(view(['c', 'd'])), null);
    statuses.b!.c = 'failed';
    assert.equal(checker.check(view(['c', 'd'])), 'b holds c failed, a holds it left (c is down)');
    statuses.b!.a = 'leaving';
    statuses.a!.d = 'alive';
    assert.equal(
      checker.check(view(['c', 'd']), true),
      'b holds a leaving (a runs); b holds c failed, a holds it left (c is down); a holds d alive, but d is down',
    );
  });

  it('convergence: names who disagrees about whom', () => {
    const views: Record<string, Record<string, { status: MemberStatus; incarnation: number }>> = {
      a: { a: { status: 'alive', incarnation: 1 }, b: { status: 'alive', incarnation: 2 } },
      b: { a: { status: 'alive', incarnation: 1 }, b: { status: 'alive', incarnation: 2 } },
    };
    const cluster = (down: string[]): ClusterView => ({
      live: () => [
        { name: 'a', incarnation: 1 },
        { name: 'b', incarnation: 2 },
      ],
      down: () => down,
      viewOf: (o, m) => views[o]?.[m],
    });
    const checker = new ConvergenceChecker();
    assert.equal(checker.check(cluster([])), null);
    views.a!.c = { status: 'suspect', incarnation: 1 };
    assert.equal(checker.check(cluster(['c'])), 'a holds c suspect at incarnation 1, but c is down');
    views.b!.a = { status: 'suspect', incarnation: 1 };
    delete views.b!.b;
    assert.equal(
      checker.check(cluster(['c']), true),
      'a holds c suspect at incarnation 1, but c is down; b holds a suspect at incarnation 1 (a runs at 1); b does not know b',
    );
  });
});

/**
 * Calibration against real nodes. The crash-detection time of LAN defaults is mostly
 * Lifeguard's suspicion timeout (4 s for 7 nodes, once two other nodes confirm), plus the
 * wait for a probe of the victim to fail (a probe interval, 1 s, from a phase that depends on
 * where the crash falls in the probe cycle) and a few gossip rounds. The simulator runs the
 * same code with the same timings, so medians should agree to within sampling noise:
 * the phase term is uniform over ~1 s, so the median of 6 real crashes moves by ~0.3 s (one
 * standard deviation) and the simulated median of 12 by ~0.2 s; real timers and sockets add
 * milliseconds. The tolerance, 25% of the simulated median (≈ 1.4 s), is four of those
 * deviations, so a miss means the simulator's clock, network or scheduling has drifted from
 * the real thing, not bad luck.
 */
const CALIBRATION_NODES = 7;
const CALIBRATION_REAL_CRASHES = 6;
const CALIBRATION_SIM_CRASHES = 12;
const CALIBRATION_TOLERANCE = 0.25;

async function realDetectionTimesMs(): Promise<number[]> {
  const clock = new RealClock();
  const random = new SeededRandom(Date.now());
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const clusters: Memberlist[][] = [];
  try {
    // One independent cluster per crash, all at once: the test takes one detection's time.
    for (let c = 0; c < CALIBRATION_REAL_CRASHES; c++) {
      const nodes: Memberlist[] = [];
      clusters.push(nodes);
      for (let i = 0; i < CALIBRATION_NODES; i++) {
        const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0', clock });
        const ml = new Memberlist({ name: `c${c}-n${i}`, transport, clock, random: random.fork() });
        ml.start();
        nodes.push(ml);
      }
    }
    await Promise.all(
      clusters.flatMap((nodes) => nodes.slice(1).map((ml) => ml.join([nodes[0]!.localNode.address]))),
    );
    const formedBy = performance.now() + 20_000;
    while (!clusters.every((nodes) => nodes.every((ml) => ml.numMembers === CALIBRATION_NODES))) {
      assert.ok(performance.now() < formedBy, 'the real clusters formed within 20 s');
      await sleep(20);
    }
    await sleep(1000);
    return await Promise.all(
      clusters.map(async (nodes) => {
        const victim = nodes.at(-1)!;
        const name = victim.localNode.name;
        const others = nodes.slice(0, -1);
        // Crash at a random point of the probe cycle, as the simulator's crash times are.
        await sleep(Math.random() * 1000);
        const seen = new Set<Memberlist>();
        let crashedAt = 0;
        const detected = new Promise<number>((resolve, reject) => {
          const timeout = setTimeout(() => reject(new Error(`${name} not detected within 30 s`)), 30_000);
          for (const ml of others) {
            ml.on('leave', ({ member }) => {
              if (member.name !== name || member.status !== 'dead') return;
              seen.add(ml);
              if (seen.size === others.length) {
                clearTimeout(timeout);
                resolve(performance.now() - crashedAt);
              }
            });
          }
        });
        crashedAt = performance.now();
        await victim.shutdown(); // a crash: no leave, the sockets close
        return detected;
      }),
    );
  } finally {
    for (const nodes of clusters) for (const ml of nodes) await ml.shutdown();
  }
}

describe('calibration: simulated crash detection against real nodes on loopback', () => {
  it(`agrees with ${CALIBRATION_NODES} real nodes (LAN defaults, UDP/TCP on 127.0.0.1) within ${CALIBRATION_TOLERANCE * 100}% of the median`, async () => {
    const simulated: number[] = [];
    for (let seed = 1; simulated.length < CALIBRATION_SIM_CRASHES; seed++) {
      const r = await runProtocolSim({ scenario: 'crash', seed, nodes: CALIBRATION_NODES, durationS: 30 });
      assert.ok(r.isOk, `crash seed ${seed}: ${JSON.stringify(r.violations)}`);
      simulated.push(...r.detection.timesMs);
    }
    const real = await realDetectionTimesMs();
    const median = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const simMedian = median(simulated);
    const realMedian = median(real);
    console.log(
      `calibration, ${CALIBRATION_NODES} nodes, crash → last node marks it dead: real median ${(realMedian / 1000).toFixed(2)} s ` +
        `(${real.map((t) => (t / 1000).toFixed(2)).join(', ')}), simulated median ${(simMedian / 1000).toFixed(2)} s ` +
        `(${simulated.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
    );
    // Both sit above Lifeguard's floor: the suspicion timeout's minimum, 4 s at this size.
    assert.ok(realMedian > 4000 && simMedian > 4000);
    assert.ok(
      Math.abs(realMedian - simMedian) <= CALIBRATION_TOLERANCE * simMedian,
      `real ${realMedian.toFixed(0)} ms vs simulated ${simMedian.toFixed(0)} ms: more than ${CALIBRATION_TOLERANCE * 100}% apart`,
    );
  });
});
