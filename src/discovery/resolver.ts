/**
 * The name-resolution edge of seed discovery. The discovery loop (seed-discovery.ts) is pure: it
 * asks a {@link Resolver} and never touches `node:dns` itself, so the same loop runs on the
 * real DNS (`DnsResolver`, dns-resolver.ts) and, deterministically, on a table the simulator
 * or a test changes as it goes ({@link MemoryResolver}).
 */

/** The addresses of a host name. */
export interface HostAnswer {
  /** IP literals (IPv4 dotted, IPv6 as text), A records first, then AAAA. */
  ips: string[];
  /** The smallest TTL of the records, seconds; undefined when the source gave none (a hosts file). */
  ttlS: number | undefined;
}

/** One SRV record. */
export interface SrvTarget {
  /** The target host name (or an IP literal, which some servers give). */
  host: string;
  port: number;
  priority: number;
  weight: number;
}

/** The SRV records of a name. */
export interface SrvAnswer {
  targets: SrvTarget[];
  /** The smallest TTL of the records, seconds; undefined when the resolver cannot tell. */
  ttlS: number | undefined;
}

/**
 * Resolves seed names. Both methods reject with an Error whose message says what failed
 * (`ENOTFOUND`, a timeout); an empty answer is a resolved name with no records, not an error.
 * Calls may run concurrently. The resolver keeps no cache of its own beyond the system's: the
 * discovery loop decides when to ask again (from the TTLs).
 */
export interface Resolver {
  /** The A and AAAA records of `host` (or what the system's resolver says, hosts file included). */
  resolveHost(host: string): Promise<HostAnswer>;
  /** The SRV records of `name`. */
  resolveSrv(name: string): Promise<SrvAnswer>;
}

/**
 * A resolver answering from a table the caller edits (tests, the simulator). Answers are
 * copies, given after a microtask (as a real resolver's would be, never synchronously). An
 * unknown name rejects with `ENOTFOUND`, as the real one does.
 */
export class MemoryResolver implements Resolver {
  readonly #hosts = new Map<string, HostAnswer | (() => HostAnswer)>();
  readonly #srv = new Map<string, SrvAnswer | (() => SrvAnswer)>();
  /** Names asked so far, in order (`host:NAME` or `srv:NAME`): what a test can count. */
  readonly queries: string[] = [];
  /** Most queries kept in {@link queries} (older ones are dropped). */
  static readonly MAX_QUERIES_KEPT = 10_000;

  /** Sets the A/AAAA records of `host` (a function is called at each query: a live table). */
  setHost(host: string, answer: string[] | HostAnswer | (() => HostAnswer), ttlS?: number): void {
    this.#hosts.set(host.toLowerCase(), Array.isArray(answer) ? { ips: [...answer], ttlS } : answer);
  }

  /** Sets the SRV records of `name`. */
  setSrv(name: string, answer: SrvTarget[] | SrvAnswer | (() => SrvAnswer), ttlS?: number): void {
    this.#srv.set(name.toLowerCase(), Array.isArray(answer) ? { targets: [...answer], ttlS } : answer);
  }

  /** Removes a name (it no longer resolves). */
  delete(name: string): void {
    this.#hosts.delete(name.toLowerCase());
    this.#srv.delete(name.toLowerCase());
  }

  #record(q: string): void {
    if (this.queries.length >= MemoryResolver.MAX_QUERIES_KEPT) this.queries.shift();
    this.queries.push(q);
  }

  async resolveHost(host: string): Promise<HostAnswer> {
    this.#record(`host:${host}`);
    await Promise.resolve();
    const a = this.#hosts.get(host.toLowerCase());
    if (a === undefined) throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    const answer = typeof a === 'function' ? a() : a;
    return { ips: [...answer.ips], ttlS: answer.ttlS };
  }

  async resolveSrv(name: string): Promise<SrvAnswer> {
    this.#record(`srv:${name}`);
    await Promise.resolve();
    const a = this.#srv.get(name.toLowerCase());
    if (a === undefined) throw Object.assign(new Error(`querySrv ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    const answer = typeof a === 'function' ? a() : a;
    return { targets: answer.targets.map((t) => ({ ...t })), ttlS: answer.ttlS };
  }
}
