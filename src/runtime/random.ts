/**
 * Randomness, as the protocol core sees it: a seeded generator passed in, never
 * `Math.random`. The simulator derives every node's generator from one seed, so a run can
 * be replayed exactly; the agent seeds its generator from the OS (see `secureSeed` in `seed.ts`).
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded through
 * splitmix32. It is fast, has a 128-bit state and passes PractRand to 2^40 bytes; it is not
 * for secrets (keys and nonces come from `node:crypto` in `src/wire`).
 */

/** A source of uniform random numbers. Implementations need not be cryptographic. */
export interface Random {
  /** A uniform integer in [0, 2^32). */
  uint32(): number;
  /** A uniform float in [0, 1). */
  float(): number;
  /** A uniform integer in [0, n). `n` must be a positive integer. */
  int(n: number): number;
  /** True with probability `p` (clamped to [0, 1]). */
  chance(p: number): boolean;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A uniformly chosen element, or undefined for an empty list. */
  pick<T>(items: readonly T[]): T | undefined;
  /** A new, independent generator derived from this one's stream. */
  fork(): Random;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A deterministic {@link Random}: the same seed gives the same sequence on every platform. */
export class SeededRandom implements Random {
  // The state is kept as signed 32-bit integers (`| 0`) so V8 stores them unboxed; the output
  // bits are the same as sfc32's unsigned arithmetic.
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed any integer; only its low 53 bits matter. */
  constructor(seed: number) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    this.#a = mix() | 0;
    this.#b = mix() | 0;
    this.#c = mix() | 0;
    this.#d = mix() | 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  float(): number {
    // 53 random bits: 21 from one draw, 32 from another.
    return ((this.uint32() >>> 11) * 2 ** 32 + this.uint32()) / 2 ** 53;
  }

  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n))
      throw new RangeError(`Random.int: n must be a positive integer, got ${n}`);
    if (n <= 2 ** 32) {
      // Rejection sampling keeps the result unbiased for any n.
      const limit = 2 ** 32 - (2 ** 32 % n);
      for (;;) {
        const x = this.uint32();
        if (x < limit) return x % n;
      }
    }
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }

  fork(): SeededRandom {
    return new SeededRandom(this.uint32() * 2 ** 21 + (this.uint32() >>> 11));
  }
}
