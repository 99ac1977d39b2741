/**
 * Shared copies of the immutable values a member entry holds: names, `ip:port` strings,
 * address and metadata bytes, and protocol version vectors. A node keeps one entry per member,
 * and most of their values are equal to another entry's: every member advertises the same
 * version vector, most the same (often empty) metadata, and in the simulator, where n nodes
 * share one process, each member's name, address and metadata are held by all n of them. A
 * decoded value goes through one of these caches before it is stored, and entries with equal
 * content then share one copy.
 *
 * Each cache is process-wide, keyed by content, and bounded: at most {@link INTERN_MAX_ENTRIES}
 * values (a full cache is emptied and starts over), and values over {@link INTERN_MAX_BYTES}
 * bytes or {@link INTERN_MAX_CHARS} characters are not cached at all, so together the caches
 * hold at most about 3 × 16 384 × 512 B (≈ 25 MB) however many members come and go. Nothing
 * depends on a value being found: a miss, an eviction or a value too large to cache just
 * means an entry gets its own copy.
 *
 * What the caches hand out is shared and must never be modified: byte arrays are always
 * copies the cache made (never a caller's array, never a view into a packet or stream buffer,
 * which would pin it), version vectors are frozen arrays.
 *
 * Whole member entries ({@link NodeState}) are shared the same way ({@link internState}): in a
 * steady cluster every node holds the same entry about each member, so n nodes in a process
 * hold n entries, not n². Their cache is bounded by {@link INTERN_MAX_STATES} entries (at most
 * {@link INTERN_STATES_PER_NAME} per name), about 10 MB of entries and their keys.
 */

import { sameBytes } from '../wire/bytes.ts';
import type { NodeState } from './node-state.ts';

/** Most values one cache holds before it starts over. */
export const INTERN_MAX_ENTRIES = 16_384;
/** Longest byte array cached (memberlist's metadata limit). */
export const INTERN_MAX_BYTES = 512;
/** Longest string cached. */
export const INTERN_MAX_CHARS = 256;

const EMPTY_BYTES = new Uint8Array(0);

/** FNV-1a over the bytes, then the length: the key of the byte cache. */
function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h ^ b.length) >>> 0;
}

const byteCache = new Map<number, Uint8Array>();
const nameCache = new Map<string, string>();
const addressCache = new Map<string, string>();
const vsnCache = new Map<number, readonly number[]>();

/**
 * A shared copy of `b`'s bytes (the same array for equal content while it is cached). Never
 * `b` itself: the copy owns its buffer, so a view into a large packet does not pin it.
 */
export function internBytes(b: Uint8Array): Uint8Array {
  if (b.length === 0) return EMPTY_BYTES;
  if (b.length > INTERN_MAX_BYTES) return b.slice();
  const key = hashBytes(b);
  const hit = byteCache.get(key);
  if (hit !== undefined) return sameBytes(hit, b) ? hit : b.slice(); // a hash collision: not shared
  if (byteCache.size >= INTERN_MAX_ENTRIES) byteCache.clear();
  const copy = b.slice();
  byteCache.set(key, copy);
  return copy;
}

function internIn(cache: Map<string, string>, s: string): string {
  if (s.length > INTERN_MAX_CHARS) return s;
  const hit = cache.get(s);
  if (hit !== undefined) return hit;
  if (cache.size >= INTERN_MAX_ENTRIES) cache.clear();
  cache.set(s, s);
  return s;
}

/** A shared copy of a member name. */
export function internName(name: string): string {
  return internIn(nameCache, name);
}

/** A shared copy of an `ip:port` address string. */
export function internAddress(address: string): string {
  return internIn(addressCache, address);
}

/** `ip:port` strings by the shared address bytes they were made from, and the port. */
const addressByBytes = new Map<Uint8Array, { port: number; address: string }>();

/**
 * The shared `ip:port` string of `addr` (an array {@link internBytes} returned) and `port`,
 * made by `format` only the first time: a lookup by the array's identity, no string built.
 */
export function internAddressOf(addr: Uint8Array, port: number, format: () => string): string {
  const hit = addressByBytes.get(addr);
  if (hit !== undefined && hit.port === port) return hit.address;
  const address = internAddress(format());
  if (addressByBytes.size >= INTERN_MAX_ENTRIES) addressByBytes.clear();
  addressByBytes.set(addr, { port, address });
  return address;
}

/**
 * The six-entry version vector `[pmin, pmax, pcur, dmin, dmax, dcur]` of `vsn` (its first six
 * entries, zeros for missing ones), as a shared frozen array.
 */
export function internVsn(vsn: readonly number[]): readonly number[] {
  let key = 0;
  let isByteSized = true;
  for (let i = 0; i < 6; i++) {
    const v = vsn[i] ?? 0;
    if (!Number.isInteger(v) || v < 0 || v > 255) isByteSized = false;
    key = key * 256 + v;
  }
  if (!isByteSized) return Object.freeze(Array.from({ length: 6 }, (_, i) => vsn[i] ?? 0));
  const hit = vsnCache.get(key);
  if (hit !== undefined) return hit;
  if (vsnCache.size >= INTERN_MAX_ENTRIES) vsnCache.clear();
  const copy = Object.freeze(Array.from({ length: 6 }, (_, i) => vsn[i] ?? 0));
  vsnCache.set(key, copy);
  return copy;
}

/** Most member entries {@link internState} holds before it starts over. */
export const INTERN_MAX_STATES = 65_536;
/** Most entries it keeps per member name (the newest). */
export const INTERN_STATES_PER_NAME = 4;

/** Shared entries by member name, newest first. */
const stateCache = new Map<string, NodeState[]>();
let statesCached = 0;

function sameVsn(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameState(a: NodeState, b: NodeState): boolean {
  return (
    a.incarnation === b.incarnation &&
    a.status === b.status &&
    a.port === b.port &&
    a.address === b.address &&
    (a.addr === b.addr || sameBytes(a.addr, b.addr)) &&
    (a.meta === b.meta || sameBytes(a.meta, b.meta)) &&
    sameVsn(a.vsn, b.vsn)
  );
}

/**
 * The shared, frozen member entry equal to `state` (field by field): the one cached, or `state`
 * itself (frozen), which is then cached. Its values should come from the caches above.
 */
export function internState(state: NodeState): NodeState {
  const name = state.name;
  const list = stateCache.get(name);
  if (list !== undefined) {
    for (const s of list) if (sameState(s, state)) return s;
  }
  Object.freeze(state);
  if (name.length > INTERN_MAX_CHARS) return state;
  if (statesCached >= INTERN_MAX_STATES) {
    stateCache.clear();
    statesCached = 0;
  }
  const kept = stateCache.get(name);
  if (kept === undefined) {
    stateCache.set(name, [state]);
    statesCached++;
  } else {
    kept.unshift(state);
    if (kept.length > INTERN_STATES_PER_NAME) kept.pop();
    else statesCached++;
  }
  return state;
}
