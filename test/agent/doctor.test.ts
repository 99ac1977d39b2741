/**
 * `gossip doctor` against a broken set-up on loopback: real agents with another key, no
 * encryption, a cluster label, one holding our node name; a port where nothing listens; a seed
 * name that does not resolve. Each problem must be named, with its fix; a healthy set-up must
 * come out clean (exit 0). The CLI runs in process (`--format json` and the text form).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';
import type { DoctorReport } from '../../src/agent/doctor.ts';
import { runCli } from '../support/cli.ts';

const KEY = 'T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s=';
const OTHER_KEY = 'HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8=';

const sink = new Writable({
  write(_c, _e, cb) {
    cb();
  },
});

async function agent(name: string, extra: Record<string, unknown> = {}): Promise<Agent> {
  const a = await Agent.create(
    resolveConfig({
      nodeName: name,
      bindAddr: '127.0.0.1:0',
      httpAddr: '127.0.0.1:0',
      profile: 'local',
      ...extra,
    }),
    { out: sink },
  );
  await a.start();
  return a;
}

async function doctor(args: string[]): Promise<{ code: number; report: DoctorReport }> {
  const r = await runCli([
    'doctor',
    '--bind',
    '127.0.0.1:0',
    '--http',
    '127.0.0.1:0',
    '--format',
    'json',
    '--timeout',
    '2s',
    ...args,
  ]);
  assert.equal(r.stderr, '');
  return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport };
}

describe('gossip doctor', () => {
  const agents: Record<string, Agent> = {};
  let deadAddr: string;
  before(async () => {
    agents.good = await agent('good', { encryptKey: KEY });
    agents.otherKey = await agent('other-key', { encryptKey: OTHER_KEY });
    agents.plain = await agent('plain');
    agents.labelled = await agent('labelled', { encryptKey: KEY, label: 'blue' });
    const gone = await agent('gone');
    deadAddr = gone.gossipAddr;
    await gone.stop();
  });
  after(async () => {
    for (const a of Object.values(agents)) await a.stop();
  });

  it('a healthy set-up: the seed answers, nothing is wrong, exit 0', async () => {
    const { code, report } = await doctor([
      '--node',
      'doc',
      '--encrypt',
      KEY,
      '--join',
      agents.good!.gossipAddr,
    ]);
    assert.equal(code, 0, JSON.stringify(report, null, 2));
    assert.equal(report.isHealthy, true);
    const [p] = report.peers;
    assert.equal(p!.tcpOk, true);
    assert.equal(p!.name, 'good');
    assert.ok(p!.udpRttMs !== undefined, 'UDP ping answered');
    assert.deepEqual(p!.problems, []);
    assert.match(JSON.stringify(report.advertise), /127\.0\.0\.1/);
  });

  it('a broken set-up: every problem named with its fix, exit 1', async () => {
    const { code, report } = await doctor([
      '--node',
      'good', // the name the cluster already has
      '--encrypt',
      KEY,
      '--join',
      agents.good!.gossipAddr,
      '--join',
      agents.otherKey!.gossipAddr,
      '--join',
      agents.plain!.gossipAddr,
      '--join',
      agents.labelled!.gossipAddr,
      '--join',
      deadAddr,
      '--join',
      'no-such-host.invalid:7946',
    ]);
    assert.equal(code, 1);
    assert.equal(report.isHealthy, false);
    const byAddr = (a: Agent) => report.peers.find((p) => p.addr === a.gossipAddr)!;
    const problems = (p: { problems: string[] }) => p.problems.join(' | ');
    assert.match(problems(byAddr(agents.good!)), /name in use.*"good".*another --node/);
    assert.match(problems(byAddr(agents.otherKey!)), /key|encrypt/i);
    assert.match(problems(byAddr(agents.plain!)), /encrypt/i);
    assert.match(problems(byAddr(agents.labelled!)), /requires a cluster label.*--label/);
    assert.match(problems(report.peers.find((p) => p.addr === deadAddr)!), /refused: nothing listens/);
    assert.match(report.problems.join(' | '), /seed no-such-host\.invalid:7946: .*ENOTFOUND/);
    const seed = report.seeds.find((s) => s.spec === 'no-such-host.invalid:7946')!;
    assert.equal(seed.kind, 'host');
    assert.deepEqual(seed.addrs, []);
  });

  it('a label here that the peer does not have is named as a label mismatch', async () => {
    const { code, report } = await doctor([
      '--node',
      'doc',
      '--encrypt',
      KEY,
      '--label',
      'green',
      '--join',
      agents.good!.gossipAddr,
      '--join',
      agents.labelled!.gossipAddr,
    ]);
    assert.equal(code, 1);
    const good = report.peers.find((p) => p.addr === agents.good!.gossipAddr)!;
    assert.match(good.problems.join(), /label mismatch.*uses no cluster label.*--label "green"/);
    const labelled = report.peers.find((p) => p.addr === agents.labelled!.gossipAddr)!;
    assert.match(labelled.problems.join(), /another cluster label/);
  });

  it('prints a readable report with the same findings', async () => {
    const r = await runCli([
      'doctor',
      '--node',
      'doc',
      '--bind',
      '127.0.0.1:0',
      '--encrypt',
      KEY,
      '--join',
      agents.good!.gossipAddr,
      '--join',
      deadAddr,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^advertise {2}127\.0\.0\.1:\d+ {2}\(the bind address\)/m);
    assert.match(r.stdout, /encryption on \(1 key\)/);
    assert.match(
      r.stdout,
      new RegExp(`${agents.good!.gossipAddr} {2}UDP ok \\([\\d.]+ ms\\) {2}TCP ok: good`),
    );
    assert.match(r.stdout, /problem: TCP .*connection refused/);
    assert.match(r.stdout, /1 problem found/);
  });
});
