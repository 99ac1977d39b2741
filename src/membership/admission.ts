/**
 * Admission rules for member claims: what an `alive` (gossiped, or an entry of a push-pull)
 * must satisfy before it enters the member table.
 *
 * 1. **Versions that can work with ours.** memberlist's `verifyProtocol` fails a whole
 *    push-pull when any member's current protocol (or delegate protocol) version lies outside
 *    the range every alive member understands. A member that could never pass that check
 *    together with this node is therefore useless to hold and poisonous to pass on: every
 *    joiner (a real Serf agent included) that pulls our list would fail. Such a claim is
 *    dropped, counted as `incompatible-version`, and logged once per node name. The rule is the
 *    pairwise form of `verifyProtocol` (this node and the claimed member), so it is never
 *    stricter than a real peer needs: any member it refuses would make every push-pull between
 *    it and us fail anyway. A vector shorter than six bytes is refused too (memberlist reads
 *    six; a Go peer's check fails on an empty one), and so is what memberlist itself ignores
 *    at the door (`pMin` or `pMax` zero, or `pMin > pMax`).
 * 2. **A bounded rate of never-seen names per source.** A gossiped claim about a name not in
 *    the table spends one token of its sender's (source IP's) bucket; an empty bucket drops the
 *    claim as `new-name-rate`. Push-pull entries do not spend tokens (a joiner learns the whole
 *    list at once); they are bounded by the push-pull limits and the member table's size.
 * 3. **A bounded member table**: beyond `maxMembers` entries, claims about new names are
 *    dropped as `member-limit` (dead and left members are forgotten after
 *    `gossipToTheDeadTimeMs`, so forged ones make room again).
 *
 * Pure: time comes in as an argument.
 */

/** Names remembered as already logged for an incompatible version (oldest forgotten first). */
export const MAX_LOGGED_INCOMPATIBLE_NAMES = 1024;

/** Sources (IP addresses) tracked by the new-name rate limiter (idle ones forgotten first). */
export const MAX_RATE_LIMITED_SOURCES = 4096;

/** A version vector: `[pMin, pMax, pCur, dMin, dMax, dCur]` (memberlist `Vsn`). */
export type VersionVector = readonly number[];

/**
 * Why a member with vector `theirs` cannot work with this node (vector `ours`), or undefined
 * when it can: both current versions must lie in both understood ranges, for the memberlist
 * protocol and for the delegate (Serf) protocol.
 */
export function versionIncompatibility(ours: VersionVector, theirs: VersionVector): string | undefined {
  if (theirs.length < 6) return `a version vector of ${theirs.length} bytes (6 needed)`;
  const [pMin, pMax, pCur, dMin, dMax, dCur] = theirs as [number, number, number, number, number, number];
  // memberlist's own check at the door (`aliveNode`).
  if (pMin === 0 || pMax === 0 || pMin > pMax) return `an invalid protocol range ${pMin}-${pMax}`;
  const lo = Math.max(ours[0]!, pMin);
  const hi = Math.min(ours[1]!, pMax);
  if (pCur < lo || pCur > hi || ours[2]! < lo || ours[2]! > hi) {
    return `protocol version ${pCur} (understands ${pMin}-${pMax}) cannot work with ours, ${ours[2]} (understands ${ours[0]}-${ours[1]})`;
  }
  const dLo = Math.max(ours[3]!, dMin);
  const dHi = Math.min(ours[4]!, dMax);
  if (dCur < dLo || dCur > dHi || ours[5]! < dLo || ours[5]! > dHi) {
    return `delegate protocol version ${dCur} (understands ${dMin}-${dMax}) cannot work with ours, ${ours[5]} (understands ${ours[3]}-${ours[4]})`;
  }
  return undefined;
}

/** The IP part of an `ip:port` address (`[v6]:port` included); the whole string if it has no port. */
export function sourceOf(addr: string): string {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return addr;
  const host = addr.slice(0, i);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A token bucket per source: `ratePerSecond` tokens a second, at most `ratePerSecond` banked
 * (a burst of one second's worth). At most {@link MAX_RATE_LIMITED_SOURCES} sources are
 * tracked; when full, the least recently refilled one is forgotten (it starts full again).
 */
export class SourceRateLimiter {
  readonly #ratePerSecond: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(ratePerSecond: number) {
    this.#ratePerSecond = ratePerSecond;
  }

  /** Spends one token of `source` at time `nowMs`; false when its bucket is empty. */
  take(source: string, nowMs: number): boolean {
    const rate = this.#ratePerSecond;
    let b = this.#buckets.get(source);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_RATE_LIMITED_SOURCES) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: rate, at: nowMs };
    } else {
      b.tokens = Math.min(rate, b.tokens + ((nowMs - b.at) * rate) / 1000);
      b.at = nowMs;
      this.#buckets.delete(source);
    }
    // Re-inserted: the map's order is least recently used first.
    this.#buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Sources tracked now. */
  get size(): number {
    return this.#buckets.size;
  }
}

/** A bounded set of names, oldest forgotten first: "log once per name" without unbounded memory. */
export class BoundedNameSet {
  readonly #names = new Set<string>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Adds `name`; true if it was not there yet. */
  add(name: string): boolean {
    if (this.#names.has(name)) return false;
    if (this.#names.size >= this.#limit) {
      const oldest = this.#names.values().next().value;
      if (oldest !== undefined) this.#names.delete(oldest);
    }
    this.#names.add(name);
    return true;
  }

  get size(): number {
    return this.#names.size;
  }
}
