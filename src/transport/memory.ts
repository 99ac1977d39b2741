/**
 * An in-process network of {@link Transport}s for tests and the deterministic simulator, after
 * memberlist's `mock_transport.go` with the faults of tigerbeetle's `packet_simulator.zig`.
 *
 * Determinism: nothing here reads the wall clock or `Math.random`. Every delivery, packet or
 * stream chunk, is a timer on the injected {@link Clock} (never a synchronous call inside
 * `sendPacket` or `write`), and every random choice (loss, jitter, reordering, duplication)
 * is drawn from the injected {@link Random} in call order. With a `VirtualClock` and a
 * `SeededRandom`, the same seed and the same calls give the same delivery trace.
 *
 * Packets: in flight they sit in the network's own heap (one small record each, no closure),
 * and a single clock timer stands for the earliest; when it fires, every packet then due is
 * delivered in (due time, send order). So packets due at the same instant share one timer,
 * which doubles throughput on a `VirtualClock` with whole-millisecond latencies. Data is never
 * copied: the receiver gets the sender's `Uint8Array` (a duplicate gets the same one). Faults are decided when the packet is sent: a packet already "on the wire" when a
 * partition starts is still delivered, as on a real network; a packet for a transport that is
 * gone (crashed, shut down) when it arrives is dropped.
 *
 * Faults, all changeable mid-run:
 * - loss: a global rate, or a rate per one-way link that replaces it for that link;
 * - latency: fixed or `(from, to) => ms`, plus uniform jitter in [0, jitterMs);
 * - reordering: with some probability a packet gets a uniform extra delay in [0, maxDelayMs);
 * - duplication: with some probability a packet is delivered twice (independent delays);
 * - partitions: `partition(a, b)` blocks both ways between two groups, `block(from, to)` one
 *   way, `isolate(addr)` cuts a node from everyone; `heal()` undoes all of them;
 * - `crash(addr)`: the transport stops at once, its streams die, its address is free again.
 *
 * Streams: a dial takes one latency to reach the listener and one back. Across a blocked link
 * (either direction, since TCP needs both) it fails after `timeoutMs`, like a SYN that is never
 * answered; to an address nobody listens on it fails with `ECONNREFUSED` after one latency.
 * Chunks arrive in order, each after the link latency (never before an earlier one).
 * `close()` sends a FIN behind the queued data; the peer then closes too (Node's
 * `allowHalfOpen: false`), and each side's `close` handler runs once, without error, when the
 * other's FIN arrives. `destroy()` discards what is queued and sends a reset. When a link
 * becomes blocked or a side crashes, streams across it are destroyed with an error.
 */
import type { Clock, Timer } from '../runtime/clock.ts';
import { TimerHeap } from '../runtime/heap.ts';
import type { Random } from '../runtime/random.ts';
import {
  type Addr,
  type DialResult,
  newTransportStats,
  type Stream,
  type StreamHandlers,
  type TransportHandlers,
  type TransportStats,
  type TransportWithStats,
} from './transport.ts';

/** Default bound on packets in flight network-wide; beyond it packets drop as `overflow`. */
export const MEMORY_MAX_IN_FLIGHT_PACKETS = 1_000_000;
/** Most transports attached to one network at once (the 10.0.0.0/8 space, less 0 and broadcast). */
export const MEMORY_MAX_TRANSPORTS = 2 ** 24 - 2;
/** Most open streams network-wide; a dial beyond it is refused. */
export const MEMORY_MAX_STREAMS = 1_000_000;
/** Most accepted streams open at once per transport (as the socket transport's limit). */
export const MEMORY_MAX_INBOUND_STREAMS = 512;
/** Most dialled streams open or connecting at once per transport. */
export const MEMORY_MAX_OUTBOUND_STREAMS = 512;
/**
 * Bytes one direction of a stream may hold (in flight plus not yet read by an owner without
 * handlers). Past it the stream is destroyed with `ENOBUFS`: the reader has stalled.
 */
export const MEMORY_STREAM_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
/** Most one-way links blocked with {@link MemoryNetwork.block} at once. */
export const MEMORY_MAX_BLOCKED_LINKS = 1_000_000;
/** Most active {@link MemoryNetwork.partition} calls (each is checked per packet). */
export const MEMORY_MAX_PARTITIONS = 64;
/** Most per-link loss rules set with {@link MemoryNetwork.setLinkLoss}. */
export const MEMORY_MAX_LINK_LOSS_RULES = 1_000_000;
/** Port of the addresses {@link MemoryNetwork.createTransport} assigns (memberlist's default). */
export const MEMORY_DEFAULT_PORT = 7946;

/** One-way latency of the link `from` → `to`, in milliseconds (negative counts as 0). */
export type LatencyFn = (from: Addr, to: Addr) => number;

/** Options of {@link MemoryNetwork}. Each fault can also be changed later by a method. */
export interface MemoryNetworkOptions {
  /** Times every delivery; a `VirtualClock` makes runs reproducible. */
  clock: Clock;
  /** Draws every fault; a `SeededRandom` makes runs reproducible. */
  random: Random;
  /** One-way latency, fixed or per link, in ms. @default 1 */
  latencyMs?: number | LatencyFn;
  /** Uniform extra delay in [0, jitterMs) on each packet (not on streams). @default 0 */
  jitterMs?: number;
  /** Probability that a packet is lost, in [0, 1]. @default 0 */
  lossRate?: number;
  /** Probability that a packet is delivered twice, in [0, 1]. @default 0 */
  duplicateRate?: number;
  /** Probability that a packet gets an extra delay in [0, reorderDelayMs). @default 0 */
  reorderRate?: number;
  /** Largest extra delay of a reordered packet, in ms. @default 10 */
  reorderDelayMs?: number;
  /** @default {@link MEMORY_MAX_IN_FLIGHT_PACKETS} */
  maxInFlightPackets?: number;
}

/** Why the network dropped a packet. */
export type PacketDropReason =
  /** Lost by the loss rate. */
  | 'loss'
  /** Blocked by a partition, a one-way block or an isolation. */
  | 'blocked'
  /** The sender had shut down or crashed. */
  | 'sender-down'
  /** Nobody had the destination address when the packet arrived. */
  | 'no-listener'
  /** The destination had not called `attach` yet. */
  | 'not-attached'
  /** {@link MemoryNetworkOptions.maxInFlightPackets} packets were already in flight. */
  | 'overflow';

/** Network-wide counters of a {@link MemoryNetwork}. */
export interface MemoryNetworkStats {
  /** `sendPacket` calls on every transport. */
  packetsSent: number;
  /** Packets handed to a receiver (duplicates included). */
  packetsDelivered: number;
  /** Extra copies scheduled by the duplication rate. */
  packetsDuplicated: number;
  /** Packets dropped, by reason. */
  packetsDropped: Record<PacketDropReason, number>;
  /** Streams established. */
  streamsOpened: number;
  /** Dials that failed: refused, timed out, or from a transport that was down. */
  streamDialsFailed: number;
  /** Open streams destroyed by a partition or a crash. */
  streamsBroken: number;
}

/** {@link TransportStats} plus what only this transport counts. */
export interface MemoryTransportStats extends TransportStats {
  /** Packets that arrived before `attach` and were dropped. */
  packetsDroppedBeforeAttach: number;
  /** Inbound streams refused: not attached yet, or {@link MEMORY_MAX_INBOUND_STREAMS} open. */
  inboundStreamsRejected: number;
}

type CodedError = Error & { code: string };

/** A packet on its way: due at `time`, `seq` breaks ties in send order. */
interface InFlightPacket {
  time: number;
  seq: number;
  from: Addr;
  to: Addr;
  data: Uint8Array;
}

function transportError(code: string, message: string): CodedError {
  const error = new Error(message) as CodedError;
  error.code = code;
  return error;
}

function checkRate(name: string, value: number): number {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`${name} must be a probability in [0, 1], got ${value}`);
  return value;
}

function checkDelay(name: string, value: number): number {
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new RangeError(`${name} must be a finite number of ms >= 0, got ${value}`);
  }
  return value;
}

// Module-private keys: the network, its transports and streams call each other through these,
// so none of it shows on the public types.
const latencyOf = Symbol('latencyOf');
const sendPacket = Symbol('sendPacket');
const dropSenderDown = Symbol('dropSenderDown');
const receivePacket = Symbol('receivePacket');
const forget = Symbol('forget');
const dial = Symbol('dial');
const dialFailed = Symbol('dialFailed');
const dialOpened = Symbol('dialOpened');
const canAccept = Symbol('canAccept');
const accept = Symbol('accept');
const kill = Symbol('kill');
const connectionClosed = Symbol('connectionClosed');
const streamClosed = Symbol('streamClosed');
const pair = Symbol('pair');
const peerKey = Symbol('peer');
const isClosedKey = Symbol('isClosed');
const closeErrorKey = Symbol('closeError');
const breakKey = Symbol('break');
const receiveKey = Symbol('receive');
const statsKey = Symbol('stats');

/**
 * An in-process network. Hand out transports with {@link MemoryNetwork.createTransport} and
 * inject faults with its methods.
 *
 * @example
 * const clock = new VirtualClock();
 * const net = new MemoryNetwork({ clock, random: new SeededRandom(1), latencyMs: 5 });
 * const a = net.createTransport(); // 10.0.0.1:7946
 * const b = net.createTransport(); // 10.0.0.2:7946
 * b.attach({ packet: (data, from, at) => {}, stream: (s) => s.close() });
 * a.sendPacket(b.localAddr, new Uint8Array([1]));
 * clock.advance(5); // delivered now
 */
export class MemoryNetwork {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #maxInFlight: number;
  #latency: number | LatencyFn = 1;
  #jitterMs = 0;
  #lossRate = 0;
  #duplicateRate = 0;
  #reorderRate = 0;
  #reorderDelayMs = 10;
  /** Bounded by {@link MEMORY_MAX_TRANSPORTS}. */
  readonly #transports = new Map<Addr, MemoryTransport>();
  #nextHost = 1;
  #inFlight = 0;
  /**
   * Packets in flight, by due time then send order; bounded by `maxInFlightPackets`. One
   * clock timer (`#armed`, due at `#armedAt`) stands for the earliest of them, so a burst of
   * packets due at the same instant costs one timer, and a packet costs no closure.
   */
  readonly #queue = new TimerHeap<InFlightPacket>();
  #seq = 0;
  #armed: Timer | undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  /** from → to → rate; bounded by {@link MEMORY_MAX_LINK_LOSS_RULES} rules. */
  readonly #linkLoss = new Map<Addr, Map<Addr, number>>();
  #linkLossCount = 0;
  /** from → blocked destinations; bounded by {@link MEMORY_MAX_BLOCKED_LINKS} links. */
  readonly #blocked = new Map<Addr, Set<Addr>>();
  #blockedCount = 0;
  /** Bounded by {@link MEMORY_MAX_PARTITIONS}. */
  readonly #partitions: { a: Set<Addr>; b: Set<Addr> }[] = [];
  /** Bounded by {@link MEMORY_MAX_TRANSPORTS} (one entry per address). */
  readonly #isolated = new Set<Addr>();
  /** Open connections, keyed by their dialling end; bounded by {@link MEMORY_MAX_STREAMS}. */
  readonly #connections = new Set<MemoryStream>();
  readonly #stats: MemoryNetworkStats = {
    packetsSent: 0,
    packetsDelivered: 0,
    packetsDuplicated: 0,
    packetsDropped: {
      loss: 0,
      blocked: 0,
      'sender-down': 0,
      'no-listener': 0,
      'not-attached': 0,
      overflow: 0,
    },
    streamsOpened: 0,
    streamDialsFailed: 0,
    streamsBroken: 0,
  };

  constructor(options: MemoryNetworkOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#maxInFlight = options.maxInFlightPackets ?? MEMORY_MAX_IN_FLIGHT_PACKETS;
    this.setLatency(options.latencyMs ?? 1, options.jitterMs ?? 0);
    this.setLoss(options.lossRate ?? 0);
    this.setDuplication(options.duplicateRate ?? 0);
    this.setReordering(options.reorderRate ?? 0, options.reorderDelayMs ?? 10);
  }

  /** The network's clock (the one transports stamp packets with). */
  get clock(): Clock {
    return this.#clock;
  }

  /** Live network-wide counters. */
  get stats(): Readonly<MemoryNetworkStats> {
    return this.#stats;
  }

  /** Packets scheduled for delivery and not yet delivered or dropped. */
  get inFlightPackets(): number {
    return this.#inFlight;
  }

  /** Open streams (connections) network-wide. */
  get openStreams(): number {
    return this.#connections.size;
  }

  /**
   * A new transport at `addr`, or at the next free `10.x.y.z:7946` address. An address is free
   * again as soon as its previous transport shut down or crashed (a restart).
   * @throws Error if `addr` is taken or malformed.
   */
  createTransport(addr?: Addr): MemoryTransport {
    if (this.#transports.size >= MEMORY_MAX_TRANSPORTS) {
      throw new Error(`MemoryNetwork: ${MEMORY_MAX_TRANSPORTS} transports already attached`);
    }
    let local = addr;
    if (local === undefined) {
      do {
        const n = this.#nextHost;
        this.#nextHost = n >= MEMORY_MAX_TRANSPORTS ? 1 : n + 1;
        local = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${MEMORY_DEFAULT_PORT}`;
      } while (this.#transports.has(local));
    } else {
      if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(local)) {
        throw new Error(`MemoryNetwork: address "${local}" is not ip:port, e.g. "10.0.0.1:7946"`);
      }
      if (this.#transports.has(local)) throw new Error(`MemoryNetwork: address ${local} is in use`);
    }
    const transport = new MemoryTransport(this, local);
    this.#transports.set(local, transport);
    return transport;
  }

  /** The live transport at `addr`, if any. */
  transport(addr: Addr): MemoryTransport | undefined {
    return this.#transports.get(addr);
  }

  /** Sets the one-way latency (fixed or per link) and the packet jitter, in ms. */
  setLatency(latencyMs: number | LatencyFn, jitterMs = 0): void {
    if (typeof latencyMs === 'number') checkDelay('latencyMs', latencyMs);
    this.#latency = latencyMs;
    this.#jitterMs = checkDelay('jitterMs', jitterMs);
  }

  /** Sets the global packet loss rate, in [0, 1]. */
  setLoss(rate: number): void {
    this.#lossRate = checkRate('lossRate', rate);
  }

  /**
   * Sets the loss rate of the one-way link `from` → `to`, replacing the global rate on that
   * link; `undefined` removes the rule.
   */
  setLinkLoss(from: Addr, to: Addr, rate: number | undefined): void {
    let rules = this.#linkLoss.get(from);
    if (rate === undefined) {
      if (rules?.delete(to)) this.#linkLossCount--;
      if (rules?.size === 0) this.#linkLoss.delete(from);
      return;
    }
    checkRate('link lossRate', rate);
    if (rules === undefined) {
      rules = new Map();
      this.#linkLoss.set(from, rules);
    }
    if (!rules.has(to)) {
      if (this.#linkLossCount >= MEMORY_MAX_LINK_LOSS_RULES) {
        throw new Error(`MemoryNetwork: more than ${MEMORY_MAX_LINK_LOSS_RULES} link loss rules`);
      }
      this.#linkLossCount++;
    }
    rules.set(to, rate);
  }

  /** Sets the probability that a packet is delivered twice. */
  setDuplication(rate: number): void {
    this.#duplicateRate = checkRate('duplicateRate', rate);
  }

  /** Sets the probability that a packet gets a uniform extra delay in [0, maxDelayMs). */
  setReordering(rate: number, maxDelayMs = this.#reorderDelayMs): void {
    this.#reorderRate = checkRate('reorderRate', rate);
    this.#reorderDelayMs = checkDelay('reorderDelayMs', maxDelayMs);
  }

  /**
   * Cuts every link between `groupA` and `groupB`, both ways. Nodes within a group, and nodes
   * in neither, are unaffected. Streams across the cut are destroyed. Undo with {@link heal}.
   */
  partition(groupA: readonly Addr[], groupB: readonly Addr[]): void {
    if (this.#partitions.length >= MEMORY_MAX_PARTITIONS) {
      throw new Error(`MemoryNetwork: more than ${MEMORY_MAX_PARTITIONS} partitions; heal() first`);
    }
    this.#partitions.push({ a: new Set(groupA), b: new Set(groupB) });
    this.#breakBlockedStreams();
  }

  /** Blocks the one-way link `from` → `to` (an asymmetric partition). Streams across it die. */
  block(from: Addr, to: Addr): void {
    let set = this.#blocked.get(from);
    if (set === undefined) {
      set = new Set();
      this.#blocked.set(from, set);
    }
    if (set.has(to)) return;
    if (this.#blockedCount >= MEMORY_MAX_BLOCKED_LINKS) {
      throw new Error(`MemoryNetwork: more than ${MEMORY_MAX_BLOCKED_LINKS} blocked links`);
    }
    set.add(to);
    this.#blockedCount++;
    this.#breakBlockedStreams();
  }

  /** Unblocks the one-way link `from` → `to` set by {@link block}. */
  unblock(from: Addr, to: Addr): void {
    const set = this.#blocked.get(from);
    if (set?.delete(to)) this.#blockedCount--;
    if (set?.size === 0) this.#blocked.delete(from);
  }

  /** Cuts `addr` off from every other address, both ways. Its streams die. */
  isolate(addr: Addr): void {
    this.#isolated.add(addr);
    this.#breakBlockedStreams();
  }

  /** Undoes {@link isolate} for `addr`. */
  unisolate(addr: Addr): void {
    this.#isolated.delete(addr);
  }

  /** Removes every partition, one-way block and isolation (loss and latency stay). */
  heal(): void {
    this.#partitions.length = 0;
    this.#blocked.clear();
    this.#blockedCount = 0;
    this.#isolated.clear();
  }

  /** True when packets from `from` cannot reach `to` (partition, block or isolation). */
  isBlocked(from: Addr, to: Addr): boolean {
    if (this.#isolated.size > 0 && (this.#isolated.has(from) || this.#isolated.has(to)) && from !== to)
      return true;
    if (this.#blockedCount > 0 && this.#blocked.get(from)?.has(to)) return true;
    for (const p of this.#partitions) {
      if ((p.a.has(from) && p.b.has(to)) || (p.b.has(from) && p.a.has(to))) return true;
    }
    return false;
  }

  /**
   * Crashes the transport at `addr`: it stops sending and receiving at once, its streams are
   * destroyed (peers see a reset one latency later), pending dials fail, and the address is
   * free for a restarted transport. No-op when nothing is there.
   */
  crash(addr: Addr): void {
    this.#transports.get(addr)?.[kill](transportError('ECONNRESET', `${addr} crashed`));
  }

  // ---- internal, used by MemoryTransport and MemoryStream ----

  /** @internal */
  [latencyOf](from: Addr, to: Addr): number {
    const l = this.#latency;
    return typeof l === 'number' ? l : Math.max(0, l(from, to));
  }

  /** @internal */
  [sendPacket](sender: MemoryTransport, to: Addr, data: Uint8Array): void {
    const stats = this.#stats;
    stats.packetsSent++;
    const from = sender.localAddr;
    if (
      (this.#partitions.length > 0 || this.#blockedCount > 0 || this.#isolated.size > 0) &&
      this.isBlocked(from, to)
    ) {
      stats.packetsDropped.blocked++;
      return;
    }
    const rate =
      this.#linkLossCount > 0 ? (this.#linkLoss.get(from)?.get(to) ?? this.#lossRate) : this.#lossRate;
    if (rate > 0 && this.#random.chance(rate)) {
      stats.packetsDropped.loss++;
      return;
    }
    this.#schedule(from, to, data);
    if (this.#duplicateRate > 0 && this.#random.chance(this.#duplicateRate)) {
      stats.packetsDuplicated++;
      this.#schedule(from, to, data);
    }
  }

  /** @internal */
  [dropSenderDown](): void {
    this.#stats.packetsSent++;
    this.#stats.packetsDropped['sender-down']++;
  }

  #schedule(from: Addr, to: Addr, data: Uint8Array): void {
    if (this.#inFlight >= this.#maxInFlight) {
      this.#stats.packetsDropped.overflow++;
      return;
    }
    let delay = this[latencyOf](from, to);
    if (this.#jitterMs > 0) delay += this.#random.float() * this.#jitterMs;
    if (this.#reorderRate > 0 && this.#random.chance(this.#reorderRate)) {
      delay += this.#random.float() * this.#reorderDelayMs;
    }
    this.#inFlight++;
    const time = this.#clock.now() + delay;
    this.#queue.push({ time, seq: this.#seq++, from, to, data });
    if (time < this.#armedAt) this.#arm(time, delay);
  }

  /** Sets the one clock timer for the earliest packet due, replacing a later one. */
  #arm(time: number, delay: number): void {
    this.#armed?.cancel();
    this.#armedAt = time;
    this.#armed = this.#clock.setTimer(delay, this.#fire);
  }

  /**
   * Delivers every packet due, in (time, send order), then re-arms for the next. Packets sent
   * by the handlers with no delay are delivered in the same pass, after those already due.
   */
  readonly #fire = (): void => {
    this.#armed = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const queue = this.#queue;
    const clock = this.#clock;
    for (;;) {
      const next = queue.peek();
      if (next === undefined) return;
      const now = clock.now();
      if (next.time > now) {
        if (next.time < this.#armedAt) this.#arm(next.time, next.time - now);
        return;
      }
      queue.pop();
      this.#deliver(next.from, next.to, next.data, now);
    }
  };

  #deliver(from: Addr, to: Addr, data: Uint8Array, now: number): void {
    this.#inFlight--;
    const target = this.#transports.get(to);
    if (target === undefined) {
      this.#stats.packetsDropped['no-listener']++;
      return;
    }
    if (target[receivePacket](data, from, now)) this.#stats.packetsDelivered++;
    else this.#stats.packetsDropped['not-attached']++;
  }

  /** @internal Called when a transport shuts down or crashes: frees its address. */
  [forget](transport: MemoryTransport): void {
    if (this.#transports.get(transport.localAddr) === transport) this.#transports.delete(transport.localAddr);
  }

  /** @internal */
  [dial](dialer: MemoryTransport, to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void {
    const clock = this.#clock;
    const from = dialer.localAddr;
    let isDone = false;
    const fail = (error: Error): void => {
      if (isDone) return;
      isDone = true;
      timeout.cancel();
      this.#stats.streamDialsFailed++;
      dialer[dialFailed](error, callback);
    };
    const timeout = clock.setTimer(timeoutMs, () =>
      fail(transportError('ETIMEDOUT', `dialStream: no connection to ${to} within ${timeoutMs} ms`)),
    );
    if (this.isBlocked(from, to) || this.isBlocked(to, from)) return; // the SYN is lost: time out
    clock.setTimer(this[latencyOf](from, to), () => {
      if (isDone) return;
      // The path may have been cut, or the dialer may have died, while the SYN was in flight.
      if (dialer.isDown) return fail(transportError('ESHUTDOWN', 'dialStream: transport shut down'));
      if (this.isBlocked(from, to)) return;
      const listener = this.#transports.get(to);
      if (listener === undefined || !listener[canAccept]()) {
        return fail(transportError('ECONNREFUSED', `dialStream: connection refused by ${to}`));
      }
      if (this.#connections.size >= MEMORY_MAX_STREAMS) {
        return fail(
          transportError('ECONNREFUSED', `dialStream: ${MEMORY_MAX_STREAMS} streams open network-wide`),
        );
      }
      const near = new MemoryStream(this, dialer, dialer[statsKey], to, false);
      const far = new MemoryStream(this, listener, listener[statsKey], from, true);
      near[pair](far);
      far[pair](near);
      this.#connections.add(near);
      this.#stats.streamsOpened++;
      // Schedule the SYN-ACK before the listener's handler can write, so the dialler hears of
      // the connection before any data on it (same-time timers run in scheduling order).
      clock.setTimer(this[latencyOf](to, from), () => {
        if (isDone) {
          near.destroy(transportError('ETIMEDOUT', 'dial timed out'));
          return;
        }
        isDone = true;
        timeout.cancel();
        if (near[isClosedKey]) {
          this.#stats.streamDialsFailed++;
          dialer[dialFailed](
            near[closeErrorKey] ?? transportError('ECONNRESET', 'connection reset'),
            callback,
          );
          return;
        }
        dialer[dialOpened](near, callback);
      });
      listener[accept](far);
    });
  }

  /** @internal Forgets a connection once both ends are closed. */
  [connectionClosed](dialerEnd: MemoryStream): void {
    this.#connections.delete(dialerEnd);
  }

  #breakBlockedStreams(): void {
    for (const near of [...this.#connections]) {
      const far = near[peerKey]!;
      if (near[isClosedKey] && far[isClosedKey]) continue;
      const a = far.remote;
      const b = near.remote;
      if (!this.isBlocked(a, b) && !this.isBlocked(b, a)) continue;
      this.#stats.streamsBroken++;
      const error = transportError('ETIMEDOUT', `stream ${a} <-> ${b}: link blocked`);
      near[breakKey](error);
      far[breakKey](error);
      this.#connections.delete(near);
    }
  }
}

/**
 * A transport on a {@link MemoryNetwork}; get one from {@link MemoryNetwork.createTransport}.
 */
export class MemoryTransport implements TransportWithStats {
  readonly localAddr: Addr;
  readonly #network: MemoryNetwork;
  readonly #stats: MemoryTransportStats = {
    ...newTransportStats(),
    packetsDroppedBeforeAttach: 0,
    inboundStreamsRejected: 0,
  };
  #handlers: TransportHandlers | undefined;
  #isDown = false;
  /** Bounded by {@link MEMORY_MAX_INBOUND_STREAMS} + {@link MEMORY_MAX_OUTBOUND_STREAMS}. */
  readonly #streams = new Set<MemoryStream>();
  #inboundOpen = 0;
  /** Outbound streams open plus dials in progress. */
  #outboundOpen = 0;

  /** @internal Use {@link MemoryNetwork.createTransport}. */
  constructor(network: MemoryNetwork, localAddr: Addr) {
    this.#network = network;
    this.localAddr = localAddr;
  }

  /** Live counters (see {@link MemoryTransportStats}). */
  get stats(): Readonly<MemoryTransportStats> {
    return this.#stats;
  }

  /** @internal The counters, writable. */
  get [statsKey](): MemoryTransportStats {
    return this.#stats;
  }

  /** True once shut down or crashed. */
  get isDown(): boolean {
    return this.#isDown;
  }

  attach(handlers: TransportHandlers): void {
    if (!this.#isDown) this.#handlers = handlers;
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    if (this.#isDown) {
      this.#stats.packetSendErrors++;
      this.#network[dropSenderDown]();
      return;
    }
    this.#stats.packetsSent++;
    this.#stats.bytesSent += data.length;
    this.#network[sendPacket](this, to, data);
  }

  dialStream(to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void {
    if (this.#isDown || this.#outboundOpen >= MEMORY_MAX_OUTBOUND_STREAMS) {
      const error = this.#isDown
        ? transportError('ESHUTDOWN', 'dialStream: transport is shut down')
        : transportError(
            'EMFILE',
            `dialStream: ${MEMORY_MAX_OUTBOUND_STREAMS} outbound streams already open`,
          );
      this.#stats.streamDialErrors++;
      this.#network.clock.setTimer(0, () => callback({ ok: false, error }));
      return;
    }
    this.#outboundOpen++;
    this.#network[dial](this, to, timeoutMs, callback);
  }

  shutdown(): Promise<void> {
    this[kill](transportError('ESHUTDOWN', 'transport shut down'));
    return Promise.resolve();
  }

  /** @internal */
  [kill](error: Error): void {
    if (this.#isDown) return;
    this.#isDown = true;
    this.#handlers = undefined;
    this.#network[forget](this);
    for (const stream of [...this.#streams]) stream.destroy(error);
  }

  /** @internal Returns false when the packet was dropped for want of handlers. */
  [receivePacket](data: Uint8Array, from: Addr, receivedAt: number): boolean {
    const handlers = this.#handlers;
    if (handlers === undefined) {
      this.#stats.packetsDroppedBeforeAttach++;
      return false;
    }
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += data.length;
    handlers.packet(data, from, receivedAt);
    return true;
  }

  /** @internal */
  [canAccept](): boolean {
    if (this.#handlers !== undefined && this.#inboundOpen < MEMORY_MAX_INBOUND_STREAMS) return true;
    this.#stats.inboundStreamsRejected++;
    return false;
  }

  /** @internal */
  [accept](stream: MemoryStream): void {
    this.#inboundOpen++;
    this.#streams.add(stream);
    this.#stats.streamsAccepted++;
    this.#handlers!.stream(stream);
  }

  /** @internal */
  [dialOpened](stream: MemoryStream, callback: (result: DialResult) => void): void {
    this.#streams.add(stream);
    this.#stats.streamsOpened++;
    callback({ ok: true, stream });
  }

  /** @internal */
  [dialFailed](error: Error, callback: (result: DialResult) => void): void {
    this.#outboundOpen--;
    this.#stats.streamDialErrors++;
    callback({ ok: false, error });
  }

  /** @internal */
  [streamClosed](stream: MemoryStream, isInbound: boolean): void {
    if (!this.#streams.delete(stream)) return;
    if (isInbound) this.#inboundOpen--;
    else this.#outboundOpen--;
  }
}

/** What travels on one direction of a stream. */
const Segment = { Data: 0, Fin: 1, Reset: 2 } as const;
type Segment = (typeof Segment)[keyof typeof Segment];

/** One end of an in-memory stream. */
class MemoryStream implements Stream {
  readonly remote: Addr;
  readonly #network: MemoryNetwork;
  readonly #owner: MemoryTransport;
  readonly #stats: TransportStats;
  readonly #isInbound: boolean;
  #peer: MemoryStream | undefined;
  #handlers: StreamHandlers | undefined;
  /** Received data held until `setHandlers`; bounded by {@link MEMORY_STREAM_MAX_QUEUE_BYTES}. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /**
   * Segments on their way to the peer, as parallel arrays read from `#head` (no object per
   * chunk); their data bytes are bounded by {@link MEMORY_STREAM_MAX_QUEUE_BYTES}.
   */
  #outKinds: Segment[] = [];
  #outData: (Uint8Array | undefined)[] = [];
  #outAt: number[] = [];
  #head = 0;
  #outBytes = 0;
  #lastArrival = 0;
  #timer: Timer | undefined;
  /** Inside `#flush`: it schedules the next timer itself when done. */
  #isFlushing = false;
  /** We sent FIN or were destroyed: writes are no-ops. */
  #isWriteClosed = false;
  #isClosed = false;
  #isCloseDelivered = false;
  #closeError: Error | undefined;

  constructor(
    network: MemoryNetwork,
    owner: MemoryTransport,
    stats: TransportStats,
    remote: Addr,
    isInbound: boolean,
  ) {
    this.#network = network;
    this.#owner = owner;
    this.#stats = stats;
    this.remote = remote;
    this.#isInbound = isInbound;
  }

  get [peerKey](): MemoryStream | undefined {
    return this.#peer;
  }

  get [isClosedKey](): boolean {
    return this.#isClosed;
  }

  get [closeErrorKey](): Error | undefined {
    return this.#closeError;
  }

  [pair](peer: MemoryStream): void {
    this.#peer = peer;
  }

  setHandlers(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      for (const chunk of pending) {
        if (this.#handlers !== handlers || this.#isCloseDelivered) break;
        handlers.data(chunk);
      }
    }
    if (this.#isClosed) this.#deliverClose();
  }

  write(data: Uint8Array): void {
    if (this.#isWriteClosed || data.length === 0) return;
    if (this.#outBytes + data.length > MEMORY_STREAM_MAX_QUEUE_BYTES) {
      this.destroy(
        transportError(
          'ENOBUFS',
          `stream to ${this.remote}: more than ${MEMORY_STREAM_MAX_QUEUE_BYTES} bytes queued`,
        ),
      );
      return;
    }
    this.#outBytes += data.length;
    this.#stats.bytesSent += data.length;
    this.#enqueue(Segment.Data, data);
  }

  close(): void {
    if (this.#isWriteClosed) return;
    this.#isWriteClosed = true;
    this.#enqueue(Segment.Fin, undefined);
  }

  destroy(error?: Error): void {
    if (this.#isClosed) return;
    this.#isWriteClosed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#clearQueue();
    this.#enqueue(Segment.Reset, undefined);
    this.#closeLocally(error, true);
  }

  /** @internal A partition cut the link: close at once, nothing more crosses. */
  [breakKey](error: Error): void {
    if (this.#isClosed) return;
    this.#isWriteClosed = true;
    this.#clearQueue();
    this.#closeLocally(error, true);
  }

  /** @internal A segment from the peer arrived. */
  [receiveKey](kind: Segment, data: Uint8Array | undefined): void {
    if (this.#isClosed) return;
    if (kind === Segment.Data) {
      const chunk = data!;
      this.#stats.bytesReceived += chunk.length;
      const handlers = this.#handlers;
      if (handlers !== undefined) {
        handlers.data(chunk);
        return;
      }
      if (this.#pendingBytes + chunk.length > MEMORY_STREAM_MAX_QUEUE_BYTES) {
        this.destroy(
          transportError(
            'ENOBUFS',
            `stream from ${this.remote}: more than ${MEMORY_STREAM_MAX_QUEUE_BYTES} bytes unread`,
          ),
        );
        return;
      }
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      return;
    }
    if (kind === Segment.Fin) {
      // Node's allowHalfOpen: false: the peer's FIN ends our side too, after our queued data.
      if (!this.#isWriteClosed) {
        this.#isWriteClosed = true;
        this.#enqueue(Segment.Fin, undefined);
      }
      this.#closeLocally(undefined, false);
      return;
    }
    this.#isWriteClosed = true;
    this.#clearQueue();
    this.#closeLocally(transportError('ECONNRESET', `stream to ${this.remote}: connection reset`), false);
  }

  #enqueue(kind: Segment, data: Uint8Array | undefined): void {
    const network = this.#network;
    const clock = network.clock;
    const now = clock.now();
    const at = Math.max(now + network[latencyOf](this.#owner.localAddr, this.remote), this.#lastArrival);
    this.#lastArrival = at;
    this.#outKinds.push(kind);
    this.#outData.push(data);
    this.#outAt.push(at);
    if (this.#timer === undefined && !this.#isFlushing) this.#timer = clock.setTimer(at - now, this.#flush);
  }

  /** Delivers every segment due now, then waits for the next. */
  readonly #flush = (): void => {
    this.#timer = undefined;
    const clock = this.#network.clock;
    const now = clock.now();
    const peer = this.#peer!;
    // The peer's handlers may write to us, close or destroy us (which clears the queue) while
    // we deliver; the loop re-reads the queue each time and arms at most one timer at the end.
    this.#isFlushing = true;
    while (this.#head < this.#outAt.length && this.#outAt[this.#head]! <= now) {
      const i = this.#head++;
      const kind = this.#outKinds[i]!;
      const data = this.#outData[i];
      this.#outData[i] = undefined;
      if (data !== undefined) this.#outBytes -= data.length;
      peer[receiveKey](kind, data);
    }
    this.#isFlushing = false;
    if (this.#head >= this.#outAt.length) this.#clearQueue();
    else this.#timer = clock.setTimer(this.#outAt[this.#head]! - now, this.#flush);
  };

  #clearQueue(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#outKinds.length = 0;
    this.#outData.length = 0;
    this.#outAt.length = 0;
    this.#head = 0;
    this.#outBytes = 0;
  }

  #closeLocally(error: Error | undefined, isAsync: boolean): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closeError = error;
    this.#owner[streamClosed](this, this.#isInbound);
    const peer = this.#peer;
    if (peer?.[isClosedKey]) this.#network[connectionClosed](this.#isInbound ? peer : this);
    if (isAsync) this.#network.clock.setTimer(0, () => this.#deliverClose());
    else this.#deliverClose();
  }

  #deliverClose(): void {
    const handlers = this.#handlers;
    if (handlers === undefined || this.#isCloseDelivered) return;
    this.#isCloseDelivered = true;
    handlers.close(this.#closeError);
  }
}
