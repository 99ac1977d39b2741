/**
 * Choosing the address to advertise. A node bound to a concrete address advertises it; one
 * bound to every interface (0.0.0.0 or ::) must pick a unicast address peers can reach: the
 * first private (RFC 1918 / unique-local) address, else the first non-internal one, and it says
 * which and why in the log, because the wrong choice is a classic cause of flapping.
 */
import { networkInterfaces } from 'node:os';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { joinHostPort, splitHostPort } from '../wire/ip.ts';

function isPrivateV4(ip: string): boolean {
  return /^10\./.test(ip) || /^192\.168\./.test(ip) || /^172\.(1[6-9]|2\d|3[01])\./.test(ip);
}

/** The address to advertise for a transport bound to `bound` (`ip:port`). */
export function pickAdvertiseAddr(bound: string, log: Logger): string {
  const hp = splitHostPort(bound)!;
  const wildcard = hp.host === '0.0.0.0' || hp.host === '::';
  if (!wildcard) return bound;
  const v6 = hp.host === '::';
  const candidates: { ip: string; iface: string }[] = [];
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' || (v6 && a.family === 'IPv6' && !a.address.startsWith('fe80'))) {
        candidates.push({ ip: a.address, iface });
      }
    }
  }
  const pick =
    candidates.find((c) => isPrivateV4(c.ip)) ??
    candidates.find((c) => c.ip.toLowerCase().startsWith('fd')) ??
    candidates[0];
  if (!pick) {
    throw new ConfigError(
      'advertise',
      `bound to ${bound} but this host has no non-loopback address to advertise; set --advertise IP:PORT`,
    );
  }
  const addr = joinHostPort(pick.ip, hp.port);
  log.info('advertising an address picked from the interfaces, since the bind address is a wildcard', {
    advertise: addr,
    interface: pick.iface,
    hint: 'set --advertise IP:PORT to choose',
  });
  return addr;
}
