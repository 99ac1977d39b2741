/**
 * The replicated state on real agents: `gossip agent` processes on loopback sockets (the built
 * bin), driven through the HTTP API with `GossipClient`, and real `serf agent`s in a mixed
 * cluster. What issue 10 asks of it, end to end: writes, updates and deletes reach the others;
 * a 60 KB value arrives intact; a burst of 1,000 writes arrives in order; a node stopped with
 * SIGSTOP for 10 s catches up; `kill -9` and a restart with the same data dir keeps the keys and
 * the new writes win; an ephemeral key vanishes when its owner is killed; serf agents in the
 * cluster see their membership right and nothing of the state (their logs stay clean).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GossipClient } from '../../src/api/client.ts';
import { Keyring } from '../../src/wire/crypto.ts';
import { GossipAgent } from '../support/gossip-agent.ts';
import { SerfAgent, serfAvailable, sleep, waitFor } from '../support/serf.ts';

const clientOf = (a: GossipAgent) => new GossipClient({ http: a.httpAddr });

/** Waits until `reader` holds `owner`'s map at least at `version`. */
async function holds(reader: GossipAgent, owner: string, key: string, value: string, timeoutMs = 20_000) {
  await waitFor(
    `${reader.node} holds ${owner}'s ${key}=${value.slice(0, 20)}`,
    async () => (await clientOf(reader).kvGet(key, { node: owner }))?.value === value,
    timeoutMs,
    100,
  );
}

async function joinAll(agents: GossipAgent[], through: string): Promise<void> {
  for (const a of agents) await clientOf(a).join([through]);
  await waitFor(
    'every agent sees every other alive',
    async () => {
      for (const a of agents) {
        const ms = await a.members();
        if (ms.filter((m) => m.status === 'alive').length < agents.length + 1) return false;
      }
      return true;
    },
    30_000,
    200,
  );
}

describe('replicated state on real gossip agents', () => {
  const agents: GossipAgent[] = [];
  let a: GossipAgent;
  let b: GossipAgent;
  let c: GossipAgent;

  before(async () => {
    [a, b, c] = await Promise.all([
      GossipAgent.start({ node: 'kv-a', dataDir: '{dir}/data' }),
      GossipAgent.start({ node: 'kv-b' }),
      GossipAgent.start({ node: 'kv-c' }),
    ]);
    agents.push(a, b, c);
    await joinAll([b, c], a.addr);
  });
  after(async () => {
    for (const x of agents) await x.stop();
  });

  it('a write, an update and a delete on one node reach the others', async () => {
    const ca = clientOf(a);
    await ca.kvSet('color', 'red');
    for (const x of [b, c]) await holds(x, 'kv-a', 'color', 'red');
    await ca.kvSet('color', 'blue');
    for (const x of [b, c]) await holds(x, 'kv-a', 'color', 'blue');
    await ca.kvDelete('color');
    for (const x of [b, c]) {
      await waitFor(
        'the delete',
        async () => (await clientOf(x).kvGet('color', { node: 'kv-a' })) === undefined,
      );
    }
  });

  it('a 60 KB value arrives intact', async () => {
    const value = Array.from({ length: 60_000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join(
      '',
    );
    await clientOf(b).kvSet('blob', value);
    for (const x of [a, c]) await holds(x, 'kv-b', 'blob', value);
  });

  it('a burst of 1,000 writes all arrive, in order', async () => {
    const stop = new AbortController();
    const seen: number[] = [];
    let ready = false;
    const watching = (async () => {
      for await (const e of clientOf(c).kvWatch({ node: 'kv-b', prefix: 'burst/', signal: stop.signal })) {
        if (e.event === 'ready') ready = true;
        else if (e.event === 'set' && !e.data.snapshot) seen.push(e.data.version);
      }
    })();
    await waitFor('the watch is ready', () => ready);
    const cb = clientOf(b);
    let last = 0;
    for (let i = 0; i < 1000; i++) last = (await cb.kvSet(`burst/${i}`, `v${i}`)).version;
    await waitFor(
      'every write of the burst at c',
      async () => {
        const list = await clientOf(c).kvList({ node: 'kv-b', prefix: 'burst/' });
        return Object.keys(list.nodes['kv-b'] ?? {}).length === 1000;
      },
      60_000,
      250,
    );
    await waitFor('the watch saw the last write', () => seen.at(-1) === last, 20_000);
    stop.abort();
    await watching;
    assert.equal(seen.length, 1000);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! > seen[i - 1]!, `version ${seen[i]} after ${seen[i - 1]}`);
    // a holds all of them too.
    await waitFor(
      'every write of the burst at a',
      async () => {
        const atA = await clientOf(a).kvList({ node: 'kv-b', prefix: 'burst/' });
        return Object.keys(atA.nodes['kv-b'] ?? {}).length === 1000;
      },
      60_000,
      250,
    );
  });

  it('a node stalled with SIGSTOP for 10 s catches up after it resumes', async () => {
    process.kill(c.pid!, 'SIGSTOP');
    try {
      await clientOf(a).kvSet('during-stall', 'x');
      await clientOf(b).kvSet('during-stall', 'y');
      for (let i = 0; i < 50; i++) await clientOf(a).kvSet(`stall/${i}`, `${i}`);
      // Every question to b about a's map now waits its second for c, which cannot answer:
      // past MAX_PENDING_ASKS (64) in flight, b answers 503 and says why.
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => fetch(`http://${b.httpAddr}/v1/replicas/kv-a`)),
      );
      const statuses = answers.map((r) => r.status);
      const refused = answers.filter((r) => r.status === 503);
      assert.ok(refused.length > 0 && statuses.filter((s) => s === 200).length >= 64, `statuses ${statuses}`);
      assert.equal(refused.length + statuses.filter((s) => s === 200).length, 150, `statuses ${statuses}`);
      for (const r of refused)
        assert.match(((await r.json()) as { error: string }).error, /64 questions are already in flight/);
      for (const r of answers.filter((x) => x.status === 200)) await r.arrayBuffer();
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
    } finally {
      process.kill(c.pid!, 'SIGCONT');
    }
    await holds(c, 'kv-a', 'during-stall', 'x', 60_000);
    await holds(c, 'kv-b', 'during-stall', 'y', 60_000);
    await holds(c, 'kv-a', 'stall/49', '49', 60_000);
  });

  it('kill -9 and a restart with the same data dir keeps the old keys, and new writes win', async () => {
    await clientOf(a).kvSet('durable', 'one');
    await clientOf(a).kvSet('short-lived', 'gone', { ephemeral: true });
    await holds(b, 'kv-a', 'durable', 'one');
    const before = await clientOf(b).kvGet('durable', { node: 'kv-a' });
    await a.kill();
    const a2 = await GossipAgent.start({ node: 'kv-a', dataDir: '{dir}/data', port: a.port }, a.dir);
    agents.push(a2);
    const ca = clientOf(a2);
    assert.equal((await ca.kvGet('durable'))?.value, 'one');
    assert.equal(await ca.kvGet('short-lived'), undefined);
    const own = await ca.kvGet('durable');
    assert.ok(
      own!.generation > before!.generation,
      `generation ${own!.generation} after ${before!.generation}`,
    );
    await ca.join([b.addr]);
    await ca.kvSet('durable', 'two');
    for (const x of [b, c]) await holds(x, 'kv-a', 'durable', 'two', 30_000);
    for (const x of [b, c]) {
      await waitFor(
        'the ephemeral key is gone',
        async () => (await clientOf(x).kvGet('short-lived', { node: 'kv-a' })) === undefined,
      );
    }
    a = a2;
  });

  it('an ephemeral key vanishes everywhere after its owner is killed', async () => {
    await clientOf(c).kvSet('svc/http', '127.0.0.1:8080', { ephemeral: true });
    await clientOf(c).kvSet('stays', 'yes');
    for (const x of [a, b]) await holds(x, 'kv-c', 'svc/http', '127.0.0.1:8080');
    await holds(b, 'kv-c', 'stays', 'yes');
    await c.kill();
    for (const x of [a, b]) {
      await waitFor(
        `${x.node}: the ephemeral key of the killed node is gone`,
        async () => (await clientOf(x).kvGet('svc/http', { node: 'kv-c' })) === undefined,
        60_000,
        250,
      );
    }
    const stays = await clientOf(b).kvGet('stays', { node: 'kv-c' });
    assert.equal(stays?.ownerStatus, 'failed');
  });

  it('metrics count the state', async () => {
    const text = await clientOf(b).metrics();
    for (const name of [
      'gossip_state_entries',
      'gossip_state_bytes',
      'gossip_state_writes_total',
      'gossip_state_deltas_sent_total',
      'gossip_state_deltas_received_total',
      'gossip_state_replication_lag_max_versions',
    ]) {
      assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
    }
  });
});

describe('replicated state in a mixed cluster with real serf agents', {
  skip: !serfAvailable() && 'serf is not on PATH',
}, () => {
  const key = Buffer.from(Keyring.generateKey()).toString('base64');
  const ours: GossipAgent[] = [];
  const serfs: SerfAgent[] = [];

  before(async () => {
    serfs.push(await SerfAgent.start({ node: 'serf-1', encrypt: key, tags: { role: 'serf' } }));
    serfs.push(await SerfAgent.start({ node: 'serf-2', encrypt: key, join: [serfs[0]!.addr] }));
    for (const n of ['g-1', 'g-2', 'g-3']) {
      ours.push(
        await GossipAgent.start({ node: n, encrypt: key, tags: { role: 'gossip' }, join: [serfs[0]!.addr] }),
      );
    }
  });
  after(async () => {
    for (const x of ours) await x.stop();
    for (const s of serfs) await s.stop();
  });

  it('both sides see all five alive with the right tags; state converges among ours; serf logs nothing about it', async () => {
    const names = ['g-1', 'g-2', 'g-3', 'serf-1', 'serf-2'];
    await waitFor(
      'all five alive everywhere',
      async () => {
        for (const v of [...ours.map((o) => o.members()), ...serfs.map((s) => s.members())]) {
          const ms = await v;
          if (names.some((n) => ms.find((m) => m.name === n)?.status !== 'alive')) return false;
        }
        return true;
      },
      30_000,
      250,
    );
    // Serf sees our nodes' tags and nothing else (the capability is not a tag).
    for (const m of await serfs[1]!.members()) {
      const want = m.name.startsWith('g-') ? { role: 'gossip' } : m.name === 'serf-1' ? { role: 'serf' } : {};
      assert.deepEqual(m.tags, want, m.name);
    }
    // Writes of every kind, big ones included, for a while.
    for (let i = 0; i < 30; i++) await clientOf(ours[i % 3]!).kvSet(`k${i % 7}`, `v${i}`);
    await clientOf(ours[0]!).kvSet('blob', 'x'.repeat(40_000));
    await clientOf(ours[1]!).kvSet('eph', 'e', { ephemeral: true });
    await clientOf(ours[2]!).kvDelete('k2');
    await waitFor(
      'every gossip agent holds every gossip agent’s map as its owner does',
      async () => {
        const lists = await Promise.all(ours.map((o) => clientOf(o).kvList()));
        const own = JSON.stringify(
          Object.fromEntries(ours.map((o, i) => [o.node, lists[i]!.nodes[o.node] ?? {}]).sort()),
        );
        return lists.every((l) => JSON.stringify(Object.fromEntries(Object.entries(l.nodes).sort())) === own);
      },
      60_000,
      500,
    );
    // The state's traffic kept flowing for a few anti-entropy rounds; serf saw none of it.
    await sleep(6000);
    for (const s of serfs) {
      const bad = s.log
        .split('\n')
        .filter((l) => /\[(ERR|WARN)\]/.test(l) && /unknown|not supported|decode|invalid|type/i.test(l));
      assert.deepEqual(bad, [], `${s.node}'s log`);
      assert.doesNotMatch(s.log, /\[ERR\]/, `${s.node} logged an error:\n${s.log}`);
    }
    // And serf's own user events still reach everyone, ours included (each subscribed before
    // the event is sent, so it cannot slip past).
    const stop = AbortSignal.timeout(20_000);
    const got = ours.map(async (o) => {
      try {
        const events = clientOf(o)
          .events({ types: ['user'], signal: stop })
          [Symbol.asyncIterator]();
        const first = events.next();
        for (let e = await first; !e.done; e = await events.next()) {
          if (e.value.event === 'user' && e.value.data.name === 'hello' && e.value.data.payload === 'world')
            return true;
        }
      } catch {
        // timed out
      }
      return false;
    });
    await sleep(1000); // the three streams are open (their first read is waiting)
    await serfs[0]!.cli(['event', 'hello', 'world']);
    const results = await Promise.all(got);
    for (const [i, o] of ours.entries()) assert.ok(results[i], `${o.node} got serf's user event`);
  });
});
