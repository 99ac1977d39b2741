/**
 * Member status in the Serf layer on the in-memory network (virtual time, seeded): join and
 * leave intents, the order in which a leave and a failure can be seen, intents that arrive
 * before the member, refuting a leave about ourselves, force-leave (and prune), reaping of failed
 * and left members, Lamport clocks across the cluster, tags, and a partition that heals by itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberEvent, SerfEvent } from '../../src/cluster/index.ts';
import { SizeLimitError, StateError } from '../../src/errors.ts';
import { allAlive, SerfSim, type SimNode, view } from './harness.ts';

/** Records `type:member:status` of every member event a node emits. */
function record(node: SimNode): string[] {
  const log: string[] = [];
  node.serf.on('event', (e: SerfEvent) => {
    if (e.type === 'user' || e.type === 'query') return;
    for (const m of (e as MemberEvent).members) log.push(`${e.type}:${m.name}:${m.status}`);
  });
  return log;
}

async function crash(sim: SerfSim, node: SimNode): Promise<void> {
  sim.network.crash(node.addr);
  await node.serf.shutdown();
}

describe('Serf members and intents', () => {
  it('a 5-node cluster converges; members() has the shape `serf members` needs', async () => {
    const sim = new SerfSim(11);
    const nodes = await sim.cluster(5, 'n', { tags: { role: 'web' } });
    const m = nodes[0]!.serf.member('n3')!;
    assert.equal(m.status, 'alive');
    assert.equal(m.addr, nodes[3]!.addr.split(':')[0]);
    assert.equal(m.port, 7946);
    assert.deepEqual(m.tags, { role: 'web' });
    assert.deepEqual(m.protocol, { min: 1, max: 5, version: 2 });
    assert.deepEqual(m.delegate, { min: 2, max: 5, version: 5 });
    assert.equal(nodes[2]!.serf.localMember.name, 'n2');
    await sim.close();
  });

  it('a graceful leave is seen as member-leave (left), never as a failure', async () => {
    const sim = new SerfSim(12);
    const nodes = await sim.cluster(4);
    const logs = nodes.map(record);
    const leaver = nodes[3]!;
    await sim.drive(leaver.serf.leave());
    assert.equal(leaver.serf.state, 'left');
    await leaver.serf.shutdown();
    await sim.waitFor(
      'left at every other node',
      () => nodes.slice(0, 3).every((n) => n.serf.member('n3')?.status === 'left'),
      10_000,
    );
    for (const log of logs.slice(0, 3)) {
      assert.ok(log.includes('member-leave:n3:left'), log.join(' '));
      assert.ok(!log.some((l) => l.startsWith('member-failed:n3')), log.join(' '));
    }
    // A later probe round or push-pull does not turn it into a failure.
    await sim.run(40_000);
    for (const n of nodes.slice(0, 3)) assert.equal(n.serf.member('n3')?.status, 'left');
    await sim.close();
  });

  it('a crash is seen as member-failed; a force-leave then makes it left everywhere', async () => {
    const sim = new SerfSim(13);
    const nodes = await sim.cluster(4);
    const logs = nodes.map(record);
    await crash(sim, nodes[3]!);
    const alive = nodes.slice(0, 3);
    await sim.waitFor(
      'failed everywhere',
      () => alive.every((n) => n.serf.member('n3')?.status === 'failed'),
      60_000,
    );
    for (const log of logs.slice(0, 3)) assert.ok(log.includes('member-failed:n3:failed'));
    await sim.drive(alive[0]!.serf.forceLeave('n3'));
    await sim.waitFor(
      'left everywhere',
      () => alive.every((n) => n.serf.member('n3')?.status === 'left'),
      10_000,
    );
    for (const log of logs.slice(0, 3)) assert.ok(log.includes('member-leave:n3:left'), log.join(' '));
    await sim.close();
  });

  it('a member whose leave intent was lost is still left, not failed, when memberlist sees it leave', async () => {
    // memberlist's dead-from-itself says the node announced its own departure. Serf 0.9.4
    // reports such a member failed until a push-pull brings its leave; we report it left at
    // once (this race is common when a push-pull's join intent shadows the leave intent).
    const sim = new SerfSim(14);
    let dropLeaves = false;
    const nodes: SimNode[] = [];
    // n0 misses the leave intent: neither gossip nor a push-pull brings it.
    nodes.push(sim.add('n0', { messageFilter: (t) => dropLeaves && (t === 'leave' || t === 'pushPull') }));
    for (let i = 1; i < 4; i++) nodes.push(sim.add(`n${i}`));
    for (const n of nodes.slice(1)) await sim.drive(n.serf.join([nodes[0]!.addr]));
    await sim.waitFor('converged', () => allAlive(nodes), 10_000);
    const log = record(nodes[0]!);
    dropLeaves = true;
    await sim.drive(nodes[3]!.serf.leave());
    await nodes[3]!.serf.shutdown();
    await sim.waitFor('n0 sees n3 gone', () => nodes[0]!.serf.member('n3')?.status === 'left', 10_000);
    assert.equal(nodes[1]!.serf.member('n3')?.status, 'left');
    dropLeaves = false;
    await sim.run(40_000);
    assert.deepEqual(
      log.filter((l) => l.includes(':n3:')),
      ['member-leave:n3:left'],
      'never reported failed',
    );
    await sim.close();
  });

  it('a node that leaves right after joining is seen left, never failed (20 seeds)', async () => {
    // The race: the joiner's early push-pulls carry its status time, which becomes a join
    // intent at the same Lamport time as its later leave intent; the leave intent is then
    // ignored as old news, and only memberlist's own leave notice says it left.
    for (let seed = 100; seed < 120; seed++) {
      const sim = new SerfSim(seed);
      const nodes = await sim.cluster(4);
      const logs = nodes.map((n) => record(n));
      const late = sim.add('late');
      await sim.drive(late.serf.join([nodes[0]!.addr]));
      await sim.run(1000);
      await sim.drive(late.serf.leave());
      await late.serf.shutdown();
      await sim.waitFor(
        'everyone sees late left',
        () => nodes.every((n) => n.serf.member('late')?.status === 'left'),
        30_000,
      );
      for (const log of logs)
        assert.ok(!log.some((l) => l.startsWith('member-failed:late')), `seed ${seed}: ${log.join(' ')}`);
      await sim.close();
    }
  });

  it('an intent that arrives before the member is buffered and applied when it joins', async () => {
    const sim = new SerfSim(15);
    const nodes = await sim.cluster(3);
    const log = record(nodes[1]!);
    // A leave for a node nobody knows yet: buffered everywhere as a recent intent.
    await sim.drive(nodes[0]!.serf.forceLeave('late'));
    await sim.run(2000);
    const late = sim.add('late');
    await sim.drive(late.serf.join([nodes[0]!.addr]));
    await sim.waitFor('late alive everywhere', () => allAlive([...nodes, late], 4), 10_000);
    // It appeared as leaving (the buffered intent), then its own newer join intent made it alive.
    assert.equal(
      log.find((l) => l.startsWith('member-join:late')),
      'member-join:late:leaving',
    );
    await sim.close();
  });

  it('a leave intent about a live node is refuted with a newer join intent', async () => {
    const sim = new SerfSim(16);
    const nodes = await sim.cluster(3);
    const before = nodes[2]!.serf.clocks.member;
    await sim.drive(nodes[0]!.serf.forceLeave('n2'));
    await sim.waitFor('n2 alive again everywhere', () => allAlive(nodes), 10_000);
    assert.ok(nodes[2]!.serf.clocks.member > before);
    await sim.run(5000);
    assert.ok(allAlive(nodes));
    await sim.close();
  });

  it('a member held leaving that never leaves (it never heard the intent) is alive again after the leave bound', async () => {
    // A stale leave intent its member never hears, so never refutes: here n2 drops every leave
    // intent; in the simulator, an intent about an earlier life of a restarted member. Serf
    // keeps such a member leaving for good; we put it back once no leave can still be under way.
    const sim = new SerfSim(17);
    const nodes = [sim.add('n0'), sim.add('n1'), sim.add('n2', { messageFilter: (t) => t === 'leave' })];
    for (const node of nodes.slice(1)) await sim.drive(node.serf.join([nodes[0]!.addr]));
    await sim.waitFor('all alive', () => allAlive(nodes), 30_000);
    const log = record(nodes[0]!);
    await sim.drive(nodes[0]!.serf.forceLeave('n2'));
    await sim.run(10_000);
    assert.equal(nodes[0]!.serf.member('n2')?.status, 'leaving');
    assert.equal(nodes[1]!.serf.member('n2')?.status, 'leaving');
    assert.equal(nodes[0]!.serf.memberlist.member('n2')?.status, 'alive');
    const boundMs = 2 * 5000 + 1000 + 6 * 4000; // two broadcast timeouts, the propagate delay, Lifeguard's longest suspicion at 3 nodes
    const tookMs = await sim.waitFor('n2 alive again everywhere', () => allAlive(nodes), boundMs + 20_000);
    assert.ok(10_000 + tookMs > boundMs, `back to alive after ${10_000 + tookMs} ms, before the leave bound`);
    assert.deepEqual(log, [], 'leaving and back is not a member event');
    await sim.close();
  });

  it('force-leave with prune erases a failed member at once (member-reap)', async () => {
    const sim = new SerfSim(17);
    const nodes = await sim.cluster(4);
    const log = record(nodes[1]!);
    await crash(sim, nodes[3]!);
    const alive = nodes.slice(0, 3);
    await sim.waitFor('failed', () => alive.every((n) => n.serf.member('n3')?.status === 'failed'), 60_000);
    await sim.drive(alive[0]!.serf.forceLeave('n3', { prune: true }));
    await sim.waitFor('gone everywhere', () => alive.every((n) => n.serf.member('n3') === undefined), 10_000);
    assert.ok(log.includes('member-reap:n3:left'), log.join(' '));
    await sim.close();
  });

  it('failed members are reaped after reconnectTimeout, left ones after tombstoneTimeout', async () => {
    const sim = new SerfSim(18);
    const opts = { reapIntervalMs: 5000, reconnectTimeoutMs: 60_000, tombstoneTimeoutMs: 20_000 };
    const nodes = await sim.cluster(4, 'n', opts);
    const log = record(nodes[0]!);
    await sim.drive(nodes[2]!.serf.leave());
    await nodes[2]!.serf.shutdown();
    await crash(sim, nodes[3]!);
    await sim.waitFor('n3 failed', () => nodes[0]!.serf.member('n3')?.status === 'failed', 60_000);
    const failedAt = sim.clock.now();
    await sim.waitFor('n2 reaped', () => nodes[0]!.serf.member('n2') === undefined, 60_000);
    assert.ok(nodes[0]!.serf.member('n3'), 'the failed one is kept longer');
    await sim.waitFor('n3 reaped', () => nodes[0]!.serf.member('n3') === undefined, 120_000);
    assert.ok(sim.clock.now() - failedAt >= 60_000);
    assert.ok(log.includes('member-reap:n2:left') && log.includes('member-reap:n3:failed'), log.join(' '));
    assert.deepEqual(view(nodes[0]!), ['n0:alive', 'n1:alive']);
    await sim.close();
  });

  it('Lamport clocks: start at 1, advance by Serf rules, and a joiner catches up through push-pull', async () => {
    const sim = new SerfSim(19);
    const a = sim.add('a', { restoredClocks: { member: 30, event: 40, query: 50 } });
    assert.deepEqual(a.serf.clocks, { member: 31, event: 41, query: 51 });
    const b = sim.add('b');
    assert.deepEqual(b.serf.clocks, { member: 1, event: 1, query: 1 });
    await sim.drive(b.serf.join([a.addr]));
    // Witnessed at value − 1; then b's own join intent at its member time witnesses it once more.
    assert.equal(b.serf.clocks.event, 41);
    assert.equal(b.serf.clocks.query, 51);
    assert.equal(b.serf.clocks.member, 32);
    // A user event is sent at the event time, then the clock ticks.
    const seen: number[] = [];
    a.serf.on('user', (e) => seen.push(e.lTime));
    b.serf.userEvent('x');
    assert.equal(b.serf.clocks.event, 42);
    await sim.run(1000);
    assert.deepEqual(seen, [41]);
    // A query is sent at the query time and not incremented by the sender; handling it
    // (locally, first) witnesses it.
    const q = b.serf.query('q', '', { timeoutMs: 500 });
    assert.equal(q.lTime, 51);
    assert.equal(b.serf.clocks.query, 52);
    // A leave intent is sent at the member time, then the clock ticks (and may tick further
    // while the leave waits, as intents and push-pulls from others are witnessed).
    const before = b.serf.clocks.member;
    const leftAt: number[] = [];
    a.serf.on('member-leave', () => leftAt.push(a.serf.clocks.member));
    await sim.drive(b.serf.leave());
    assert.ok(b.serf.clocks.member >= before + 1);
    assert.ok(leftAt.length === 0 || leftAt[0]! >= before + 1, 'the intent carried the member time');
    await sim.close();
  });

  it('clock changes are reported (for a snapshotter)', async () => {
    const sim = new SerfSim(20);
    const a = sim.add('a');
    const changes: string[] = [];
    a.serf.on('clock', (c) => changes.push(`${c.clock}=${c.time}`));
    a.serf.userEvent('e');
    a.serf.query('q', '', { timeoutMs: 100 });
    assert.deepEqual(changes, ['event=2', 'query=2']);
    await sim.close();
  });

  it('lifecycle: start once, no join after leave, one leave at a time, shutdown is reported', async () => {
    const sim = new SerfSim(24);
    const nodes = await sim.cluster(2);
    const a = nodes[0]!.serf;
    assert.throws(() => a.start(), StateError);
    const first = a.leave();
    await assert.rejects(a.leave(), /already in progress/);
    await sim.drive(first);
    await a.leave(); // already left: nothing to do
    await assert.rejects(a.join([nodes[1]!.addr]), StateError);
    let reason: string | undefined;
    a.on('shutdown', (e) => {
      reason = e.reason;
    });
    await a.shutdown();
    assert.equal(reason, 'shutdown');
    assert.equal(a.state, 'shutdown');
    assert.throws(() => a.userEvent('x'), StateError);
    await sim.close();
  });

  it('rejoin after a restart: previous members in order, ourselves skipped, no join intent', async () => {
    const sim = new SerfSim(25);
    const nodes = await sim.cluster(3);
    const old = nodes[2]!;
    const clocks = old.serf.clocks;
    await crash(sim, old);
    const back = sim.add('n2', { restoredClocks: { member: clocks.member - 1 } }, true, old.addr);
    const joined = await sim.drive(
      back.serf.rejoin([
        { name: 'n2', addr: old.addr },
        { name: 'gone', addr: '10.9.9.9:7946' },
        { name: 'n0', addr: nodes[0]!.addr },
        { name: 'n1', addr: nodes[1]!.addr },
      ]),
    );
    assert.equal(joined, 'n0');
    // (Intents gossiped by others may pass through its queue; none of its own may.)
    assert.equal(back.serf.stats().counters.joinIntentsSent, 0, 'a snapshot rejoin sends no join intent');
    await sim.waitFor('all alive', () => allAlive([nodes[0]!, nodes[1]!, back], 3), 30_000);
    await sim.close();
  });

  it('tags: setTags is seen by others as member-update; oversized tags are refused, naming the limit', async () => {
    const sim = new SerfSim(21);
    const nodes = await sim.cluster(3, 'n', { tags: { role: 'web' } });
    const log = record(nodes[1]!);
    await sim.drive(nodes[0]!.serf.setTags({ role: 'db', dc: 'east' }));
    await sim.waitFor('new tags at n2', () => nodes[2]!.serf.member('n0')?.tags.dc === 'east', 5000);
    assert.deepEqual(nodes[1]!.serf.member('n0')?.tags, { role: 'db', dc: 'east' });
    assert.ok(log.includes('member-update:n0:alive'));
    await assert.rejects(
      nodes[0]!.serf.setTags({ big: 'x'.repeat(600) }),
      (e: unknown) => e instanceof SizeLimitError && e.limit === 512 && /512 bytes/.test(e.message),
    );
    assert.deepEqual(nodes[0]!.serf.tags, { role: 'db', dc: 'east' }, 'nothing changed');
    assert.throws(() => sim.add('big', { tags: { big: 'x'.repeat(600) } }), SizeLimitError);
    await sim.close();
  });

  async function partitionThenHeal(reconnectIntervalMs: number, healWithinMs: number) {
    const sim = new SerfSim(22);
    const nodes = await sim.cluster(6, 'n', { reconnectIntervalMs });
    const left = nodes.slice(0, 3);
    const right = nodes.slice(3);
    sim.network.partition(
      left.map((n) => n.addr),
      right.map((n) => n.addr),
    );
    await sim.waitFor(
      'each side sees the other failed',
      () =>
        left.every((n) => right.every((r) => n.serf.member(r.name)?.status === 'failed')) &&
        right.every((n) => left.every((l) => n.serf.member(l.name)?.status === 'failed')),
      120_000,
    );
    // Stay apart well past memberlist forgetting the dead (gossipToTheDead, 30 s).
    await sim.run(60_000);
    sim.network.heal();
    const healed = await sim
      .waitFor('one view, all alive', () => allAlive(nodes, 6), healWithinMs)
      .then(
        (took) => took,
        () => undefined,
      );
    const views = nodes.map(view);
    const reconnects = nodes.reduce((s, n) => s + n.serf.stats().counters.reconnectAttempts, 0);
    await sim.close();
    return { healed, views, reconnects };
  }

  it('a partition that outlasts the suspicion timeout heals by itself through reconnects', async () => {
    const { healed, views, reconnects } = await partitionThenHeal(10_000, 180_000);
    assert.ok(healed !== undefined, 'healed');
    for (const v of views) assert.deepEqual(v, views[0]);
    assert.ok(reconnects > 0, 'healed by reconnect attempts');
    console.log(`partition healed ${Math.round(healed / 1000)} s (virtual) after the network did`);
  });

  it('control: without reconnect attempts the same partition stays split', async () => {
    const { healed, reconnects } = await partitionThenHeal(10_000_000, 180_000);
    assert.equal(reconnects, 0);
    assert.equal(healed, undefined, 'memberlist alone had forgotten the other side');
  });
});
