/**
 * `broadcastsPending`: an idle cluster's gossip rounds ask no queue that has nothing to give
 * (memberlist asks its delegate on every round; that cost a Node.js agent CPU five times a
 * second while nothing happened), and whatever is queued still goes out.
 *
 * Checked on two levels, on the in-memory network (virtual time):
 * - memberlist: a delegate saying "nothing pending" is never asked for broadcasts (neither by a
 *   gossip round nor for a probe or an ack); one without the hook is asked, as memberlist does;
 * - Serf: an extension with `getBroadcasts` and `broadcastsPending` is asked only while it says
 *   it has something, or while Serf's own queues hold a message; a user event queued in an idle
 *   cluster still reaches every node;
 * - the replicated state (an extension): a write in an idle cluster goes out by gossip at once,
 *   not only at the next anti-entropy round.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { SerfExtension } from '../../src/cluster/index.ts';
import type { MemberlistDelegate } from '../../src/membership/index.ts';
import { StateSim } from '../state/harness.ts';
import { type Harness, memoryHarness, type TestNode } from '../support/cluster.ts';
import { SerfSim } from './harness.ts';

/** A delegate that counts how often it is asked for broadcasts (it never has any). */
function countingDelegate(pending: (() => boolean) | undefined): MemberlistDelegate & { asked: number } {
  const d: MemberlistDelegate & { asked: number } = {
    asked: 0,
    getBroadcasts: () => {
      d.asked++;
      return [];
    },
  };
  if (pending) d.broadcastsPending = pending;
  return d;
}

describe('broadcastsPending (memberlist delegate)', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
  });

  async function cluster(delegate: (i: number) => MemberlistDelegate): Promise<TestNode[]> {
    const h = memoryHarness(5);
    harnesses.push(h);
    const nodes: TestNode[] = [];
    for (let i = 0; i < 5; i++) nodes.push(await h.addNode(`n${i}`, { delegate: delegate(i) }));
    const seed = nodes[0]!.ml.localNode.address;
    await h.drive(Promise.all(nodes.slice(1).map((n) => n.ml.join([seed]))));
    await h.waitFor(
      'convergence',
      () => nodes.every((n) => n.ml.members().filter((m) => m.status === 'alive').length === 5),
      20_000,
    );
    await h.run(30_000); // well past every join broadcast's retransmit limit: an idle cluster
    return nodes;
  }

  it('a delegate with nothing pending is never asked, by gossip, probe or ack; one without the hook is', async () => {
    let pending = false;
    const quiet = Array.from({ length: 5 }, () => countingDelegate(() => pending));
    const nodes = await cluster((i) => quiet[i]!);
    const h = harnesses.at(-1)!;
    for (const d of quiet) d.asked = 0;
    await h.run(10_000);
    assert.deepEqual(
      quiet.map((d) => d.asked),
      [0, 0, 0, 0, 0],
      'idle for 10 s: no gossip round, probe or ack asked a delegate with nothing pending',
    );
    pending = true;
    await h.run(1_000);
    for (const [i, d] of quiet.entries())
      assert.ok(d.asked > 0, `${nodes[i]!.name} asked once it had something`);

    // Without the hook: asked every gossip round (memberlist's behaviour), 3 targets × 5 a second.
    const plain = Array.from({ length: 5 }, () => countingDelegate(undefined));
    await cluster((i) => plain[i]!);
    const h2 = harnesses.at(-1)!;
    for (const d of plain) d.asked = 0;
    await h2.run(10_000);
    for (const d of plain) assert.ok(d.asked >= 100, `asked ${d.asked} times in 10 s without the hook`);
  });
});

describe('broadcastsPending (Serf and its extensions)', () => {
  function extension(pending: (() => boolean) | undefined): SerfExtension & { asked: number } {
    const ext: SerfExtension & { asked: number } = {
      asked: 0,
      capability: 'bp-test',
      capabilityVersion: 1,
      messageType: 0x70,
      handleMessage: () => {},
      getBroadcasts: () => {
        ext.asked++;
        return [];
      },
    };
    if (pending) ext.broadcastsPending = pending;
    return ext;
  }

  it('an idle extension is not asked; a queued user event still goes out and reaches every node', async () => {
    const sim = new SerfSim(41);
    let pending = false;
    const exts: (SerfExtension & { asked: number })[] = [];
    for (let i = 0; i < 5; i++) {
      const node = sim.add(`s${i}`, {}, false);
      const ext = extension(() => pending);
      node.serf.registerExtension(ext);
      node.serf.start();
      exts.push(ext);
    }
    const nodes = sim.nodes;
    for (const n of nodes.slice(1)) await sim.drive(n.serf.join([nodes[0]!.addr]));
    await sim.waitFor(
      'convergence',
      () => nodes.every((n) => n.serf.members().filter((m) => m.status === 'alive').length === 5),
      30_000,
    );
    await sim.run(60_000); // every join intent past its retransmit limit
    for (const e of exts) e.asked = 0;
    await sim.run(10_000);
    assert.deepEqual(
      exts.map((e) => e.asked),
      [0, 0, 0, 0, 0],
      'idle: Serf asks no extension that has nothing pending',
    );

    const got = new Set<string>();
    for (const n of nodes) n.serf.on('user', () => got.add(n.name));
    nodes[0]!.serf.userEvent('hello', 'x', { coalesce: false });
    await sim.waitFor('the event at every node', () => got.size === 5, 5_000);
    assert.ok(exts[0]!.asked > 0, "the sender's queue held the event: the extension got the spare room");

    pending = true;
    for (const e of exts) e.asked = 0;
    await sim.run(60_000); // the event's retransmissions are over; only the extension has something
    for (const e of exts) e.asked = 0;
    await sim.run(1_000);
    for (const [i, e] of exts.entries())
      assert.ok(e.asked > 0, `s${i}: asked while it says it has something`);
    await sim.close();
  });

  it('an extension without the hook is asked on every round, as memberlist asks its delegate', async () => {
    const sim = new SerfSim(42);
    const exts: (SerfExtension & { asked: number })[] = [];
    for (let i = 0; i < 3; i++) {
      const node = sim.add(`t${i}`, {}, false);
      const ext = extension(undefined);
      node.serf.registerExtension(ext);
      node.serf.start();
      exts.push(ext);
    }
    const nodes = sim.nodes;
    for (const n of nodes.slice(1)) await sim.drive(n.serf.join([nodes[0]!.addr]));
    await sim.run(60_000);
    for (const e of exts) e.asked = 0;
    await sim.run(10_000);
    for (const e of exts) assert.ok(e.asked >= 50, `asked ${e.asked} times in 10 s`);
    await sim.close();
  });
});

describe('broadcastsPending (the replicated state)', () => {
  it('a write in an idle cluster goes out by gossip, within a few gossip rounds', async () => {
    const sim = new StateSim(43);
    const nodes = await sim.stateCluster(5);
    await sim.run(60_000); // idle: every join intent and state notice sent and done
    const sentBefore = nodes[0]!.state.info().broadcastsSent;
    nodes[0]!.state.set('color', 'red');
    const ms = await sim.waitFor(
      'every node has the write',
      () => nodes.every((n) => n.state.getText('color', { node: nodes[0]!.name }) === 'red'),
      10_000,
    );
    assert.ok(nodes[0]!.state.info().broadcastsSent > sentBefore, 'the write was gossiped');
    // Gossip every 200 ms to 3 of 4: a second is plenty; anti-entropy alone took about 2 s.
    assert.ok(ms <= 1_000, `the write took ${ms} ms to reach every node`);
    await sim.close();
  });
});
