/**
 * One simulated node's edges: the clock and the transport its `Memberlist` is given. These are
 * the only seams the simulator uses (with the seeded `Random`): the protocol code itself is the
 * production code.
 *
 * - {@link DriftClock}: a node whose clock runs fast or slow by some parts per million.
 * - `StallableClock` (src/runtime): a node whose event loop stalls.
 * - {@link SimTransport}: a `MemoryNetwork` transport seen through the node's clock. Packets
 *   are stamped with the node's own `now()` (the network stamps with its own clock, which a
 *   drifting node does not share); while the node is stalled, arriving packets and streams wait
 *   in the "socket" and are read when the stall ends (as `FaultyTransport` in test/support);
 *   and a tap lets the simulator look at each packet after the node has handled it.
 */
import type { Clock, Timer } from '../runtime/clock.ts';
import type { StallableClock } from '../runtime/stallable-clock.ts';
import type { MemoryTransport } from '../transport/memory.ts';
import type {
  Addr,
  DialResult,
  TransportHandlers,
  TransportStats,
  TransportWithStats,
} from '../transport/transport.ts';

/** A clock that runs `ppm` parts per million fast (positive) or slow (negative) against its base. */
export class DriftClock implements Clock {
  readonly #base: Clock;
  readonly #rate: number;

  constructor(base: Clock, ppm: number) {
    this.#base = base;
    this.#rate = 1 + ppm / 1e6;
  }

  now(): number {
    return this.#base.now() * this.#rate;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    return this.#base.setTimer(delayMs / this.#rate, callback);
  }
}

/**
 * Looks at one received packet: it must call `deliver()` exactly once, synchronously (the
 * node handles the packet inside that call), and may inspect `data` before and after.
 */
export type PacketTap = (data: Uint8Array, deliver: () => void) => void;

/** A {@link MemoryTransport} seen through a node's own clock, with stalls and a packet tap. */
export class SimTransport implements TransportWithStats {
  readonly #inner: MemoryTransport;
  readonly #clock: Clock;
  readonly #stall: StallableClock | undefined;
  readonly #tap: PacketTap | undefined;

  constructor(
    inner: MemoryTransport,
    clock: Clock,
    stall: StallableClock | undefined,
    tap: PacketTap | undefined,
  ) {
    this.#inner = inner;
    this.#clock = clock;
    this.#stall = stall;
    this.#tap = tap;
  }

  get localAddr(): Addr {
    return this.#inner.localAddr;
  }

  get stats(): Readonly<TransportStats> {
    return this.#inner.stats;
  }

  attach(handlers: TransportHandlers): void {
    const clock = this.#clock;
    const stall = this.#stall;
    const tap = this.#tap;
    const receive =
      tap === undefined
        ? (data: Uint8Array, from: Addr) => handlers.packet(data, from, clock.now())
        : (data: Uint8Array, from: Addr) => tap(data, () => handlers.packet(data, from, clock.now()));
    if (stall === undefined) {
      this.#inner.attach({ packet: (data, from) => receive(data, from), stream: handlers.stream });
      return;
    }
    this.#inner.attach({
      packet: (data, from) => {
        if (stall.isStalled) stall.defer(() => receive(data, from));
        else receive(data, from);
      },
      stream: (s) => stall.defer(() => handlers.stream(s)),
    });
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    this.#inner.sendPacket(to, data);
  }

  dialStream(to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void {
    this.#inner.dialStream(to, timeoutMs, callback);
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
