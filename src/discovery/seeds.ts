/**
 * Seed sources: where a node looks for members to join. Three forms, each a string as given to
 * `--join` or the library's `seeds` option:
 *
 * - `IP:PORT` (`10.0.0.5:7946`, `[fd00::5]:7946`; the port defaults to 7946): that address.
 * - `HOST:PORT` (`gossip.internal:7946`, `gossip-headless`): every A and AAAA record of HOST, each
 *   at PORT (7946 by default).
 * - `dns+srv://NAME` (`dns+srv://_gossip._tcp.gossip.ns.svc.cluster.local`): the SRV records of
 *   NAME, each target's A and AAAA records at the record's port.
 *
 * Parsing is pure; resolving is the {@link Resolver}'s job (resolver.ts).
 */
import { ConfigError } from '../errors.ts';
import { ipFromString, ipToString, joinHostPort, splitHostPort } from '../wire/ip.ts';

/** The port a seed without one is joined at (memberlist's and Serf's default). */
export const DEFAULT_GOSSIP_PORT = 7946;

/** The scheme of an SRV seed. */
export const SRV_SCHEME = 'dns+srv://';

/** One parsed seed source. `spec` is the text it came from, for logs. */
export type SeedSource =
  | { kind: 'ip'; spec: string; addr: string }
  | { kind: 'host'; spec: string; host: string; port: number }
  | { kind: 'srv'; spec: string; name: string };

/** The canonical `ip:port` of an IP literal and a port (IPv6 compressed, in brackets). */
export function canonicalAddr(ip: string, port: number): string | undefined {
  const bytes = ipFromString(ip);
  return bytes ? joinHostPort(ipToString(bytes), port) : undefined;
}

/** A host name as DNS allows it: labels of letters, digits, `-` and `_`, dot-separated. */
const HOST_RE =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * Parses one seed. Throws a {@link ConfigError} (field `join`) that shows the accepted forms.
 */
export function parseSeed(spec: string): SeedSource {
  const text = spec.trim();
  const forms =
    'use IP:PORT (10.0.0.5:7946), HOST:PORT (gossip.internal:7946) or dns+srv://NAME (dns+srv://_gossip._tcp.example.com)';
  if (text.toLowerCase().startsWith(SRV_SCHEME)) {
    const name = text.slice(SRV_SCHEME.length);
    if (name.includes(':') || name.includes('/') || !HOST_RE.test(name)) {
      throw new ConfigError(
        'join',
        `"${spec}": after dns+srv:// comes a DNS name without a port (the SRV records carry the ports), e.g. dns+srv://_gossip._tcp.example.com`,
      );
    }
    return { kind: 'srv', spec: text, name };
  }
  if (text.includes('://')) throw new ConfigError('join', `"${spec}": unknown scheme; ${forms}`);
  const hp = splitHostPort(text, DEFAULT_GOSSIP_PORT);
  if (!hp || hp.host === '') throw new ConfigError('join', `"${spec}" is not a seed; ${forms}`);
  if (hp.port === 0) throw new ConfigError('join', `"${spec}": port 0 cannot be joined; ${forms}`);
  const addr = canonicalAddr(hp.host, hp.port);
  if (addr !== undefined) return { kind: 'ip', spec: text, addr };
  if (!HOST_RE.test(hp.host))
    throw new ConfigError('join', `"${spec}": "${hp.host}" is not a host name; ${forms}`);
  return { kind: 'host', spec: text, host: hp.host, port: hp.port };
}

/** Parses every seed (see {@link parseSeed}); throws on the first bad one. */
export function parseSeeds(specs: readonly string[]): SeedSource[] {
  return specs.map(parseSeed);
}
