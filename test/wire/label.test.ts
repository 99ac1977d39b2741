/**
 * The cluster label header (wire/label.ts): memberlist's own table tests (label_test.go,
 * `TestAddLabelHeaderToPacket`, `TestRemoveLabelHeaderFromPacket`, `…Stream`, `TestLabelOverhead`)
 * as vectors, then real bytes captured from memberlist v0.3.1 (test/vectors/label/): labelled
 * packets and streams, plaintext and encrypted, where the label is AES-GCM additional data.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  addLabelHeader,
  checkLabel,
  decodePacket,
  decodeStreamMessage,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeStreamMessage,
  Keyring,
  LABEL_MSG_TYPE,
  labelBytes,
  labelOverhead,
  MessageType,
  readPacketLabel,
  readStreamLabel,
} from '../../src/wire/index.ts';
import { VECTOR_DIR } from '../support/vectors.ts';

const enc = (s: string) => new TextEncoder().encode(s);
/** memberlist's `buildBuffer`: numbers are bytes, strings their bytes. */
const build = (...items: (number | string)[]): Uint8Array =>
  Uint8Array.from(items.flatMap((x) => (typeof x === 'number' ? [x] : [...enc(x)])));
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const PING = MessageType.ping;
const ERR = MessageType.err;
/** memberlist's `maxEncryptionVersion` (1), the highest byte an unlabelled encrypted packet starts with. */
const MAX_ENCRYPTION_VERSION = 1;

describe('label header: memberlist label_test.go vectors', () => {
  it('TestAddLabelHeaderToPacket', () => {
    const long = 'a'.repeat(255);
    const cases: [string, Uint8Array, string, Uint8Array | RegExp][] = [
      ['nil buf with no label', new Uint8Array(0), '', new Uint8Array(0)],
      ['nil buf with label', new Uint8Array(0), 'foo', build(LABEL_MSG_TYPE, 3, 'foo')],
      ['message with label', enc('something'), 'foo', build(LABEL_MSG_TYPE, 3, 'foosomething')],
      ['message with no label', enc('something'), '', enc('something')],
      [
        'message with almost too long label',
        enc('something'),
        long,
        build(LABEL_MSG_TYPE, 255, `${long}something`),
      ],
      ['label too long by one byte', enc('something'), `${long}x`, /is too long/],
    ];
    for (const [name, buf, label, want] of cases) {
      const bytes = labelBytes(label);
      if (want instanceof RegExp) {
        assert.equal(typeof bytes, 'string', name);
        assert.match(bytes as string, want, name);
        continue;
      }
      assert.notEqual(typeof bytes, 'string', name);
      assert.deepEqual(addLabelHeader(bytes as Uint8Array, buf), want, name);
    }
  });

  it('TestRemoveLabelHeaderFromPacket', () => {
    const cases: [string, Uint8Array, string, Uint8Array | RegExp][] = [
      ['empty buf', new Uint8Array(0), '', new Uint8Array(0)],
      ['ping with no label', build(PING, 'blah'), '', build(PING, 'blah')],
      ['error with no label', build(ERR, 'blah'), '', build(ERR, 'blah')],
      [
        'v1 encrypt with no label',
        build(MAX_ENCRYPTION_VERSION, 'blah'),
        '',
        build(MAX_ENCRYPTION_VERSION, 'blah'),
      ],
      ['buf too small for label', build(LABEL_MSG_TYPE, 'x'), '', /packet has been truncated/],
      ['buf too small for label size', build(LABEL_MSG_TYPE), '', /packet has been truncated/],
      ['label empty', build(LABEL_MSG_TYPE, 0, 'x'), '', /cannot be empty when present/],
      ['label truncated', build(LABEL_MSG_TYPE, 2, 'x'), '', /packet has been truncated/],
      ['ping with label', build(LABEL_MSG_TYPE, 3, 'abc', PING, 'blah'), 'abc', build(PING, 'blah')],
      ['error with label', build(LABEL_MSG_TYPE, 3, 'abc', ERR, 'blah'), 'abc', build(ERR, 'blah')],
      [
        'v1 encrypt with label',
        build(LABEL_MSG_TYPE, 3, 'abc', MAX_ENCRYPTION_VERSION, 'blah'),
        'abc',
        build(MAX_ENCRYPTION_VERSION, 'blah'),
      ],
    ];
    for (const [name, buf, label, want] of cases) {
      const r = readPacketLabel(buf);
      if (want instanceof RegExp) {
        assert.equal(r.ok, false, name);
        if (!r.ok) assert.match(r.detail, want, name);
        continue;
      }
      assert.ok(r.ok, name);
      assert.deepEqual(new TextDecoder().decode(r.value.label), label, name);
      assert.deepEqual(buf.subarray(r.value.offset), want, name);
    }
  });

  it('TestRemoveLabelHeaderFromStream: the same cases on a growing buffer (truncation is "wait for more")', () => {
    assert.equal(readStreamLabel(new Uint8Array(0)), 'incomplete');
    assert.equal(readStreamLabel(build(LABEL_MSG_TYPE)), 'incomplete');
    assert.equal(readStreamLabel(build(LABEL_MSG_TYPE, 2, 'x')), 'incomplete');
    const empty = readStreamLabel(build(LABEL_MSG_TYPE, 0, 'x'));
    assert.ok(empty !== 'incomplete' && !empty.ok && /cannot be empty/.test(empty.detail));
    const labelled = build(LABEL_MSG_TYPE, 3, 'abc', MAX_ENCRYPTION_VERSION, 'blah');
    const r = readStreamLabel(labelled);
    assert.ok(r !== 'incomplete' && r.ok);
    assert.equal(new TextDecoder().decode(r.value.label), 'abc');
    assert.deepEqual(labelled.subarray(r.value.offset), build(MAX_ENCRYPTION_VERSION, 'blah'));
    for (const plain of [build(PING, 'blah'), build(ERR, 'blah'), build(MAX_ENCRYPTION_VERSION, 'blah')]) {
      const p = readStreamLabel(plain);
      assert.ok(p !== 'incomplete' && p.ok && p.value.offset === 0 && p.value.label.length === 0);
    }
  });

  it('TestLabelOverhead', () => {
    assert.equal(labelOverhead(enc('')), 0);
    assert.equal(labelOverhead(enc('a')), 3);
    assert.equal(labelOverhead(enc('abcdefg')), 9);
  });

  it('checkLabel: equal bytes pass; otherwise mismatch, missing or unexpected (unless unlabelled input is accepted)', () => {
    const a = enc('a');
    assert.equal(checkLabel(a, { label: a }), undefined);
    assert.equal(checkLabel(new Uint8Array(0), undefined), undefined);
    assert.equal(checkLabel(enc('b'), { label: a })?.reason, 'label-mismatch');
    assert.equal(checkLabel(new Uint8Array(0), { label: a })?.reason, 'label-missing');
    assert.equal(checkLabel(new Uint8Array(0), { label: a, acceptUnlabeled: true }), undefined);
    assert.equal(checkLabel(enc('b'), { label: a, acceptUnlabeled: true })?.reason, 'label-mismatch');
    assert.equal(checkLabel(a, undefined)?.reason, 'label-unexpected');
    assert.equal(checkLabel(a, { label: new Uint8Array(0) })?.reason, 'label-unexpected');
  });
});

interface OracleVector {
  name: string;
  transport: 'udp' | 'tcp';
  label: string;
  key?: string;
  firstType: number;
  hex: string;
}

const oracle = JSON.parse(readFileSync(`${VECTOR_DIR}label/memberlist-0.3.1.json`, 'utf8')) as OracleVector[];

describe('label header: bytes captured from memberlist v0.3.1', () => {
  it('has the six captures (udp packet, tcp request, tcp reply; plaintext and encrypted)', () => {
    assert.equal(oracle.length, 6);
    assert.equal(oracle.filter((v) => v.key).length, 3);
  });

  for (const v of oracle.filter((x) => x.transport === 'udp')) {
    it(`${v.name}: decodes under label "${v.label}" only`, () => {
      const buf = fromHex(v.hex);
      const keyring = v.key ? new Keyring([Keyring.parseKey(v.key)]) : undefined;
      const policy = { label: enc(v.label) };
      const good = decodePacket(buf, { keyring, labelPolicy: policy });
      assert.ok(good.ok, good.ok ? '' : good.detail);
      assert.ok(good.value.messages.length > 0);
      assert.equal(good.value.encrypted, keyring !== undefined);
      assert.deepEqual(good.value.label, enc(v.label));
      assert.equal(decodePacket(buf, { keyring, labelPolicy: { label: enc('other') } }).ok, false);
      const other = decodePacket(buf, { keyring, labelPolicy: { label: enc('other') } });
      assert.equal(!other.ok && other.reason, 'label-mismatch');
      const none = decodePacket(buf, { keyring });
      assert.equal(!none.ok && none.reason, 'label-unexpected');
      if (keyring) {
        // The label is authenticated: the same envelope under another label of the same length
        // (accepted by the header check) fails the AES-GCM tag.
        const swapped = buf.slice();
        swapped[2] = swapped[2]! ^ 0x20; // "blah" -> "Blah"
        const r = decodePacket(swapped, { keyring, labelPolicy: { label: enc('Blah') } });
        assert.equal(!r.ok && r.reason, 'auth-failed');
        // And stripping the header (an unlabelled packet to a node that accepts those) fails too.
        const stripped = buf.subarray(2 + v.label.length);
        const s = decodePacket(stripped, {
          keyring,
          labelPolicy: { label: enc(v.label), acceptUnlabeled: true },
        });
        assert.equal(!s.ok && s.reason, 'auth-failed');
      }
    });
  }

  for (const v of oracle.filter((x) => x.transport === 'tcp')) {
    it(`${v.name}: a push-pull, authenticated with the label`, () => {
      const buf = fromHex(v.hex);
      const keyring = v.key ? new Keyring([Keyring.parseKey(v.key)]) : undefined;
      const header = readStreamLabel(buf);
      assert.ok(header !== 'incomplete' && header.ok);
      const isRequest = v.name.includes('request');
      assert.equal(new TextDecoder().decode(header.value.label), isRequest ? v.label : '');
      const rest = buf.subarray(header.value.offset);
      const r = decodeStreamMessage(rest, { keyring, label: enc(v.label) });
      assert.equal(r.status, 'ok', r.status === 'error' ? r.failure.detail : '');
      if (r.status === 'ok') assert.equal(r.message.type, 'pushPull');
      if (keyring) {
        const noLabel = decodeStreamMessage(rest, { keyring });
        assert.equal(noLabel.status === 'error' && noLabel.failure.reason, 'auth-failed');
      }
    });
  }
});

describe('label header: our encoder', () => {
  const key = Keyring.parseKey('AAECAwQFBgcICQoLDA0ODw==');
  const ping = encodeMessage({
    type: 'ping',
    body: { seqNo: 7, node: 'b', sourceAddr: new Uint8Array([127, 0, 0, 1]), sourcePort: 1, sourceNode: 'a' },
  });

  it('puts the header outside the envelope and the label in the AAD, as memberlist 0.3 does', () => {
    const keyring = new Keyring([key]);
    const label = enc('blah');
    const packet = encodePacket([ping], { keyring, label, compress: false });
    assert.deepEqual(packet.subarray(0, 6), build(LABEL_MSG_TYPE, 4, 'blah'));
    assert.equal(packet[6], 1, 'then the v1 envelope');
    const opened = keyring.decryptPayload(packet.subarray(6), label);
    assert.ok(opened.ok);
    assert.deepEqual(opened.value.plaintext, ping);
    assert.equal(keyring.decryptPayload(packet.subarray(6)).ok, false, 'no AAD: the tag fails');
    const back = decodePacket(packet, { keyring, labelPolicy: { label } });
    assert.ok(back.ok);
    assert.equal(back.value.messages[0]?.type, 'ping');
  });

  it('sends exactly the 0.2.x bytes without a label', () => {
    const a = encodePacket([ping], { compress: false });
    const b = encodePacket([ping], { compress: false, label: new Uint8Array(0) });
    assert.deepEqual(a, b);
    assert.deepEqual(a, ping);
  });

  it('stream frames carry the label after the 5 header bytes in the AAD', () => {
    const keyring = new Keyring([key]);
    const label = enc('blah');
    const framed = encodeStreamMessage(encodePushPull(true, [], new Uint8Array(0)), { keyring, label });
    assert.equal(framed[0], MessageType.encrypt);
    const withLabel = decodeStreamMessage(framed, { keyring, label });
    assert.equal(withLabel.status, 'ok');
    const without = decodeStreamMessage(framed, { keyring });
    assert.equal(without.status === 'error' && without.failure.reason, 'auth-failed');
    const wrong = decodeStreamMessage(framed, { keyring, label: enc('blaH') });
    assert.equal(wrong.status === 'error' && wrong.failure.reason, 'auth-failed');
  });
});
