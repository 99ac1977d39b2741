/**
 * The broadcast queue against a reference model: the straightforward implementation that
 * re-sorts the whole queue before every hand-out (the rule at the top of queue.ts). Random
 * sequences of queue / getBroadcasts / prune must hand out the same messages in the same
 * order and report the same `finished` callbacks, in the same order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { retransmitLimit } from '../../src/membership/math.ts';
import { TransmitLimitedQueue } from '../../src/membership/queue.ts';

interface RefItem {
  message: Uint8Array;
  name: string | undefined;
  priority: number;
  transmits: number;
  id: number;
  finished: ((how: 'sent' | 'replaced' | 'dropped') => void) | undefined;
}

/** The reference: sort everything, then scan. */
class ReferenceQueue {
  items: RefItem[] = [];
  byName = new Map<string, RefItem>();
  nextId = 0;
  prunedCount = 0;
  constructor(
    readonly mult: () => number,
    readonly numNodes: () => number,
    readonly maxDepth: number,
  ) {}

  queue(
    message: Uint8Array,
    options: {
      name?: string;
      priority?: number;
      finished?: (how: 'sent' | 'replaced' | 'dropped') => void;
    },
  ): void {
    const name = options.name;
    if (name !== undefined) {
      const old = this.byName.get(name);
      if (old !== undefined) {
        this.remove(old);
        old.finished?.('replaced');
      }
    }
    const item: RefItem = {
      message,
      name,
      priority: options.priority ?? 0,
      transmits: 0,
      id: this.nextId++,
      finished: options.finished,
    };
    this.items.push(item);
    if (name !== undefined) this.byName.set(name, item);
    if (this.items.length > this.maxDepth) this.prune(this.maxDepth);
  }

  remove(item: RefItem): void {
    const i = this.items.indexOf(item);
    if (i >= 0) this.items.splice(i, 1);
    if (item.name !== undefined && this.byName.get(item.name) === item) this.byName.delete(item.name);
  }

  sort(): void {
    this.items.sort(
      (a, b) =>
        b.priority - a.priority ||
        a.transmits - b.transmits ||
        b.message.length - a.message.length ||
        b.id - a.id,
    );
  }

  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.items.length === 0) return [];
    this.sort();
    const transmitLimit = retransmitLimit(this.mult(), this.numNodes());
    const out: Uint8Array[] = [];
    const done: RefItem[] = [];
    let used = 0;
    for (const item of this.items) {
      const cost = overhead + item.message.length;
      if (used + cost > limit) {
        if (limit - used < overhead + 1) break;
        continue;
      }
      used += cost;
      out.push(item.message);
      item.transmits++;
      if (item.transmits >= transmitLimit) done.push(item);
    }
    for (const item of done) {
      this.remove(item);
      item.finished?.('sent');
    }
    return out;
  }

  prune(maxRetain: number): void {
    if (this.items.length <= maxRetain) return;
    this.sort();
    const dropped = this.items.splice(maxRetain);
    for (const item of dropped) {
      if (item.name !== undefined && this.byName.get(item.name) === item) this.byName.delete(item.name);
      this.prunedCount++;
      item.finished?.('dropped');
    }
  }
}

type Op =
  | { op: 'queue'; length: number; name: number | null; priority: number }
  | { op: 'get'; overhead: number; limit: number }
  | { op: 'prune'; keep: number }
  | { op: 'nodes'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('queue' as const),
      length: fc.integer({ min: 0, max: 40 }),
      name: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
      priority: fc.constantFrom(0, 0, 0, 1, 2),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('get' as const),
      overhead: fc.integer({ min: 0, max: 3 }),
      limit: fc.integer({ min: -5, max: 160 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('prune' as const), keep: fc.integer({ min: 0, max: 20 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('nodes' as const), n: fc.integer({ min: 1, max: 2000 }) }),
  },
);

describe('TransmitLimitedQueue against a re-sorting reference', () => {
  it('hands out the same messages in the same order, with the same callbacks', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 40 }),
        (ops, mult, maxDepth) => {
          let nodes = 10;
          const q = new TransmitLimitedQueue(
            () => mult,
            () => nodes,
            maxDepth,
          );
          const ref = new ReferenceQueue(
            () => mult,
            () => nodes,
            maxDepth,
          );
          const got: string[] = [];
          const want: string[] = [];
          let serial = 0;
          for (const o of ops) {
            switch (o.op) {
              case 'queue': {
                const tag = serial++;
                const message = new Uint8Array(o.length).fill(tag & 255);
                const name = o.name === null ? undefined : `m${o.name}`;
                q.queue(message, { name, priority: o.priority, finished: (h) => got.push(`${tag}:${h}`) });
                ref.queue(message, { name, priority: o.priority, finished: (h) => want.push(`${tag}:${h}`) });
                break;
              }
              case 'get': {
                const a = q.getBroadcasts(o.overhead, o.limit);
                const b = ref.getBroadcasts(o.overhead, o.limit);
                assert.equal(a.length, b.length);
                for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
                break;
              }
              case 'prune':
                q.prune(o.keep);
                ref.prune(o.keep);
                break;
              case 'nodes':
                nodes = o.n;
                break;
            }
            assert.deepEqual(got, want);
            assert.equal(q.length, ref.items.length);
            assert.equal(
              q.bytes,
              ref.items.reduce((n, it) => n + it.message.length, 0),
            );
            assert.equal(q.prunedCount, ref.prunedCount);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a finished callback that queues again sees a consistent queue', () => {
    const q = new TransmitLimitedQueue(
      () => 1,
      () => 1,
      100,
    );
    const log: string[] = [];
    q.queue(new Uint8Array(3), {
      name: 'a',
      finished: (h) => {
        log.push(`a:${h}`);
        // replaces b, which was handed out its last time in the same call
        q.queue(new Uint8Array(1), { name: 'b', finished: (h2) => log.push(`b2:${h2}`) });
      },
    });
    q.queue(new Uint8Array(2), { name: 'b', finished: (h) => log.push(`b:${h}`) });
    assert.equal(q.getBroadcasts(0, 100).length, 2);
    // As the re-sorting queue did: b is replaced inside a's callback, then reported sent.
    assert.deepEqual(log, ['a:sent', 'b:replaced', 'b:sent']);
    assert.equal(q.length, 1);
    assert.equal(q.getBroadcasts(0, 100).length, 1);
    assert.deepEqual(log.at(-1), 'b2:sent');
    assert.equal(q.length, 0);
  });
});
