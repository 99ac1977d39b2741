/**
 * The protocol simulator's warm start (ProtocolSim.warmStart), the benchmarks' way to a
 * steady state without a join storm: every node ends up holding every other alive through
 * one inbound push-pull, the checkers stay quiet, and the cluster then runs as usual.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolSim, WARM_START_PEER_ADDR } from '../../src/sim/protocol-sim.ts';

function quietSim(nodes: number, maxBroadcastQueueDepth?: number): ProtocolSim {
  return new ProtocolSim({
    scenario: 'crash',
    seed: 4,
    nodes,
    maxBroadcastQueueDepth,
    adjustParams: (p) => ({
      ...p,
      faults: [],
      network: { ...p.network, lossRate: 0, reorderRate: 0, duplicateRate: 0 },
    }),
  });
}

describe('protocol simulator: warm start', () => {
  it('gives every node every other member alive, through one push-pull each', async () => {
    const sim = quietSim(40);
    await sim.warmStart();
    assert.deepEqual(sim.violations, []);
    const names = sim.cluster.nodes.map((n) => n.name);
    for (const node of sim.cluster.nodes) {
      const ml = node.ml!;
      assert.equal(ml.numMembers, 40, `${node.name} holds ${ml.numMembers} members alive`);
      for (const name of names) assert.equal(ml.member(name)?.status, 'alive');
      assert.ok(ml.stats.pushPulls >= 1);
      assert.equal(ml.member(WARM_START_PEER_ADDR), undefined);
    }
    // Then the cluster runs as any other: queues drain, nobody is suspected, checkers quiet.
    await sim.runFor(40_000);
    assert.deepEqual(sim.violations, []);
    for (const node of sim.cluster.nodes) {
      assert.equal(node.ml!.queueDepth, 0);
      assert.equal(node.ml!.stats.suspicionsStarted, 0);
      assert.equal(node.ml!.numMembers, 40);
    }
  });

  it('a queue bound drops the re-gossip of the list, and nothing once the queues are empty', async () => {
    const sim = quietSim(30, 8);
    await sim.warmStart();
    const pruned = () => sim.cluster.nodes.reduce((n, node) => n + node.ml!.queuePruned, 0);
    assert.ok(pruned() > 0, 'each node queued 29 alive messages in a queue of 8');
    for (const node of sim.cluster.nodes) assert.ok(node.ml!.queueDepth <= 8);
    await sim.runFor(30_000);
    for (const node of sim.cluster.nodes) assert.equal(node.ml!.queueDepth, 0);
    const before = pruned();
    await sim.runFor(20_000);
    assert.equal(pruned(), before);
    assert.deepEqual(sim.violations, []);
  });
});
