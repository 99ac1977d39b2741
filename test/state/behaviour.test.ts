/**
 * The replicated state on simulated Serf clusters (virtual time, in-memory network): limits,
 * large values, bursts, TTLs, ephemeral keys, watches, persistence and generations, tombstone
 * collection with from-scratch resets, and a mixed cluster with a plain Serf node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateLimitError } from '../../src/errors.ts';
import { MemoryPersistence } from '../../src/sim/state-sim.ts';
import { ReplicatedState, type WatchEvent, WatchOverflowError } from '../../src/state/index.ts';
import { allAlive } from '../cluster/harness.ts';
import { converged, mapOf, StateSim } from './harness.ts';

const text = new TextDecoder();

test('state: limits fail with a typed error naming the limit, and nothing is written or sent', async () => {
  const sim = new StateSim(3);
  const nodes = await sim.stateCluster(2, 'n', {
    maxKeysPerNode: 3,
    maxBytesPerNode: 70_000,
    maxKeyBytes: 16,
  });
  const a = nodes[0]!;
  const before = a.state.info();
  const expectLimit = (fn: () => unknown, limit: string) =>
    assert.throws(
      fn,
      (e: unknown) => e instanceof StateLimitError && e.limit === limit && e.code === 'state-limit',
    );
  expectLimit(() => a.state.set('big', new Uint8Array(65_537)), 'maxValueBytes');
  expectLimit(() => a.state.set('k'.repeat(17), 'v'), 'maxKeyBytes');
  a.state.set('a', new Uint8Array(60_000));
  expectLimit(() => a.state.set('b', new Uint8Array(10_001)), 'maxBytesPerNode');
  a.state.set('b', 'x');
  a.state.set('c', 'x');
  expectLimit(() => a.state.set('d', 'x'), 'maxKeysPerNode');
  a.state.set('c', 'replacing an existing key is not one more key');
  const after = a.state.info();
  assert.equal(after.writes - before.writes, 4);
  assert.equal(after.version, 4);
  assert.deepEqual(after.writesRefused, {
    maxValueBytes: 1,
    maxKeyBytes: 1,
    maxBytesPerNode: 1,
    maxKeysPerNode: 1,
  });
  assert.equal(after.updatesQueued + after.noticesQueued, 4);
  await sim.waitFor('b holds a’s map', () => converged(nodes), 20_000);
  await sim.close();
});

test('state: a 60 KB value arrives intact everywhere (a notice, then a pull over a stream)', async () => {
  const sim = new StateSim(4);
  const nodes = await sim.stateCluster(5);
  const value = new Uint8Array(60_000);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7919) % 251;
  nodes[0]!.state.set('blob', value);
  await sim.waitFor(
    'every node holds the blob',
    () => nodes.every((n) => n.state.get('blob', { node: 'n0' })?.length === value.length),
    20_000,
  );
  for (const n of nodes) assert.deepEqual(n.state.get('blob', { node: 'n0' }), value);
  assert.ok(nodes[0]!.state.info().noticesQueued >= 1);
  assert.ok(
    nodes.slice(1).some((n) => n.state.info().streamDeltasSent > 0) ||
      nodes[0]!.state.info().streamDeltasSent > 0,
  );
  await sim.close();
});

test('state: a burst of 1,000 writes arrives everywhere, each watcher seeing them in version order', async () => {
  const sim = new StateSim(5);
  const nodes = await sim.stateCluster(4);
  const seen: number[][] = nodes.slice(1).map(() => []);
  const watches = nodes.slice(1).map((n, i) => {
    const w = n.state.watch({ node: 'n0', prefix: 'burst/' });
    void (async () => {
      for await (const e of w) if (e.type === 'set') seen[i]!.push(e.version);
    })();
    return w;
  });
  for (let i = 0; i < 1000; i++) nodes[0]!.state.set(`burst/${i % 300}`, `v${i}`);
  await sim.waitFor('every node holds the burst', () => converged(nodes), 60_000);
  await sim.run(100);
  for (const s of seen) {
    for (let i = 1; i < s.length; i++) assert.ok(s[i]! > s[i - 1]!, `version ${s[i]} after ${s[i - 1]}`);
    assert.equal(s.at(-1), 1000);
  }
  for (const w of watches) await w.return?.();
  await sim.close();
});

test('state: a key with a TTL disappears everywhere when it expires; an ephemeral key when its owner is killed', async () => {
  const sim = new StateSim(6);
  const nodes = await sim.stateCluster(4);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  a.state.set('lease', 'x', { ttlMs: 5000 });
  b.state.set('service/http', '10.0.0.2:80', { ephemeral: true });
  b.state.set('durable', 'stays');
  await sim.waitFor(
    'both spread',
    () => converged(nodes) && nodes.every((n) => n.state.get('lease', { node: 'n0' })),
    20_000,
  );
  const entry = nodes[3]!.state.getEntry('lease', { node: 'n0' });
  assert.ok(entry?.ttlRemainingMs !== undefined && entry.ttlRemainingMs <= 5000);
  await sim.waitFor(
    'the lease expired everywhere',
    () => nodes.every((n) => n.state.get('lease', { node: 'n0' }) === undefined),
    10_000,
  );
  assert.deepEqual(a.state.nodesWhere('service/http'), ['n1']);
  sim.network.crash(b.addr);
  await b.serf.shutdown();
  const rest = nodes.filter((n) => n !== b);
  await sim.waitFor(
    'the ephemeral key vanished everywhere',
    () => rest.every((n) => n.state.get('service/http', { node: 'n1' }) === undefined),
    30_000,
  );
  // The owner's other keys stay readable, marked as belonging to a failed node.
  for (const n of rest) assert.equal(n.state.getEntry('durable', { node: 'n1' })?.ownerStatus, 'failed');
  assert.deepEqual(a.state.nodesWhere('durable'), []);
  assert.deepEqual(a.state.nodesWhere('durable', 'stays', { includeAway: true }), ['n1']);
  await sim.close();
});

test('state: a watch gives a snapshot, then every set and delete; it resumes from a token, filters, and ends on abort', async () => {
  const sim = new StateSim(7);
  const nodes = await sim.stateCluster(3);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  a.state.set('cfg/x', '1');
  a.state.set('other', '1');
  await sim.waitFor('spread', () => converged(nodes), 20_000);
  const controller = new AbortController();
  const w = b.state.watch({ prefix: 'cfg/', signal: controller.signal });
  const events: WatchEvent[] = [];
  const done = (async () => {
    try {
      for await (const e of w) events.push(e);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  await sim.run(10);
  assert.equal(events[0]?.type, 'snapshot');
  assert.deepEqual(events[0]?.type === 'snapshot' ? events[0].entries.map((e) => `${e.node}:${e.key}`) : [], [
    'n0:cfg/x',
  ]);
  a.state.set('cfg/x', '2');
  a.state.set('other', '2');
  a.state.delete('cfg/x');
  await sim.waitFor('the delete reached b', () => events.some((e) => e.type === 'delete'), 20_000);
  assert.deepEqual(
    events
      .slice(1)
      .map((e) =>
        e.type === 'set' ? `set ${e.key}=${text.decode(e.value)}` : `${e.type} ${'key' in e ? e.key : ''}`,
      ),
    ['set cfg/x=2', 'delete cfg/x'],
  );
  const token = events[1]!.token;
  controller.abort(new Error('stop'));
  assert.match(String(await done), /stop/);
  // Resume after the set: the delete again, no snapshot.
  const resumed = b.state.watch({ prefix: 'cfg/', since: token });
  const first = await resumed.next();
  assert.equal(first.value?.type, 'delete');
  await resumed.return?.();
  // A foreign token starts over with a snapshot.
  const fresh = b.state.watch({ since: 'nonsense.12' });
  assert.equal((await fresh.next()).value?.type, 'snapshot');
  await fresh.return?.();
  await sim.close();
});

test('state: a watch whose consumer falls too far behind ends with an error carrying the token to resume from', async () => {
  const sim = new StateSim(8);
  const [a] = await sim.stateCluster(1, 'n', { maxWatchBacklog: 5 });
  const w = a!.state.watch({});
  const snapshot = await w.next();
  for (let i = 0; i < 10; i++) a!.state.set(`k${i}`, 'v');
  await assert.rejects(
    async () => {
      for await (const _ of w) {
        // drain
      }
    },
    (e: unknown) => e instanceof WatchOverflowError && e.token === snapshot.value!.token,
  );
  const resumed = a!.state.watch({ since: snapshot.value!.token });
  const keys: string[] = [];
  for (let i = 0; i < 10; i++) {
    const e = (await resumed.next()).value!;
    if (e.type === 'set') keys.push(e.key);
  }
  assert.equal(keys.length, 10);
  await resumed.return?.();
  await sim.close();
});

test('state: kill -9 and a restart with the same data keeps the old keys, and new writes win everywhere', async () => {
  const sim = new StateSim(9);
  const disk = new MemoryPersistence();
  const nodes = await sim.stateCluster(3, 'n', {});
  // n3 persists; it joins the running cluster.
  const d = sim.addState('n3', {}, { persistence: disk, generation: 100 });
  await sim.drive(d.serf.join([nodes[0]!.addr]));
  d.state.set('a', '1');
  d.state.set('b', '1');
  d.state.set('a', '2');
  const all = [...nodes, d];
  await sim.waitFor('spread', () => converged(all), 20_000);
  sim.network.crash(d.addr);
  await d.serf.shutdown();
  // Back with the same data dir: the same keys, a newer generation.
  const d2 = sim.addState('n3', {}, { persistence: disk, generation: 50 }, d.addr);
  assert.deepEqual(mapOf(d2, 'n3'), ['a=2@3', 'b=1@2']);
  assert.equal(d2.state.generation, 101);
  d2.state.set('b', 'new');
  await sim.drive(d2.serf.join([nodes[0]!.addr]));
  const all2 = [...nodes, d2];
  await sim.waitFor('the new life’s map everywhere', () => converged(all2), 30_000);
  for (const n of nodes) assert.equal(n.state.getText('b', { node: 'n3' }), 'new');
  assert.equal(nodes[0]!.state.mapVersion('n3')?.generation, 101);
  await sim.close();
});

test('state: a node back without its data at an older generation raises its generation over the cluster’s copy', async () => {
  const sim = new StateSim(10);
  const nodes = await sim.stateCluster(3, 'n', {});
  const d = sim.addState('n3', {}, { generation: 500 });
  await sim.drive(d.serf.join([nodes[0]!.addr]));
  d.state.set('old', 'x');
  d.state.set('old2', 'y');
  await sim.waitFor('spread', () => converged([...nodes, d]), 20_000);
  sim.network.crash(d.addr);
  await d.serf.shutdown();
  const d2 = sim.addState('n3', {}, { generation: 400 }, d.addr);
  d2.state.set('fresh', 'z');
  await sim.drive(d2.serf.join([nodes[0]!.addr]));
  await sim.waitFor('the new life wins', () => converged([...nodes, d2]), 30_000);
  assert.ok(d2.state.generation > 500, `generation ${d2.state.generation}`);
  assert.equal(d2.state.info().generationBumps, 1);
  for (const n of nodes) assert.deepEqual(mapOf(n, 'n3'), ['fresh=z@1']);
  await sim.close();
});

test('state: a node cut off past the tombstone grace period gets the maps from scratch, its deletes applied, none undone', async () => {
  const sim = new StateSim(11);
  const nodes = await sim.stateCluster(4, 'n', { tombstoneGraceMs: 3000 });
  const [a, , , lonely] = nodes as [
    (typeof nodes)[0],
    (typeof nodes)[0],
    (typeof nodes)[0],
    (typeof nodes)[0],
  ];
  for (let i = 0; i < 10; i++) a.state.set(`k${i}`, 'v');
  await sim.waitFor('spread', () => converged(nodes), 20_000);
  sim.network.partition(
    [lonely.addr],
    nodes.filter((n) => n !== lonely).map((n) => n.addr),
  );
  for (let i = 0; i < 5; i++) a.state.delete(`k${i}`);
  a.state.set('k9', 'changed');
  await sim.run(20_000);
  assert.ok(a.state.info().tombstonesCollected >= 5);
  sim.network.heal();
  await sim.waitFor('the cut-off node caught up', () => allAlive(nodes) && converged(nodes), 90_000);
  assert.deepEqual(mapOf(lonely, 'n0'), ['k5=v@6', 'k6=v@7', 'k7=v@8', 'k8=v@9', 'k9=changed@16']);
  assert.ok(lonely.state.info().resetsReceived >= 1);
  await sim.close();
});

test('state: in a mixed cluster a plain Serf node receives no state traffic, and state converges among ours', async () => {
  const sim = new StateSim(12);
  const ours = await sim.stateCluster(3);
  const plain = sim.add('serf-0');
  await sim.drive(plain.serf.join([ours[0]!.addr]));
  await sim.waitFor('all four alive everywhere', () => allAlive([...ours, plain], 4), 30_000);
  for (let i = 0; i < 200; i++) ours[i % 3]!.state.set(`k${i % 20}`, `v${i}`);
  ours[1]!.state.set('blob', new Uint8Array(30_000));
  await sim.waitFor('state converged among ours', () => converged(ours), 60_000);
  await sim.run(10_000);
  const counters = plain.serf.stats().counters;
  assert.equal(counters.messagesReceived.state, undefined);
  assert.deepEqual(counters.dropped, {});
  assert.deepEqual(plain.serf.memberlist.stats.dropped, {});
  // The plain node sees our nodes with their tags only (the capability is not a tag).
  for (const m of plain.serf.members()) assert.deepEqual(m.tags, {});
  assert.equal(ours[0]!.state.isMemberOfOurs('serf-0'), false);
  assert.equal(ours[0]!.state.isMemberOfOurs('n1'), true);
  await sim.close();
});

test('state: entries, nodesWhere, JSON and text helpers', async () => {
  const sim = new StateSim(13);
  const nodes = await sim.stateCluster(3);
  nodes[0]!.state.setJson('role', { name: 'db' });
  nodes[1]!.state.set('role', '{"name":"web"}');
  nodes[2]!.state.set('role', '{"name":"web"}');
  nodes[2]!.state.set('zone', 'b');
  await sim.waitFor('spread', () => converged(nodes), 20_000);
  const r = nodes[0]!;
  assert.deepEqual(r.state.nodesWhere('role'), ['n0', 'n1', 'n2']);
  assert.deepEqual(r.state.nodesWhere('role', '{"name":"web"}'), ['n1', 'n2']);
  assert.deepEqual(r.state.getJson('role', { node: 'n0' }), { name: 'db' });
  assert.equal(r.state.getText('zone', { node: 'n2' }), 'b');
  assert.deepEqual(
    r.state.entries({ prefix: 'ro' }).map((e) => `${e.node}/${e.key}`),
    ['n0/role', 'n1/role', 'n2/role'],
  );
  assert.deepEqual(
    r.state.entries({ node: 'n2' }).map((e) => e.key),
    ['role', 'zone'],
  );
  assert.equal(r.state.delete('missing'), undefined);
  assert.throws(() => new ReplicatedState({ serf: nodes[0]!.serf }), /before start/);
  await sim.close();
});

test('state: replicas() tells where every live node’s copy of a map stands', async () => {
  const sim = new StateSim(14);
  const nodes = await sim.stateCluster(4);
  await sim.waitFor('spread', () => converged(nodes), 20_000);
  const { version } = nodes[0]!.state.set('x', '1');
  const asked = nodes[1]!.state.replicas('n0', { timeoutMs: 500 });
  const answers = await sim.drive(asked);
  assert.deepEqual(
    answers.map((a) => a.node),
    ['n1', 'n0', 'n2', 'n3'],
  );
  assert.ok(answers.every((a) => a.version <= version));
  await sim.waitFor('spread', () => converged(nodes), 20_000);
  const later = await sim.drive(nodes[1]!.state.replicas('n0'));
  assert.ok(later.every((a) => a.version === version && a.generation === nodes[0]!.state.generation));
  await sim.close();
});
