/**
 * MemoryNetwork's fault controls and determinism, on a VirtualClock (no real time anywhere).
 * The behaviour it shares with the socket transport is in `contract.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom, VirtualClock } from '../../src/runtime/index.ts';
import {
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransport,
  type PacketDropReason,
} from '../../src/transport/memory.ts';
import type { Addr, DialResult, Stream } from '../../src/transport/transport.ts';

interface Received {
  data: Uint8Array;
  from: Addr;
  at: number;
}

/** A network on a fresh VirtualClock, and `n` attached transports that log what they receive. */
function setup(n: number, options: Partial<MemoryNetworkOptions> = {}, seed = 1) {
  const clock = new VirtualClock();
  const network = new MemoryNetwork({ clock, random: new SeededRandom(seed), latencyMs: 5, ...options });
  const nodes: MemoryTransport[] = [];
  const inbox = new Map<Addr, Received[]>();
  const streams = new Map<Addr, Stream[]>();
  for (let i = 0; i < n; i++) nodes.push(listen(network, inbox, streams));
  return { clock, network, nodes, inbox, streams };
}

function listen(
  network: MemoryNetwork,
  inbox: Map<Addr, Received[]>,
  streams: Map<Addr, Stream[]>,
  addr?: Addr,
): MemoryTransport {
  const t = network.createTransport(addr);
  const got: Received[] = [];
  const accepted: Stream[] = [];
  inbox.set(t.localAddr, got);
  streams.set(t.localAddr, accepted);
  t.attach({
    packet: (data, from, at) => got.push({ data, from, at }),
    stream: (s) => accepted.push(s),
  });
  return t;
}

function droppedTotal(network: MemoryNetwork): number {
  return Object.values(network.stats.packetsDropped).reduce((a, b) => a + b, 0);
}

/** Whether one packet from `a` reaches `b` (sends one and lets the clock run). */
function reaches(
  env: { clock: VirtualClock; inbox: Map<Addr, Received[]> },
  a: MemoryTransport,
  b: MemoryTransport,
): boolean {
  const box = env.inbox.get(b.localAddr)!;
  const before = box.length;
  a.sendPacket(b.localAddr, Uint8Array.from([7]));
  env.clock.advance(100);
  return box.length > before;
}

function dialSync(clock: VirtualClock, from: MemoryTransport, to: Addr, timeoutMs: number) {
  const results: { result: DialResult; at: number }[] = [];
  from.dialStream(to, timeoutMs, (result) => results.push({ result, at: clock.now() }));
  return results;
}

/** Two transports (5 ms latency) and a stream from the first to the second, connected. */
function connectedPair() {
  const { clock, network, nodes, streams } = setup(2);
  const [a, b] = nodes as [MemoryTransport, MemoryTransport];
  const dial = dialSync(clock, a, b.localAddr, 1000);
  clock.advance(10);
  const near = (dial[0]!.result as { stream: Stream }).stream;
  const far = streams.get(b.localAddr)![0]!;
  return { clock, network, a, b, near, far };
}

function codeOf(error: Error | undefined): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

describe('MemoryNetwork addresses', () => {
  it('assigns 10.x.y.z:7946 in order, rejects a taken or malformed address, and frees it on shutdown', async () => {
    const { network, nodes } = setup(3);
    assert.deepEqual(
      nodes.map((t) => t.localAddr),
      ['10.0.0.1:7946', '10.0.0.2:7946', '10.0.0.3:7946'],
    );
    assert.throws(() => network.createTransport('10.0.0.2:7946'), /in use/);
    assert.throws(() => network.createTransport('not-an-addr'), /ip:port/);
    const custom = network.createTransport('192.168.1.9:8301');
    assert.equal(custom.localAddr, '192.168.1.9:8301');
    assert.equal(network.transport('192.168.1.9:8301'), custom);
    await nodes[1]!.shutdown();
    assert.equal(network.transport('10.0.0.2:7946'), undefined);
    const again = network.createTransport('10.0.0.2:7946');
    assert.equal(again.localAddr, '10.0.0.2:7946');
    assert.equal(network.createTransport().localAddr, '10.0.0.4:7946');
  });

  it('rejects bad fault settings with the field name', () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(1);
    assert.throws(
      () => new MemoryNetwork({ clock, random, lossRate: 1.5 }),
      /lossRate must be a probability/,
    );
    assert.throws(() => new MemoryNetwork({ clock, random, latencyMs: -1 }), /latencyMs must be/);
    const network = new MemoryNetwork({ clock, random });
    assert.throws(() => network.setDuplication(Number.NaN), /duplicateRate/);
    assert.throws(() => network.setReordering(0.5, -3), /reorderDelayMs/);
  });
});

describe('MemoryNetwork packets', () => {
  it('delivers through the clock only, never inside sendPacket, even at zero latency', () => {
    const { clock, nodes, inbox, network } = setup(2, { latencyMs: 0 });
    nodes[0]!.sendPacket(nodes[1]!.localAddr, Uint8Array.from([1]));
    assert.equal(inbox.get(nodes[1]!.localAddr)!.length, 0);
    assert.equal(network.inFlightPackets, 1);
    clock.advance(0);
    assert.equal(inbox.get(nodes[1]!.localAddr)!.length, 1);
    assert.equal(network.inFlightPackets, 0);
  });

  it('hands the receiver the very bytes sent (no copy)', () => {
    const { clock, nodes, inbox } = setup(2);
    const data = Uint8Array.from([1, 2, 3]);
    nodes[0]!.sendPacket(nodes[1]!.localAddr, data);
    clock.advance(5);
    assert.equal(inbox.get(nodes[1]!.localAddr)![0]!.data, data);
  });

  it('applies fixed latency, per-link latency and jitter', () => {
    const { clock, network, nodes, inbox } = setup(3);
    const [a, b, c] = nodes as [MemoryTransport, MemoryTransport, MemoryTransport];
    a.sendPacket(b.localAddr, Uint8Array.from([1]));
    clock.advance(100);
    assert.equal(inbox.get(b.localAddr)![0]!.at, 5);
    network.setLatency((from, to) => (from === a.localAddr && to === c.localAddr ? 40 : 3));
    const t0 = clock.now();
    a.sendPacket(c.localAddr, Uint8Array.from([2]));
    a.sendPacket(b.localAddr, Uint8Array.from([3]));
    clock.advance(100);
    assert.equal(inbox.get(c.localAddr)![0]!.at - t0, 40);
    assert.equal(inbox.get(b.localAddr)![1]!.at - t0, 3);
    network.setLatency(10, 4);
    const t1 = clock.now();
    for (let i = 0; i < 500; i++) a.sendPacket(b.localAddr, Uint8Array.from([4]));
    clock.advance(100);
    const delays = inbox
      .get(b.localAddr)!
      .slice(2)
      .map((r) => r.at - t1);
    assert.equal(delays.length, 500);
    assert.ok(delays.every((d) => d >= 10 && d < 14));
    assert.ok(Math.max(...delays) - Math.min(...delays) > 3, 'jitter spreads delays');
  });

  it('loses packets at the configured rate within tolerance (10,000 packets, seeded)', () => {
    const { clock, network, nodes, inbox } = setup(2, { lossRate: 0.3 });
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    for (let i = 0; i < 10_000; i++) a.sendPacket(b.localAddr, Uint8Array.from([i & 255]));
    clock.advance(100);
    const delivered = inbox.get(b.localAddr)!.length;
    const lossRate = 1 - delivered / 10_000;
    // Binomial sd is sqrt(0.3 * 0.7 / 10^4) ≈ 0.0046; 0.02 is over 4 sd.
    assert.ok(Math.abs(lossRate - 0.3) < 0.02, `loss ${lossRate}`);
    assert.equal(network.stats.packetsDropped.loss, 10_000 - delivered);
    assert.equal(network.stats.packetsDelivered, delivered);
    assert.equal(network.stats.packetsSent, 10_000);
  });

  it('lets a per-link loss rate replace the global one on that link only, one way', () => {
    const env = setup(3);
    const [a, b, c] = env.nodes as [MemoryTransport, MemoryTransport, MemoryTransport];
    env.network.setLinkLoss(a.localAddr, b.localAddr, 1);
    assert.equal(reaches(env, a, b), false);
    assert.equal(reaches(env, b, a), true);
    assert.equal(reaches(env, a, c), true);
    env.network.setLoss(1);
    env.network.setLinkLoss(a.localAddr, c.localAddr, 0);
    assert.equal(reaches(env, a, c), true);
    assert.equal(reaches(env, c, a), false);
    env.network.setLoss(0);
    env.network.setLinkLoss(a.localAddr, b.localAddr, undefined);
    assert.equal(reaches(env, a, b), true);
  });

  it('partitions two groups both ways, leaving each side and outsiders connected', () => {
    const env = setup(5);
    const [a, b, c, d, e] = env.nodes as MemoryTransport[] as [
      MemoryTransport,
      MemoryTransport,
      MemoryTransport,
      MemoryTransport,
      MemoryTransport,
    ];
    env.network.partition([a.localAddr, b.localAddr], [c.localAddr, d.localAddr]);
    assert.equal(reaches(env, a, c), false);
    assert.equal(reaches(env, c, a), false);
    assert.equal(reaches(env, b, d), false);
    assert.equal(reaches(env, d, b), false);
    assert.equal(reaches(env, a, b), true);
    assert.equal(reaches(env, c, d), true);
    assert.equal(reaches(env, e, a), true);
    assert.equal(reaches(env, c, e), true);
    assert.equal(env.network.stats.packetsDropped.blocked, 4);
    env.network.heal();
    assert.equal(reaches(env, a, c), true);
    assert.equal(reaches(env, d, b), true);
  });

  it('blocks one way only (asymmetric partition) and unblocks', () => {
    const env = setup(2);
    const [a, b] = env.nodes as [MemoryTransport, MemoryTransport];
    env.network.block(a.localAddr, b.localAddr);
    assert.equal(env.network.isBlocked(a.localAddr, b.localAddr), true);
    assert.equal(env.network.isBlocked(b.localAddr, a.localAddr), false);
    assert.equal(reaches(env, a, b), false);
    assert.equal(reaches(env, b, a), true);
    env.network.unblock(a.localAddr, b.localAddr);
    assert.equal(reaches(env, a, b), true);
  });

  it('isolates one node from everyone, both ways, until healed', () => {
    const env = setup(3);
    const [a, b, c] = env.nodes as [MemoryTransport, MemoryTransport, MemoryTransport];
    env.network.isolate(c.localAddr);
    assert.equal(reaches(env, a, c), false);
    assert.equal(reaches(env, c, b), false);
    assert.equal(reaches(env, a, b), true);
    env.network.heal();
    assert.equal(reaches(env, a, c), true);
    assert.equal(reaches(env, c, b), true);
  });

  it('still delivers a packet that was in flight when a partition began', () => {
    const { clock, network, nodes, inbox } = setup(2);
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    a.sendPacket(b.localAddr, Uint8Array.from([1]));
    clock.advance(2);
    network.partition([a.localAddr], [b.localAddr]);
    clock.advance(10);
    assert.equal(inbox.get(b.localAddr)!.length, 1);
  });

  it('crash: the node stops sending and receiving, in-flight packets to it are lost, and a restart takes its address', () => {
    const env = setup(2);
    const { clock, network, nodes, inbox, streams } = env;
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    a.sendPacket(b.localAddr, Uint8Array.from([1]));
    network.crash(b.localAddr);
    clock.advance(100);
    assert.equal(inbox.get(b.localAddr)!.length, 0);
    assert.equal(network.stats.packetsDropped['no-listener'], 1);
    assert.equal(b.isDown, true);
    b.sendPacket(a.localAddr, Uint8Array.from([2]));
    clock.advance(100);
    assert.equal(inbox.get(a.localAddr)!.length, 0);
    assert.equal(network.stats.packetsDropped['sender-down'], 1);
    assert.equal(b.stats.packetSendErrors, 1);
    const dial = dialSync(clock, a, b.localAddr, 1000);
    clock.advance(100);
    assert.equal(codeOf((dial[0]!.result as { error: Error }).error), 'ECONNREFUSED');
    const restarted = listen(network, inbox, streams, b.localAddr);
    assert.equal(reaches(env, a, restarted), true);
  });

  it('duplicates packets at the configured rate, sharing the buffer', () => {
    const { clock, network, nodes, inbox } = setup(2, { duplicateRate: 1 });
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    const data = Uint8Array.from([9]);
    a.sendPacket(b.localAddr, data);
    clock.advance(100);
    const got = inbox.get(b.localAddr)!;
    assert.equal(got.length, 2);
    assert.equal(got[0]!.data, data);
    assert.equal(got[1]!.data, data);
    network.setDuplication(0.25);
    for (let i = 0; i < 4000; i++) a.sendPacket(b.localAddr, data);
    clock.advance(100);
    const extra = got.length - 2 - 4000;
    assert.ok(Math.abs(extra / 4000 - 0.25) < 0.03, `duplication ${extra / 4000}`);
    assert.equal(network.stats.packetsDuplicated, extra + 1);
  });

  it('keeps order without reordering and reorders with it', () => {
    const inversions = (rate: number) => {
      const { clock, network, nodes, inbox } = setup(2, { reorderRate: rate, reorderDelayMs: 50 });
      const [a, b] = nodes as [MemoryTransport, MemoryTransport];
      for (let i = 0; i < 1000; i++) {
        a.sendPacket(b.localAddr, Uint8Array.from([i & 255, i >> 8]));
        clock.advance(1);
      }
      clock.advance(100);
      const seq = inbox.get(b.localAddr)!.map((r) => r.data[0]! | (r.data[1]! << 8));
      assert.equal(seq.length, 1000);
      assert.equal(network.stats.packetsDelivered, 1000);
      let n = 0;
      for (let i = 1; i < seq.length; i++) if (seq[i]! < seq[i - 1]!) n++;
      return n;
    };
    assert.equal(inversions(0), 0);
    assert.ok(inversions(0.3) > 50);
  });

  it('drops beyond maxInFlightPackets and counts the overflow', () => {
    const { clock, network, nodes, inbox } = setup(2, { maxInFlightPackets: 10 });
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    for (let i = 0; i < 15; i++) a.sendPacket(b.localAddr, Uint8Array.from([i]));
    assert.equal(network.inFlightPackets, 10);
    clock.advance(100);
    assert.equal(inbox.get(b.localAddr)!.length, 10);
    assert.equal(network.stats.packetsDropped.overflow, 5);
  });

  it('counts every send as delivered or dropped for a reason', () => {
    const { clock, network, nodes } = setup(4, { lossRate: 0.1, duplicateRate: 0.1, jitterMs: 3 });
    const unattached = network.createTransport();
    network.block(nodes[0]!.localAddr, nodes[1]!.localAddr);
    const random = new SeededRandom(5);
    const all = [...nodes, unattached];
    for (let i = 0; i < 5000; i++) {
      const from = random.pick(nodes)!;
      const to = random.pick(all)!.localAddr;
      from.sendPacket(random.chance(0.05) ? '10.9.9.9:1' : to, Uint8Array.from([1]));
    }
    clock.advance(100);
    const s = network.stats;
    assert.equal(s.packetsSent + s.packetsDuplicated, s.packetsDelivered + droppedTotal(network));
    for (const reason of ['loss', 'blocked', 'no-listener', 'not-attached'] as PacketDropReason[]) {
      assert.ok(s.packetsDropped[reason] > 0, `no drops for ${reason}`);
    }
    assert.equal(unattached.stats.packetsDroppedBeforeAttach, s.packetsDropped['not-attached']);
  });
});

describe('MemoryNetwork determinism', () => {
  /** A small gossip-like workload with every fault on; returns the delivery trace. */
  function trace(seed: number): string[] {
    const clock = new VirtualClock();
    const random = new SeededRandom(seed);
    const network = new MemoryNetwork({
      clock,
      random: random.fork(),
      latencyMs: (from, to) => 1 + ((from.length * 7 + to.length) % 5),
      jitterMs: 2,
      lossRate: 0.1,
      duplicateRate: 0.05,
      reorderRate: 0.1,
    });
    const driver = random.fork();
    const log: string[] = [];
    const nodes: MemoryTransport[] = [];
    for (let i = 0; i < 20; i++) {
      const t = network.createTransport();
      t.attach({
        packet: (data, from, at) => {
          log.push(`${at.toFixed(6)} ${from}>${t.localAddr} ${data[0]}`);
          if (data[0]! > 0) t.sendPacket(driver.pick(nodes)!.localAddr, Uint8Array.from([data[0]! - 1]));
        },
        stream: (s) => s.close(),
      });
      nodes.push(t);
    }
    for (let i = 0; i < 200; i++) {
      driver.pick(nodes)!.sendPacket(driver.pick(nodes)!.localAddr, Uint8Array.from([5]));
      if (i === 100) network.partition([nodes[0]!.localAddr, nodes[1]!.localAddr], [nodes[2]!.localAddr]);
      clock.advance(driver.int(3));
    }
    clock.advance(1000);
    return log;
  }

  it('gives the same delivery trace for the same seed, and a different one for another seed', () => {
    const first = trace(1234);
    assert.ok(first.length > 500, `trace too short: ${first.length}`);
    assert.deepEqual(trace(1234), first);
    assert.notDeepEqual(trace(1235), first);
  });
});

describe('MemoryNetwork streams', () => {
  it('connects after one round trip and carries data with latency', () => {
    const { clock, nodes, streams } = setup(2);
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    const dial = dialSync(clock, a, b.localAddr, 1000);
    clock.advance(5);
    assert.equal(streams.get(b.localAddr)!.length, 1, 'accepted after one latency');
    assert.equal(dial.length, 0);
    clock.advance(5);
    assert.equal(dial[0]!.at, 10, 'connected after a round trip');
    const near = (dial[0]!.result as { stream: Stream }).stream;
    const far = streams.get(b.localAddr)![0]!;
    const got: { at: number; n: number }[] = [];
    far.setHandlers({ data: (c) => got.push({ at: clock.now(), n: c[0]! }), close: () => {} });
    near.write(Uint8Array.from([1]));
    clock.advance(3);
    near.write(Uint8Array.from([2]));
    clock.advance(20);
    assert.deepEqual(got, [
      { at: 15, n: 1 },
      { at: 18, n: 2 },
    ]);
  });

  it('keeps stream chunks in order even when latency drops mid-stream', () => {
    const { clock, network, near, far } = connectedPair();
    const got: number[] = [];
    far.setHandlers({ data: (c) => got.push(c[0]!), close: () => {} });
    network.setLatency(50);
    near.write(Uint8Array.from([1]));
    network.setLatency(1);
    near.write(Uint8Array.from([2]));
    clock.advance(100);
    assert.deepEqual(got, [1, 2]);
  });

  it('dial across a blocked link fails after timeoutMs of clock time, not before', () => {
    const { clock, network, nodes } = setup(2);
    const [a, b] = nodes as [MemoryTransport, MemoryTransport];
    network.block(b.localAddr, a.localAddr); // only the return path: TCP still cannot connect
    const dial = dialSync(clock, a, b.localAddr, 250);
    clock.advance(249);
    assert.equal(dial.length, 0);
    clock.advance(1);
    assert.equal(dial.length, 1);
    assert.equal(codeOf((dial[0]!.result as { error: Error }).error), 'ETIMEDOUT');
    assert.equal(network.stats.streamDialsFailed, 1);
  });

  it('dial to an address nobody listens on is refused after one latency', () => {
    const { clock, nodes } = setup(1, { latencyMs: 7 });
    const dial = dialSync(clock, nodes[0]!, '10.1.2.3:7946', 1000);
    clock.advance(100);
    assert.equal(dial[0]!.at, 7);
    assert.equal(codeOf((dial[0]!.result as { error: Error }).error), 'ECONNREFUSED');
  });

  it('destroys open streams with an error when a partition cuts them, on both sides', () => {
    for (const cut of ['partition', 'block-back', 'isolate', 'crash'] as const) {
      const { clock, network, a, b, near, far } = connectedPair();
      const nearCloses: (Error | undefined)[] = [];
      const farCloses: (Error | undefined)[] = [];
      const nearData: number[] = [];
      near.setHandlers({ data: (c) => nearData.push(c[0]!), close: (e) => nearCloses.push(e) });
      far.setHandlers({ data: () => {}, close: (e) => farCloses.push(e) });
      far.write(Uint8Array.from([1])); // in flight when the link is cut: never arrives
      if (cut === 'partition') network.partition([a.localAddr], [b.localAddr]);
      else if (cut === 'block-back') network.block(b.localAddr, a.localAddr);
      else if (cut === 'isolate') network.isolate(a.localAddr);
      else network.crash(b.localAddr);
      clock.advance(100);
      assert.equal(nearCloses.length, 1, cut);
      assert.equal(farCloses.length, 1, cut);
      assert.ok(nearCloses[0] instanceof Error && farCloses[0] instanceof Error, cut);
      if (cut !== 'crash') assert.deepEqual(nearData, [], cut);
      assert.equal(network.openStreams, 0, cut);
    }
  });

  it('close() after data: the peer reads everything, then both sides close once without error', () => {
    const { clock, network, a, near, far } = connectedPair();
    const log: string[] = [];
    near.setHandlers({ data: (c) => log.push(`a:${c[0]}`), close: (e) => log.push(`a:close:${e?.message}`) });
    far.setHandlers({
      data: (c) => {
        log.push(`b:${c[0]}`);
        far.write(Uint8Array.from([c[0]! + 100])); // answered before our FIN is seen
      },
      close: (e) => log.push(`b:close:${e?.message}`),
    });
    near.write(Uint8Array.from([1]));
    near.write(Uint8Array.from([2]));
    near.close();
    clock.advance(100);
    assert.deepEqual(log, ['b:1', 'b:2', 'b:close:undefined', 'a:101', 'a:102', 'a:close:undefined']);
    assert.equal(network.openStreams, 0);
    assert.equal(a.stats.bytesSent, 2);
    assert.equal(a.stats.bytesReceived, 2);
  });

  it('refuses dials to a transport that has not attached yet', () => {
    const { clock, network, nodes } = setup(1);
    const quiet = network.createTransport();
    const dial = dialSync(clock, nodes[0]!, quiet.localAddr, 1000);
    clock.advance(100);
    assert.equal(codeOf((dial[0]!.result as { error: Error }).error), 'ECONNREFUSED');
    assert.equal(quiet.stats.inboundStreamsRejected, 1);
  });
});
