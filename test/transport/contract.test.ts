/**
 * The transport contract, one behaviour suite run against every implementation (STYLE §13,
 * after memberlist's `transport_test.go`): the in-memory network on a `VirtualClock`, where
 * waiting means advancing virtual time, and real UDP/TCP sockets on 127.0.0.1 and, when the
 * machine has it, [::1], where waiting means polling in real time with a hard bound.
 *
 * Each test gets a fresh harness and disposes of it in `afterEach`, so every socket is closed
 * even when an assertion fails.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type Clock, RealClock, SeededRandom, type Timer, VirtualClock } from '../../src/runtime/index.ts';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../src/transport/memory.ts';
import type { Addr, Stream, StreamHandlers, TransportWithStats } from '../../src/transport/transport.ts';
import { UdpTcpTransport } from '../../src/transport/udp-tcp.ts';

/** A transport with the counters both implementations keep beyond {@link TransportStats}. */
export type TestTransport = TransportWithStats & {
  readonly stats: Readonly<TransportWithStats['stats'] & { packetsDroppedBeforeAttach: number }>;
};

/** What the contract suite needs from an implementation. */
export interface Harness {
  /** Creates a transport; `dispose()` shuts it down. */
  create(): Promise<TestTransport>;
  /** Lets `ms` of the transports' clock pass. */
  settle(ms: number): Promise<void>;
  /** Lets time pass until `condition()` holds or `maxMs` elapsed; returns `condition()`. */
  waitFor(condition: () => boolean, maxMs: number): Promise<boolean>;
  /** The transports' clock. */
  now(): number;
  /** An address nobody listens on: a dial there is refused. */
  closedAddr(): Promise<Addr>;
  /** An address `from` cannot connect to: a dial there hangs until its timeout. */
  blackholeAddr(from: TestTransport): Promise<Addr>;
  /** Shuts every transport down and frees every socket. */
  dispose(): Promise<void>;
}

/** The in-memory network on virtual time. Waiting advances the clock 1 ms at a time. */
export function memoryHarness(options: Partial<MemoryNetworkOptions> = {}): Harness {
  const clock = new VirtualClock(1000);
  const network = new MemoryNetwork({ clock, random: new SeededRandom(42), latencyMs: 2, ...options });
  const transports: TestTransport[] = [];
  return {
    async create() {
      const t = network.createTransport();
      transports.push(t);
      return t;
    },
    async settle(ms) {
      clock.advance(ms);
    },
    async waitFor(condition, maxMs) {
      for (let waited = 0; !condition() && waited < maxMs; waited++) clock.advance(1);
      return condition();
    },
    now: () => clock.now(),
    async closedAddr() {
      return '10.255.255.254:7946';
    },
    async blackholeAddr(from) {
      const hole = network.createTransport();
      transports.push(hole);
      hole.attach({ packet() {}, stream: (s) => s.close() });
      network.block(from.localAddr, hole.localAddr);
      return hole.localAddr;
    },
    async dispose() {
      await Promise.all(transports.map((t) => t.shutdown()));
      clock.advance(1000);
    },
  };
}

/** Real sockets on `host` (`127.0.0.1` or `::1`), with a clock offset so stamps are recognisable. */
export function socketHarness(host: string): Harness {
  const clock = new OffsetClock(1e9);
  const transports: UdpTcpTransport[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return {
    async create() {
      const t = await UdpTcpTransport.listen({ bindAddr: `${bracketed}:0`, clock });
      transports.push(t);
      return t;
    },
    settle: sleep,
    async waitFor(condition, maxMs) {
      const deadline = performance.now() + maxMs;
      while (!condition() && performance.now() < deadline) await sleep(2);
      return condition();
    },
    now: () => clock.now(),
    async closedAddr() {
      // A port that was just ours and is now closed (nothing else on loopback takes it so fast).
      const t = await UdpTcpTransport.listen({ bindAddr: `${bracketed}:0` });
      await t.shutdown();
      return t.localAddr;
    },
    async blackholeAddr() {
      const hole = await startBlackhole(host);
      cleanups.push(hole.close);
      return `${bracketed}:${hole.port}`;
    },
    async dispose() {
      await Promise.all(transports.map((t) => t.shutdown()));
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

/** True when the IPv6 loopback `::1` is configured (`ip -6 addr show lo`). */
export function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) =>
    (list ?? []).some((i) => i.family === 'IPv6' && i.internal && i.address === '::1'),
  );
}

/** Real time, shifted by `offsetMs`, so a test can tell the transport's clock was used. */
class OffsetClock implements Clock {
  readonly #real = new RealClock();
  readonly #offsetMs: number;
  constructor(offsetMs: number) {
    this.#offsetMs = offsetMs;
  }
  now(): number {
    return this.#real.now() + this.#offsetMs;
  }
  setTimer(delayMs: number, callback: () => void): Timer {
    return this.#real.setTimer(delayMs, callback);
  }
}

/** Longest a blackhole's worker stays blocked, in ms, should a test forget to close it. */
const BLACKHOLE_MAX_MS = 30_000;
/** Connections tried to fill the blackhole's accept queue. */
const BLACKHOLE_MAX_FILLERS = 8;

const BLACKHOLE_WORKER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const server = net.createServer();
// backlog 1: the kernel completes at most two handshakes, then drops SYNs while nobody accepts.
server.listen({ host: workerData.host, port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Block this thread's event loop, so the listener never accepts.
  Atomics.wait(new Int32Array(workerData.flag), 0, 0, workerData.maxMs);
  server.close();
});
`;

/**
 * A TCP port on loopback where connecting hangs, like a host that drops SYNs: a listener in a
 * worker thread whose event loop is blocked, with its accept queue filled by our own
 * connections. Only loopback, no privileges.
 */
async function startBlackhole(host: string): Promise<{ port: number; close: () => Promise<void> }> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(BLACKHOLE_WORKER, {
    eval: true,
    workerData: { host, flag, maxMs: BLACKHOLE_MAX_MS },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  for (let i = 0; i < BLACKHOLE_MAX_FILLERS; i++) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    fillers.push(socket);
    const isConnected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 100);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!isConnected) break;
  }
  return {
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      const view = new Int32Array(flag);
      Atomics.store(view, 0, 1);
      Atomics.notify(view, 0);
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

/** Longest any wait in the suite may take, in the harness's time. */
const WAIT_MS = 3000;
const TEST_TIMEOUT_MS = 20_000;

/** What a stream's handlers saw. */
interface Seen {
  chunks: Uint8Array[];
  closes: (Error | undefined)[];
}

function watch(stream: Stream, extra: Partial<StreamHandlers> = {}): Seen {
  const seen: Seen = { chunks: [], closes: [] };
  stream.setHandlers({
    data(chunk) {
      seen.chunks.push(chunk);
      extra.data?.(chunk);
    },
    close(error) {
      seen.closes.push(error);
      extra.close?.(error);
    },
  });
  return seen;
}

function bytesOf(seen: Seen): number {
  let n = 0;
  for (const c of seen.chunks) n += c.length;
  return n;
}

function concat(seen: Seen): Buffer {
  return Buffer.concat(seen.chunks);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const random = new SeededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = random.uint32();
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

function codeOf(error: Error | undefined): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/** Accepted streams of `t`, which gets attached with a packet sink. */
function acceptInto(t: TestTransport, onStream: (s: Stream) => void = () => {}): Stream[] {
  const accepted: Stream[] = [];
  t.attach({
    packet() {},
    stream(s) {
      accepted.push(s);
      onStream(s);
    },
  });
  return accepted;
}

/** Dials and waits for the callback; asserts it ran exactly once. */
async function dial(
  h: Harness,
  from: TestTransport,
  to: Addr,
  timeoutMs = WAIT_MS,
): Promise<{ ok: true; stream: Stream } | { ok: false; error: Error }> {
  const results: ({ ok: true; stream: Stream } | { ok: false; error: Error })[] = [];
  from.dialStream(to, timeoutMs, (r) => results.push(r));
  assert.equal(results.length, 0, 'dialStream must call back asynchronously');
  assert.ok(await h.waitFor(() => results.length > 0, timeoutMs + WAIT_MS), 'dial never called back');
  return results[0]!;
}

async function connect(h: Harness, from: TestTransport, to: TestTransport, accepted: Stream[]) {
  const before = accepted.length;
  const r = await dial(h, from, to.localAddr);
  assert.ok(r.ok, `dial failed: ${r.ok ? '' : r.error.message}`);
  assert.ok(await h.waitFor(() => accepted.length > before, WAIT_MS), 'stream not accepted');
  return { near: r.stream, far: accepted[accepted.length - 1]! };
}

/**
 * Two fresh transports and a stream from the first to the second, both ends watched from the
 * start (`echo`: the far end writes back whatever it reads).
 */
async function watchedStream(h: Harness, options: { echo?: boolean } = {}) {
  const a = await h.create();
  const b = await h.create();
  let farSeen: Seen | undefined;
  const accepted = acceptInto(b, (s) => {
    farSeen = watch(s, options.echo ? { data: (chunk) => s.write(chunk) } : {});
  });
  const { near } = await connect(h, a, b, accepted);
  const nearSeen = watch(near);
  assert.ok(farSeen !== undefined, 'the accepted stream was not watched');
  return { a, b, near, nearSeen, farSeen };
}

function transportContract(name: string, makeHarness: () => Harness): void {
  describe(`Transport contract: ${name}`, { timeout: TEST_TIMEOUT_MS * 4 }, () => {
    let h: Harness;
    beforeEach(() => {
      h = makeHarness();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('Packet_Delivered_WithSenderAddrAndReceiveTimeFromTransportClock', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const a = await h.create();
      const b = await h.create();
      const got: { data: Uint8Array; from: Addr; receivedAt: number }[] = [];
      b.attach({
        packet: (data, from, receivedAt) => got.push({ data, from, receivedAt }),
        stream: (s) => s.close(),
      });
      const sentAt = h.now();
      a.sendPacket(b.localAddr, Uint8Array.from([1, 2, 3, 4]));
      assert.equal(got.length, 0, 'delivery must not be synchronous');
      assert.ok(await h.waitFor(() => got.length === 1, WAIT_MS), 'packet not delivered');
      const p = got[0]!;
      assert.deepEqual([...p.data], [1, 2, 3, 4]);
      assert.equal(p.from, a.localAddr);
      assert.ok(
        p.receivedAt >= sentAt && p.receivedAt <= h.now(),
        `receivedAt ${p.receivedAt} not in [${sentAt}, ${h.now()}]`,
      );
    });

    it('Packet_BeforeAttach_DroppedAndCounted', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const b = await h.create();
      a.sendPacket(b.localAddr, Uint8Array.from([1]));
      assert.ok(await h.waitFor(() => b.stats.packetsDroppedBeforeAttach === 1, WAIT_MS), 'drop not counted');
      const got: number[] = [];
      b.attach({ packet: (data) => got.push(data[0]!), stream: (s) => s.close() });
      a.sendPacket(b.localAddr, Uint8Array.from([2]));
      assert.ok(await h.waitFor(() => got.length === 1, WAIT_MS));
      await h.settle(20);
      assert.deepEqual(got, [2]);
      assert.equal(b.stats.packetsReceived, 1);
    });

    it('Stream_BothWays_InOrder', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const b = await h.create();
      const accepted = acceptInto(b);
      const { near, far } = await connect(h, a, b, accepted);
      const nearSeen = watch(near);
      const farSeen = watch(far);
      const expectAB: number[] = [];
      const expectBA: number[] = [];
      for (let i = 0; i < 200; i++) {
        const x = Uint8Array.from([i, i >> 8, 0xaa]);
        near.write(x);
        expectAB.push(...x);
        const y = Uint8Array.from([0x55, i]);
        far.write(y);
        expectBA.push(...y);
      }
      assert.ok(
        await h.waitFor(
          () => bytesOf(farSeen) === expectAB.length && bytesOf(nearSeen) === expectBA.length,
          WAIT_MS,
        ),
      );
      assert.deepEqual([...concat(farSeen)], expectAB);
      assert.deepEqual([...concat(nearSeen)], expectBA);
      assert.equal(far.remote.startsWith(a.localAddr.slice(0, a.localAddr.lastIndexOf(':'))), true);
      assert.equal(near.remote, b.localAddr);
      near.close();
      assert.ok(await h.waitFor(() => nearSeen.closes.length === 1 && farSeen.closes.length === 1, WAIT_MS));
    });

    it('Stream_FiveMiB_ByteForByte_AndEchoedBack', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { near, nearSeen, farSeen } = await watchedStream(h, { echo: true });
      const payload = randomBytes(5 * 1024 * 1024, 7);
      // Uneven chunks, so chunk boundaries do not line up with anything.
      const random = new SeededRandom(3);
      for (let off = 0; off < payload.length; ) {
        const n = Math.min(payload.length - off, 1 + random.int(200_000));
        near.write(payload.subarray(off, off + n));
        off += n;
      }
      assert.ok(await h.waitFor(() => bytesOf(nearSeen) >= payload.length, 10_000), 'echo incomplete');
      assert.ok(Buffer.from(payload).equals(concat(farSeen)), 'payload corrupted on the way out');
      assert.ok(Buffer.from(payload).equals(concat(nearSeen)), 'payload corrupted on the way back');
      near.close();
      assert.ok(await h.waitFor(() => nearSeen.closes.length === 1, WAIT_MS));
    });

    it('Stream_DataAndCloseBeforeSetHandlers_NotLost', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const b = await h.create();
      const accepted = acceptInto(b); // no setHandlers on accepted streams yet
      const { near, far } = await connect(h, a, b, accepted);
      near.write(Buffer.from('hello, '));
      near.write(Buffer.from('world'));
      near.close();
      await h.settle(100);
      const farSeen = watch(far);
      assert.equal(concat(farSeen).toString(), 'hello, world');
      assert.ok(await h.waitFor(() => farSeen.closes.length === 1, WAIT_MS));
      assert.deepEqual(farSeen.closes, [undefined]);
    });

    it('Stream_Close_FlushesThenPeerSeesCloseOnce', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { near, nearSeen, farSeen } = await watchedStream(h);
      const payload = randomBytes(1024 * 1024, 11);
      near.write(payload);
      near.close();
      near.close(); // idempotent
      near.write(Uint8Array.from([1])); // after close: a no-op
      assert.ok(await h.waitFor(() => farSeen.closes.length > 0 && nearSeen.closes.length > 0, WAIT_MS));
      await h.settle(50);
      assert.ok(Buffer.from(payload).equals(concat(farSeen)), 'queued data not flushed before close');
      assert.deepEqual(farSeen.closes, [undefined]);
      assert.deepEqual(nearSeen.closes, [undefined]);
    });

    it('Stream_Destroy_LocalGetsErrorAndPeerIsReset', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { near, nearSeen, farSeen } = await watchedStream(h);
      const boom = new Error('boom');
      near.destroy(boom);
      near.destroy(new Error('again'));
      assert.ok(await h.waitFor(() => farSeen.closes.length > 0 && nearSeen.closes.length > 0, WAIT_MS));
      await h.settle(50);
      assert.deepEqual(nearSeen.closes, [boom]);
      assert.equal(farSeen.closes.length, 1);
      assert.equal(codeOf(farSeen.closes[0]), 'ECONNRESET');
    });

    it('Dial_ClosedPort_Refused', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const to = await h.closedAddr();
      const r = await dial(h, a, to);
      assert.equal(r.ok, false);
      assert.equal(codeOf(r.ok ? undefined : r.error), 'ECONNREFUSED');
      assert.equal(a.stats.streamDialErrors, 1);
    });

    it('Dial_Unanswered_TimesOutOnceAfterTimeout', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const to = await h.blackholeAddr(a);
      const results: unknown[] = [];
      const started = h.now();
      let failedAt = 0;
      a.dialStream(to, 300, (r) => {
        results.push(r);
        failedAt = h.now();
      });
      assert.ok(await h.waitFor(() => results.length > 0, WAIT_MS));
      await h.settle(100);
      assert.equal(results.length, 1);
      const r = results[0] as { ok: boolean; error: Error };
      assert.equal(r.ok, false);
      assert.equal(codeOf(r.error), 'ETIMEDOUT');
      assert.ok(
        failedAt - started >= 299,
        `failed after ${failedAt - started} ms, before the 300 ms timeout`,
      );
    });

    it('Stream_ToUnattachedTransport_ClosedOrRefused', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const b = await h.create();
      const r = await dial(h, a, b.localAddr);
      if (r.ok) {
        const seen = watch(r.stream);
        assert.ok(
          await h.waitFor(() => seen.closes.length === 1, WAIT_MS),
          'stream to an unattached transport stayed open',
        );
      } else {
        // Refused outright, or accepted by the kernel and reset before the dial completed.
        assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(codeOf(r.error) ?? ''), r.error.message);
      }
    });

    it('Shutdown_ClosesStreams_Idempotent', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { a, b, nearSeen, farSeen } = await watchedStream(h);
      const first = a.shutdown();
      const second = a.shutdown();
      await Promise.all([first, second]);
      await a.shutdown();
      assert.ok(await h.waitFor(() => nearSeen.closes.length > 0 && farSeen.closes.length > 0, WAIT_MS));
      await h.settle(50);
      assert.equal(nearSeen.closes.length, 1);
      assert.ok(nearSeen.closes[0] instanceof Error, 'a stream closed by shutdown reports an error');
      assert.equal(farSeen.closes.length, 1);
      // Afterwards nothing throws, and dials fail.
      a.sendPacket(b.localAddr, Uint8Array.from([1]));
      const r = await dial(h, a, b.localAddr);
      assert.equal(r.ok, false);
    });

    it('Stats_CountPacketsBytesAndStreams', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await h.create();
      const b = await h.create();
      let got = 0;
      const accepted: Stream[] = [];
      b.attach({
        packet: () => got++,
        stream: (s) => {
          accepted.push(s);
          watch(s);
        },
      });
      for (let i = 0; i < 10; i++) a.sendPacket(b.localAddr, new Uint8Array(100));
      assert.ok(await h.waitFor(() => got === 10, WAIT_MS));
      const { near } = await connect(h, a, b, accepted);
      watch(near);
      near.write(new Uint8Array(1000));
      assert.ok(await h.waitFor(() => b.stats.bytesReceived === 2000, WAIT_MS));
      assert.equal(a.stats.packetsSent, 10);
      assert.equal(a.stats.bytesSent, 2000);
      assert.equal(b.stats.packetsReceived, 10);
      assert.equal(a.stats.streamsOpened, 1);
      assert.equal(b.stats.streamsAccepted, 1);
      assert.equal(a.stats.streamDialErrors, 0);
      assert.equal(a.stats.packetSendErrors, 0);
    });
  });
}

transportContract('MemoryNetwork', () => memoryHarness());
transportContract('UdpTcpTransport 127.0.0.1', () => socketHarness('127.0.0.1'));
if (hasIpv6Loopback()) transportContract('UdpTcpTransport [::1]', () => socketHarness('::1'));
else
  describe('Transport contract: UdpTcpTransport [::1]', () =>
    it('needs IPv6 loopback (::1 on lo)', { todo: true }));
