// The dashboard's formatting, ring layout and query-line parsing (web/src).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQueryLine, parseStats, parseTime } from '../../web/src/api-types.ts';
import { ago, bytes, compact, duration, rtt } from '../../web/src/format.ts';
import { LABELS_MAX, labelPlacement, ringLayout } from '../../web/src/layout.ts';

describe('format', () => {
  it('compact', () => {
    const cases: Array<[number | undefined, string]> = [
      [undefined, '—'],
      [0, '0'],
      [3.25, '3.3'],
      [42, '42'],
      [999.6, '1000'],
      [1234, '1.2k'],
      [15_400, '15k'],
      [2_500_000, '2.5M'],
    ];
    for (const [n, want] of cases) assert.equal(compact(n), want, String(n));
  });

  it('bytes', () => {
    const cases: Array<[number, string]> = [
      [0, '0 B'],
      [1023, '1023 B'],
      [1536, '1.5 KiB'],
      [10 * 1024 * 1024, '10 MiB'],
      [200 * 1024, '200 KiB'],
    ];
    for (const [n, want] of cases) assert.equal(bytes(n), want, String(n));
  });

  it('duration and ago', () => {
    assert.equal(duration(850), '850 ms');
    assert.equal(duration(4200), '4.2 s');
    assert.equal(duration(185_000), '3m 05s');
    assert.equal(duration(2 * 3600_000 + 7 * 60_000), '2h 07m');
    assert.equal(duration(3 * 86400_000 + 4 * 3600_000), '3d 4h');
    assert.equal(duration(-1), '—');
    assert.equal(ago(1000, 1500), 'just now');
    assert.equal(ago(0, 12_400), '12 s ago');
    assert.equal(rtt(0.42), '0.4 ms');
    assert.equal(rtt(12.6), '13 ms');
  });
});

describe('ringLayout', () => {
  it('puts the local node at the top and the others clockwise by name', () => {
    const L = ringLayout(['c', 'local', 'a', 'b'], 'local', 400);
    assert.deepEqual(
      L.nodes.map((n) => n.name),
      ['local', 'a', 'b', 'c'],
    );
    const top = L.nodes[0]!;
    assert.ok(Math.abs(top.x - 200) < 1e-9 && top.y < 200, 'local at the top');
    const right = L.nodes[1]!;
    assert.ok(right.x > 200, 'clockwise: the next node is to the right');
    assert.equal(L.showLabels, true);
  });

  it('keeps neighbours apart and drops labels on a crowded ring', () => {
    for (const n of [1, 2, 8, LABELS_MAX, LABELS_MAX + 1, 200]) {
      const names = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`);
      const L = ringLayout(names, undefined, 400);
      assert.equal(L.nodes.length, n);
      assert.equal(L.showLabels, n <= LABELS_MAX);
      if (n > 1) {
        const a = L.nodes[0]!;
        const b = L.nodes[1]!;
        const gap = Math.hypot(a.x - b.x, a.y - b.y);
        assert.ok(gap >= 2 * L.nodeRadius || L.nodeRadius === 2.5, `n=${n}: dots do not overlap`);
      }
    }
  });

  it('dedupes names and anchors labels away from the centre', () => {
    const L = ringLayout(['a', 'a', 'b', 'c', 'd'], 'a');
    assert.equal(L.nodes.length, 4);
    assert.equal(labelPlacement(L.nodes[0]!, L, 8).anchor, 'middle');
    assert.equal(labelPlacement(L.nodes[1]!, L, 8).anchor, 'start');
    assert.equal(labelPlacement(L.nodes[3]!, L, 8).anchor, 'end');
  });
});

describe('api-types', () => {
  it('parses query lines', () => {
    assert.deepEqual(parseQueryLine({ type: 'ack', from: 'n1', elapsedMs: 12 }), {
      type: 'ack',
      from: 'n1',
      elapsedMs: 12,
      at: undefined,
    });
    assert.deepEqual(parseQueryLine({ type: 'done', acks: 3, responses: 0 }), {
      type: 'done',
      acks: 3,
      responses: 0,
    });
    assert.equal(parseQueryLine({ type: 'response', payload: 'x' }), undefined, 'needs from');
    assert.equal(parseQueryLine({ type: 'other', from: 'x' }), undefined);
    assert.equal(parseQueryLine(null), undefined);
  });

  it('parses stats with defaults and times', () => {
    const s = parseStats({ msgsInPerSec: 5, members: { alive: 3, bad: 'x' } }, 42);
    assert.equal(s?.at, 42);
    assert.equal(s?.queueDepth, 0);
    assert.deepEqual(s?.members, { alive: 3 });
    assert.equal(parseTime('2026-11-25T12:00:00Z'), Date.parse('2026-11-25T12:00:00Z'));
    assert.equal(parseTime('not a time'), undefined);
    assert.equal(parseTime(Number.NaN), undefined);
  });
});
