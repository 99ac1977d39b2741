/**
 * Property tests: encode → decode is the identity for every memberlist and Serf message type,
 * for whole packets (compound, compression, CRC, encryption with both versions) and for
 * stream messages; and our msgpack agrees with an independent decoder (@msgpack/msgpack).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import {
  type Alive,
  decodeFilter,
  decodeLeafMessage,
  decodeMsgpack,
  decodePacket,
  decodePingPayload,
  decodeSerfMessage,
  decodeStreamMessage,
  decodeTags,
  encodeErrResp,
  encodeFilter,
  encodeMessage,
  encodeMsgpack,
  encodePacket,
  encodePingPayload,
  encodePushPull,
  encodeSerfMessage,
  encodeStreamMessage,
  encodeStreamUserMessage,
  encodeTags,
  ipFromString,
  ipToString,
  Keyring,
  type MemberlistMessage,
  type PushNodeState,
  type SerfMessage,
} from '../../src/wire/index.ts';

const RUNS = 300;

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u53 = fc.oneof(u32, fc.maxSafeNat());
const name = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 12 }));
const bytes = (max = 64) => fc.uint8Array({ maxLength: max }).map((b) => new Uint8Array(b));
const nilBytes = fc.option(bytes(), { nil: null });
const ip = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
);
const vsn = fc.array(u8, { minLength: 6, maxLength: 6 });

const alive: fc.Arbitrary<Alive> = fc.record({
  incarnation: u32,
  node: name,
  addr: ip,
  port: u16,
  meta: bytes(512),
  vsn,
});

const memberlistMessage: fc.Arbitrary<MemberlistMessage> = fc.oneof(
  fc
    .record({
      seqNo: u32,
      node: name,
      sourceAddr: fc.oneof(ip, fc.constant(new Uint8Array(0))),
      sourcePort: u16,
      sourceNode: name,
    })
    .map((body) => ({ type: 'ping' as const, body })),
  fc
    .record({
      seqNo: u32,
      target: ip,
      port: u16,
      node: name,
      nack: fc.boolean(),
      sourceAddr: fc.oneof(ip, fc.constant(new Uint8Array(0))),
      sourcePort: u16,
      sourceNode: name,
    })
    .map((body) => ({ type: 'indirectPing' as const, body })),
  fc.record({ seqNo: u32, payload: nilBytes }).map((body) => ({ type: 'ack' as const, body })),
  fc.record({ seqNo: u32 }).map((body) => ({ type: 'nack' as const, body })),
  fc.record({ incarnation: u32, node: name, from: name }).map((body) => ({ type: 'suspect' as const, body })),
  alive.map((body) => ({ type: 'alive' as const, body })),
  fc.record({ incarnation: u32, node: name, from: name }).map((body) => ({ type: 'dead' as const, body })),
  bytes(200).map((payload) => ({ type: 'user' as const, payload })),
);

const stringMap = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), {
  maxKeys: 5,
  noNullPrototype: true,
});
const uintMap = fc.dictionary(fc.string({ maxLength: 10 }), u53, { maxKeys: 5, noNullPrototype: true });

const serfMessage: fc.Arbitrary<SerfMessage> = fc.oneof(
  fc
    .record({ lTime: u53, node: name, prune: fc.boolean() })
    .map((body) => ({ type: 'leave' as const, body })),
  fc.record({ lTime: u53, node: name }).map((body) => ({ type: 'join' as const, body })),
  fc
    .record({ lTime: u53, name, payload: nilBytes, cc: fc.boolean() })
    .map((body) => ({ type: 'userEvent' as const, body })),
  fc
    .record({
      lTime: u53,
      statusLTimes: uintMap,
      leftMembers: fc.option(fc.array(name, { maxLength: 4 }), { nil: null }),
      eventLTime: u53,
      events: fc.option(
        fc.array(
          fc.option(
            fc.record({
              lTime: u53,
              events: fc.option(fc.array(fc.record({ name, payload: nilBytes }), { maxLength: 3 }), {
                nil: null,
              }),
            }),
            { nil: null },
          ),
          { maxLength: 20 },
        ),
        { nil: null },
      ),
      queryLTime: u53,
    })
    .map((body) => ({ type: 'pushPull' as const, body })),
  fc
    .record({
      lTime: u53,
      id: u32,
      addr: ip,
      port: u16,
      sourceNode: name,
      filters: fc.option(fc.array(bytes(30), { maxLength: 3 }), { nil: null }),
      flags: u32,
      relayFactor: u8,
      timeout: fc.maxSafeNat(),
      name,
      payload: nilBytes,
    })
    .map((body) => ({ type: 'query' as const, body })),
  fc
    .record({ lTime: u53, id: u32, from: name, flags: u32, payload: nilBytes })
    .map((body) => ({ type: 'queryResponse' as const, body })),
  fc
    .option(
      fc.record({
        name,
        addr: ip,
        port: u16,
        tags: stringMap,
        status: fc.integer({ min: 0, max: 4 }),
        protocolMin: u8,
        protocolMax: u8,
        protocolCur: u8,
        delegateMin: u8,
        delegateMax: u8,
        delegateCur: u8,
      }),
      { nil: null },
    )
    .map((body) => ({ type: 'conflictResponse' as const, body })),
  fc.record({ key: bytes(32) }).map((body) => ({ type: 'keyRequest' as const, body })),
  fc
    .record({
      result: fc.boolean(),
      message: name,
      keys: fc.option(fc.array(fc.base64String({ maxLength: 44 }), { maxLength: 4 }), { nil: null }),
      primaryKey: fc.base64String({ maxLength: 44 }),
    })
    .map((body) => ({ type: 'keyResponse' as const, body })),
  fc
    .record({
      header: fc.record({
        destAddr: fc.record({ ip, port: u16, zone: fc.string({ maxLength: 8 }) }),
        destName: name,
      }),
      inner: bytes(80).filter((b) => b.length > 0),
    })
    .map(({ header, inner }) => ({ type: 'relay' as const, header, inner })),
);

/** Normalizes values so that `deepEqual` compares content (Buffer vs Uint8Array views, etc.). */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  return v;
}

const KEYS = [16, 24, 32].map((n) => new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff));

describe('round trips', () => {
  it('every memberlist message: encodeMessage → decodeLeafMessage', () => {
    fc.assert(
      fc.property(memberlistMessage, (m) => {
        const d = decodeLeafMessage(encodeMessage(m));
        assert.ok(d.ok);
        assert.deepEqual(norm(d.value), norm(m));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('every Serf message: encodeSerfMessage → decodeSerfMessage, also inside a user message', () => {
    fc.assert(
      fc.property(serfMessage, (m) => {
        const enc = encodeSerfMessage(m);
        const d = decodeSerfMessage(enc);
        assert.ok(d.ok, d.ok ? '' : d.detail);
        assert.deepEqual(norm(d.value), norm(m));
        const leaf = decodeLeafMessage(encodeMessage({ type: 'user', payload: enc }));
        assert.ok(leaf.ok && leaf.value.type === 'user');
        assert.deepEqual(leaf.value.payload, enc);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('packets: compound + compression + CRC + encryption (v0, v1, every key size)', () => {
    fc.assert(
      fc.property(
        fc.array(memberlistMessage, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        fc.boolean(),
        fc.option(
          fc.record({ key: fc.constantFrom(...KEYS), version: fc.constantFrom(0 as const, 1 as const) }),
          {
            nil: undefined,
          },
        ),
        (msgs, compress, crc, enc) => {
          const keyring = enc ? new Keyring([enc.key]) : undefined;
          const buf = encodePacket(msgs.map(encodeMessage), {
            compress,
            crc,
            keyring,
            encryptionVersion: enc?.version,
          });
          const d = decodePacket(buf, { keyring });
          assert.ok(d.ok, d.ok ? '' : d.detail);
          assert.deepEqual(d.value.partFailures, []);
          assert.equal(d.value.encrypted, enc !== undefined);
          assert.equal(d.value.hadCrc, crc);
          assert.deepEqual(norm(d.value.messages), norm(msgs));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a packet encrypted with any installed key decrypts; a keyring without it refuses', () => {
    const ring = new Keyring([KEYS[2]!, KEYS[0]!, KEYS[1]!]);
    for (const k of KEYS) {
      const sender = new Keyring([k]);
      const buf = encodePacket([encodeMessage({ type: 'nack', body: { seqNo: 9 } })], { keyring: sender });
      const d = decodePacket(buf, { keyring: ring });
      assert.ok(d.ok);
      assert.equal(
        d.value.keyIndex,
        ring.keys.findIndex((x) => Buffer.from(x).equals(Buffer.from(k))),
      );
      const other = decodePacket(buf, { keyring: new Keyring([new Uint8Array(32).fill(9)]) });
      assert.ok(!other.ok);
      assert.equal(other.reason, 'auth-failed');
      // With verifyIncoming off, an undecryptable packet is read as plaintext (and fails as such).
      const lax = decodePacket(buf, {
        keyring: new Keyring([new Uint8Array(32).fill(9)]),
        verifyIncoming: false,
      });
      assert.ok(!lax.ok || lax.value.encrypted === false);
    }
  });

  it('stream messages: push-pull, ping, ack, err, user, each compressed or not and encrypted or not', () => {
    const state: fc.Arbitrary<PushNodeState> = fc.record({
      name,
      addr: ip,
      port: u16,
      meta: bytes(100),
      incarnation: u32,
      state: fc.integer({ min: 0, max: 3 }),
      vsn,
    });
    fc.assert(
      fc.property(
        fc.array(state, { maxLength: 30 }),
        bytes(2000),
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
        (states, userState, join, compress, key) => {
          const keyring = key ? new Keyring([key]) : undefined;
          const cases: Uint8Array[] = [
            encodePushPull(join, states, userState),
            encodeMessage({
              type: 'ping',
              body: { seqNo: 1, node: 'n', sourceAddr: new Uint8Array(0), sourcePort: 0, sourceNode: '' },
            }),
            encodeMessage({ type: 'ack', body: { seqNo: 1, payload: null } }),
            encodeErrResp('something failed'),
            encodeStreamUserMessage(userState),
          ];
          for (const plain of cases) {
            const framed = encodeStreamMessage(plain, { compress, keyring });
            const d = decodeStreamMessage(framed, { keyring });
            assert.equal(d.status, 'ok', d.status === 'error' ? d.failure.detail : '');
            if (d.status !== 'ok') return;
            assert.equal(d.consumed, framed.length);
            if (d.message.type === 'pushPull') {
              assert.equal(d.message.join, join);
              assert.deepEqual(norm(d.message.states), norm(states));
              assert.deepEqual(d.message.userState, userState);
            } else if (d.message.type === 'user') {
              assert.deepEqual(d.message.payload, userState);
            }
            // Every strict prefix is incomplete, never an error.
            const cut = Math.max(1, Math.floor(framed.length / 3));
            assert.equal(decodeStreamMessage(framed.subarray(0, cut), { keyring }).status, 'incomplete');
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('tags, filters and ping payloads', () => {
    fc.assert(
      fc.property(stringMap, (tags) => {
        const d = decodeTags(encodeTags(tags));
        assert.ok(d.ok);
        assert.deepEqual(d.value, tags);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(name, { maxLength: 5 }).map((nodes) => ({ type: 'node' as const, nodes })),
          fc.record({ type: fc.constant('tag' as const), tag: name, expr: name }),
        ),
        (filter) => {
          const d = decodeFilter(encodeFilter(filter));
          assert.ok(d.ok);
          assert.deepEqual(norm(d.value), norm(filter));
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.record({
          vec: fc.array(fc.double({ noNaN: true }), { minLength: 8, maxLength: 8 }),
          error: fc.double({ noNaN: true }),
          adjustment: fc.double({ noNaN: true }),
          height: fc.double({ noNaN: true }),
        }),
        (c) => {
          const d = decodePingPayload(encodePingPayload(c));
          assert.ok(d.ok);
          assert.deepEqual(norm(d.value), norm(c));
        },
      ),
      { numRuns: RUNS },
    );
    assert.throws(() => encodeTags({ big: 'x'.repeat(600) }), /512-byte node metadata limit/);
    assert.deepEqual(decodeTags(new TextEncoder().encode('web')), { ok: true, value: { role: 'web' } });
  });

  it('IP addresses: string ⇄ bytes for IPv4, IPv6 and IPv4-mapped', () => {
    for (const [s, n, back] of [
      ['127.0.0.1', 4, '127.0.0.1'],
      ['::1', 16, '::1'],
      ['fe80::1:2', 16, 'fe80::1:2'],
      ['::ffff:10.1.2.3', 16, '10.1.2.3'],
      ['2001:db8:0:0:1:0:0:1', 16, '2001:db8::1:0:0:1'],
    ] as const) {
      const b = ipFromString(s);
      assert.equal(b?.length, n, s);
      assert.equal(ipToString(b!), back);
    }
    assert.equal(ipFromString('not-an-ip'), undefined);
  });
});

describe('msgpack agrees with an independent decoder (@msgpack/msgpack, rawStrings)', () => {
  const other = new Decoder({ rawStrings: true, useBigInt64: true });
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noInteger: true }),
      bytes(300),
      fc.array(tie('v'), { maxLength: 20 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 20, noNullPrototype: true }),
    ),
  })).v;

  it('decodes our encoding to the same value', () => {
    const toPlain = (x: unknown): unknown => {
      if (typeof x === 'bigint') return Number(x);
      if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
      if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [k, toPlain(v)]));
      if (Array.isArray(x)) return x.map(toPlain);
      if (x !== null && typeof x === 'object') {
        return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toPlain(v)]));
      }
      return x;
    };
    fc.assert(
      fc.property(value, (v) => {
        const enc = encodeMsgpack(v);
        const ours = decodeMsgpack(enc);
        assert.ok(ours.ok);
        const theirs = other.decode(enc);
        assert.deepEqual(toPlain(ours.value), toPlain(theirs));
        assert.deepEqual(toPlain(ours.value), toPlain(v));
      }),
      { numRuns: RUNS },
    );
  });

  it('writes the old spec only: raw16 for 32..65535-byte strings, never str8 or bin', () => {
    const enc = encodeMsgpack({ s: 'x'.repeat(40), b: new Uint8Array(40) });
    const hex = Buffer.from(enc).toString('hex');
    assert.ok(hex.includes('da0028'), hex);
    assert.ok(!/(^|[^0-9a-f])(d9|c4|c5|c6)28/.test(hex));
  });
});
