/**
 * The pure pieces of the membership layer, table-driven, with the cases of memberlist's own
 * `util_test.go`, `suspicion_test.go`, `awareness_test.go` and `queue_test.go` — on virtual
 * time, so none of them sleeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Awareness,
  BroadcastPriority,
  defaultOptions,
  pushPullScaleMs,
  retransmitLimit,
  Suspicion,
  suspicionTimeoutMs,
  TransmitLimitedQueue,
  validateOptions,
} from '../../src/membership/index.ts';
import { suspicionTimeoutAfter } from '../../src/membership/math.ts';
import { StallableClock, VirtualClock } from '../../src/runtime/index.ts';

describe('math (memberlist util_test.go)', () => {
  it('TestSuspicionTimeout', () => {
    const cases: [number, number][] = [
      [5, 1000],
      [10, 1000],
      [50, 1698],
      [100, 2000],
      [500, 2698],
      [1000, 3000],
    ];
    for (const [n, expected] of cases) assert.equal(suspicionTimeoutMs(3, n, 1000) / 3, expected, `n=${n}`);
  });

  it('TestRetransmitLimit', () => {
    assert.equal(retransmitLimit(3, 0), 0);
    assert.equal(retransmitLimit(3, 1), 3);
    assert.equal(retransmitLimit(3, 99), 6);
    assert.equal(retransmitLimit(4, 3), 4, 'the captured LAN value for 3 nodes');
  });

  it('TestPushPullScale', () => {
    for (let i = 0; i <= 32; i++) assert.equal(pushPullScaleMs(1000, i), 1000);
    for (let i = 33; i <= 64; i++) assert.equal(pushPullScaleMs(1000, i), 2000);
    for (let i = 65; i <= 128; i++) assert.equal(pushPullScaleMs(1000, i), 3000);
  });

  it('TestSuspicion_remainingSuspicionTime', () => {
    const cases: [number, number, number, number, number, number][] = [
      // n, k, elapsed, min, max, expected remaining
      [0, 3, 0, 2000, 30000, 30000],
      [1, 3, 2000, 2000, 30000, 14000],
      [2, 3, 3000, 2000, 30000, 4810],
      [3, 3, 4000, 2000, 30000, -2000],
      [4, 3, 5000, 2000, 30000, -3000],
      [5, 3, 10000, 2000, 30000, -8000],
    ];
    for (const [n, k, elapsed, min, max, expected] of cases) {
      assert.equal(suspicionTimeoutAfter(n, k, min, max) - elapsed, expected, `n=${n}`);
    }
  });

  it('the captured 4-node case: one confirmation brings 24 s down to about 11.4 s', () => {
    const min = suspicionTimeoutMs(4, 4, 1000);
    assert.equal(min, 4000);
    assert.equal(suspicionTimeoutAfter(1, 2, min, 6 * min), 11381);
  });
});

describe('Suspicion (memberlist suspicion_test.go, virtual time)', () => {
  const k = 3;
  const min = 500;
  const max = 2000;
  const cases: { n: number; confirmations: [string, boolean][]; expected: number }[] = [
    { n: 0, confirmations: [], expected: max },
    {
      n: 1,
      confirmations: [
        ['me', false],
        ['foo', true],
      ],
      expected: 1250,
    },
    {
      n: 1,
      confirmations: [
        ['me', false],
        ['foo', true],
        ['foo', false],
        ['foo', false],
      ],
      expected: 1250,
    },
    // Go's test allows ±25 ms around 810; the exact value is floor(1000 × (2 − ln3/ln4 × 1.5)) = 811.
    {
      n: 2,
      confirmations: [
        ['me', false],
        ['foo', true],
        ['bar', true],
      ],
      expected: 811,
    },
    {
      n: 3,
      confirmations: [
        ['me', false],
        ['foo', true],
        ['bar', true],
        ['baz', true],
      ],
      expected: min,
    },
    {
      n: 3,
      confirmations: [
        ['me', false],
        ['foo', true],
        ['bar', true],
        ['baz', true],
        ['zoo', false],
      ],
      expected: min,
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(`TestSuspicion_Timer case ${i}: ${c.n} confirmations fire at ${c.expected} ms`, () => {
      const clock = new VirtualClock();
      const fired: { at: number; n: number }[] = [];
      const s = new Suspicion(clock, 'me', k, min, max, (n) => fired.push({ at: clock.now(), n }));
      for (const [from, isNew] of c.confirmations) {
        clock.advance(25);
        assert.equal(s.confirm(from), isNew, from);
      }
      clock.runUntil(c.expected - 1);
      assert.deepEqual(fired, []);
      clock.runUntil(c.expected);
      assert.deepEqual(fired, [{ at: c.expected, n: c.n }]);
      // A late confirmation neither fires again nor throws.
      s.confirm('late');
      clock.advance(c.expected * 2);
      assert.equal(fired.length, 1);
    });
  }

  it('TestSuspicion_Timer_ZeroK: starts at min, confirmations add nothing', () => {
    const clock = new VirtualClock();
    let at = -1;
    const s = new Suspicion(clock, 'me', 0, 25, 30000, () => {
      at = clock.now();
    });
    assert.equal(s.confirm('foo'), false);
    clock.advance(50);
    assert.equal(at, 25);
  });

  it('TestSuspicion_Timer_Immediate: a confirmation past the new timeout fires at once', () => {
    const clock = new VirtualClock();
    let at = -1;
    const s = new Suspicion(clock, 'me', 1, 100, 30000, () => {
      at = clock.now();
    });
    clock.advance(200);
    s.confirm('foo');
    clock.advance(0);
    assert.equal(at, 200);
  });

  it('a timer that fires later than stallGraceMs waits one turn, in which a refutation cancels it', () => {
    const base = new VirtualClock();
    const clock = new StallableClock(base);
    const fired: number[] = [];
    const onTime = new Suspicion(clock, 'me', 0, 100, 1000, () => fired.push(clock.now()), 50);
    base.runUntil(100);
    assert.deepEqual(fired, [100], 'on time: declares at once');

    const refuted = new Suspicion(clock, 'me', 0, 100, 1000, () => fired.push(clock.now()), 50);
    clock.stall(300); // 100..400: the deadline (200) passes in the stall
    // The refutation arrived during the stall; it is read once the stall ends (the defer is
    // queued after the timer's own re-arm, as Node.js reads sockets after due timers).
    base.setTimer(150, () => clock.defer(() => refuted.cancel()));
    base.runUntil(1000);
    assert.deepEqual(fired, [100], 'late by 200 ms: the refutation read in the extra turn wins');

    const unrefuted = new Suspicion(clock, 'me', 0, 100, 1000, () => fired.push(clock.now()), 50);
    clock.stall(300); // 1000..1300
    base.runUntil(2000);
    assert.deepEqual(fired, [100, 1300], 'late and not refuted: declares one turn later');
    assert.ok(onTime && unrefuted);
  });
});

describe('Awareness (memberlist awareness_test.go)', () => {
  it('clamps to [0, max-1] and scales timeouts by score+1', () => {
    const cases: [number, number, number][] = [
      // delta, score, timeout (ms, base 1000)
      [0, 0, 1000],
      [-1, 0, 1000],
      [-10, 0, 1000],
      [1, 1, 2000],
      [-1, 0, 1000],
      [10, 7, 8000],
      [-1, 6, 7000],
      [-1, 5, 6000],
      [-1, 4, 5000],
      [-1, 3, 4000],
      [-1, 2, 3000],
      [-1, 1, 2000],
      [-1, 0, 1000],
      [-1, 0, 1000],
    ];
    const a = new Awareness(8);
    for (const [delta, score, timeout] of cases) {
      a.applyDelta(delta);
      assert.equal(a.score, score);
      assert.equal(a.scaleTimeout(1000), timeout);
    }
  });
});

describe('TransmitLimitedQueue (memberlist queue_test.go)', () => {
  /** A queue with a fixed retransmit multiplier and cluster size. */
  const queueOf = (mult: number, nodes: number, maxDepth: number) =>
    new TransmitLimitedQueue(
      () => mult,
      () => nodes,
      maxDepth,
    );

  const bytes = (s: string) => new TextEncoder().encode(s);
  const text = (b: Uint8Array[]) => b.map((x) => new TextDecoder().decode(x));

  it('a named broadcast replaces the queued one with the same name', () => {
    const q = queueOf(1, 1, 100);
    const how: string[] = [];
    q.queue(bytes('test'), { name: 'test', finished: (h) => how.push(h) });
    q.queue(bytes('foo'), { name: 'foo' });
    q.queue(bytes('bar'), { name: 'bar' });
    assert.equal(q.length, 3);
    q.queue(bytes('test2'), { name: 'test' });
    assert.equal(q.length, 3);
    assert.deepEqual(how, ['replaced']);
  });

  it('hands out fewest transmits first, then larger, then newer; drops at the retransmit limit', () => {
    // limit = 1 × ceil(log10(10 + 1)) = 2 transmits
    const q = queueOf(1, 10, 100);
    q.queue(bytes('test'), { name: 'test' });
    q.queue(bytes('foo'), { name: 'foo' });
    q.queue(bytes('bar'), { name: 'bar' });
    // 2 bytes overhead each; 'test' (4) fits in 80 with everything.
    // Equal transmits: larger first ('test'), then newer first ('bar' before 'foo').
    assert.deepEqual(text(q.getBroadcasts(2, 80)), ['test', 'bar', 'foo']);
    assert.deepEqual(text(q.getBroadcasts(3, 80)), ['test', 'bar', 'foo']);
    assert.equal(q.length, 0, 'each message sent twice is done');
  });

  it('fills a limited packet greedily and leaves the rest for the next', () => {
    const q = queueOf(3, 10, 100);
    q.queue(bytes('1234'), { name: 'a' });
    q.queue(bytes('12345678'), { name: 'b' });
    q.queue(bytes('12'), { name: 'c' });
    // Larger first: 8 + 2 overhead = 10, then 4 + 2 = 6 → 16; 2 + 2 = 4 would exceed 18.
    assert.deepEqual(text(q.getBroadcasts(2, 18)), ['12345678', '1234']);
    // Fewest transmits first ('12', never sent), then the larger of the rest while they fit.
    assert.deepEqual(text(q.getBroadcasts(2, 18)), ['12', '12345678']);
  });

  it('our leave and refutations go before everything else', () => {
    const q = queueOf(4, 10, 100);
    q.queue(bytes('a-big-ordinary-message'), { name: 'x' });
    q.queue(bytes('refute'), { name: 'me', priority: BroadcastPriority.self });
    q.queue(bytes('leave'), { name: 'me2', priority: BroadcastPriority.leave });
    assert.deepEqual(text(q.getBroadcasts(2, 20)), ['leave', 'refute']);
  });

  it('prune keeps the least-transmitted and reports the drops', () => {
    const q = queueOf(10, 10, 100);
    const dropped: string[] = [];
    for (const s of ['a', 'b', 'c'])
      q.queue(bytes(s), { finished: (h) => h === 'dropped' && dropped.push(s) });
    q.getBroadcasts(0, 1); // transmits 'c' (newest) once
    q.prune(2);
    assert.equal(q.length, 2);
    assert.deepEqual(dropped, ['c']);
  });

  it('is bounded: queueing beyond maxDepth prunes', () => {
    const q = queueOf(4, 10, 10);
    for (let i = 0; i < 50; i++) q.queue(bytes(`m${i}`));
    assert.equal(q.length, 10);
    assert.equal(q.prunedCount, 40);
  });
});

describe('options', () => {
  it('presets match memberlist, and bad values are named with the fix', () => {
    const lan = defaultOptions('n', 'lan');
    assert.equal(lan.probeIntervalMs, 1000);
    assert.equal(lan.suspicionMult, 4);
    assert.equal(defaultOptions('n', 'wan').probeTimeoutMs, 3000);
    assert.equal(defaultOptions('n', 'local').indirectChecks, 1);
    assert.throws(
      () => validateOptions({ ...lan, gossipNodes: -1 }),
      /gossipNodes: expected a whole number >= 0.*got -1/,
    );
    assert.throws(() => validateOptions({ ...lan, name: '' }), /name: a node needs a non-empty name/);
    assert.throws(
      () => validateOptions({ ...lan, probeTimeoutMs: 2000 }),
      /probeTimeoutMs: must not exceed probeIntervalMs \(1000\); got 2000/,
    );
  });
});
