/**
 * One pass over every seed source: what each resolved to, and why an address was skipped. Pure
 * (the {@link Resolver} is given); the discovery loop runs it every round and `gossip doctor`
 * prints its report.
 */

import type { Resolver } from './resolver.ts';
import { canonicalAddr, type SeedSource } from './seeds.ts';

/** Most addresses one pass keeps over all sources; the rest are skipped (and reported). */
export const MAX_DISCOVERED_ADDRS = 256;
/** Most SRV targets of one name that are resolved; the rest are skipped. */
export const MAX_SRV_TARGETS = 64;

/** An address a source gave that is not joined, and why. */
export interface SkippedAddr {
  addr: string;
  why: string;
}

/** What one seed source gave in one pass. */
export interface SourceReport {
  spec: string;
  kind: SeedSource['kind'];
  /** Usable `ip:port` addresses it gave (canonical form), in answer order. */
  addrs: string[];
  skipped: SkippedAddr[];
  /** The smallest TTL of its records, seconds; undefined when there was none (an IP seed, a hosts file). */
  ttlS: number | undefined;
  /** Why it gave nothing, when resolving failed (the message of the resolver's error). */
  error: string | undefined;
  /** SRV only: each target and what it resolved to. */
  srvTargets?: { host: string; port: number; addrs: string[]; error?: string }[];
}

/** The result of one pass. */
export interface DiscoveryPass {
  sources: SourceReport[];
  /** Every usable address, each once, in source order: what the loop may join. */
  addrs: string[];
  /** The smallest TTL over all sources, seconds (undefined when no source had one). */
  ttlS: number | undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

async function resolveHostAt(
  resolver: Resolver,
  host: string,
  port: number,
  report: { addrs: string[]; skipped: SkippedAddr[] },
): Promise<number | undefined> {
  const answer = await resolver.resolveHost(host);
  for (const ip of answer.ips) {
    const addr = canonicalAddr(ip, port);
    if (addr === undefined) report.skipped.push({ addr: `${ip}:${port}`, why: 'not an IP address' });
    else report.addrs.push(addr);
  }
  return answer.ttlS;
}

async function resolveSource(source: SeedSource, resolver: Resolver | undefined): Promise<SourceReport> {
  const report: SourceReport = {
    spec: source.spec,
    kind: source.kind,
    addrs: [],
    skipped: [],
    ttlS: undefined,
    error: undefined,
  };
  if (source.kind === 'ip') {
    report.addrs.push(source.addr);
    return report;
  }
  if (resolver === undefined) {
    report.error = 'no resolver was given (the library needs one for host names and SRV seeds)';
    return report;
  }
  try {
    if (source.kind === 'host') {
      report.ttlS = await resolveHostAt(resolver, source.host, source.port, report);
      if (report.addrs.length === 0 && report.skipped.length === 0) report.error = 'no A or AAAA records';
      return report;
    }
    const srv = await resolver.resolveSrv(source.name);
    report.ttlS = srv.ttlS;
    report.srvTargets = [];
    if (srv.targets.length === 0) report.error = 'no SRV records';
    // Lower priority first (RFC 2782); every priority is kept, as any member will do.
    const targets = [...srv.targets].sort((a, b) => a.priority - b.priority);
    for (const t of targets.slice(MAX_SRV_TARGETS)) {
      report.skipped.push({
        addr: `${t.host}:${t.port}`,
        why: `over the limit of ${MAX_SRV_TARGETS} SRV targets`,
      });
    }
    const resolved = await Promise.all(
      targets.slice(0, MAX_SRV_TARGETS).map(async (t) => {
        const part = { addrs: [] as string[], skipped: [] as SkippedAddr[] };
        try {
          if (t.port === 0) return { t, part, ttl: undefined, error: 'port 0' };
          const ttl = await resolveHostAt(resolver, t.host.replace(/\.$/, ''), t.port, part);
          return { t, part, ttl, error: part.addrs.length === 0 ? 'no A or AAAA records' : undefined };
        } catch (e) {
          return { t, part, ttl: undefined, error: errorText(e) };
        }
      }),
    );
    for (const { t, part, ttl, error } of resolved) {
      report.srvTargets.push({ host: t.host, port: t.port, addrs: part.addrs, ...(error ? { error } : {}) });
      report.addrs.push(...part.addrs);
      report.skipped.push(...part.skipped);
      if (error) report.skipped.push({ addr: `${t.host}:${t.port}`, why: `target: ${error}` });
      report.ttlS = minDefined(report.ttlS, ttl);
    }
  } catch (e) {
    report.error = errorText(e);
  }
  return report;
}

/**
 * Resolves every source (concurrently), then keeps each address once, skipping `self` (our own
 * addresses: a join that reaches only ourselves is not a join) and whatever is over
 * {@link MAX_DISCOVERED_ADDRS}.
 */
export async function resolveSources(
  sources: readonly SeedSource[],
  resolver: Resolver | undefined,
  self: ReadonlySet<string>,
): Promise<DiscoveryPass> {
  const reports = await Promise.all(sources.map((s) => resolveSource(s, resolver)));
  const seen = new Set<string>();
  const addrs: string[] = [];
  let ttlS: number | undefined;
  for (const r of reports) {
    ttlS = minDefined(ttlS, r.ttlS);
    const kept: string[] = [];
    for (const a of r.addrs) {
      if (self.has(a)) r.skipped.push({ addr: a, why: 'our own address' });
      else if (seen.has(a)) kept.push(a);
      else if (addrs.length >= MAX_DISCOVERED_ADDRS) {
        r.skipped.push({ addr: a, why: `over the limit of ${MAX_DISCOVERED_ADDRS} addresses per pass` });
      } else {
        seen.add(a);
        addrs.push(a);
        kept.push(a);
      }
    }
    r.addrs = kept;
  }
  return { sources: reports, addrs, ttlS };
}
