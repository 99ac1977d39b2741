import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type Change,
  changeSize,
  type DeltaMessage,
  decodeStateMessage,
  deltaOverhead,
  encodeAsk,
  encodeDelta,
  encodeNotice,
  encodeSync,
  encodeTell,
  encodeUpdate,
  nodeDeltaHeaderSize,
  STATE_MESSAGE_TYPE,
  type SyncItem,
  syncItemSize,
  syncOverhead,
} from '../../src/state/codec.ts';

const change = (key: string, version: number, value: string | null, flags = 0, ttlMs = 0): Change => ({
  key,
  version,
  value: value === null ? null : new TextEncoder().encode(value),
  flags,
  ttlMs,
});

test('state codec: every message kind decodes to what was encoded', () => {
  const update = {
    node: 'web-1',
    gen: 1_723_456_789_012,
    change: change('service/http', 7, '10.0.0.7:80', 1, 30_000),
  };
  const u = decodeStateMessage(encodeUpdate(update));
  assert.ok(u.ok);
  assert.deepEqual(u.value, { kind: 'update', body: update });

  const tomb = { node: 'n', gen: 3, change: change('k', 9, null) };
  const t = decodeStateMessage(encodeUpdate(tomb));
  assert.ok(t.ok);
  assert.deepEqual(t.value, { kind: 'update', body: tomb });

  const ask = { from: 'a', id: 7, node: 'n1' };
  const asked = decodeStateMessage(encodeAsk(ask));
  assert.ok(asked.ok);
  assert.deepEqual(asked.value, { kind: 'ask', body: ask });
  const tell = { from: 'b', id: 7, node: 'n1', gen: 2 ** 41, max: 9 };
  const told = decodeStateMessage(encodeTell(tell));
  assert.ok(told.ok);
  assert.deepEqual(told.value, { kind: 'tell', body: tell });

  const notice = { node: 'n1', gen: 5, version: 123_456 };
  const n = decodeStateMessage(encodeNotice(notice));
  assert.ok(n.ok);
  assert.deepEqual(n.value, { kind: 'notice', body: notice });

  const items: SyncItem[] = [
    { type: 'range', depth: 0, index: 0, hashHi: 0xdeadbeef, hashLo: 1, count: 1000 },
    {
      type: 'leaf',
      depth: 2,
      index: 255,
      nodes: [
        { node: 'a', gen: 1, max: 2, floor: 0 },
        { node: 'ü', gen: 2 ** 40, max: 0, floor: 7 },
      ],
    },
    { type: 'want', node: 'b', gen: 0, max: 0, floor: 0 },
  ];
  const s = decodeStateMessage(encodeSync({ from: 'me', items }));
  assert.ok(s.ok);
  assert.deepEqual(s.value, { kind: 'sync', body: { from: 'me', items } });

  const delta: DeltaMessage = {
    from: 'me',
    more: true,
    nodes: [
      {
        node: 'a',
        gen: 2,
        gc: 3,
        from: 4,
        to: 9,
        max: 12,
        reset: false,
        changes: [change('x', 5, 'v'), change('y', 9, null)],
      },
      { node: 'b', gen: 1, gc: 0, from: 0, to: 0, max: 0, reset: true, changes: [] },
    ],
  };
  const d = decodeStateMessage(encodeDelta(delta));
  assert.ok(d.ok);
  assert.deepEqual(d.value, { kind: 'delta', body: delta });
});

test('state codec: the size helpers are exact, so a budgeted message never overshoots', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          key: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
          value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
          ttl: fc.nat({ max: 2 ** 31 - 1 }),
          flags: fc.nat({ max: 1 }),
        }),
        { maxLength: 20 },
      ),
      fc.nat({ max: 2 ** 40 }),
      (raw, base) => {
        let version = base;
        const changes = raw.map((r) => ({
          key: r.key,
          version: ++version,
          value: r.value,
          flags: r.flags,
          ttlMs: r.ttl,
        }));
        const max = version + 3;
        const msg: DeltaMessage = {
          from: 'node-x',
          more: false,
          nodes: [{ node: 'owner-ñ', gen: 99, gc: 5, from: base, to: version, max, reset: false, changes }],
        };
        const predicted =
          deltaOverhead('node-x') +
          nodeDeltaHeaderSize('owner-ñ', 99, 5, base, max) +
          changes.reduce((n, c) => n + changeSize(c), 0);
        // The header estimate reserves the widest array headers: never less than the encoding.
        assert.ok(encodeDelta(msg).length <= predicted, `${encodeDelta(msg).length} > ${predicted}`);
        assert.ok(predicted - encodeDelta(msg).length <= 16);
      },
    ),
  );
  const items: SyncItem[] = [
    { type: 'range', depth: 3, index: 4095, hashHi: 2 ** 32 - 1, hashLo: 0, count: 70_000 },
    { type: 'want', node: 'n'.repeat(40), gen: 2 ** 41, max: 300, floor: 0 },
  ];
  const predicted = syncOverhead('me') + items.reduce((n, i) => n + syncItemSize(i), 0);
  assert.ok(encodeSync({ from: 'me', items }).length <= predicted);
});

test('state codec: bad input is a decode failure, never a throw', () => {
  const good = [
    encodeUpdate({ node: 'a', gen: 1, change: change('k', 1, 'v') }),
    encodeNotice({ node: 'a', gen: 1, version: 2 }),
    encodeSync({ from: 'a', items: [{ type: 'range', depth: 0, index: 0, hashHi: 1, hashLo: 2, count: 3 }] }),
    encodeDelta({
      from: 'a',
      more: false,
      nodes: [
        { node: 'b', gen: 1, gc: 0, from: 0, to: 1, max: 1, reset: true, changes: [change('k', 1, 'v')] },
      ],
    }),
  ];
  for (const msg of good) {
    for (let cut = 0; cut < msg.length; cut++) {
      const r = decodeStateMessage(msg.subarray(0, cut));
      assert.equal(r.ok, false, `a message cut at ${cut} of ${msg.length} bytes decoded`);
    }
    const trailing = new Uint8Array(msg.length + 1);
    trailing.set(msg);
    const r = decodeStateMessage(trailing);
    assert.ok(!r.ok && r.reason === 'trailing-bytes');
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 6 }), (bytes, kind) => {
      const buf = new Uint8Array(bytes.length + 2);
      buf[0] = STATE_MESSAGE_TYPE;
      buf[1] = kind;
      buf.set(bytes, 2);
      decodeStateMessage(buf);
    }),
  );
  // Out-of-order versions inside a node delta are refused (the gap-free rule starts at the wire).
  const bad = encodeDelta({
    from: 'a',
    more: false,
    nodes: [
      {
        node: 'b',
        gen: 1,
        gc: 0,
        from: 0,
        to: 5,
        max: 5,
        reset: true,
        changes: [change('x', 3, 'v'), change('y', 2, 'w')],
      },
    ],
  });
  const r = decodeStateMessage(bad);
  assert.ok(!r.ok && r.reason === 'bad-value');
});
