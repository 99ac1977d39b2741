/**
 * Every captured vector in test/vectors decodes to the documented fields, and
 * re-encodes to the identical bytes (struct bodies, Serf messages, LZW streams, push-pull
 * states). Encrypted vectors decrypt with the keys the capture used; their envelopes cannot be
 * reproduced (random nonces) and are covered by round trips in crypto.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  compressMessage,
  decodeFilter,
  decodeLeafMessage,
  decodePacket,
  decodePingPayload,
  decodeSerfMessage,
  decodeStreamMessage,
  decodeTags,
  decompressMessage,
  encodeMessage,
  encodePushNodeState,
  encodePushPull,
  encodePushPullOfEncoded,
  encodeSerfMessage,
  ipFromString,
  ipToString,
  Keyring,
  type MemberlistMessage,
  MessageType,
  splitCompound,
} from '../../src/wire/index.ts';
import { VECTOR_DIR as VECTOR_DIR_PATH } from '../support/vectors.ts';

const VECTOR_DIR = new URL(`file://${VECTOR_DIR_PATH}`);
const FILES = ['memberlist', 'serf', 'encrypted', 'extra', 'interop-active'];

// biome-ignore lint/suspicious/noExplicitAny: vectors are free-form JSON
type Json = any;

interface Vector {
  name: string;
  capture: string;
  transport: 'udp' | 'tcp';
  encrypted?: boolean;
  key?: string;
  keyring?: string[];
  hex: string;
  decoded: Json;
}

function load(file: string): Vector[] {
  return JSON.parse(readFileSync(new URL(`${file}.json`, VECTOR_DIR), 'utf8')) as Vector[];
}

const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function keyringFor(v: Vector): Keyring | undefined {
  if (!v.encrypted) return undefined;
  const keys = v.keyring ?? (v.key ? [v.key] : []);
  return new Keyring(keys.map((k) => Keyring.parseKey(k)));
}

/** Go field name → our camelCase property. */
function propOf(goKey: string): string {
  const special: Record<string, string> = { ID: 'id', CC: 'cc', IP: 'ip' };
  return special[goKey] ?? goKey[0]!.toLowerCase() + goKey.slice(1);
}

const IP_FIELDS = new Set(['Addr', 'SourceAddr', 'Target', 'IP']);

/** Compares one of our decoded structs with a vector's rendering of the same Go struct. */
function assertBody(ours: Json, theirs: Json, where: string): void {
  for (const [goKey, tv] of Object.entries(theirs as Record<string, Json>)) {
    const ov = ours[propOf(goKey)];
    const at = `${where}.${goKey}`;
    if (tv === null) {
      assert.ok(ov === null || (Array.isArray(ov) && ov.length === 0), `${at}: expected nil, got ${ov}`);
    } else if (IP_FIELDS.has(goKey) && typeof tv === 'string') {
      assert.equal(ipToString(ov), ipToString(ipFromString(tv)!), at);
    } else if (goKey === 'Meta') {
      assert.equal(toHex(ov), tv.hex, at);
      if (tv.tags) {
        const tags = decodeTags(ov);
        assert.ok(tags.ok, at);
        assert.deepEqual(tags.value, tv.tags, `${at} tags`);
      }
    } else if (typeof tv === 'object' && !Array.isArray(tv) && 'hex' in tv) {
      assert.equal(toHex(ov), tv.hex, at);
    } else if (goKey === 'Events' && typeof tv === 'object' && 'note' in tv) {
      const nonNil = (ov as (Json | null)[]).map((e, i) => [i, e] as const).filter(([, e]) => e !== null);
      assert.equal(nonNil.length, Object.keys(tv.nonNil).length, `${at}: non-nil ring entries`);
      for (const [i, e] of nonNil) assertBody(e, tv.nonNil[String(i)], `${at}[${i}]`);
    } else if (goKey === 'Events' && Array.isArray(tv)) {
      assert.equal(ov.length, tv.length, at);
      for (const [i, e] of (tv as Json[]).entries()) assertBody(ov[i], e, `${at}[${i}]`);
    } else if (Array.isArray(tv) && tv.length > 0 && typeof tv[0] === 'object' && 'hex' in tv[0]) {
      assert.deepEqual(
        (ov as Uint8Array[]).map(toHex),
        tv.map((x: Json) => x.hex),
        at,
      );
    } else if (goKey === 'DestAddr') {
      assertBody(ov, tv, at);
    } else {
      assert.deepEqual(ov, tv, at);
    }
  }
}

/** The leaves of a vector's decoded message tree, in wire order. */
function leavesOf(node: Json): Json[] {
  if (node.typeName === 'compound') return node.parts.flatMap(leavesOf);
  if (node.typeName === 'compress' || node.typeName === 'hasCrc') return leavesOf(node.inner);
  return [node];
}

const OUR_TYPE: Record<string, MemberlistMessage['type']> = {
  ackResp: 'ack',
  nackResp: 'nack',
  indirectPing: 'indirectPing',
};

function assertSerf(payload: Uint8Array, theirs: Json, where: string): void {
  const dec = decodeSerfMessage(payload);
  assert.ok(dec.ok, `${where}: ${dec.ok ? '' : dec.detail}`);
  const msg = dec.value;
  assert.equal(msg.type, theirs.serfTypeName, `${where}: Serf type`);
  // Byte-identical re-encoding of the Serf message.
  assert.equal(toHex(encodeSerfMessage(msg)), toHex(payload), `${where}: Serf re-encoding`);
  if (msg.type === 'relay') {
    assertBody(msg.header, theirs.relayHeader, `${where}.relayHeader`);
    assertSerf(msg.inner, theirs.inner, `${where}.inner`);
    return;
  }
  if (msg.type === 'conflictResponse' && msg.body === null) return;
  assertBody(msg.body, theirs.body, where);
  if (theirs.payloadDecoded && (msg.type === 'query' || msg.type === 'queryResponse')) {
    assertSerf(msg.body.payload!, theirs.payloadDecoded, `${where}.payload`);
  }
  if (theirs.filtersDecoded && msg.type === 'query') {
    (theirs.filtersDecoded as Json[]).forEach((fd, i) => {
      const filter = decodeFilter(msg.body.filters![i]!);
      assert.ok(filter.ok);
      if (filter.value.type === 'node')
        assert.deepEqual(filter.value.nodes, fd.value, `${where} node filter`);
      else
        assert.deepEqual({ Tag: filter.value.tag, Expr: filter.value.expr }, fd.value, `${where} tag filter`);
    });
  }
}

function assertLeaf(ours: MemberlistMessage, theirs: Json, where: string): void {
  assert.equal(ours.type, OUR_TYPE[theirs.typeName] ?? theirs.typeName, `${where}: message type`);
  if (ours.type === 'user') {
    assertSerf(ours.payload, theirs.userMsg, `${where}.user`);
    return;
  }
  assertBody(ours.body, theirs.body, where);
  if (ours.type === 'ack' && theirs.ackPayloadDecoded) {
    const coord = decodePingPayload(ours.body.payload!);
    assert.ok(coord.ok);
    assertBody(coord.value, theirs.ackPayloadDecoded.coordinate, `${where}.coordinate`);
  }
}

/**
 * Walks the framing of a plaintext datagram like the decoder does, checking on the way that
 * every compress layer re-compresses to the same bytes, and returns each leaf's exact bytes.
 */
function leafBytes(buf: Uint8Array, top = true): Uint8Array[] {
  if (top && buf[0] === MessageType.hasCrc) return leafBytes(buf.subarray(5), false);
  if (buf[0] === MessageType.compound) {
    const split = splitCompound(buf.subarray(1));
    assert.ok(split.ok);
    return split.value.parts.flatMap((p) => leafBytes(p, false));
  }
  if (buf[0] === MessageType.compress) {
    const inner = decompressMessage(buf, 1 << 20);
    assert.ok(inner.ok);
    assert.equal(toHex(compressMessage(inner.value)), toHex(buf), 'LZW re-compression is byte-identical');
    return leafBytes(inner.value, false);
  }
  return [buf];
}

for (const file of FILES) {
  describe(`vectors: ${file}.json`, () => {
    for (const v of load(file)) {
      it(v.name, () => {
        const keyring = keyringFor(v);
        const buf = fromHex(v.hex);
        if (v.transport === 'udp') {
          const r = decodePacket(buf, { keyring });
          assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
          assert.deepEqual(r.value.partFailures, []);
          assert.equal(r.value.encrypted, Boolean(v.encrypted));
          if (v.encrypted) assert.equal(r.value.keyIndex, v.decoded.encryption.keyIndex);
          const expected = leavesOf(v.decoded.msg);
          assert.equal(r.value.messages.length, expected.length, 'leaf message count');
          for (const [i, m] of r.value.messages.entries()) assertLeaf(m, expected[i], `leaf ${i}`);
          // Byte-identical re-encoding of every leaf.
          const plain = v.encrypted ? fromHex(v.decoded.encryption.plaintextHex) : buf;
          for (const raw of leafBytes(plain)) {
            const leaf = decodeLeafMessage(raw);
            assert.ok(leaf.ok);
            assert.equal(toHex(encodeMessage(leaf.value)), toHex(raw), `re-encoding of ${leaf.value.type}`);
          }
          return;
        }
        // TCP: one whole stream message, also fed in growing prefixes.
        const r = decodeStreamMessage(buf, { keyring });
        assert.equal(r.status, 'ok', r.status === 'error' ? `${r.failure.reason}: ${r.failure.detail}` : '');
        if (r.status !== 'ok') return;
        assert.equal(r.consumed, buf.length);
        for (const cut of [1, 5, Math.floor(buf.length / 2), buf.length - 1]) {
          if (cut <= 0 || cut >= buf.length) continue;
          assert.equal(
            decodeStreamMessage(buf.subarray(0, cut), { keyring }).status,
            'incomplete',
            `prefix ${cut}`,
          );
        }
        const d = v.decoded;
        const msg = r.message;
        assert.equal(msg.type === 'ack' ? 'ackResp' : msg.type, d.typeName);
        let plain = v.encrypted ? fromHex(d.encryptFrame.plaintextHex) : buf;
        if (d.compress) {
          assert.equal(r.compressed, true);
          const inner = decompressMessage(plain, 1 << 24);
          assert.ok(inner.ok);
          assert.equal(toHex(inner.value), d.compress.decompressedHex);
          assert.equal(
            toHex(compressMessage(inner.value)),
            toHex(plain),
            'LZW re-compression is byte-identical',
          );
          plain = inner.value;
        }
        if (msg.type === 'pushPull') {
          assert.equal(msg.join, d.header.Join);
          assert.equal(msg.states.length, d.header.Nodes);
          assert.equal(msg.userState.length, d.header.UserStateLen);
          for (const [i, s] of msg.states.entries()) assertBody(s, d.nodes[i], `node ${i}`);
          assert.equal(toHex(msg.userState), d.userStateHex);
          if (d.userState) assertSerf(msg.userState, d.userState, 'userState');
          assert.equal(
            toHex(encodePushPull(msg.join, msg.states, msg.userState)),
            toHex(plain),
            'push-pull re-encoding',
          );
          assert.equal(
            toHex(encodePushPullOfEncoded(msg.join, msg.states.map(encodePushNodeState), msg.userState)),
            toHex(plain),
            'push-pull re-encoding from encoded node states',
          );
        } else if (msg.type !== 'user') {
          assertBody(msg.body, d.body, 'body');
          assert.equal(toHex(encodeMessage(msg)), toHex(plain), `${msg.type} re-encoding`);
        }
      });
    }
  });
}
