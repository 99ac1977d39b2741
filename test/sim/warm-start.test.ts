/**
 * The protocol simulator's warm start (ProtocolSim.warmStart), the benchmarks' way to a
 * steady state without a join storm: every node ends up holding what it would hold after
 * joining (checked against a real join storm of the same cluster), with nothing queued, the
 * checkers stay quiet, and the cluster then runs as usual.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolSim } from '../../src/sim/protocol-sim.ts';
import type { SimStack } from '../../src/sim/sim-cluster.ts';

function quietSim(nodes: number, stack?: SimStack, maxBroadcastQueueDepth?: number): ProtocolSim {
  return new ProtocolSim({
    scenario: 'crash',
    seed: 4,
    nodes,
    stack,
    maxBroadcastQueueDepth,
    adjustParams: (p) => ({
      ...p,
      faults: [],
      network: { ...p.network, lossRate: 0, reorderRate: 0, duplicateRate: 0 },
    }),
  });
}

/**
 * What each node holds about each member, by observer then member name, without what
 * depends on when it learned it (state-change times) or in which order (the probe order).
 */
function views(sim: ProtocolSim): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const node of sim.cluster.nodes) {
    const view: Record<string, unknown> = {};
    for (const m of node.ml!.allMembers()) {
      const { stateChangeAt: _, meta, ...rest } = m;
      view[m.name] = { ...rest, meta: [...meta] };
    }
    for (const m of node.serf?.members() ?? []) view[`serf:${m.name}`] = m;
    out[node.name] = view;
  }
  return out;
}

describe('protocol simulator: warm start', () => {
  for (const stack of ['serf', 'memberlist'] as const) {
    it(`leaves every node holding what a join storm leaves it (${stack} stack)`, async () => {
      const joined = quietSim(24, stack);
      await joined.bootstrap();
      assert.deepEqual(joined.violations, []);
      const warm = quietSim(24, stack);
      await warm.warmStart();
      assert.deepEqual(warm.violations, []);
      const want = views(joined);
      assert.equal(Object.keys(want).length, 24);
      for (const view of Object.values(want))
        assert.equal(Object.keys(view).length, stack === 'serf' ? 48 : 24);
      assert.deepEqual(views(warm), want);
    });
  }

  it('queues nothing, and the cluster then runs as any other', async () => {
    const sim = quietSim(40, 'serf', 8);
    await sim.warmStart();
    assert.deepEqual(sim.violations, []);
    for (const node of sim.cluster.nodes) {
      const ml = node.ml!;
      assert.equal(ml.numMembers, 40, `${node.name} holds ${ml.numMembers} members alive`);
      // Its own alive, from its start: no member's re-gossip.
      assert.ok(ml.queueDepth <= 1, `${node.name} queued ${ml.queueDepth} broadcasts`);
      assert.equal(ml.stats.pushPulls, 0);
    }
    // Nobody is suspected, nothing is dropped by the (small) queue bound, checkers stay quiet,
    // and every node's first push-pull (within 30 s) finds nothing new.
    await sim.runFor(40_000);
    assert.deepEqual(sim.violations, []);
    for (const node of sim.cluster.nodes) {
      const ml = node.ml!;
      assert.equal(ml.queueDepth, 0);
      assert.equal(ml.queuePruned, 0);
      assert.equal(ml.stats.suspicionsStarted, 0);
      assert.equal(ml.numMembers, 40);
      assert.ok(ml.stats.pushPulls >= 1, `${node.name} has not push-pulled in 40 s`);
    }
  });
});
