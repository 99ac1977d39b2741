/**
 * IP addresses as memberlist carries them: Go `net.IP` bytes, 4 bytes for IPv4 or 16 for IPv6
 * (including the IPv4-mapped `::ffff:a.b.c.d`, which Go sends for agents bound to 0.0.0.0).
 */
import { isIP } from 'node:net';

/** Formats 4 or 16 address bytes. IPv4-mapped IPv6 prints as plain IPv4. Anything else prints as hex. */
export function ipToString(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  if (ip.length === 16) {
    if (isV4Mapped(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
    return compressV6(groups);
  }
  return `invalid-ip:${Buffer.from(ip).toString('hex')}`;
}

function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

function compressV6(groups: string[]): string {
  // RFC 5952: replace the longest run (>= 2) of zero groups with "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/**
 * Parses an IPv4 or IPv6 literal into wire bytes: 4 bytes for IPv4 (as memberlist's `To4()`
 * does for advertised addresses), 16 for IPv6. Returns undefined for anything else.
 */
export function ipFromString(s: string): Uint8Array | undefined {
  const family = isIP(s);
  if (family === 4) return Uint8Array.from(s.split('.').map(Number));
  if (family !== 6) return undefined;
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right !== '' ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...new Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** `ip:port`, with IPv6 in brackets (`[::1]:7946`), the form Go's `net.JoinHostPort` gives. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Splits `ip:port` or `[v6]:port`. Returns undefined when there is no valid port. A bare host
 * (no port) takes `defaultPort` when given.
 */
export function splitHostPort(s: string, defaultPort?: number): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '') portText = undefined;
    else if (rest.startsWith(':')) portText = rest.slice(1);
    else return undefined;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0 && s.indexOf(':') === colon) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s; // a bare IPv4/hostname, or an unbracketed IPv6 literal
      portText = undefined;
    }
  }
  if (portText === undefined) {
    if (defaultPort === undefined) return undefined;
    return { host, port: defaultPort };
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  return { host, port };
}
