/**
 * The real {@link Resolver}, on `node:dns` (the only file of seed discovery that does I/O).
 *
 * - Host names: A and AAAA queries in parallel, with their TTLs (`resolve4`/`resolve6` with
 *   `ttl: true`). When DNS has neither (a name only in `/etc/hosts`, or a short name that needs
 *   the resolv.conf search list, which c-ares' direct queries do not apply), the system
 *   resolver's `lookup` (getaddrinfo) answers instead, without a TTL.
 * - SRV: `resolveSrv`. Node does not report an SRV record's TTL; the discovery loop then uses
 *   the TTLs of the targets' A/AAAA records (which it resolves anyway).
 *
 * Platform fact: `dns.promises.Resolver` reads `/etc/resolv.conf` when it is created, and
 * `ip netns exec NS` bind-mounts `/etc/netns/NS/resolv.conf` over it when that file exists:
 * that is how the namespace test gives each "machine" its own DNS server.
 */
import { promises as dns } from 'node:dns';
import { ipFromString } from '../wire/ip.ts';
import type { HostAnswer, Resolver, SrvAnswer } from './resolver.ts';

/** Options of {@link DnsResolver}. */
export interface DnsResolverOptions {
  /**
   * DNS servers to ask (`IP` or `IP:PORT`, `[v6]:PORT`), instead of the system's. With servers
   * given, the system resolver (`/etc/hosts`, search list) is not used as a fallback.
   */
  servers?: readonly string[];
  /** Timeout of one query attempt, ms. @default 3000 (Akka bootstrap's resolve-timeout) */
  timeoutMs?: number;
  /** Attempts per query. @default 2 */
  tries?: number;
}

/** Error codes that mean "the name exists but has no records of this type" (not an error). */
const NO_RECORDS = new Set(['ENODATA', 'NODATA']);

function minTtl(ttls: number[]): number | undefined {
  return ttls.length === 0 ? undefined : Math.min(...ttls);
}

/** Seeds resolved through `node:dns` (see the file comment for what is asked, and in what order). */
export class DnsResolver implements Resolver {
  readonly #resolver: dns.Resolver;
  readonly #useSystemFallback: boolean;

  constructor(options: DnsResolverOptions = {}) {
    this.#resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 });
    if (options.servers !== undefined && options.servers.length > 0)
      this.#resolver.setServers([...options.servers]);
    this.#useSystemFallback = options.servers === undefined || options.servers.length === 0;
  }

  /** The servers asked (`IP` or `IP:PORT`). */
  get servers(): string[] {
    return this.#resolver.getServers();
  }

  async resolveHost(host: string): Promise<HostAnswer> {
    if (ipFromString(host)) return { ips: [host], ttlS: undefined };
    const [v4, v6] = await Promise.allSettled([
      this.#resolver.resolve4(host, { ttl: true }),
      this.#resolver.resolve6(host, { ttl: true }),
    ]);
    const ips: string[] = [];
    const ttls: number[] = [];
    for (const r of [v4, v6]) {
      if (r.status !== 'fulfilled') continue;
      for (const rec of r.value) {
        ips.push(rec.address);
        ttls.push(rec.ttl);
      }
    }
    if (ips.length > 0) return { ips, ttlS: minTtl(ttls) };
    const failures = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const hard = failures.find((f) => !NO_RECORDS.has((f.reason as NodeJS.ErrnoException).code ?? ''));
    if (!this.#useSystemFallback) {
      if (hard) throw hard.reason as Error;
      return { ips: [], ttlS: undefined };
    }
    // Not in DNS as asked: the system resolver (hosts file, search list) may still know it.
    const found = await dns.lookup(host, { all: true });
    return { ips: found.map((f) => f.address), ttlS: undefined };
  }

  async resolveSrv(name: string): Promise<SrvAnswer> {
    try {
      const records = await this.#resolver.resolveSrv(name);
      return {
        targets: records.map((r) => ({ host: r.name, port: r.port, priority: r.priority, weight: r.weight })),
        ttlS: undefined,
      };
    } catch (e) {
      if (NO_RECORDS.has((e as NodeJS.ErrnoException).code ?? '')) return { targets: [], ttlS: undefined };
      throw e;
    }
  }
}
