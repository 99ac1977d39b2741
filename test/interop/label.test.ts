/**
 * Cluster labels on real sockets (loopback; every agent on its own port, as on separate hosts):
 *
 * - Two encrypted clusters with the same key but different labels (`alpha`, `beta`), each
 *   member given the other cluster's addresses as seeds too, form two clusters and never merge:
 *   joins across fail, and when an `alpha` member dies and a `beta` member takes over its
 *   address (how pod-IP reuse merges memberlist clusters), `alpha`'s probes and gossip to the
 *   dead reach `beta` and are dropped, counted as `label-mismatch` in `/metrics` and logged with
 *   the fix; the dead member is declared failed, not replaced.
 * - A plain `serf agent` still joins a label-less cluster of ours, and cannot join a labelled one
 *   (counted as `label-missing`).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GossipAgent } from '../support/gossip-agent.ts';
import { SerfAgent, serfAvailable, sleep, waitFor } from '../support/serf.ts';

const KEY = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';

async function droppedFor(a: GossipAgent, reason: string): Promise<number> {
  const res = await fetch(`http://${a.httpAddr}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const m = new RegExp(`^gossip_packets_dropped_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(
    await res.text(),
  );
  return m ? Number(m[1]) : 0;
}

async function names(a: GossipAgent, status?: string): Promise<string[]> {
  return (await a.members())
    .filter((m) => status === undefined || m.status === status)
    .map((m) => m.name)
    .sort();
}

describe('cluster label on real sockets', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });
  const agent = async (node: string, label: string, join: string[], port?: number) => {
    const a = await GossipAgent.start({
      node,
      profile: 'local',
      encrypt: KEY,
      join,
      extraArgs: label ? ['--label', label] : [],
      ...(port !== undefined ? { port } : {}),
    });
    stops.push(() => a.stop());
    return a;
  };

  it('two clusters with one key and different labels never merge, not even through a reused address', async () => {
    const a1 = await agent('a1', 'alpha', []);
    const b1 = await agent('b1', 'beta', []);
    // Every later member gets both clusters' seeds: only the label keeps them apart.
    const a2 = await agent('a2', 'alpha', [b1.addr, a1.addr]);
    const b2 = await agent('b2', 'beta', [a1.addr, b1.addr]);
    await waitFor('alpha to form', async () => (await names(a1, 'alive')).join() === 'a1,a2', 45_000);
    await waitFor('beta to form', async () => (await names(b1, 'alive')).join() === 'b1,b2', 45_000);

    await assert.rejects(a1.cli(['join', b1.addr]), 'a join across the label fails');
    await assert.rejects(b2.cli(['join', a2.addr]), 'and the other way');
    await waitFor(
      'beta to count the refused streams',
      async () => (await droppedFor(b1, 'label-mismatch')) > 0,
    );

    // a2 dies and a beta member takes over its address.
    const a2Port = a2.port;
    await a2.kill();
    const b3 = await agent('b3', 'beta', [b1.addr], a2Port);
    await waitFor('beta to take in b3', async () => (await names(b1, 'alive')).join() === 'b1,b2,b3', 45_000);
    await waitFor('a1 to declare a2 failed', async () => (await a1.statusOf('a2')) === 'failed', 60_000);
    // Gossip to the dead goes on for a while after that: let some of it reach b3.
    await waitFor(
      'b3 to drop alpha traffic',
      async () => (await droppedFor(b3, 'label-mismatch')) >= 3,
      30_000,
    );
    await sleep(2000);

    assert.deepEqual(await names(a1), ['a1', 'a2'], 'alpha never heard of a beta member');
    for (const b of [b1, b2, b3]) {
      assert.deepEqual(await names(b), ['b1', 'b2', 'b3'], `${b.node} never heard of an alpha member`);
    }
    assert.match(b3.log, /dropped input of another cluster \(label-mismatch\).*"alpha".*"beta".*--label/);
  });

  it('a plain serf joins a label-less cluster of ours, and not a labelled one', {
    skip: !serfAvailable() && 'the serf binary is not installed (CI installs it)',
  }, async () => {
    const plain = await agent('plain-1', '', []);
    const labelled = await agent('labelled-1', 'alpha', []);
    const serf = await SerfAgent.start({ node: 'serf-1', profile: 'local', encrypt: KEY });
    stops.push(() => serf.stop());
    await serf.cli(['join', plain.addr]);
    await waitFor('serf and the plain agent to see each other', async () => {
      return (await plain.statusOf('serf-1')) === 'alive' && (await serf.statusOf('plain-1')) === 'alive';
    });
    await assert.rejects(serf.cli(['join', labelled.addr]), 'serf cannot join a labelled agent');
    await waitFor(
      'the labelled agent to count it',
      async () => (await droppedFor(labelled, 'label-missing')) > 0,
    );
    assert.deepEqual(await names(labelled), ['labelled-1']);
    assert.ok(!(await serf.members()).some((m) => m.name === 'labelled-1'));
  });
});
