/**
 * The production transport: one UDP socket and one TCP listener bound to the **same** IP and
 * port, as memberlist's `net_transport.go` does (peers send gossip over UDP and push-pull over
 * TCP to the single port a node advertises).
 *
 * Packets: every datagram is stamped with the clock's `now()` first thing in the socket's
 * `message` handler, before any parsing, so probe round-trip times measure the network and not
 * our event loop's backlog. Sending never throws: bad addresses and socket errors are counted
 * in {@link UdpTcpTransport.stats} and reported to the optional `onError` callback.
 *
 * Streams: each `net.Socket` is wrapped as a {@link Stream}. Data that arrives before the
 * owner calls `setHandlers` is buffered (the socket is paused once
 * {@link STREAM_PENDING_MAX_BYTES} are held, so TCP flow control pushes back on the peer);
 * queued writes are bounded by {@link STREAM_WRITE_QUEUE_MAX_BYTES}. `close()` ends the
 * socket gracefully (queued data is flushed, then FIN), `destroy()` resets it (RST).
 * Sockets are created with `allowHalfOpen: false`, so a peer's FIN makes Node end our side
 * too, and the `close` handler fires exactly once, on the socket's `close` event.
 *
 * Limits: at most {@link MAX_INBOUND_STREAMS} accepted streams and
 * {@link MAX_OUTBOUND_STREAMS} dialled streams (including dials in progress) are open at once;
 * beyond that a new inbound socket is destroyed and a new dial fails, both counted.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { type Clock, RealClock, type Timer } from '../runtime/clock.ts';
import { joinHostPort, splitHostPort } from '../wire/ip.ts';
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

/** Most accepted (inbound) streams open at once; a further connection is reset and counted. */
export const MAX_INBOUND_STREAMS = 512;
/** Most dialled (outbound) streams open or connecting at once; a further dial fails. */
export const MAX_OUTBOUND_STREAMS = 512;
/** UDP receive buffer requested from the OS, as memberlist's `udpRecvBufSize` (2 MiB). */
export const UDP_RECV_BUFFER_BYTES = 2 * 1024 * 1024;
/** With port 0: how many ephemeral TCP ports to try before giving up on a free UDP twin. */
export const BIND_ATTEMPTS = 10;
/**
 * Bytes a stream holds for an owner that has not called `setHandlers` yet. Past this the
 * socket is paused (not dropped): TCP flow control then slows the peer.
 */
export const STREAM_PENDING_MAX_BYTES = 4 * 1024 * 1024;
/**
 * Bytes a stream may have queued for sending. A write past this destroys the stream with an
 * error: the peer is not reading. Above memberlist's 20 MiB push-pull state limit plus framing.
 */
export const STREAM_WRITE_QUEUE_MAX_BYTES = 32 * 1024 * 1024;
/**
 * After `close()`, how long to wait for the peer to close its side before resetting the
 * socket, so a peer that never answers our FIN cannot hold a stream open forever.
 */
export const STREAM_CLOSE_LINGER_MS = 10_000;
/** Entries in the parsed-address cache used by `sendPacket`; the cache is cleared when full. */
export const ADDR_CACHE_MAX = 4096;

/** What went wrong, for the optional {@link UdpTcpTransportOptions.onError} callback. */
export type UdpTcpErrorKind = 'packet-send' | 'udp-socket' | 'tcp-listener';

/** Options of {@link UdpTcpTransport.listen}. */
export interface UdpTcpTransportOptions {
  /**
   * Where to bind UDP and TCP: `ip:port`, or `[ipv6]:port`. The host must be an IP literal
   * (`0.0.0.0` and `[::]` bind every interface); port 0 picks a free port shared by both.
   * @example '0.0.0.0:7946'
   */
  bindAddr: string;
  /** Stamps received packets and times dials and lingering closes. @default new RealClock() */
  clock?: Clock;
  /**
   * Called (synchronously, must not throw) for errors that are otherwise only counted: a
   * failed `sendPacket`, or an error on the UDP socket or the TCP listener.
   */
  onError?: (error: Error, kind: UdpTcpErrorKind) => void;
  /** @default {@link MAX_INBOUND_STREAMS} */
  maxInboundStreams?: number;
  /** @default {@link MAX_OUTBOUND_STREAMS} */
  maxOutboundStreams?: number;
  /** @default {@link UDP_RECV_BUFFER_BYTES} */
  udpRecvBufferBytes?: number;
}

/** {@link TransportStats} plus what only this transport counts. */
export interface UdpTcpTransportStats extends TransportStats {
  /** Datagrams that arrived before `attach` and were dropped. */
  packetsDroppedBeforeAttach: number;
  /** Inbound connections reset because {@link MAX_INBOUND_STREAMS} were open. */
  inboundStreamsRejected: number;
  /** Inbound connections reset because no handlers were attached yet. */
  inboundStreamsDroppedBeforeAttach: number;
  /** The UDP receive buffer the OS granted, in bytes (0 if unknown). */
  udpRecvBufferBytes: number;
}

type CodedError = Error & { code: string };

function transportError(code: string, message: string, cause?: unknown): CodedError {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as CodedError;
  error.code = code;
  return error;
}

const BIND_ADDR_EXAMPLE =
  'expected ip:port or [ipv6]:port with an IP literal, e.g. "0.0.0.0:7946" or "[::1]:7946"';

/** Parses and checks a bind address; throws an error naming what is wrong. */
function parseBindAddr(bindAddr: unknown): { host: string; port: number; family: 4 | 6 } {
  if (typeof bindAddr !== 'string' || bindAddr === '') {
    throw transportError('ERR_INVALID_BIND_ADDR', `bindAddr is missing: ${BIND_ADDR_EXAMPLE}`);
  }
  const parsed = splitHostPort(bindAddr);
  if (parsed === undefined) {
    const close = bindAddr.indexOf(']');
    const why =
      bindAddr.startsWith('[') && close < 0
        ? 'the closing "]" is missing'
        : net.isIP(bindAddr) === 6 || (!bindAddr.startsWith('[') && bindAddr.split(':').length > 2)
          ? 'an IPv6 address needs brackets, then a port'
          : (bindAddr.startsWith('[') ? bindAddr.slice(close + 1) : bindAddr).includes(':')
            ? 'the port is not a number in 0..65535'
            : 'the port is missing';
    throw transportError(
      'ERR_INVALID_BIND_ADDR',
      `bindAddr "${bindAddr}" is invalid (${why}): ${BIND_ADDR_EXAMPLE}`,
    );
  }
  const family = net.isIP(parsed.host);
  if (family !== 4 && family !== 6) {
    throw transportError(
      'ERR_INVALID_BIND_ADDR',
      `bindAddr "${bindAddr}" is invalid ("${parsed.host}" is not an IP address; host names are not resolved): ${BIND_ADDR_EXAMPLE}`,
    );
  }
  if (family === 6 && !bindAddr.startsWith('[')) {
    throw transportError(
      'ERR_INVALID_BIND_ADDR',
      `bindAddr "${bindAddr}" is invalid (an IPv6 address needs brackets): ${BIND_ADDR_EXAMPLE}`,
    );
  }
  return { host: parsed.host, port: parsed.port, family };
}

/**
 * A {@link Transport} on real sockets: UDP for packets, TCP for streams, both on one port.
 * Create it with {@link UdpTcpTransport.listen}.
 *
 * @example
 * const transport = await UdpTcpTransport.listen({ bindAddr: '0.0.0.0:7946' });
 * transport.attach({ packet: (data, from, at) => {}, stream: (s) => s.close() });
 */
export class UdpTcpTransport implements TransportWithStats {
  /** The bound `ip:port` (IPv6 bracketed), with the port resolved when 0 was asked. */
  readonly localAddr: Addr;
  readonly #stats: UdpTcpTransportStats;
  readonly #clock: Clock;
  readonly #udp: dgram.Socket;
  readonly #server: net.Server;
  readonly #family: 4 | 6;
  readonly #onError: ((error: Error, kind: UdpTcpErrorKind) => void) | undefined;
  readonly #maxInbound: number;
  readonly #maxOutbound: number;
  #handlers: TransportHandlers | undefined;
  /** Open streams; bounded by `#maxInbound + #maxOutbound`. */
  readonly #streams = new Set<SocketStream>();
  /** Dials in progress; counted against `#maxOutbound`. */
  readonly #dialing = new Set<net.Socket>();
  #inboundOpen = 0;
  #outboundOpen = 0;
  /** `to` → parsed port/host for sendPacket; bounded by {@link ADDR_CACHE_MAX}. */
  readonly #addrCache = new Map<Addr, { host: string; port: number } | null>();
  #shutdown: Promise<void> | undefined;

  private constructor(
    udp: dgram.Socket,
    server: net.Server,
    host: string,
    port: number,
    family: 4 | 6,
    options: UdpTcpTransportOptions,
    clock: Clock,
  ) {
    this.#udp = udp;
    this.#server = server;
    this.#family = family;
    this.#clock = clock;
    this.#onError = options.onError;
    this.#maxInbound = options.maxInboundStreams ?? MAX_INBOUND_STREAMS;
    this.#maxOutbound = options.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS;
    this.localAddr = joinHostPort(host, port);
    this.#stats = {
      ...newTransportStats(),
      packetsDroppedBeforeAttach: 0,
      inboundStreamsRejected: 0,
      inboundStreamsDroppedBeforeAttach: 0,
      udpRecvBufferBytes: 0,
    };
    const wanted = options.udpRecvBufferBytes ?? UDP_RECV_BUFFER_BYTES;
    try {
      udp.setRecvBufferSize(wanted);
    } catch {
      // Not fatal: memberlist also carries on with whatever the OS allows.
    }
    try {
      this.#stats.udpRecvBufferBytes = udp.getRecvBufferSize();
    } catch {
      this.#stats.udpRecvBufferBytes = 0;
    }
    udp.on('message', (msg, rinfo) => {
      // Stamp first: the RTT a probe measures must not include our own parsing.
      const receivedAt = this.#clock.now();
      const handlers = this.#handlers;
      if (handlers === undefined) {
        this.#stats.packetsDroppedBeforeAttach++;
        return;
      }
      this.#stats.packetsReceived++;
      this.#stats.bytesReceived += msg.length;
      handlers.packet(msg, joinHostPort(unmapV4(rinfo.address), rinfo.port), receivedAt);
    });
    udp.on('error', (error) => this.#onError?.(error, 'udp-socket'));
    server.on('connection', (socket) => this.#accept(socket));
    server.on('error', (error) => this.#onError?.(error, 'tcp-listener'));
  }

  /**
   * Binds UDP and TCP on `options.bindAddr` and resolves with the transport. With port 0, TCP
   * takes an ephemeral port first and UDP then binds the same number, retrying on another
   * port (up to {@link BIND_ATTEMPTS} times) if UDP's is taken.
   *
   * Rejects with a clear message when `bindAddr` is malformed or the port is in use.
   */
  static async listen(options: UdpTcpTransportOptions): Promise<UdpTcpTransport> {
    const { host, port, family } = parseBindAddr(options.bindAddr);
    const clock = options.clock ?? new RealClock();
    const attempts = port === 0 ? BIND_ATTEMPTS : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const server = net.createServer({ allowHalfOpen: false, noDelay: true });
      try {
        await listenTcp(server, host, port);
      } catch (error) {
        server.close();
        throw bindError(options.bindAddr, 'TCP', error);
      }
      const boundPort = (server.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
      try {
        await bindUdp(udp, host, boundPort);
      } catch (error) {
        lastError = error;
        udp.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if ((error as { code?: string }).code === 'EADDRINUSE' && port === 0) continue;
        throw bindError(options.bindAddr, 'UDP', error);
      }
      return new UdpTcpTransport(udp, server, host, boundPort, family, options, clock);
    }
    throw bindError(options.bindAddr, `UDP (${attempts} ephemeral ports tried)`, lastError);
  }

  /** Live counters (see {@link UdpTcpTransportStats}). */
  get stats(): Readonly<UdpTcpTransportStats> {
    return this.#stats;
  }

  attach(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    const stats = this.#stats;
    if (this.#shutdown !== undefined) {
      stats.packetSendErrors++;
      return;
    }
    const target = this.#resolve(to);
    if (target === null) {
      this.#packetError(transportError('ERR_INVALID_ADDR', `sendPacket: invalid address "${to}"`));
      return;
    }
    try {
      this.#udp.send(data, target.port, target.host, (error) => {
        if (error) this.#packetError(error);
      });
      stats.packetsSent++;
      stats.bytesSent += data.length;
    } catch (error) {
      this.#packetError(error as Error);
    }
  }

  dialStream(to: Addr, timeoutMs: number, callback: (result: DialResult) => void): void {
    const fail = (error: Error): void => {
      this.#stats.streamDialErrors++;
      this.#clock.setTimer(0, () => callback({ ok: false, error }));
    };
    if (this.#shutdown !== undefined) {
      fail(transportError('ESHUTDOWN', 'dialStream: transport is shut down'));
      return;
    }
    const target = this.#resolve(to);
    if (target === null) {
      fail(transportError('ERR_INVALID_ADDR', `dialStream: invalid address "${to}"`));
      return;
    }
    if (this.#outboundOpen >= this.#maxOutbound) {
      fail(transportError('EMFILE', `dialStream: ${this.#maxOutbound} outbound streams already open`));
      return;
    }
    this.#outboundOpen++;
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: false });
    this.#dialing.add(socket);
    let isDone = false;
    const finish = (result: DialResult): void => {
      if (isDone) return;
      isDone = true;
      timer.cancel();
      this.#dialing.delete(socket);
      socket.removeListener('error', onError);
      if (!result.ok) {
        this.#outboundOpen--;
        this.#stats.streamDialErrors++;
        socket.on('error', () => {}); // a late error from the dead socket must not go unhandled
        socket.destroy();
      }
      callback(result);
    };
    const onError = (error: Error): void => finish({ ok: false, error });
    socket.once('error', onError);
    socket.once('connect', () => {
      if (isDone) return;
      socket.setNoDelay(true);
      const stream = this.#track(socket, to, 'outbound');
      this.#stats.streamsOpened++;
      finish({ ok: true, stream });
    });
    const timer = this.#clock.setTimer(timeoutMs, () =>
      finish({
        ok: false,
        error: transportError('ETIMEDOUT', `dialStream: no connection to ${to} within ${timeoutMs} ms`),
      }),
    );
    // Used by shutdown() to fail a dial in progress.
    (socket as DialSocket)[abortDial] = () =>
      finish({ ok: false, error: transportError('ESHUTDOWN', 'dialStream: transport shut down') });
  }

  shutdown(): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    this.#handlers = undefined;
    const error = transportError('ESHUTDOWN', 'transport shut down');
    for (const socket of [...this.#dialing]) (socket as DialSocket)[abortDial]?.();
    for (const stream of [...this.#streams]) stream.destroy(error);
    const udpClosed = new Promise<void>((resolve) => {
      try {
        this.#udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    const tcpClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#shutdown = Promise.all([udpClosed, tcpClosed]).then(() => undefined);
    return this.#shutdown;
  }

  #accept(socket: net.Socket): void {
    if (this.#shutdown !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#handlers === undefined) {
      this.#stats.inboundStreamsDroppedBeforeAttach++;
      socket.resetAndDestroy();
      return;
    }
    if (this.#inboundOpen >= this.#maxInbound) {
      this.#stats.inboundStreamsRejected++;
      socket.resetAndDestroy();
      return;
    }
    this.#inboundOpen++;
    socket.setNoDelay(true);
    const remote = joinHostPort(unmapV4(socket.remoteAddress ?? ''), socket.remotePort ?? 0);
    const stream = this.#track(socket, remote, 'inbound');
    this.#stats.streamsAccepted++;
    this.#handlers.stream(stream);
  }

  #track(socket: net.Socket, remote: Addr, direction: 'inbound' | 'outbound'): SocketStream {
    const stream = new SocketStream(socket, remote, this.#clock, this.#stats, (s) => {
      this.#streams.delete(s);
      if (direction === 'inbound') this.#inboundOpen--;
      else this.#outboundOpen--;
    });
    this.#streams.add(stream);
    return stream;
  }

  #resolve(to: Addr): { host: string; port: number } | null {
    let target = this.#addrCache.get(to);
    if (target !== undefined) return target;
    const parsed = splitHostPort(to);
    const family = parsed === undefined ? 0 : net.isIP(parsed.host);
    // A udp4 socket cannot reach IPv6 peers. A udp6 socket reaches IPv4 ones only through
    // IPv4-mapped addresses (and only when bound dual-stack, which the send then reports).
    if (parsed === undefined || family === 0 || (family === 6 && this.#family === 4)) target = null;
    else if (family === 4 && this.#family === 6)
      target = { host: `::ffff:${parsed.host}`, port: parsed.port };
    else target = parsed;
    if (this.#addrCache.size >= ADDR_CACHE_MAX) this.#addrCache.clear();
    this.#addrCache.set(to, target);
    return target;
  }

  #packetError(error: Error): void {
    this.#stats.packetSendErrors++;
    this.#onError?.(error, 'packet-send');
  }
}

/**
 * `::ffff:a.b.c.d` → `a.b.c.d`: a dual-stack socket reports IPv4 peers in mapped form, but
 * peers advertise (and we key them by) their plain IPv4 address.
 */
function unmapV4(address: string): string {
  if (address.startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (net.isIPv4(v4)) return v4;
  }
  return address;
}

const abortDial = Symbol('abortDial');
type DialSocket = net.Socket & { [abortDial]?: () => void };

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function bindUdp(udp: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ address: host, port, exclusive: true }, () => {
      udp.removeListener('error', reject);
      resolve();
    });
  });
}

function bindError(bindAddr: string, what: string, cause: unknown): CodedError {
  const code = (cause as { code?: string } | undefined)?.code ?? 'EBIND';
  const detail =
    code === 'EADDRINUSE'
      ? 'the port is already in use'
      : code === 'EADDRNOTAVAIL'
        ? 'the IP is not an address of this host'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : String((cause as Error | undefined)?.message ?? cause);
  return transportError(code, `cannot bind ${what} on "${bindAddr}": ${detail}`, cause);
}

/** A `net.Socket` seen as a {@link Stream}. */
class SocketStream implements Stream {
  readonly remote: Addr;
  readonly #socket: net.Socket;
  readonly #clock: Clock;
  readonly #stats: TransportStats;
  readonly #onClosed: (stream: SocketStream) => void;
  #handlers: StreamHandlers | undefined;
  /** Chunks held until `setHandlers`; bounded by {@link STREAM_PENDING_MAX_BYTES} (then paused). */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** We called close() or destroy(): further writes are no-ops. */
  #isEnding = false;
  /** destroy() was called. */
  #isDestroyed = false;
  /** The socket emitted `close`. */
  #isClosed = false;
  /** The `close` handler ran. */
  #isCloseDelivered = false;
  #error: Error | undefined;
  #linger: Timer | undefined;

  constructor(
    socket: net.Socket,
    remote: Addr,
    clock: Clock,
    stats: TransportStats,
    onClosed: (stream: SocketStream) => void,
  ) {
    this.remote = remote;
    this.#socket = socket;
    this.#clock = clock;
    this.#stats = stats;
    this.#onClosed = onClosed;
    socket.on('data', (chunk: Buffer) => {
      this.#stats.bytesReceived += chunk.length;
      const handlers = this.#handlers;
      if (handlers !== undefined) {
        handlers.data(chunk);
        return;
      }
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes >= STREAM_PENDING_MAX_BYTES) socket.pause();
    });
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    socket.on('close', () => {
      this.#isClosed = true;
      this.#isEnding = true;
      this.#linger?.cancel();
      this.#onClosed(this);
      this.#deliverClose();
    });
  }

  setHandlers(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      for (const chunk of pending) {
        if (this.#handlers !== handlers) break;
        handlers.data(chunk);
      }
    }
    if (this.#isClosed) this.#deliverClose();
    else if (this.#socket.isPaused()) this.#socket.resume();
  }

  write(data: Uint8Array): void {
    if (this.#isEnding) return;
    if (this.#socket.writableLength + data.length > STREAM_WRITE_QUEUE_MAX_BYTES) {
      this.destroy(
        transportError(
          'ENOBUFS',
          `stream to ${this.remote}: more than ${STREAM_WRITE_QUEUE_MAX_BYTES} bytes queued`,
        ),
      );
      return;
    }
    this.#stats.bytesSent += data.length;
    this.#socket.write(data);
  }

  close(): void {
    if (this.#isEnding) return;
    this.#isEnding = true;
    this.#socket.end();
    this.#linger = this.#clock.setTimer(STREAM_CLOSE_LINGER_MS, () => {
      if (!this.#isClosed) this.#abort();
    });
  }

  destroy(error?: Error): void {
    if (this.#isClosed || this.#isDestroyed) return;
    this.#isDestroyed = true;
    this.#isEnding = true;
    this.#error = error;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#abort();
  }

  /**
   * Resets the connection, unless our FIN is already on its way (`close()` called `end()`): a
   * reset racing that pending shutdown leaves Node's TCP handle open and spinning, and the
   * process never exits (nodejs/node#43112's resetAndDestroy; libp2p/js-libp2p#3597 hit it too).
   * A plain destroy closes it.
   */
  #abort(): void {
    if (this.#socket.writableEnded) this.#socket.destroy();
    else this.#socket.resetAndDestroy();
  }

  #deliverClose(): void {
    const handlers = this.#handlers;
    if (handlers === undefined || this.#isCloseDelivered) return;
    this.#isCloseDelivered = true;
    handlers.close(this.#error);
  }
}
