import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { SeededRandom, TimerHeap, VirtualClock } from '../../src/runtime/index.ts';

describe('VirtualClock', () => {
  it('runs due timers in (time, scheduling order) and never early', () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.setTimer(10, () => log.push(`a@${clock.now()}`));
    clock.setTimer(5, () => log.push(`b@${clock.now()}`));
    clock.setTimer(10, () => log.push(`c@${clock.now()}`));
    const d = clock.setTimer(7, () => log.push('d'));
    d.cancel();
    clock.advance(9);
    assert.deepEqual(log, ['b@5']);
    assert.equal(clock.now(), 9);
    clock.advance(1);
    assert.deepEqual(log, ['b@5', 'a@10', 'c@10']);
  });

  it('lets go of a cancelled timer at once, not when its time comes', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const clock = new VirtualClock();
    // What the callback holds (a stream and a decoded member list, in the simulator).
    let held: WeakRef<object> | undefined;
    const timer = (() => {
      const big = { members: new Array(1000).fill('x') };
      held = new WeakRef(big);
      return clock.setTimer(10_000, () => big.members.push('y'));
    })();
    timer.cancel();
    assert.equal(clock.pendingTimers, 1, 'still in the heap until its time');
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(held!.deref(), undefined, 'its callback and what it held are collected');
    clock.advance(10_000);
    assert.equal(clock.pendingTimers, 0);
  });

  it('runs timers scheduled by timers within the same advance', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const tick = () => {
      seen.push(clock.now());
      if (seen.length < 5) clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    clock.advance(1000);
    assert.deepEqual(seen, [100, 200, 300, 400, 500]);
  });
});

describe('TimerHeap', () => {
  it('pops in (time, seq) order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 })), (times) => {
        const heap = new TimerHeap<{ time: number; seq: number }>();
        for (const [seq, time] of times.entries()) heap.push({ time, seq });
        const out: { time: number; seq: number }[] = [];
        for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e);
        const sorted = times
          .map((time, seq) => ({ time, seq }))
          .sort((a, b) => a.time - b.time || a.seq - b.seq);
        assert.deepEqual(out, sorted);
      }),
      { numRuns: 500 },
    );
  });
});

describe('SeededRandom', () => {
  it('is reproducible from its seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const xs = Array.from({ length: 8 }, () => a.uint32());
    assert.deepEqual(
      xs,
      Array.from({ length: 8 }, () => b.uint32()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 8 }, () => c.uint32()),
    );
  });

  it('int(n) stays in range and is roughly uniform', () => {
    const r = new SeededRandom(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[r.int(10)]++;
    for (const c of counts) assert.ok(c > 9_500 && c < 10_500, `bucket ${c}`);
  });

  it('float() is in [0, 1) and shuffle keeps every element', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
    }
    const items = Array.from({ length: 100 }, (_, i) => i);
    assert.deepEqual(
      [...r.shuffle([...items])].sort((a, b) => a - b),
      items,
    );
  });
});
