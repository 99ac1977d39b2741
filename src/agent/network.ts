/**
 * Choosing the address to advertise, by a rule users can predict (the wrong choice is a classic
 * cause of flapping, and "no private IP address found" a classic failure in pods whose network
 * is not RFC 1918: Class E, public, IPv6-only):
 *
 * 1. `--advertise IP[:PORT]` when given (the port defaults to the bound one).
 * 2. Bound to a concrete address: that address.
 * 3. Bound to a wildcard (`0.0.0.0`: IPv4 only; `::`: IPv6 first, IPv4 when there is none), an
 *    interface address (loopback and link-local never count) chosen in this order:
 *    a. one on the same subnet as a seed (the peers' own network and address family);
 *    b. one on the interface of the default route (`/proc/net/route`, `/proc/net/ipv6_route`);
 *    c. the first by interface name, then address (so every restart picks the same).
 *    With no candidate at all, loopback when every seed is on loopback (a local test).
 *
 * Whatever the rule, an unspecified address is never advertised, nor loopback to peers that are
 * not on loopback: the agent refuses to start and names the flag to set. The choice and its
 * reason go to the log. The rule is pure ({@link chooseAdvertiseAddr}); what it reads from the
 * host ({@link hostNetwork}) is separate.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ConfigError } from '../errors.ts';
import { ipFromString, ipToString, joinHostPort, splitHostPort } from '../wire/ip.ts';

/** One interface address, as `os.networkInterfaces()` lists it. */
export interface InterfaceAddr {
  iface: string;
  address: string;
  family: 'IPv4' | 'IPv6';
  /** CIDR prefix length. */
  prefix: number;
  internal: boolean;
}

/** What the rule reads from the host. */
export interface HostNetwork {
  addrs: InterfaceAddr[];
  /** Interfaces that hold a default route, IPv4 and IPv6. */
  defaultRoute: { v4: string[]; v6: string[] };
}

/** The chosen address and why. */
export interface AdvertiseChoice {
  addr: string;
  /** Which rule chose it, in words (logged). */
  reason: string;
  iface?: string;
}

function isLoopbackIp(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 127;
  return ip.every((b, i) => (i === 15 ? b === 1 : b === 0)) || (isMappedV4(ip) && ip[12] === 127);
}

function isMappedV4(ip: Uint8Array): boolean {
  return ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

function isUnspecifiedIp(ip: Uint8Array): boolean {
  return ip.every((b) => b === 0);
}

function isLinkLocalIp(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 169 && ip[1] === 254;
  return ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80;
}

/** Whether the host part of `addr` (`ip`, `ip:port`, `[v6]:port`) is a loopback address. */
export function isLoopbackAddr(addr: string): boolean {
  const host = splitHostPort(addr, 0)?.host ?? addr;
  const ip = ipFromString(host);
  return ip !== undefined && isLoopbackIp(ip);
}

function sameSubnet(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Reads the host's interfaces and default routes (Linux `/proc`; elsewhere no default route is known). */
export function hostNetwork(): HostNetwork {
  const addrs: InterfaceAddr[] = [];
  for (const [iface, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      const prefix = Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      addrs.push({ iface, address: a.address, family: a.family, prefix, internal: a.internal });
    }
  }
  const v4: string[] = [];
  const v6: string[] = [];
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 7 && f[1] === '00000000' && f[7] === '00000000') v4.push(f[0]!);
    }
  } catch {}
  try {
    for (const line of readFileSync('/proc/net/ipv6_route', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10 && /^0{32}$/.test(f[0]!) && f[1] === '00' && f[9] !== 'lo') v6.push(f[9]!);
    }
  } catch {}
  return { addrs, defaultRoute: { v4, v6 } };
}

/**
 * Applies the rule (see the file comment). `bound` is the transport's `ip:port`; `seedIps` are
 * the IPs of the seeds known at start (IP seeds, and host names resolved once). Throws a
 * {@link ConfigError} naming `--advertise` (or `--bind`) when no acceptable address exists.
 */
export function chooseAdvertiseAddr(input: {
  bound: string;
  advertise: string | undefined;
  seedIps: readonly string[];
  network: HostNetwork;
}): AdvertiseChoice {
  const hp = splitHostPort(input.bound)!;
  const seeds = input.seedIps.map((s) => ipFromString(s)).filter((x): x is Uint8Array => x !== undefined);
  const remoteSeed = input.seedIps.find((s) => !isLoopbackAddr(s));
  const check = (choice: AdvertiseChoice, flag: string): AdvertiseChoice => {
    const ip = ipFromString(splitHostPort(choice.addr)!.host)!;
    if (isUnspecifiedIp(ip)) {
      throw new ConfigError(
        'advertise',
        `${choice.addr} is the unspecified address, which no peer can reach: set ${flag} to this node's address on the cluster's network`,
      );
    }
    if (isLoopbackIp(ip) && remoteSeed !== undefined) {
      throw new ConfigError(
        'advertise',
        `refusing to advertise ${choice.addr}, a loopback address, to peers that are not on loopback (seed ${remoteSeed}): they could not reach it. Set ${flag} to this node's address on their network`,
      );
    }
    return choice;
  };

  if (input.advertise !== undefined) {
    const a = splitHostPort(input.advertise, hp.port)!;
    const ip = ipFromString(a.host);
    if (!ip)
      throw new ConfigError('advertise', `"${input.advertise}" is not an IP address; use e.g. 10.0.0.5:7946`);
    const addr = joinHostPort(ipToString(ip), a.port === 0 ? hp.port : a.port);
    return check({ addr, reason: 'set with --advertise' }, '--advertise IP:PORT');
  }
  const bound = ipFromString(hp.host)!;
  if (!isUnspecifiedIp(bound)) {
    return check(
      { addr: joinHostPort(ipToString(bound), hp.port), reason: 'the bind address' },
      '--advertise IP:PORT (or --bind)',
    );
  }

  const v6 = bound.length === 16;
  const usable = input.network.addrs.filter((a) => {
    const ip = ipFromString(a.address.split('%')[0]!);
    return (
      ip !== undefined &&
      !a.internal &&
      !isLoopbackIp(ip) &&
      !isLinkLocalIp(ip) &&
      (v6 || a.family === 'IPv4')
    );
  });
  // `::` prefers IPv6 (it is what the bind asked for); IPv4 only when there is no IPv6 at all.
  const families: ('IPv4' | 'IPv6')[] = v6 ? ['IPv6', 'IPv4'] : ['IPv4'];
  const byName = (a: InterfaceAddr, b: InterfaceAddr) =>
    a.iface < b.iface
      ? -1
      : a.iface > b.iface
        ? 1
        : a.address < b.address
          ? -1
          : a.address > b.address
            ? 1
            : 0;
  const pick = (a: InterfaceAddr, reason: string): AdvertiseChoice =>
    check({ addr: joinHostPort(a.address, hp.port), reason, iface: a.iface }, '--advertise IP:PORT');

  // a. the subnet of a seed (any family: the peers' own).
  for (const a of [...usable].sort(byName)) {
    const ip = ipFromString(a.address)!;
    const seed = seeds.find((s) => sameSubnet(ip, s, a.prefix));
    if (seed)
      return pick(a, `bound to a wildcard: on the same subnet (/${a.prefix}) as seed ${ipToString(seed)}`);
  }
  for (const family of families) {
    const candidates = usable.filter((a) => a.family === family).sort(byName);
    if (candidates.length === 0) continue;
    // b. the default route's interface.
    const routed = family === 'IPv4' ? input.network.defaultRoute.v4 : input.network.defaultRoute.v6;
    const viaDefault = candidates.find((a) => routed.includes(a.iface));
    if (viaDefault)
      return pick(
        viaDefault,
        `bound to a wildcard: the ${family} address of ${viaDefault.iface}, the default route's interface`,
      );
    // c. the first by name.
    return pick(
      candidates[0]!,
      `bound to a wildcard: the first ${family} address by interface name (no seed subnet, no default route)`,
    );
  }
  if (seeds.length > 0 && remoteSeed === undefined) {
    const lo = v6 ? '::1' : '127.0.0.1';
    return {
      addr: joinHostPort(lo, hp.port),
      reason: 'bound to a wildcard, no other address, and every seed is on loopback',
    };
  }
  throw new ConfigError(
    'advertise',
    `bound to ${input.bound} but this host has no ${v6 ? '' : 'IPv4 '}address peers could reach (only loopback or link-local): set --advertise IP:PORT`,
  );
}
