/**
 * The seam between the protocol and the network, after memberlist's `transport.go`: a
 * best-effort **packet** side (UDP) and a reliable **stream** side (TCP), with each packet
 * stamped with its arrival time as close to the socket as possible.
 *
 * The membership core only ever talks to a {@link Transport}. Two implementations ship in the
 * package: `UdpTcpTransport` (real sockets, IPv4 and IPv6) and `MemoryNetwork` (in-process,
 * with controllable loss, delay, reordering and partitions, driven by an injected clock), which
 * tests and the simulator use. New capabilities are added as optional interfaces, never by
 * changing this one.
 *
 * Everything here is callback-based and never blocks: the core runs on one thread and the
 * simulator drives it synchronously from a virtual clock, so no promise may sit between a
 * socket event and the protocol's reaction to it.
 */

/** A transport address: `ip:port`, with IPv6 in brackets (`[::1]:7946`). */
export type Addr = string;

/** Receives what arrives on a transport. Handlers run synchronously and must not throw. */
export interface TransportHandlers {
  /**
   * A datagram arrived. `data` may be retained by the handler. `receivedAt` is the transport
   * clock's `now()` when the datagram was read from the socket.
   */
  packet(data: Uint8Array, from: Addr, receivedAt: number): void;
  /** A peer opened a stream to us. The handler owns it and must close it. */
  stream(stream: Stream): void;
}

/** Receives what happens on a stream. */
export interface StreamHandlers {
  /** Bytes arrived, in order. */
  data(chunk: Uint8Array): void;
  /** The stream ended: the peer closed it (`error` undefined), it failed, or it timed out. */
  close(error?: Error): void;
}

/**
 * A reliable, ordered byte stream to one peer (a TCP connection). Data that arrives before
 * {@link Stream.setHandlers} is called is buffered and delivered when handlers are set.
 */
export interface Stream {
  /** The peer's address as the transport sees it. */
  readonly remote: Addr;
  setHandlers(handlers: StreamHandlers): void;
  /** Queues bytes for sending. Writing after close is a no-op. */
  write(data: Uint8Array): void;
  /** Sends what is queued, then closes. Idempotent; `close` handlers fire once. */
  close(): void;
  /** Closes at once, discarding what is queued, with `error` passed to the `close` handler. */
  destroy(error?: Error): void;
}

/** The result of {@link Transport.dialStream}: a stream, or why there is none. */
export type DialResult = { ok: true; stream: Stream } | { ok: false; error: Error };

export interface Transport {
  /**
   * The address this transport receives on (the bound address; port resolved if it was 0).
   * Valid once the transport has been bound (for sockets: after `listen()` resolved).
   */
  readonly localAddr: Addr;

  /**
   * Installs the receive handlers. Until then, arriving packets are dropped and incoming
   * streams closed. Calling it again replaces them.
   */
  attach(handlers: TransportHandlers): void;

  /**
   * Sends one datagram, best effort: it may be lost, duplicated or reordered, and errors are
   * not reported (they are counted by the transport). `data` must not be mutated afterwards.
   */
  sendPacket(to: Addr, data: Uint8Array): void;

  /**
   * Opens a stream to `to`. `callback` runs exactly once, asynchronously: with the stream,
   * or with an error (refused, unreachable, or no connection within `timeoutMs`).
   */
  dialStream(to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void;

  /** Stops receiving, closes every socket and stream. Idempotent. */
  shutdown(): Promise<void>;
}

/** Counters every transport keeps (exported as metrics by the agent). */
export interface TransportStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams that could not be sent (socket errors, oversize). */
  packetSendErrors: number;
  streamsOpened: number;
  streamsAccepted: number;
  streamDialErrors: number;
}

/** Optional: a transport that reports its counters. */
export interface TransportWithStats extends Transport {
  readonly stats: Readonly<TransportStats>;
}

export function newTransportStats(): TransportStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    packetSendErrors: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamDialErrors: 0,
  };
}
