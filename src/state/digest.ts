/**
 * The anti-entropy digest, bounded at thousands of nodes: a hash tree over every node map a
 * node holds, compared top-down so that only the parts that differ are ever listed.
 *
 * Each node map contributes a 64-bit hash of (name, generation, gap-free max version) to one
 * of {@link DIGEST_BUCKETS} buckets, chosen by the top bits of a 32-bit hash of its name. A
 * *range* (depth d, index i) covers the buckets whose top 4·d name-hash bits are i: depth 0 is
 * the whole set, each level splits a range into 16. A range's hash is the XOR of its maps'
 * hashes (kept incrementally: a change costs two XORs on its bucket and the root), with the
 * number of maps beside it.
 *
 * An exchange starts with the root range only (about 20 bytes). Where a range differs, the
 * side holding few maps there (at most {@link LEAF_MAX_NODES}, or at the deepest level) lists
 * them — a *leaf* of (name, generation, max) — and otherwise answers with the 16 sub-ranges.
 * Agreeing clusters thus exchange one small packet per round whatever their size; one changed
 * map among n costs about log16(n) round trips of a few hundred bytes each (see
 * `npm run bench -- state` for measured figures), not a digest of all n (chitchat sends
 * every node's entry every round, which outgrew a UDP packet near 500 nodes).
 *
 * Hashes are not cryptographic: a collision (2^-64 per pair of states) would hide a
 * difference until either map changes again.
 */

/** Bits of name hash each level of the tree consumes (16 sub-ranges per range). */
export const DIGEST_FANOUT_BITS = 4;
/** The deepest level; its ranges are single buckets. */
export const DIGEST_MAX_DEPTH = 3;
/** Buckets at the deepest level. */
export const DIGEST_BUCKETS = 1 << (DIGEST_FANOUT_BITS * DIGEST_MAX_DEPTH);
/** A side holding at most this many maps in a differing range lists them instead of splitting it. */
export const LEAF_MAX_NODES = 8;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mix(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = rotl(x, 15);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = rotl(y, 13);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Two independent 32-bit hashes of a name (murmur3-style over its UTF-16 code units). */
export function nameHashes(name: string): [number, number] {
  let a = 0x9747b28c;
  let b = 0x1b873593 ^ name.length;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    a = mix(a, c);
    b = mix(b, c ^ 0x5bd1e995);
  }
  return [fmix(a ^ name.length), fmix(b)];
}

/** The 64-bit hash of one map's summary, as two 32-bit halves. */
export function summaryHash(h1: number, h2: number, gen: number, max: number): [number, number] {
  const genLo = gen >>> 0;
  const genHi = Math.floor(gen / 2 ** 32) >>> 0;
  const maxLo = max >>> 0;
  const maxHi = Math.floor(max / 2 ** 32) >>> 0;
  const hi = fmix(mix(mix(mix(mix(h1, genLo), genHi), maxLo), maxHi) ^ 4);
  const lo = fmix(mix(mix(mix(mix(h2 ^ 0x2545f491, maxLo), genLo), maxHi), genHi) ^ 4);
  return [hi, lo];
}

/** The bucket of a name hash. */
export function bucketOf(h1: number): number {
  return h1 >>> (32 - DIGEST_FANOUT_BITS * DIGEST_MAX_DEPTH);
}

/** Whether a name hash falls in range (depth, index). */
export function inRange(h1: number, depth: number, index: number): boolean {
  return depth === 0 ? index === 0 : h1 >>> (32 - DIGEST_FANOUT_BITS * depth) === index;
}

/** Whether (depth, index) names a range of the tree. */
export function isValidRange(depth: number, index: number): boolean {
  return (
    Number.isInteger(depth) &&
    depth >= 0 &&
    depth <= DIGEST_MAX_DEPTH &&
    Number.isInteger(index) &&
    index >= 0 &&
    index < 2 ** (DIGEST_FANOUT_BITS * depth)
  );
}

/** What a map puts in the tree. */
export interface DigestMember {
  readonly h1: number;
  readonly h2: number;
  /** Its current contribution (set by the tree). */
  hashHi: number;
  hashLo: number;
}

/** A range's summary. */
export interface RangeSummary {
  hashHi: number;
  hashLo: number;
  count: number;
}

/** The hash tree of one node's maps. */
export class DigestTree<M extends DigestMember> {
  readonly #hi = new Uint32Array(DIGEST_BUCKETS);
  readonly #lo = new Uint32Array(DIGEST_BUCKETS);
  readonly #count = new Uint32Array(DIGEST_BUCKETS);
  readonly #members: (Set<M> | undefined)[] = new Array(DIGEST_BUCKETS);
  #rootHi = 0;
  #rootLo = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `m` with summary (gen, max). */
  add(m: M, gen: number, max: number): void {
    const b = bucketOf(m.h1);
    const [hi, lo] = summaryHash(m.h1, m.h2, gen, max);
    m.hashHi = hi;
    m.hashLo = lo;
    this.#xor(b, hi, lo);
    this.#count[b]!++;
    this.#size++;
    let set = this.#members[b];
    if (set === undefined) {
      set = new Set();
      this.#members[b] = set;
    }
    set.add(m);
  }

  /** Changes `m`'s summary to (gen, max). */
  update(m: M, gen: number, max: number): void {
    const b = bucketOf(m.h1);
    this.#xor(b, m.hashHi, m.hashLo);
    const [hi, lo] = summaryHash(m.h1, m.h2, gen, max);
    m.hashHi = hi;
    m.hashLo = lo;
    this.#xor(b, hi, lo);
  }

  remove(m: M): void {
    const b = bucketOf(m.h1);
    const set = this.#members[b];
    if (set === undefined || !set.delete(m)) return;
    this.#xor(b, m.hashHi, m.hashLo);
    this.#count[b]!--;
    this.#size--;
    if (set.size === 0) this.#members[b] = undefined;
  }

  #xor(b: number, hi: number, lo: number): void {
    this.#hi[b]! ^= hi;
    this.#lo[b]! ^= lo;
    this.#rootHi = (this.#rootHi ^ hi) >>> 0;
    this.#rootLo = (this.#rootLo ^ lo) >>> 0;
  }

  /** The first bucket and the number of buckets of range (depth, index). */
  #span(depth: number, index: number): [number, number] {
    const width = 1 << (DIGEST_FANOUT_BITS * (DIGEST_MAX_DEPTH - depth));
    return [index * width, width];
  }

  /** A range's hash and count. */
  range(depth: number, index: number): RangeSummary {
    if (depth === 0) return { hashHi: this.#rootHi >>> 0, hashLo: this.#rootLo >>> 0, count: this.#size };
    const [first, width] = this.#span(depth, index);
    let hi = 0;
    let lo = 0;
    let count = 0;
    for (let b = first; b < first + width; b++) {
      if (this.#count[b] === 0) continue;
      hi ^= this.#hi[b]!;
      lo ^= this.#lo[b]!;
      count += this.#count[b]!;
    }
    return { hashHi: hi >>> 0, hashLo: lo >>> 0, count };
  }

  /** The maps in range (depth, index). */
  members(depth: number, index: number): M[] {
    const out: M[] = [];
    const [first, width] = this.#span(depth, index);
    if (width > 256 && this.#size < width) {
      for (const set of this.#members)
        if (set) for (const m of set) if (inRange(m.h1, depth, index)) out.push(m);
      return out;
    }
    for (let b = first; b < first + width; b++) {
      const set = this.#members[b];
      if (set) for (const m of set) out.push(m);
    }
    return out;
  }
}
