import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from '../../src/wire/crc32.ts';
import { VECTOR_DIR } from '../support/vectors.ts';

/** The captured vectors (a copy in the repository, test/vectors). */
function vectorsDir(): string {
  return VECTOR_DIR;
}

interface Vector {
  name: string;
  encrypted: boolean;
  hex: string;
  decoded: {
    msg?: { typeName?: string; crc32?: string };
    encryption?: { plaintextHex?: string };
  };
}

/** Bit-at-a-time CRC-32/IEEE straight from the definition, as an oracle for the table-driven one. */
function crc32Bitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32', () => {
  it('gives the standard check values', () => {
    const enc = new TextEncoder();
    assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(crc32(enc.encode('The quick brown fox jumps over the lazy dog')), 0x414fa339);
    assert.equal(crc32(Uint8Array.of(0)), 0xd202ef8d);
    assert.equal(crc32(new Uint8Array(32).fill(0xff)), 0xff6cab0b);
  });

  it('returns an unsigned 32-bit number', () => {
    const v = crc32(new TextEncoder().encode('123456789'));
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  });

  it('agrees with a bitwise implementation and with zlib (gzip trailer) on random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(16), (data, offset) => {
        // Also a subarray at an odd offset, since the fast path reads four bytes at a time.
        const view = data.subarray(Math.min(offset, data.length));
        const expected = crc32Bitwise(view);
        assert.equal(crc32(view), expected);
        const gz = gzipSync(view);
        assert.equal(gz.readUInt32LE(gz.length - 8), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('matches the CRC of every captured hasCrc (0x0c) message', () => {
    const dir = vectorsDir();
    let checked = 0;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json')) continue;
      for (const v of JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Vector[]) {
        const msg = v.decoded.msg;
        if (msg?.typeName !== 'hasCrc') continue;
        const hex = v.encrypted ? v.decoded.encryption?.plaintextHex : v.hex;
        assert.ok(hex, `${file} "${v.name}": no plaintext for an encrypted hasCrc vector`);
        const bytes = Buffer.from(hex, 'hex');
        assert.equal(bytes[0], 0x0c, `${file} "${v.name}": not a hasCrc frame`);
        const want = bytes.readUInt32BE(1);
        assert.equal(want.toString(16).padStart(8, '0'), msg.crc32, `${file} "${v.name}": crc32 field`);
        assert.equal(crc32(bytes.subarray(5)), want, `${file} "${v.name}"`);
        checked++;
      }
    }
    // 27 hasCrc vectors in the current capture set.
    assert.ok(checked >= 20, `only ${checked} hasCrc vectors checked`);
  });
});
