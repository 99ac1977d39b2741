/** The shared copies of member values (src/membership/intern.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INTERN_MAX_BYTES,
  INTERN_MAX_ENTRIES,
  internAddress,
  internBytes,
  internName,
  internVsn,
} from '../../src/membership/intern.ts';

describe('intern', () => {
  it('equal bytes share one copy that owns its buffer, never the caller’s array or a view', () => {
    const packet = new Uint8Array(4096).fill(7);
    packet.set([10, 0, 0, 1], 100);
    const view = packet.subarray(100, 104);
    const a = internBytes(view);
    assert.notEqual(a, view);
    assert.deepEqual([...a], [10, 0, 0, 1]);
    assert.equal(a.buffer.byteLength, 4, 'a copy of its own, not pinning the packet');
    const b = internBytes(new Uint8Array([10, 0, 0, 1]));
    assert.equal(b, a);
    packet.fill(0);
    assert.deepEqual([...a], [10, 0, 0, 1], 'the caller’s buffer changing changes nothing');
    assert.equal(internBytes(new Uint8Array(0)).length, 0);
    assert.equal(internBytes(new Uint8Array(0)), internBytes(new Uint8Array(0)));
  });

  it('large values get a copy of their own', () => {
    const big = new Uint8Array(INTERN_MAX_BYTES + 1).fill(1);
    const a = internBytes(big);
    assert.notEqual(a, big);
    assert.notEqual(internBytes(big), a);
    assert.deepEqual(a, big);
  });

  it('is bounded: past the bound it starts over, and values stay correct', () => {
    const first = internBytes(new Uint8Array([1, 2, 3, 250]));
    for (let i = 0; i < INTERN_MAX_ENTRIES + 10; i++) {
      const v = new Uint8Array([(i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255, 99]);
      assert.deepEqual([...internBytes(v)], [...v]);
      assert.equal(internName(`node-${i}`), `node-${i}`);
    }
    const again = internBytes(new Uint8Array([1, 2, 3, 250]));
    assert.deepEqual([...again], [...first]);
  });

  it('strings: equal content, one string', () => {
    const a = internAddress(['10.0.0.1', '7946'].join(':'));
    const b = internAddress(`10.0.0.1:${7946}`);
    assert.equal(a, b);
    assert.equal(internName('n1'), 'n1');
  });

  it('version vectors: six entries, zero-padded, frozen and shared', () => {
    const a = internVsn([1, 5, 2, 2, 5, 5]);
    const b = internVsn([1, 5, 2, 2, 5, 5, 9]);
    assert.equal(a, b);
    assert.deepEqual(a, [1, 5, 2, 2, 5, 5]);
    assert.ok(Object.isFrozen(a));
    assert.deepEqual(internVsn([1, 5]), [1, 5, 0, 0, 0, 0]);
    assert.deepEqual(internVsn([]), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(internVsn([1, 5, 2, 2, 5, 300]), [1, 5, 2, 2, 5, 300]);
  });
});
