/**
 * A harness that runs the same membership behaviour suite on two substrates:
 * - `memory`: a `MemoryNetwork` on a `VirtualClock` (deterministic, seeded, time jumps);
 * - `udp`: real UDP/TCP sockets on 127.0.0.1 and the real clock (faster timings than LAN).
 *
 * Faults: crash (no leave), dropping a node's outgoing packets that match a predicate, and
 * event-loop stalls (a per-node stallable clock in memory; a real blocked event loop with
 * `Atomics.wait` on sockets, which stalls every node in the process at once).
 */
import { Memberlist, type MemberlistInit } from '../../src/membership/index.ts';
import {
  type Clock,
  RealClock,
  SeededRandom,
  StallableClock,
  VirtualClock,
} from '../../src/runtime/index.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import type { Addr, DialResult, Transport, TransportHandlers } from '../../src/transport/transport.ts';
import { UdpTcpTransport } from '../../src/transport/udp-tcp.ts';
import type { MemberlistMessage } from '../../src/wire/memberlist.ts';
import { decodePacket } from '../../src/wire/packet.ts';

/** A transport wrapper for fault injection: filters outgoing packets, defers incoming ones through a stallable clock. */
export class FaultyTransport implements Transport {
  readonly #inner: Transport;
  readonly #clock: StallableClock | undefined;
  /** Outgoing packets for which this returns true are dropped. */
  dropOutgoing: ((msgs: MemberlistMessage[], to: Addr) => boolean) | undefined;
  dropped = 0;

  constructor(inner: Transport, clock?: StallableClock) {
    this.#inner = inner;
    this.#clock = clock;
  }

  get localAddr(): Addr {
    return this.#inner.localAddr;
  }

  attach(handlers: TransportHandlers): void {
    const clock = this.#clock;
    if (!clock) {
      this.#inner.attach(handlers);
      return;
    }
    this.#inner.attach({
      // While stalled, a packet waits in the "socket" and is stamped when finally read.
      packet: (data, from) => clock.defer(() => handlers.packet(data, from, clock.now())),
      stream: (s) => clock.defer(() => handlers.stream(s)),
    });
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    if (this.dropOutgoing) {
      const d = decodePacket(data);
      if (d.ok && this.dropOutgoing(d.value.messages, to)) {
        this.dropped++;
        return;
      }
    }
    this.#inner.sendPacket(to, data);
  }

  dialStream(to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void {
    this.#inner.dialStream(to, timeoutMs, callback);
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

export interface TestNode {
  name: string;
  ml: Memberlist;
  transport: FaultyTransport;
  clock: StallableClock | undefined;
}

export interface Harness {
  readonly kind: 'memory' | 'udp';
  /** Memberlist options for this substrate (fast timings on real sockets). */
  readonly timing: Partial<MemberlistInit>;
  /** The shared clock (virtual in memory). */
  readonly clock: Clock;
  addNode(name: string, extra?: Partial<MemberlistInit>): Promise<TestNode>;
  /** The node dies: no leave, its sockets close. */
  crash(node: TestNode): Promise<void>;
  /** Stalls one node's event loop (memory), or the whole process (udp). */
  stall(node: TestNode, ms: number): Promise<void>;
  /** Lets `ms` of (virtual or real) time pass. */
  run(ms: number): Promise<void>;
  /** Awaits `p`, letting time pass meanwhile (virtual time does not move by itself). */
  drive<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  /** Runs until `cond()` holds; returns the time it took, or throws after `maxMs`. */
  waitFor(what: string, cond: () => boolean, maxMs: number): Promise<number>;
  close(): Promise<void>;
}

const flush = () => new Promise<void>((r) => setImmediate(r));

export interface MemoryHarnessOptions {
  /** Packet loss probability on every link. @default 0 */
  loss?: number;
  /** One-way latency (ms) and jitter. @default 1, 0 */
  latencyMs?: number;
  jitterMs?: number;
}

export function memoryHarness(
  seed = 1,
  options: MemoryHarnessOptions = {},
): Harness & { network: MemoryNetwork } {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const network = new MemoryNetwork({ clock, random: random.fork(), latencyMs: options.latencyMs ?? 1 });
  if (options.jitterMs) network.setLatency(options.latencyMs ?? 1, options.jitterMs);
  if (options.loss) network.setLoss(options.loss);
  const nodes: TestNode[] = [];
  const run = async (ms: number) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.runUntil(Math.min(end, clock.now() + 10));
      await flush();
    }
  };
  return {
    kind: 'memory',
    timing: {},
    clock,
    network,
    async addNode(name, extra = {}) {
      const nodeClock = new StallableClock(clock);
      const transport = new FaultyTransport(network.createTransport(), nodeClock);
      const ml = new Memberlist({ name, transport, clock: nodeClock, random: random.fork(), ...extra });
      ml.start();
      const node = { name, ml, transport, clock: nodeClock };
      nodes.push(node);
      return node;
    },
    async drive(p, maxMs = 120_000) {
      let settled = false;
      const watched = p.finally(() => {
        settled = true;
      });
      watched.catch(() => {});
      const start = clock.now();
      while (!settled && clock.now() - start < maxMs) await run(10);
      return watched;
    },
    async crash(node) {
      network.crash(node.transport.localAddr);
      await node.ml.shutdown();
    },
    async stall(node, ms) {
      node.clock!.stall(ms);
    },
    run,
    async waitFor(what, cond, maxMs) {
      const start = clock.now();
      while (!cond()) {
        if (clock.now() - start > maxMs)
          throw new Error(`memory: not within ${maxMs} ms of virtual time: ${what}`);
        await run(10);
      }
      return clock.now() - start;
    },
    async close() {
      for (const n of nodes) await n.ml.shutdown();
    },
  };
}

/** Real sockets on loopback, with timings five times faster than the LAN profile. */
export function udpHarness(): Harness {
  const clock = new RealClock();
  const random = new SeededRandom(Date.now());
  const nodes: TestNode[] = [];
  const timing: Partial<MemberlistInit> = {
    probeIntervalMs: 200,
    probeTimeoutMs: 100,
    gossipIntervalMs: 40,
    pushPullIntervalMs: 3000,
    tcpTimeoutMs: 2000,
    gossipToTheDeadTimeMs: 6000,
    postJoinPushPullDelaysMs: [200, 1000],
  };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  return {
    kind: 'udp',
    timing,
    clock,
    async addNode(name, extra = {}) {
      const inner = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0', clock });
      const transport = new FaultyTransport(inner);
      const ml = new Memberlist({ name, transport, clock, random: random.fork(), ...timing, ...extra });
      ml.start();
      const node = { name, ml, transport, clock: undefined };
      nodes.push(node);
      return node;
    },
    drive: (p) => p,
    async crash(node) {
      await node.ml.shutdown();
    },
    async stall(_node, ms) {
      // A real stall: this thread (every node in the process) cannot run for `ms`.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    },
    run: sleep,
    async waitFor(what, cond, maxMs) {
      const start = performance.now();
      while (!cond()) {
        if (performance.now() - start > maxMs) throw new Error(`udp: not within ${maxMs} ms: ${what}`);
        await sleep(20);
      }
      return performance.now() - start;
    },
    async close() {
      for (const n of nodes) await n.ml.shutdown();
    },
  };
}
