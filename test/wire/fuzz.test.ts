/**
 * Seeded fuzzing of every decoder with 100,000+ random and mutated inputs: bit flips,
 * truncations, length fields pointing past the end, 255-part compounds, deep nesting, junk after
 * the compression and encryption type bytes, empty decompressed payloads. No exception may
 * escape, every failure must be a typed result, and memory must stay bounded.
 *
 * Reproduce a run with FUZZ_SEED=<seed> (the seed is printed); FUZZ_CASES raises the count.
 * The two encrypted seed packets use fresh random nonces, so cases that mutate them can differ
 * between runs of the same seed; every other case is reproduced exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../src/runtime/random.ts';
import {
  compressMessage,
  type DecodeFailure,
  type DecodeFailureReason,
  decodeFilter,
  decodeMsgpack,
  decodePacket,
  decodePingPayload,
  decodeSerfMessage,
  decodeStreamMessage,
  decodeTags,
  encodeCompound,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeSerfMessage,
  encodeStreamMessage,
  Keyring,
  lzwCompress,
  lzwDecompress,
  MessageType,
} from '../../src/wire/index.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const CASES = Number(process.env.FUZZ_CASES ?? 100_000);

const REASONS = new Set<DecodeFailureReason>([
  'truncated',
  'unknown-type',
  'bad-crc',
  'auth-failed',
  'encryption-mismatch',
  'too-deep',
  'too-large',
  'bad-value',
  'malformed',
  'trailing-bytes',
]);

const KEY = new Uint8Array(32).map((_, i) => i * 3);
const keyring = new Keyring([KEY]);

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dir = new URL('../../../shared/spec/vectors/', import.meta.url);
  for (const f of ['memberlist', 'serf', 'encrypted', 'extra', 'interop-active']) {
    for (const v of JSON.parse(readFileSync(new URL(`${f}.json`, dir), 'utf8')) as { hex: string }[]) {
      out.push(new Uint8Array(Buffer.from(v.hex, 'hex')));
    }
  }
  const ping = encodeMessage({
    type: 'ping',
    body: {
      seqNo: 7,
      node: 'n1',
      sourceAddr: Uint8Array.of(127, 0, 0, 1),
      sourcePort: 7946,
      sourceNode: 'n2',
    },
  });
  const alive = encodeMessage({
    type: 'alive',
    body: {
      incarnation: 3,
      node: 'n2',
      addr: Uint8Array.of(127, 0, 0, 1),
      port: 7946,
      meta: Uint8Array.of(0xff, 0x80),
      vsn: [1, 5, 2, 2, 5, 5],
    },
  });
  const event = encodeMessage({
    type: 'user',
    payload: encodeSerfMessage({
      type: 'userEvent',
      body: { lTime: 9, name: 'deploy', payload: Uint8Array.of(1, 2), cc: false },
    }),
  });
  out.push(ping, alive, event);
  out.push(encodePacket([ping, alive, event], { crc: true }));
  out.push(encodePacket([ping, alive, event], { keyring, crc: true }));
  out.push(encodeStreamMessage(encodePushPull(true, [], Uint8Array.of(2, 0x80)), { keyring }));
  return out;
}

/** One mutated or synthesized input. */
function generate(r: SeededRandom, seeds: Uint8Array[]): Uint8Array {
  const base = seeds[r.int(seeds.length)]!;
  switch (r.int(12)) {
    case 0: {
      // bit flips
      const b = base.slice();
      for (let i = 1 + r.int(8); i > 0 && b.length > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      return base.subarray(0, r.int(base.length + 1));
    case 2: {
      // random bytes
      const b = new Uint8Array(r.int(1500));
      for (let i = 0; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    case 3: {
      // length fields pointing past the end: plant 32-bit and 16-bit length codes
      const b = base.slice();
      if (b.length < 6) return b;
      const at = r.int(b.length - 5);
      b[at] = [0xdb, 0xdd, 0xdf, 0xda, 0xdc, 0xde, 0xc6][r.int(7)]!;
      b[at + 1] = 0xff;
      b[at + 2] = 0xff;
      b[at + 3] = r.int(256);
      b[at + 4] = r.int(256);
      return b;
    }
    case 4: {
      // a 255-part compound, parts drawn from the corpus (sometimes declaring more than it holds)
      const parts = Array.from({ length: 255 }, () => {
        const p = seeds[r.int(seeds.length)]!;
        return p.subarray(0, Math.min(p.length, 200));
      });
      const c = encodeCompound(parts);
      return r.chance(0.5) ? c : c.subarray(0, r.int(c.length));
    }
    case 5: {
      // deeply nested msgpack arrays/maps inside a message body
      const depth = 1 + r.int(5000);
      const b = new Uint8Array(1 + depth + 1);
      b[0] = [MessageType.alive, MessageType.ping, MessageType.suspect][r.int(3)]!;
      b.fill(r.chance(0.5) ? 0x91 : 0x81, 1, 1 + depth);
      return b;
    }
    case 6: {
      // compound inside compound inside compress ..., deeper than the limit
      let m = base.subarray(0, Math.min(base.length, 100));
      const layers = 1 + r.int(80);
      for (let i = 0; i < layers; i++) m = r.chance(0.7) ? encodeCompound([m]) : compressMessage(m);
      return m;
    }
    case 7: {
      // junk after the compression type byte
      const b = new Uint8Array(1 + r.int(300));
      b[0] = MessageType.compress;
      for (let i = 1; i < b.length; i++) b[i] = r.int(256);
      if (r.chance(0.5) && b.length > 8) b.set([0x82, 0xa4, 0x41, 0x6c, 0x67, 0x6f, 0x00], 1); // {"Algo": 0, ...
      return b;
    }
    case 8: {
      // junk after the encryption version byte (UDP) or the stream frame byte (TCP)
      const b = new Uint8Array(1 + r.int(300));
      b[0] = [0, 1, MessageType.encrypt][r.int(3)]!;
      for (let i = 1; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    case 9: {
      // an empty decompressed payload, alone or as a compound part
      const empty = compressMessage(new Uint8Array(0));
      return r.chance(0.5) ? empty : encodeCompound([empty, base.subarray(0, Math.min(base.length, 100))]);
    }
    case 10: {
      // splice two inputs
      const other = seeds[r.int(seeds.length)]!;
      const a = base.subarray(0, r.int(base.length + 1));
      const b = other.subarray(r.int(other.length + 1));
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }
    default: {
      // byte replacement with interesting values
      const b = base.slice();
      for (let i = 1 + r.int(4); i > 0 && b.length > 0; i--) {
        b[r.int(b.length)] = [0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xda, 0xdb, 0x07, 0x09, 0x0c][r.int(11)]!;
      }
      return b;
    }
  }
}

function checkFailure(f: DecodeFailure, where: string, tally: Map<string, number>): void {
  assert.equal(f.ok, false);
  assert.ok(REASONS.has(f.reason), `${where}: unknown failure reason ${f.reason}`);
  assert.equal(typeof f.detail, 'string');
  assert.ok(f.detail.length > 0);
  tally.set(f.reason, (tally.get(f.reason) ?? 0) + 1);
}

describe('fuzz: decoders never throw and always return typed results', () => {
  it(`${CASES} seeded cases (seed ${SEED})`, () => {
    const r = new SeededRandom(SEED);
    const seeds = corpus();
    const tally = new Map<string, number>();
    let accepted = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    for (let i = 0; i < CASES; i++) {
      const input = generate(r, seeds);
      const where = `case ${i} (FUZZ_SEED=${SEED})`;
      try {
        for (const opts of [{}, { keyring }]) {
          const p = decodePacket(input, opts);
          if (p.ok) {
            accepted++;
            for (const f of p.value.partFailures) checkFailure(f, where, tally);
            for (const m of p.value.messages) {
              if (m.type !== 'user') continue;
              const s = decodeSerfMessage(m.payload);
              if (!s.ok) checkFailure(s, where, tally);
            }
          } else checkFailure(p, where, tally);
          const s = decodeStreamMessage(input, opts);
          if (s.status === 'error') checkFailure(s.failure, where, tally);
        }
        for (const res of [
          decodeSerfMessage(input),
          decodeTags(input),
          decodeFilter(input),
          decodePingPayload(input),
          decodeMsgpack(input),
          lzwDecompress(input, 1 << 20),
        ]) {
          if (!res.ok) checkFailure(res, where, tally);
        }
      } catch (e) {
        assert.fail(
          `${where}: an exception escaped: ${(e as Error).stack}\ninput: ${Buffer.from(input).toString('hex')}`,
        );
      }
      if (i % 10_000 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }
    const growthMb = (heapPeak - heapBefore) / 2 ** 20;
    console.log(
      `fuzz seed ${SEED}: ${CASES} cases, ${accepted} packets accepted, failures by reason: ${JSON.stringify(Object.fromEntries(tally))}, heap growth ${growthMb.toFixed(1)} MiB`,
    );
    assert.ok(growthMb < 256, `heap grew by ${growthMb} MiB`);
    // Every class of failure the mutators aim at was actually reached.
    for (const reason of [
      'truncated',
      'unknown-type',
      'bad-crc',
      'auth-failed',
      'too-deep',
      'bad-value',
      'malformed',
    ] as const) {
      assert.ok((tally.get(reason) ?? 0) > 0, `no input produced a ${reason} failure`);
    }
  });

  it('decompression bombs stop at the limit', () => {
    const big = lzwCompress(new Uint8Array(5_000_000));
    const out = lzwDecompress(big, 1 << 20);
    assert.ok(!out.ok);
    assert.equal(out.reason, 'too-large');
    const p = decodePacket(compressMessage(new Uint8Array(2_000_000)));
    assert.ok(!p.ok);
    assert.equal(p.reason, 'too-large');
  });

  it('hostile lengths never allocate beyond the input', () => {
    // An array32 header claiming 4 billion entries, in a 6-byte input.
    const r = decodeMsgpack(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x00));
    assert.ok(!r.ok);
    assert.equal(r.reason, 'truncated');
    // A push-pull claiming a million node states in a complete (encrypted) frame.
    const pp = encodeStreamMessage(
      Uint8Array.of(
        0x06,
        0x83,
        0xa4,
        0x4a,
        0x6f,
        0x69,
        0x6e,
        0xc3,
        0xa5,
        0x4e,
        0x6f,
        0x64,
        0x65,
        0x73,
        0xce,
        0x00,
        0x0f,
        0x42,
        0x40,
        0xac,
        ...new TextEncoder().encode('UserStateLen'),
        0x00,
      ),
      { keyring, compress: false },
    );
    const d = decodeStreamMessage(pp, { keyring });
    assert.equal(d.status, 'error');
  });
});
