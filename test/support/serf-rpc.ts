/**
 * A client of `serf agent`'s RPC protocol (its `-rpc-addr`, what the `serf` CLI itself speaks),
 * so that tests and benchmarks observe serf over one long-lived TCP connection per agent instead
 * of spawning a `serf members` process per poll.
 *
 * The protocol (serf's `cmd/serf/command/agent/ipc.go`): msgpack objects back to back on one
 * TCP stream. Each request is a header `{Command, Seq}`, followed by a body for commands that
 * take one; each answer is a header `{Seq, Error}`, followed by a body for commands that return
 * one, unless `Error` is set. The first request must be `handshake` with `{Version: 1}`.
 * Answers come in request order, so a FIFO of pending requests pairs them. A `stream` request
 * is answered like the others, and then its records arrive at any time, each a header with the
 * stream's `Seq` and a body: the reader tells them apart from answers by that `Seq`.
 * (`monitor` and `query` are not implemented.)
 *
 * Shared by the fault harness (test/faults) and the membership benchmark (bench/membership.ts).
 */
import { connect, type Socket } from 'node:net';
import { decodeMultiStream, encode } from '@msgpack/msgpack';

/** One member as serf's RPC returns it (`Addr` is the raw IP: 4 or 16 bytes). */
export interface SerfRpcMember {
  Name: string;
  Addr: Uint8Array;
  Port: number;
  Tags: Record<string, string>;
  Status: string;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

interface Pending {
  seq: number;
  command: string;
  hasBody: boolean;
  resolve(body: unknown): void;
  reject(e: Error): void;
}

/** Requests sent but not yet answered, per connection; beyond it a request is refused. */
export const SERF_RPC_MAX_PENDING = 64;
/** Event streams open at once, per connection. */
export const SERF_RPC_MAX_STREAMS = 8;

/** A user event as serf's `stream` delivers it. */
export interface SerfRpcUserEvent {
  Event: 'user';
  LTime: number;
  Name: string;
  Payload: Uint8Array;
  Coalesce: boolean;
}

/** The IP of a member's `Addr` bytes, dotted (IPv4, or IPv4-mapped IPv6) or colon-hex. */
export function serfAddrToString(addr: Uint8Array): string {
  const v4 =
    addr.length === 4
      ? addr
      : addr.length === 16 &&
          addr.subarray(0, 10).every((b) => b === 0) &&
          addr[10] === 0xff &&
          addr[11] === 0xff
        ? addr.subarray(12)
        : undefined;
  if (v4) return [...v4].join('.');
  const groups: string[] = [];
  for (let i = 0; i < addr.length; i += 2) groups.push(((addr[i]! << 8) | addr[i + 1]!).toString(16));
  return groups.join(':');
}

export class SerfRpcClient {
  readonly addr: string;
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  /** Open event streams by `Seq`: each record goes to its callback. */
  readonly #streams = new Map<number, (record: unknown) => void>();
  #seq = 0;
  #closed: Error | undefined;

  private constructor(addr: string, socket: Socket) {
    this.addr = addr;
    this.#socket = socket;
  }

  /** Whether the connection is over (closed by either side, or failed). */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Connects to `host:port` and performs the handshake. Rejects on a refused connection or when
   * the handshake is not answered within `timeoutMs`.
   */
  static async connect(addr: string, timeoutMs = 5000): Promise<SerfRpcClient> {
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(addr.slice(i + 1));
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        socket.destroy();
        reject(new Error(`serf RPC ${addr}: connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(t);
        reject(new Error(`serf RPC ${addr}: ${e.message}`));
      });
    });
    const client = new SerfRpcClient(addr, socket);
    void client.#readLoop();
    await client.#request('handshake', { Version: 1 }, false, timeoutMs);
    return client;
  }

  async #readLoop(): Promise<void> {
    let header: { Seq: number; Error: string } | undefined;
    /** The callback of the stream whose record body comes next. */
    let record: ((r: unknown) => void) | undefined;
    try {
      for await (const obj of decodeMultiStream(this.#socket)) {
        if (record !== undefined) {
          const deliver = record;
          record = undefined;
          deliver(obj);
          continue;
        }
        if (header === undefined) {
          header = obj as { Seq: number; Error: string };
          const seq = Number(header.Seq);
          const stream = this.#streams.get(seq);
          // A record of an open stream (its own answer came first, and was paired below).
          if (stream !== undefined && !this.#pending.some((q) => q.seq === seq)) {
            record = stream;
            header = undefined;
            continue;
          }
          const p = this.#pending[0];
          if (!p || p.seq !== Number(header.Seq)) {
            throw new Error(`answer for seq ${header.Seq}, expected ${p ? p.seq : 'none'}`);
          }
          if (header.Error || !p.hasBody) {
            this.#pending.shift();
            if (header.Error) p.reject(new Error(`serf RPC ${p.command}: ${header.Error}`));
            else p.resolve(undefined);
            header = undefined;
          }
        } else {
          this.#pending.shift()?.resolve(obj);
          header = undefined;
        }
      }
      this.#fail(new Error(`serf RPC ${this.addr}: connection closed`));
    } catch (e) {
      this.#fail(new Error(`serf RPC ${this.addr}: ${(e as Error).message}`));
    }
  }

  #fail(e: Error): void {
    this.#closed ??= e;
    this.#socket.destroy();
    for (const p of this.#pending.splice(0)) p.reject(this.#closed);
  }

  #request(command: string, body: unknown, hasBody: boolean, timeoutMs: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#pending.length >= SERF_RPC_MAX_PENDING) {
      return Promise.reject(new Error(`serf RPC ${this.addr}: ${SERF_RPC_MAX_PENDING} requests pending`));
    }
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      // A request that is not answered in time breaks the pairing: the connection is dropped.
      const t = setTimeout(
        () => this.#fail(new Error(`${command} not answered within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#pending.push({
        seq,
        command,
        hasBody,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.#socket.write(encode({ Command: command, Seq: seq }));
      if (body !== undefined) this.#socket.write(encode(body));
    });
  }

  /** `members`: every member this agent knows, failed and left ones included. */
  async members(timeoutMs = 5000): Promise<SerfRpcMember[]> {
    const r = (await this.#request('members', undefined, true, timeoutMs)) as { Members: SerfRpcMember[] };
    return r.Members;
  }

  /** `stats`: serf's counters by section (`agent`, `runtime`, `serf`, `tags`), values as strings. */
  async stats(timeoutMs = 5000): Promise<Record<string, Record<string, string>>> {
    return (await this.#request('stats', undefined, true, timeoutMs)) as Record<
      string,
      Record<string, string>
    >;
  }

  /** `join`: joins through the given `ip:port` addresses; resolves to how many answered. */
  async join(addrs: string[], replay = false, timeoutMs = 30_000): Promise<number> {
    const r = (await this.#request('join', { Existing: addrs, Replay: replay }, true, timeoutMs)) as {
      Num: number;
    };
    return r.Num;
  }

  /** `leave`: leaves the cluster gracefully; resolves once serf answers (it then shuts down). */
  async leave(timeoutMs = 30_000): Promise<void> {
    await this.#request('leave', undefined, false, timeoutMs);
  }

  /** `event`: sends a user event to the cluster. */
  async event(name: string, payload: Uint8Array, coalesce: boolean, timeoutMs = 5000): Promise<void> {
    await this.#request('event', { Name: name, Payload: payload, Coalesce: coalesce }, false, timeoutMs);
  }

  /**
   * `stream` of user events: `onEvent` gets each one as this agent's event pipeline delivers it
   * (after serf's own coalescing, which the agent applies to events sent with `Coalesce`).
   * Resolves once serf accepted the stream; it runs until the connection closes.
   */
  async streamUserEvents(onEvent: (e: SerfRpcUserEvent) => void, timeoutMs = 5000): Promise<void> {
    if (this.#streams.size >= SERF_RPC_MAX_STREAMS) {
      throw new Error(`serf RPC ${this.addr}: ${SERF_RPC_MAX_STREAMS} streams open`);
    }
    const seq = this.#seq; // the Seq #request gives this request
    this.#streams.set(seq, (r) => onEvent(r as SerfRpcUserEvent));
    try {
      await this.#request('stream', { Type: 'user' }, false, timeoutMs);
    } catch (e) {
      this.#streams.delete(seq);
      throw e;
    }
  }

  /** Closes the connection (pending requests are rejected). */
  close(): void {
    this.#fail(new Error(`serf RPC ${this.addr}: closed`));
  }
}
