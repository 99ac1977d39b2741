/**
 * Interop of whole agents with the real serf, on loopback, plaintext and encrypted:
 * 2 `serf agent`s and 2 `gossip agent`s, each side joining through the other, converge and
 * list all 4 alive; a gossip node's tags show in `serf members`; `serf leave` shows as left in
 * gossip and `gossip leave` as left in serf; `kill -9` of a serf agent is seen as failed by
 * the gossip nodes, and of a gossip agent by serf, each within the time serf itself needs
 * (measured in the same run). Encrypted: a gossip node with a wrong key or none stays out and
 * says why in its log.
 *
 * Both sides run the `local` profile (1 s probes, 200 ms timeouts) to keep the run short.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GossipAgent } from '../support/gossip-agent.ts';
import { SerfAgent, serfAvailable, sleep, waitFor } from '../support/serf.ts';

const KEY = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const OTHER_KEY = 'qVcPhJ8/N7cmmluNxTIke/vSw6NvomA8jMfk5xHKavE=';

/** How much slower than serf our detection may be: one probe interval of random phase, and 50%. */
const DETECTION_SLACK_MS = 1500;
const DETECTION_FACTOR = 1.5;

type Observer = { name: string; statusOf: (node: string) => Promise<string | undefined> };

/** Polls every observer until each reports `node` with `status`; returns ms per observer. */
async function timeUntil(observers: Observer[], node: string, status: string, start: number, maxMs = 60_000) {
  const out: Record<string, number> = {};
  await Promise.all(
    observers.map(async (o) => {
      for (;;) {
        const s = await o.statusOf(node).catch(() => undefined);
        if (s === status) {
          out[o.name] = performance.now() - start;
          return;
        }
        if (performance.now() - start > maxMs)
          throw new Error(`${o.name} did not see ${node} ${status} within ${maxMs} ms`);
        await sleep(100);
      }
    }),
  );
  return out;
}

for (const encrypted of [false, true]) {
  describe(`gossip and serf agents together (${encrypted ? 'encrypted' : 'plaintext'})`, {
    skip: !serfAvailable() && 'the serf binary is not installed (CI installs it)',
  }, () => {
    const stops: (() => Promise<void>)[] = [];
    after(async () => {
      for (const s of stops.reverse()) await s().catch(() => {});
    });
    const encrypt = encrypted ? KEY : undefined;
    const serf = async (node: string, join?: string) => {
      const a = await SerfAgent.start({
        node,
        profile: 'local',
        ...(encrypt ? { encrypt } : {}),
        ...(join ? { join: [join] } : {}),
      });
      stops.push(() => a.stop());
      return a;
    };
    const gossip = async (
      node: string,
      join: string,
      extra: Partial<Parameters<typeof GossipAgent.start>[0]> = {},
    ) => {
      const a = await GossipAgent.start({
        node,
        profile: 'local',
        join: [join],
        ...(encrypt ? { encrypt } : {}),
        ...extra,
      });
      stops.push(() => a.stop());
      return a;
    };
    const asObserver = (a: SerfAgent | GossipAgent, name: string): Observer => ({
      name,
      statusOf: (n) => a.statusOf(n),
    });

    it('mixed cluster: converge, tags, leaves both ways, crash detection both ways', async () => {
      const s1 = await serf('s1');
      const g1 = await gossip('g1', s1.addr, { tags: { role: 'web', lang: 'ts' } });
      const s2 = await serf('s2', g1.addr);
      const g2 = await gossip('g2', s2.addr);
      const all = ['s1', 's2', 'g1', 'g2'];
      const aliveEverywhere = async () => {
        for (const a of [s1, s2, g1, g2]) {
          const ms = await a.members();
          if (!all.every((n) => ms.some((m) => m.name === n && m.status === 'alive'))) return false;
        }
        return true;
      };
      await waitFor('all 4 alive in every view', aliveEverywhere, 20_000);

      // Tags set on a gossip node, as serf lists them.
      const g1InSerf = (await s1.members()).find((m) => m.name === 'g1')!;
      assert.deepEqual(g1InSerf.tags, { role: 'web', lang: 'ts' });
      assert.equal(g1InSerf.addr, g1.addr);
      // And gossip's JSON matches serf's shape for a serf node.
      const s1InGossip = (await g1.members()).find((m) => m.name === 's1')!;
      const s1InSerf = (await s1.members()).find((m) => m.name === 's1')!;
      assert.deepEqual(s1InGossip, s1InSerf);
      const cliJson = JSON.parse(await g1.cli(['members', '--format', 'json'])) as { members: unknown[] };
      assert.equal(cliJson.members.length, 4);

      // serf leave → left in gossip.
      await s2.cli(['leave']);
      await waitFor(
        'g1 and g2 see s2 left',
        async () => (await g1.statusOf('s2')) === 'left' && (await g2.statusOf('s2')) === 'left',
        15_000,
      );
      // gossip leave → left in serf; the agent exits 0.
      await g2.cli(['leave']);
      assert.equal(await g2.waitExit(), 0);
      await waitFor('s1 sees g2 left', async () => (await s1.statusOf('g2')) === 'left', 15_000);
      assert.match(g2.log, /left the cluster/);

      // Crash detection, both directions, against serf's own time. A serf agent and a gossip
      // agent are killed at the same moment in a 6-node cluster, so both detections run under
      // the same conditions (with only two survivors, a suspicion's confirmations can all be
      // gossiped to the dead and every observer waits out the 18 s Lifeguard maximum — serf
      // and gossip alike; that is the protocol, not either implementation).
      const s3 = await serf('s3', s1.addr);
      const g3 = await gossip('g3', g1.addr);
      const s4 = await serf('s4', g1.addr);
      const g4 = await gossip('g4', s1.addr);
      const live = [s1, g1, s4, g4];
      const six = ['s1', 'g1', 's3', 'g3', 's4', 'g4'];
      // Four agents join at once through different seeds, so a newcomer can miss another's alive
      // gossip (seen: serf s4, joined through g1, never heard of g4, joined through s1, within
      // 20 s): the next push-pull repairs it. On the local profile that is every 15 s, and a serf
      // agent's first one comes a random stagger plus a whole interval after its start (up to
      // 30 s), so the wait covers one of those, not gossip alone.
      await waitFor(
        '6 alive everywhere',
        async () => {
          for (const a of [...live, s3, g3]) {
            const ms = await a.members();
            if (!six.every((n) => ms.some((m) => m.name === n && m.status === 'alive'))) return false;
          }
          return true;
        },
        40_000,
      ).catch(async (e: Error) => {
        // Say what each agent sees: which member is missing or not alive, and where.
        const views: string[] = [];
        for (const a of [...live, s3, g3]) {
          const ms = await a.members().catch(() => []);
          views.push(`${a.node}: ${ms.map((m) => `${m.name}=${m.status}`).join(' ')}`);
        }
        throw new Error(`${e.message}; views: ${views.join(' | ')}`);
      });
      const observers = [
        asObserver(s1, 'serf s1'),
        asObserver(s4, 'serf s4'),
        asObserver(g1, 'gossip g1'),
        asObserver(g4, 'gossip g4'),
      ];
      const start = performance.now();
      await Promise.all([s3.kill(), g3.kill()]);
      const [serfCrash, gossipCrash] = await Promise.all([
        timeUntil(observers, 's3', 'failed', start),
        timeUntil(observers, 'g3', 'failed', start),
      ]);
      // In a small cluster one observer now and then misses every retransmission of the dead
      // broadcast and waits out its own Lifeguard maximum (serf's observers too). So compare
      // lower medians of four observations each, which one such outlier does not move.
      const lowerMedian = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
      const bySerf = [
        serfCrash['serf s1']!,
        serfCrash['serf s4']!,
        gossipCrash['serf s1']!,
        gossipCrash['serf s4']!,
      ];
      const byGossip = [
        serfCrash['gossip g1']!,
        serfCrash['gossip g4']!,
        gossipCrash['gossip g1']!,
        gossipCrash['gossip g4']!,
      ];
      const ofSerfAgent = Object.values(serfCrash);
      const ofGossipAgent = Object.values(gossipCrash);
      const fmt = (r: Record<string, number>) =>
        Object.entries(r)
          .map(([k, v]) => `${k} ${Math.round(v)} ms`)
          .join(', ');
      const serfOwn = lowerMedian(bySerf);
      const bound = (ms: number) => ms * DETECTION_FACTOR + DETECTION_SLACK_MS;
      console.log(
        `${encrypted ? 'encrypted' : 'plaintext'}: kill -9 of serf s3 seen failed by ${fmt(serfCrash)}; ` +
          `kill -9 of gossip g3 (same moment) seen failed by ${fmt(gossipCrash)}; lower medians: ` +
          `serf observers ${Math.round(serfOwn)} ms, gossip observers ${Math.round(lowerMedian(byGossip))} ms, ` +
          `serf agent's crash ${Math.round(lowerMedian(ofSerfAgent))} ms, gossip agent's crash ${Math.round(lowerMedian(ofGossipAgent))} ms`,
      );
      assert.ok(lowerMedian(byGossip) <= bound(serfOwn), 'gossip nodes see crashes as fast as serf nodes do');
      assert.ok(
        lowerMedian(ofGossipAgent) <= bound(lowerMedian(ofSerfAgent)),
        'a crashed gossip agent is seen failed as fast as a crashed serf agent',
      );
    });

    if (encrypted) {
      it('a gossip node with the wrong key, or none, stays out and says why', async () => {
        const s1 = await serf('k1');
        const wrong = await gossip('wrong-key', s1.addr, { encrypt: OTHER_KEY });
        const none = await GossipAgent.start({ node: 'no-key', profile: 'local', join: [s1.addr] });
        stops.push(() => none.stop());
        await waitFor(
          'both logged a failed join',
          () => /join failed/.test(wrong.log) && /join failed/.test(none.log),
          15_000,
        );
        await sleep(2000);
        const names = (await s1.members()).map((m) => m.name);
        assert.deepEqual(names, ['k1'], 'neither got in');
        assert.match(
          wrong.log,
          /join failed.*(decrypt|key)/i,
          'the wrong-key node names the key as the problem',
        );
        assert.match(none.log, /join failed.*encrypt/i, 'the keyless node names encryption as the problem');
        assert.equal((await wrong.members()).length, 1);
        assert.equal((await none.members()).length, 1);
      });
    }
  });
}
