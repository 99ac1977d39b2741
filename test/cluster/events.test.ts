/**
 * User events on the in-memory network: delivered exactly once to every node despite gossip
 * retransmissions and push-pull replays; size limits refused before anything is sent; a late
 * joiner catching up through push-pull (and not, with `ignoreOld`); events older than a restored
 * event clock ignored; the old-event window of the ring.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SizeLimitError } from '../../src/errors.ts';
import { SerfSim, type SimNode, text } from './harness.ts';

function collect(nodes: readonly SimNode[]): Map<string, string[]> {
  const got = new Map<string, string[]>();
  for (const n of nodes) {
    const list: string[] = [];
    got.set(n.name, list);
    n.serf.on('user', (e) => list.push(`${e.name}@${e.lTime}:${text(e.payload)}`));
  }
  return got;
}

describe('Serf user events', () => {
  it('every event is delivered exactly once to every node (5 nodes, 20 events, 1 % loss)', async () => {
    const sim = new SerfSim(31);
    const nodes = await sim.cluster(5);
    sim.network.setLoss(0.01);
    const got = collect(nodes);
    for (let i = 0; i < 20; i++) nodes[i % 5]!.serf.userEvent(`ev${i}`, `p${i}`);
    // Long enough for every retransmission and a few push-pull rounds (which replay the ring).
    await sim.run(90_000);
    for (const [name, list] of got) {
      assert.equal(list.length, 20, `${name}: ${list.join(' ')}`);
      assert.equal(new Set(list).size, 20, `${name} got a duplicate`);
    }
    await sim.close();
  });

  it('two identical events at the same Lamport time count as one', async () => {
    const sim = new SerfSim(32);
    const [a, b] = await sim.cluster(2);
    const got = collect([b!]);
    // Both nodes' event clocks read the same time; each sends the same (name, payload).
    assert.equal(a!.serf.clocks.event, b!.serf.clocks.event);
    a!.serf.userEvent('same', 'x');
    b!.serf.userEvent('same', 'x');
    await sim.run(5000);
    assert.deepEqual(got.get('n1'), ['same@1:x']);
    await sim.close();
  });

  it('refuses events over the size limit, naming it, and sends nothing', async () => {
    const sim = new SerfSim(33);
    const nodes = await sim.cluster(2);
    const got = collect(nodes);
    const before = nodes[0]!.serf.clocks.event;
    assert.throws(
      () => nodes[0]!.serf.userEvent('big', 'x'.repeat(600)),
      (e: unknown) =>
        e instanceof SizeLimitError &&
        e.limit === 512 &&
        e.size === 603 &&
        /user event name and payload is 603 bytes, over the limit of 512 bytes/.test(e.message),
    );
    // Within the limit before encoding, over it after: the encoded message is checked too.
    assert.throws(
      () => nodes[0]!.serf.userEvent('e', 'x'.repeat(511)),
      (e: unknown) => e instanceof SizeLimitError && /encoded user event/.test(e.message),
    );
    assert.equal(nodes[0]!.serf.clocks.event, before, 'the event clock did not move');
    assert.equal(nodes[0]!.serf.stats().eventQueue, 0, 'nothing queued');
    await sim.run(2000);
    assert.deepEqual([...got.values()].flat(), []);
    // The limit is configurable, up to Serf's hard cap.
    const roomy = sim.add('roomy', { userEventSizeLimit: 2048 });
    roomy.serf.userEvent('big', 'x'.repeat(1500));
    await sim.close();
  });

  it('a late joiner receives earlier events through push-pull; with ignoreOld it does not', async () => {
    const sim = new SerfSim(34);
    const nodes = await sim.cluster(3);
    nodes[0]!.serf.userEvent('deploy', 'v1');
    await sim.run(1000);
    nodes[1]!.serf.userEvent('deploy', 'v2');
    await sim.run(5000);
    const late = sim.add('late');
    const lateGot = collect([late]);
    await sim.drive(late.serf.join([nodes[2]!.addr]));
    assert.deepEqual(lateGot.get('late')?.sort(), ['deploy@1:v1', 'deploy@2:v2']);

    const quiet = sim.add('quiet');
    const quietGot = collect([quiet]);
    await sim.drive(quiet.serf.join([nodes[2]!.addr], { ignoreOld: true }));
    await sim.run(40_000); // periodic push-pulls replay the ring again: still ignored
    assert.deepEqual(quietGot.get('quiet'), []);
    // New events do reach it.
    nodes[0]!.serf.userEvent('deploy', 'v3');
    await sim.run(5000);
    assert.deepEqual(quietGot.get('quiet'), ['deploy@3:v3']);
    await sim.close();
  });

  it('events at or before a restored event clock are not delivered again', async () => {
    const sim = new SerfSim(35);
    const nodes = await sim.cluster(2);
    for (let i = 0; i < 3; i++) nodes[0]!.serf.userEvent('old', `o${i}`);
    await sim.run(3000);
    // A restart that recorded event-clock 3 (the newest event it had seen).
    const back = sim.add('back', { restoredClocks: { event: 3 } });
    const got = collect([back]);
    await sim.drive(back.serf.join([nodes[0]!.addr]));
    await sim.run(3000);
    assert.deepEqual(got.get('back'), []);
    nodes[1]!.serf.userEvent('new', 'n');
    await sim.run(3000);
    assert.deepEqual(got.get('back'), ['new@4:n']);
    await sim.close();
  });

  it('each broadcast queue is bounded: maxQueueDepth at once, or max(minQueueDepth, 2 × members) at each check', async () => {
    const sim = new SerfSim(37);
    // Alone, a node never transmits, so everything it sends stays queued.
    const capped = sim.add('capped', { maxQueueDepth: 100 });
    for (let i = 0; i < 150; i++) capped.serf.userEvent('e', `${i}`);
    assert.equal(capped.serf.stats().eventQueue, 100);
    assert.equal(capped.serf.stats().counters.queuePruned, 50);
    const dynamic = sim.add('dynamic', { minQueueDepth: 10, queueCheckIntervalMs: 1000 });
    for (let i = 0; i < 50; i++) dynamic.serf.userEvent('e', `${i}`);
    assert.equal(dynamic.serf.stats().eventQueue, 50);
    await sim.run(1000);
    assert.equal(dynamic.serf.stats().eventQueue, 10);
    await sim.close();
  });

  it('drops events older than the ring (lTime < now − eventBuffer)', async () => {
    const sim = new SerfSim(36);
    const a = sim.add('a', { eventBuffer: 8 });
    const b = sim.add('b', { eventBuffer: 8 });
    await sim.drive(b.serf.join([a.addr]));
    const got = collect([b]);
    // Both send before hearing each other: a's event (time 1) reaches b when b's clock is at 21.
    a.serf.userEvent('stale', 's');
    for (let i = 0; i < 20; i++) b.serf.userEvent('tick', `${i}`);
    await sim.run(5000);
    const events = got.get('b') ?? [];
    assert.equal(events.length, 20);
    assert.ok(!events.some((e) => e.startsWith('stale')), `b's events: ${events.join(' ')}`);
    await sim.close();
  });
});
