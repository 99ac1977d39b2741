/**
 * The membership behaviour suite, run twice: on the in-memory network (virtual time, LAN
 * timings, 50 nodes) and on real UDP/TCP sockets on loopback (real time, faster timings,
 * fewer nodes). Same scenarios, same assertions:
 * - a cluster converges;
 * - a crashed node is declared dead by every other within the Lifeguard bound;
 * - a node whose acks are lost is suspected, refutes, and is never declared dead;
 * - a stalled event loop does not get healthy nodes suspected or declared dead;
 * - garbage on a node's ports is counted and dropped, and the node keeps its view.
 */
// npm test: heavy (real-time probes of 100-200 ms on loopback)
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { suspicionTimeoutMs } from '../../src/membership/index.ts';
import { SeededRandom } from '../../src/runtime/index.ts';
import { type Harness, memoryHarness, type TestNode, udpHarness } from '../support/cluster.ts';

interface Substrate {
  name: string;
  make: () => Harness;
  /** Cluster size for the convergence and crash scenarios. */
  size: number;
}

const substrates: Substrate[] = [
  { name: 'in-memory network', make: () => memoryHarness(7), size: 50 },
  { name: 'real UDP/TCP sockets', make: () => udpHarness(), size: 10 },
];

async function formCluster(h: Harness, n: number, prefix: string, extra = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await h.addNode(`${prefix}${i}`, extra));
  const seed = nodes[0]!.ml.localNode.address;
  await h.drive(Promise.all(nodes.slice(1).map((node) => node.ml.join([seed]))));
  return nodes;
}

function converged(nodes: TestNode[], expected = nodes.length): boolean {
  return nodes.every((n) => n.ml.members().filter((m) => m.status === 'alive').length === expected);
}

for (const sub of substrates) {
  describe(`membership behaviour on the ${sub.name}`, () => {
    const harnesses: Harness[] = [];
    const harness = () => {
      const h = sub.make();
      harnesses.push(h);
      return h;
    };
    after(async () => {
      for (const h of harnesses) await h.close();
    });

    it(`a ${sub.size}-node cluster converges`, async () => {
      const h = harness();
      const nodes = await formCluster(h, sub.size, 'c');
      const took = await h.waitFor('every node sees every other alive', () => converged(nodes), 20_000);
      console.log(`${sub.name}: ${sub.size} nodes converged in ${Math.round(took)} ms after the joins`);
    });

    it('a crashed node is declared dead by every other node within the Lifeguard bound', async () => {
      const h = harness();
      const nodes = await formCluster(h, sub.size, 'k');
      await h.waitFor('convergence', () => converged(nodes), 20_000);
      const victim = nodes[sub.size - 1]!;
      const others = nodes.slice(0, -1);
      const o = others[0]!.ml.options;
      // Lifeguard bound: a probe round to reach the victim, the indirect phase, then the
      // suspicion timer at its maximum (no confirmations) and a few gossip rounds to spread it.
      const min = suspicionTimeoutMs(o.suspicionMult, sub.size, o.probeIntervalMs);
      const bound = 3 * o.probeIntervalMs + o.suspicionMaxTimeoutMult * min + 10 * o.gossipIntervalMs;
      const deadAt = new Map<string, number>();
      const start = h.clock.now();
      for (const n of others) {
        n.ml.on('leave', ({ member }) => {
          if (member.name === victim.name && member.status === 'dead')
            deadAt.set(n.name, h.clock.now() - start);
        });
      }
      await h.crash(victim);
      await h.waitFor(
        'every survivor declares the victim dead',
        () => deadAt.size === others.length,
        bound + 5000,
      );
      const times = [...deadAt.values()].sort((a, b) => a - b);
      console.log(
        `${sub.name}: crash of 1 of ${sub.size} seen dead by all in ${Math.round(times.at(-1)!)} ms ` +
          `(first ${Math.round(times[0]!)} ms; Lifeguard bound ${Math.round(bound)} ms)`,
      );
      assert.ok(
        times.at(-1)! <= bound,
        `last detection at ${times.at(-1)} ms exceeds the bound of ${bound} ms`,
      );
      for (const n of others) assert.equal(n.ml.member(victim.name)?.status, 'dead');
    });

    it('a node whose acks are dropped for a while is suspected, refutes, and is never declared dead', async () => {
      const h = harness();
      // Without the TCP fallback, lost UDP acks are the whole story.
      const nodes = await formCluster(h, 5, 'a', { disableTcpPings: true });
      await h.waitFor('convergence', () => converged(nodes), 20_000);
      const x = nodes[2]!;
      const incarnationBefore = x.ml.localNode.incarnation;
      let suspected = 0;
      let declaredDead = 0;
      for (const n of nodes) {
        n.ml.on('suspect', ({ member }) => {
          if (member.name === x.name) suspected++;
        });
        n.ml.on('leave', ({ member }) => {
          if (member.name === x.name) declaredDead++;
        });
      }
      x.transport.dropOutgoing = (msgs) => msgs.some((m) => m.type === 'ack');
      const o = x.ml.options;
      await h.run(6 * o.probeIntervalMs);
      x.transport.dropOutgoing = undefined;
      await h.waitFor(
        'everyone sees x alive again',
        () => nodes.every((n) => n.ml.member(x.name)?.status === 'alive'),
        10 * o.probeIntervalMs,
      );
      assert.ok(suspected > 0, 'x was suspected while its acks were lost');
      assert.ok(x.ml.stats.refutes > 0, 'x refuted');
      assert.ok(x.ml.localNode.incarnation > incarnationBefore, 'by raising its incarnation');
      assert.equal(declaredDead, 0, 'x was never declared dead');
      for (const n of nodes) assert.equal(n.ml.member(x.name)?.incarnation, x.ml.localNode.incarnation);
    });

    it('a stalled event loop does not get healthy nodes suspected or declared dead', async () => {
      const h = harness();
      const nodes = await formCluster(h, 5, 's');
      await h.waitFor('convergence', () => converged(nodes), 20_000);
      const x = nodes[1]!;
      const accusations: string[] = [];
      const deaths: string[] = [];
      for (const n of nodes) {
        n.ml.on('suspect', ({ member, from }) => {
          if (from === x.name || h.kind === 'udp') accusations.push(`${from} suspected ${member.name}`);
        });
        n.ml.on('leave', ({ member }) => deaths.push(`${n.name} saw ${member.name} ${member.status}`));
      }
      let peakHealth = 0;
      x.ml.on('health', ({ score }) => {
        peakHealth = Math.max(peakHealth, score);
      });
      const o = x.ml.options;
      // Five stalls, each long enough to swallow a whole probe (timeout and indirect phase).
      for (let i = 0; i < 5; i++) {
        await h.stall(x, 3 * o.probeIntervalMs);
        await h.run(2 * o.probeIntervalMs);
      }
      await h.run(10 * o.probeIntervalMs);
      assert.deepEqual(deaths, [], 'nobody was declared dead');
      assert.deepEqual(accusations, [], 'the stalled node accused nobody');
      assert.ok(peakHealth > 0, 'the stalled node doubted itself (health score rose)');
      assert.ok(
        x.ml.stats.eventLoopLagMaxMs >= 2 * o.probeIntervalMs,
        `lag measured: ${x.ml.stats.eventLoopLagMaxMs} ms`,
      );
      assert.ok(converged(nodes), 'everyone is alive in every view');
    });

    it('garbage on a node’s ports is counted and dropped; the node keeps its view', async () => {
      const h = harness();
      const nodes = await formCluster(h, 3, 'g');
      await h.waitFor('convergence', () => converged(nodes), 20_000);
      const target = nodes[0]!;
      const attacker = nodes[1]!;
      const r = new SeededRandom(99);
      const before = target.ml
        .members()
        .map((m) => `${m.name}:${m.incarnation}`)
        .sort();
      for (let i = 0; i < 500; i++) {
        const junk = new Uint8Array(1 + r.int(300));
        for (let j = 0; j < junk.length; j++) junk[j] = r.int(256);
        // Plausible first bytes so decoding goes deep: message types, compound, compress, CRC.
        junk[0] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, r.int(256)][r.int(11)]!;
        attacker.transport.sendPacket(target.ml.localNode.address, junk);
      }
      await h.run(500);
      const dropped = Object.values(target.ml.stats.dropped).reduce((a, b) => a + b, 0);
      assert.ok(dropped > 400, `dropped ${dropped} of 500`);
      assert.deepEqual(
        target.ml
          .members()
          .map((m) => `${m.name}:${m.incarnation}`)
          .sort(),
        before,
      );
      assert.ok(converged(nodes));
    });
  });
}
