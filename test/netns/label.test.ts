/**
 * Two clusters on one network, kept apart by their labels only, between machines: one network
 * namespace per cluster (`a`: alpha, `b`: beta), every agent on its own address behind one
 * bridge (test/support/netns.ts), all encrypted with the same key, and every agent given every
 * agent's address as a seed, as with a seed name or list that spans both clusters.
 *
 * - They form two clusters, and stay two.
 * - Then an alpha machine dies and its address moves to the beta machine, where a new beta
 *   member starts on it (pod-IP reuse, the way memberlist clusters merge by accident:
 *   mimir#6187, loki#10172). Alpha's probes and its gossip to the dead reach the beta member and
 *   are dropped and counted there (`label-mismatch` in `/metrics`); alpha declares its member
 *   failed; nobody in either cluster ever lists a member of the other.
 *
 * Needs root and `ip netns`; skipped (saying why) otherwise. test/interop/label.test.ts runs the
 * same story on loopback ports, and with a plain serf.
 */
// npm test: heavy (agents in network namespaces)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NetnsAgent, NetnsTopology, netnsUnavailable } from '../support/netns.ts';
import { waitFor } from '../support/serf.ts';

const KEY = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const unavailable = netnsUnavailable();

describe('cluster labels across machines (network namespaces)', {
  skip: unavailable && `needs network namespaces: ${unavailable}`,
  timeout: 240_000,
}, () => {
  let topo: NetnsTopology;
  before(() => {
    topo = NetnsTopology.create({ sides: { a: 2, b: 2 } });
  });
  after(async () => {
    await topo?.destroy();
    assert.deepEqual(topo?.leftovers() ?? [], [], 'every namespace and link is gone');
  });

  const metric = async (a: NetnsAgent, reason: string): Promise<number> => {
    const res = await fetch(`http://${a.httpAddr}/metrics`, {
      headers: { authorization: `Bearer ${topo.token}` },
      signal: AbortSignal.timeout(15_000),
    });
    const m = new RegExp(`^gossip_packets_dropped_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(
      await res.text(),
    );
    return m ? Number(m[1]) : 0;
  };
  const names = async (a: NetnsAgent, status?: string) =>
    (await a.members())
      .filter((m) => status === undefined || m.status === status)
      .map((m) => m.name)
      .sort()
      .join(',');

  it('two labelled clusters never merge, not even when an address moves from one to the other', async () => {
    const everyone = [...topo.side('a').ips, ...topo.side('b').ips].map((ip) => `${ip}:7946`);
    const start = (side: 'a' | 'b', index: number, node: string) =>
      topo.startAgent(side, index, {
        node,
        join: everyone,
        extraArgs: [
          '--label',
          side === 'a' ? 'alpha' : 'beta',
          '--encrypt',
          KEY,
          '--discovery-ttl-max',
          '5s',
        ],
      });
    const a1 = start('a', 0, 'alpha-1');
    const a2 = start('a', 1, 'alpha-2');
    const b1 = start('b', 0, 'beta-1');
    const b2 = start('b', 1, 'beta-2');
    for (const a of [a1, a2, b1, b2]) await a.ready();
    await waitFor('alpha to form', async () => (await names(a1, 'alive')) === 'alpha-1,alpha-2', 60_000, 200);
    await waitFor('beta to form', async () => (await names(b1, 'alive')) === 'beta-1,beta-2', 60_000, 200);
    await waitFor('beta to refuse alpha', async () => (await metric(b1, 'label-mismatch')) > 0, 30_000, 200);

    // alpha-2's machine dies; its address moves to the beta machine, where beta-3 starts on it.
    const moved = topo.side('a').ips[1]!;
    await a2.kill();
    topo.ipIn('a', ['addr', 'del', `${moved}/24`, 'dev', 'eth0']);
    topo.ipIn('b', ['addr', 'add', `${moved}/24`, 'dev', 'eth0']);
    topo.side('b').ips.push(moved);
    const b3 = start('b', 2, 'beta-3');
    await b3.ready();
    await waitFor(
      'beta-3 in beta',
      async () => (await names(b1, 'alive')) === 'beta-1,beta-2,beta-3',
      60_000,
      200,
    );
    await waitFor(
      'alpha-1 to declare alpha-2 failed',
      async () => {
        return (await a1.members()).find((m) => m.name === 'alpha-2')?.status === 'failed';
      },
      60_000,
      200,
    );
    await waitFor(
      'beta-3 to drop alpha traffic at the reused address',
      async () => {
        return (await metric(b3, 'label-mismatch')) >= 3;
      },
      30_000,
      200,
    );

    assert.equal(await names(a1), 'alpha-1,alpha-2');
    for (const b of [b1, b2, b3]) assert.equal(await names(b), 'beta-1,beta-2,beta-3', b.node);
    assert.match(b3.log, /dropped input of another cluster \(label-mismatch\)/);
  });
});
