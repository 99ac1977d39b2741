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
// npm test: untimed (decoders on generated input)
import assert from 'node:assert/strict';
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
  encodeStreamMessage,
  Keyring,
  lzwCompress,
  lzwDecompress,
} from '../../src/wire/index.ts';
import { fuzzCorpus, mutate } from '../support/fuzz.ts';

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
  'label-mismatch',
  'label-missing',
  'label-unexpected',
]);

const KEY = new Uint8Array(32).map((_, i) => i * 3);
/** A labelled node that also accepts unlabelled input (so labelled and plain seeds both get deep). */
const LABELLED = { label: new TextEncoder().encode('blah'), acceptUnlabeled: true };
const keyring = new Keyring([KEY]);

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
    const seeds = fuzzCorpus(keyring);
    const tally = new Map<string, number>();
    let accepted = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    for (let i = 0; i < CASES; i++) {
      const input = mutate(r, seeds);
      const where = `case ${i} (FUZZ_SEED=${SEED})`;
      try {
        for (const opts of [{}, { keyring }, { keyring, labelPolicy: LABELLED }, { labelPolicy: LABELLED }]) {
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
