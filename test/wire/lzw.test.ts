import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_DECOMPRESSED_STREAM_BYTES } from '../../src/wire/limits.ts';
import { lzwCompress, lzwDecompress } from '../../src/wire/lzw.ts';
import { VECTOR_DIR } from '../support/vectors.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The captured vectors (a copy in the repository, test/vectors). */
function vectorsDir(): string {
  return VECTOR_DIR;
}

interface Vector {
  name: string;
  encrypted: boolean;
  hex: string;
  decoded: unknown;
}

function loadVectors(): { file: string; v: Vector }[] {
  const dir = vectorsDir();
  const out: { file: string; v: Vector }[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json')) continue;
    for (const v of JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Vector[]) out.push({ file, v });
  }
  return out;
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every string value under `key` anywhere in a decoded tree. */
function collect(node: unknown, key: string, out: string[] = []): string[] {
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key && typeof v === 'string') out.push(v);
      else collect(v, key, out);
    }
  }
  return out;
}

/** `0x09` then msgpack `{"Algo": 0, "Buf": ...}` in go-msgpack's sorted key order. */
const COMPRESS_HEADER = fromHex('0982a4416c676f00a3427566');

/**
 * Finds every compress message in `bytes` and returns its raw `Buf` (fixstr, str16 or str32, which
 * is all go-msgpack writes for a []byte). A tiny stand-in for the msgpack codec.
 */
function compressBufs(bytes: Uint8Array): Uint8Array[] {
  const found: Uint8Array[] = [];
  const buf = Buffer.from(bytes);
  for (let at = buf.indexOf(COMPRESS_HEADER); at >= 0; at = buf.indexOf(COMPRESS_HEADER, at + 1)) {
    let p = at + COMPRESS_HEADER.length;
    const tag = buf[p]!;
    let len: number;
    if ((tag & 0xe0) === 0xa0) {
      len = tag & 0x1f;
      p += 1;
    } else if (tag === 0xda) {
      len = buf.readUInt16BE(p + 1);
      p += 3;
    } else if (tag === 0xdb) {
      len = buf.readUInt32BE(p + 1);
      p += 5;
    } else {
      throw new Error(`unexpected msgpack tag 0x${tag.toString(16)} for Buf`);
    }
    assert.ok(p + len <= buf.length, 'Buf runs past the end of the vector');
    found.push(bytes.slice(p, p + len));
  }
  return found;
}

/** Deterministic xorshift32 bytes; the Go program that produced the expected hashes used the same generator. */
function xorshiftBytes(seed: number, n: number, mask: number, alphabet?: string): Uint8Array {
  let x = seed >>> 0;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    const v = (x >>> 8) & mask;
    b[i] = alphabet ? alphabet.charCodeAt(v % alphabet.length) : v;
  }
  return b;
}

/**
 * Packs codes LSB-first with the decoder's width rules, so tests can build streams Go's writer
 * would never produce (no leading clear, a full table without a clear, invalid codes).
 * Stops after EOF; `trailing` bytes are appended afterwards.
 */
function packCodes(codes: readonly number[], trailing: readonly number[] = []): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let nBits = 0;
  let width = 9;
  let next = 257;
  for (const c of codes) {
    bits |= c << nBits;
    nBits += width;
    while (nBits >= 8) {
      out.push(bits & 0xff);
      bits >>>= 8;
      nBits -= 8;
    }
    if (c === 256) {
      width = 9;
      next = 257;
      continue;
    }
    if (c === 257) break;
    next++;
    if (next >= 1 << width) {
      if (width < 12) width++;
      else next--;
    }
  }
  if (nBits > 0) out.push(bits & 0xff);
  return Uint8Array.from([...out, ...trailing]);
}

type ModelResult = { ok: true; bytes: number[] } | { ok: false; reason: 'malformed' | 'truncated' };

/**
 * A deliberately naive decoder over a list of codes, written from the spec's description of Go's
 * reader (strings as arrays, no tricks), used as an oracle for the fast one. A code list without
 * EOF models a truncated stream.
 */
function modelDecode(codes: readonly number[]): ModelResult {
  const table: number[][] = [];
  for (let i = 0; i < 256; i++) table[i] = [i];
  let next = 257;
  let width = 9;
  let prev: number[] | undefined;
  const out: number[] = [];
  for (const code of codes) {
    if (code === 256) {
      next = 257;
      width = 9;
      prev = undefined;
      continue;
    }
    if (code === 257) return { ok: true, bytes: out };
    let s: number[];
    if (code < 256 || code < next || (code === next && prev === undefined)) s = table[code]!;
    else if (code === next && prev) s = [...prev, prev[0]!];
    else return { ok: false, reason: 'malformed' };
    out.push(...s);
    if (prev) table[next] = [...prev, s[0]!];
    prev = s;
    next++;
    if (next >= 1 << width) {
      if (width < 12) width++;
      else {
        prev = undefined;
        next--;
      }
    }
  }
  return { ok: false, reason: 'truncated' };
}

function decodeOrThrow(data: Uint8Array, limit = MAX_DECOMPRESSED_STREAM_BYTES): Uint8Array {
  const r = lzwDecompress(data, limit);
  if (!r.ok) throw new Error(`decompress failed: ${r.reason}: ${r.detail}`);
  return r.value;
}

// ---------------------------------------------------------------------------------------------
// Captured vectors
// ---------------------------------------------------------------------------------------------

describe('lzw: captured memberlist/Serf vectors', () => {
  const vectors = loadVectors();

  it('decompresses every compress message to the captured decompressedHex, and recompresses byte for byte', () => {
    let checked = 0;
    let vectorsWithCompression = 0;
    for (const { file, v } of vectors) {
      const expected = collect(v.decoded, 'decompressedHex');
      if (expected.length === 0) continue;
      vectorsWithCompression++;
      // The compress message is either in the plaintext bytes, or inside the decrypted envelope.
      const sources = collect(v.decoded, 'plaintextHex').map(fromHex);
      if (!v.encrypted) sources.push(fromHex(v.hex));
      const remaining = new Set(expected);
      for (const src of sources) {
        for (const buf of compressBufs(src)) {
          const out = decodeOrThrow(buf);
          const hex = toHex(out);
          assert.ok(
            expected.includes(hex),
            `${file} "${v.name}": decompressed bytes are not a decompressedHex`,
          );
          remaining.delete(hex);
          assert.equal(
            toHex(lzwCompress(out)),
            toHex(buf),
            `${file} "${v.name}": recompression differs from Go`,
          );
          checked++;
        }
      }
      assert.equal(
        remaining.size,
        0,
        `${file} "${v.name}": a decompressedHex had no matching compress message`,
      );
    }
    // 28 vectors in the current capture set carry a compressed layer; fail loudly if they vanish.
    assert.ok(vectorsWithCompression >= 20, `only ${vectorsWithCompression} vectors with compression`);
    assert.ok(checked >= vectorsWithCompression);
  });
});

// ---------------------------------------------------------------------------------------------
// Byte-exact compression against Go 1.19
// ---------------------------------------------------------------------------------------------

describe('lzwCompress matches Go 1.19 compress/lzw (LSB, 8)', () => {
  // Expected values were produced once with Go 1.19's lzw.NewWriter(w, lzw.LSB, 8) over the same
  // inputs (one Write, then Close) and the same xorshift32 generator.

  it('empty input is CLEAR, EOF', () => {
    // 256 (9 bits) then 257 (9 bits), LSB first, zero-padded: 0x20300 -> 00 03 02
    assert.equal(toHex(lzwCompress(new Uint8Array(0))), '000302');
    assert.deepEqual(decodeOrThrow(lzwCompress(new Uint8Array(0))), new Uint8Array(0));
  });

  it('200 KB of low-entropy data (many table resets)', () => {
    const data = xorshiftBytes(1, 200_000, 3, 'gossip');
    const c = lzwCompress(data);
    assert.equal(c.length, 45_136);
    assert.equal(sha256(c), '0a9c6f39f88389a533e918dfcd9376752717a7e97cc4abf032f03c2c4fc2ea3e');
    assert.deepEqual(decodeOrThrow(c), data);
  });

  it('100 KB of zeros (long strings)', () => {
    const c = lzwCompress(new Uint8Array(100_000));
    assert.equal(c.length, 530);
    assert.equal(sha256(c), '7a2b74e419500a3be5ff7cda6b8829a1eb730ccfee1d9e062be7a8ef00a0f6bf');
  });

  it('random data of every length 3700..4200 (the table fills, sometimes on the final code)', () => {
    // Length 3943 is one where the pending code written by Close fills the table, so the
    // stream ends CLEAR (12 bits), EOF (9 bits).
    const rnd = xorshiftBytes(7, 4200, 0xff);
    const h = createHash('sha256');
    for (let n = 3700; n <= 4200; n++) {
      const c = lzwCompress(rnd.subarray(0, n));
      h.update(String(c.length));
      h.update(c);
    }
    assert.equal(h.digest('hex'), '69778e591ce09b58e8bc9a2331771ba383be209c1f26ffd2e8fdb2cd03648c9c');
  });

  it('low-entropy data of every length 0..300', () => {
    const low = xorshiftBytes(1, 300, 3, 'gossip');
    const h = createHash('sha256');
    for (let n = 0; n <= 300; n++) {
      const c = lzwCompress(low.subarray(0, n));
      h.update(String(c.length));
      h.update(c);
    }
    assert.equal(h.digest('hex'), '70a115a428c9c1f3ea2e26553ae098418062879b8f1abe2c86c8aaab1c7178f2');
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

describe('lzw round trip', () => {
  it('decompress(compress(x)) == x for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), (x) => {
        assert.deepEqual(decodeOrThrow(lzwCompress(x)), x);
      }),
      { numRuns: 300 },
    );
  });

  it('decompress(compress(x)) == x for low-entropy and repetitive data', () => {
    const lowEntropy = fc
      .tuple(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(), { maxLength: 20_000 }))
      .map(([alphabet, xs]) => Uint8Array.from(xs, (v) => v % alphabet));
    const repeated = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
      .map(([unit, times]) => {
        const out = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
        return out;
      });
    fc.assert(
      fc.property(fc.oneof(lowEntropy, repeated), (x) => {
        assert.deepEqual(decodeOrThrow(lzwCompress(x)), x);
      }),
      { numRuns: 150 },
    );
  });

  it('edge sizes: empty, one byte, each byte value, long runs', () => {
    for (const x of [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(255),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      new Uint8Array(1_000_000).fill(0x41),
    ]) {
      assert.deepEqual(decodeOrThrow(lzwCompress(x)), x);
    }
  });

  it('fills the 4096-entry table many times over (200 KB low-entropy random)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const x = xorshiftBytes(seed | 1, 200_000, 15);
        for (let i = 0; i < x.length; i++) x[i] = x[i]! & 7 ? x[i]! & 3 : x[i]!;
        assert.deepEqual(decodeOrThrow(lzwCompress(x)), x);
      }),
      { numRuns: 5 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Decoder corner cases that Go's writer never produces
// ---------------------------------------------------------------------------------------------

describe('lzwDecompress corner cases', () => {
  const A = 0x41;
  const B = 0x42;

  it('accepts a stream without a leading clear', () => {
    assert.deepEqual(decodeOrThrow(packCodes([A, B, 257])), Uint8Array.of(A, B));
  });

  it('decodes the KwKwK case (code equal to the next free slot)', () => {
    // A, then 258 which is not defined yet ("A" + "A"), then 259 likewise ("AA" + "A"): 1 + 2 + 3 bytes.
    assert.deepEqual(decodeOrThrow(packCodes([256, A, 258, 259, 257])), new Uint8Array(6).fill(A));
  });

  it('rejects a code above the next free slot', () => {
    const r = lzwDecompress(packCodes([256, A, 259, 257]), 1000);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'malformed');
  });

  it('rejects a table code right after a clear (no previous code for KwKwK)', () => {
    for (const codes of [
      [256, 258, 257],
      [258, 257],
      [256, 300],
    ]) {
      const r = lzwDecompress(packCodes(codes), 1000);
      assert.equal(!r.ok && r.reason, 'malformed', JSON.stringify(codes));
    }
  });

  it('stops defining entries when the table is full, until a clear', () => {
    // After a clear, 3838 literals define 258..4094; 4095 is then the KwKwK case and fills the
    // table at 12 bits. Later codes define nothing (4000, 300, A), 4095 stays a valid, defined
    // code, and after the clear the table starts over (258 is KwKwK again).
    const codes: number[] = [256];
    for (let i = 0; i < 3838; i++) codes.push(i % 7);
    codes.push(4095, 4000, 300, A, 4095, 256, A, 258, 257);
    const model = modelDecode(codes);
    assert.ok(model.ok);
    assert.deepEqual(decodeOrThrow(packCodes(codes)), Uint8Array.from(model.bytes));
  });

  it('matches a naive model decoder on random code sequences', () => {
    // Mostly valid codes (literals and defined entries), occasional clears and bad codes, an EOF
    // most of the time, sometimes long enough to fill the table.
    const codeSeq = fc
      .record({
        steps: fc.array(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat()), { maxLength: 6000 }),
        eof: fc.boolean(),
        leadingClear: fc.boolean(),
      })
      .map(({ steps, eof, leadingClear }) => {
        const codes: number[] = leadingClear ? [256] : [];
        let next = 257;
        let width = 9;
        for (const [kind, n] of steps) {
          let c: number;
          if (kind === 0) c = 256;
          else if (kind === 1) c = n % (1 << width);
          else if (kind < 50 || next === 257) c = n % 256;
          else c = 258 + (n % (next - 257));
          if (c === 257) c = 0;
          codes.push(c);
          if (c === 256) {
            next = 257;
            width = 9;
            continue;
          }
          next++;
          if (next >= 1 << width) {
            if (width < 12) width++;
            else next--;
          }
        }
        if (eof) codes.push(257);
        return codes;
      });
    fc.assert(
      fc.property(codeSeq, (codes) => {
        const model = modelDecode(codes);
        const got = lzwDecompress(packCodes(codes), 1 << 24);
        if (model.ok) {
          assert.ok(got.ok, !got.ok ? got.detail : '');
          assert.deepEqual(got.value, Uint8Array.from(model.bytes));
        } else {
          // Zero padding is shorter than a code, so "truncated" and "malformed" are unambiguous.
          assert.equal(!got.ok && got.reason, model.reason);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ignores bytes after the EOF code', () => {
    const data = new TextEncoder().encode('push-pull state push-pull state push-pull state');
    const c = lzwCompress(data);
    const withJunk = Uint8Array.from([...c, 0xff, 0x00, 0x13, 0x37, 0xff]);
    assert.deepEqual(decodeOrThrow(withJunk), data);
  });
});

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

describe('lzwDecompress failures', () => {
  it('empty input is truncated', () => {
    const r = lzwDecompress(new Uint8Array(0), 100);
    assert.equal(!r.ok && r.reason, 'truncated');
  });

  it('every strict prefix of a valid stream is truncated', () => {
    const c = lzwCompress(xorshiftBytes(3, 5_000, 7));
    for (let n = 0; n < c.length; n++) {
      const r = lzwDecompress(c.subarray(0, n), MAX_DECOMPRESSED_STREAM_BYTES);
      assert.equal(!r.ok && r.reason, 'truncated', `prefix of ${n} bytes`);
    }
  });

  it('enforces the output limit exactly', () => {
    const data = xorshiftBytes(5, 10_000, 3);
    const c = lzwCompress(data);
    assert.deepEqual(decodeOrThrow(c, 10_000), data);
    const r = lzwDecompress(c, 9_999);
    assert.equal(!r.ok && r.reason, 'too-large');
    const empty = lzwDecompress(lzwCompress(new Uint8Array(0)), 0);
    assert.ok(empty.ok && empty.value.length === 0);
    const zero = lzwDecompress(lzwCompress(Uint8Array.of(1)), 0);
    assert.equal(!zero.ok && zero.reason, 'too-large');
  });

  it('stops a decompression bomb at the limit', () => {
    // 20 MiB of zeros compresses to ~17 KB; with a 1 MiB limit the decoder must give up early.
    const bomb = lzwCompress(new Uint8Array(MAX_DECOMPRESSED_STREAM_BYTES));
    assert.ok(bomb.length < 64 * 1024);
    const r = lzwDecompress(bomb, 1024 * 1024);
    assert.equal(!r.ok && r.reason, 'too-large');
    assert.equal(decodeOrThrow(bomb).length, MAX_DECOMPRESSED_STREAM_BYTES);
  });

  it('never throws on random junk', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 1 << 16 }), (junk, limit) => {
        const r = lzwDecompress(junk, limit);
        assert.equal(typeof r.ok, 'boolean');
        if (r.ok) assert.ok(r.value.length <= limit);
        else reasons.add(r.reason);
      }),
      { numRuns: 4000 },
    );
    for (const reason of reasons) assert.ok(['malformed', 'truncated', 'too-large'].includes(reason), reason);
  });
});
