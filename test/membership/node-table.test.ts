/**
 * The member table (src/membership/node-state.ts) and its shared entries (intern.ts
 * `internState`).
 *
 * The table keeps a shared, immutable entry and a state-change time per member, in two
 * columns that must move together. It is checked against a reference model: the table as it
 * was before entries were shared, one mutable object per member holding its own time,
 * shuffled with `Random.shuffle`. Random sequences of inserts, updates, resets and random
 * draws, each side with its own generator from the same seed, must leave the same members in
 * the same order with the same times, and draw the same members: the simulator's runs depend
 * on every one of those draws.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { INTERN_MAX_STATES, INTERN_STATES_PER_NAME, internState } from '../../src/membership/intern.ts';
import {
  isDeadOrLeft,
  type NodeState,
  type NodeStatus,
  NodeTable,
  toMember,
} from '../../src/membership/node-state.ts';
import { SeededRandom } from '../../src/runtime/random.ts';

const ADDR = new Uint8Array([10, 0, 0, 1]);
const META = new Uint8Array(0);
const VSN = Object.freeze([1, 5, 2, 2, 5, 4]);

function state(name: string, incarnation: number, status: NodeStatus): NodeState {
  return internState({
    name,
    addr: ADDR,
    port: 7946,
    address: '10.0.0.1:7946',
    meta: META,
    incarnation,
    status,
    vsn: VSN,
  });
}

interface RefEntry {
  name: string;
  incarnation: number;
  status: NodeStatus;
  stateChangeAt: number;
}

/** The table before shared entries: one mutable object per member, its time inside. */
class ReferenceTable {
  list: RefEntry[] = [];
  byName = new Map<string, RefEntry>();

  insert(e: RefEntry, random: SeededRandom): void {
    this.byName.set(e.name, e);
    const n = this.list.length;
    this.list.push(e);
    const offset = n === 0 ? 0 : random.int(n + 1);
    const t = this.list[offset]!;
    this.list[offset] = e;
    this.list[n] = t;
  }

  resetAndShuffle(now: number, olderThanMs: number, random: SeededRandom, keep: string): string[] {
    const forgotten: string[] = [];
    let w = 0;
    for (const n of this.list) {
      const gone = n.status === 'dead' || n.status === 'left';
      if (n.name !== keep && gone && now - n.stateChangeAt > olderThanMs) {
        forgotten.push(n.name);
        this.byName.delete(n.name);
      } else {
        this.list[w++] = n;
      }
    }
    this.list.length = w;
    random.shuffle(this.list);
    return forgotten;
  }

  randomNodes(k: number, random: SeededRandom, exclude: (n: RefEntry) => boolean): RefEntry[] {
    const n = this.list.length;
    const out: RefEntry[] = [];
    if (n === 0 || k <= 0) return out;
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const node = this.list[random.int(n)]!;
      if (exclude(node) || out.includes(node)) continue;
      out.push(node);
    }
    return out;
  }
}

type Op =
  | { op: 'insert'; name: number; status: NodeStatus; at: number }
  | { op: 'update'; name: number; incarnation: number; status: NodeStatus; at: number | null }
  | { op: 'reset'; now: number; olderThan: number; keep: number }
  | { op: 'draw'; k: number; excludeDead: boolean; deadWithinMs: number };

const statusArb = fc.constantFrom<NodeStatus>('alive', 'alive', 'suspect', 'dead', 'left');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      name: fc.integer({ min: 0, max: 40 }),
      status: statusArb,
      at: fc.double({ min: 0, max: 1000, noNaN: true }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      name: fc.integer({ min: 0, max: 40 }),
      incarnation: fc.integer({ min: 0, max: 5 }),
      status: statusArb,
      at: fc.option(fc.double({ min: 0, max: 1000, noNaN: true }), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('reset' as const),
      now: fc.integer({ min: 0, max: 2000 }),
      olderThan: fc.integer({ min: 0, max: 1000 }),
      keep: fc.integer({ min: 0, max: 40 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('draw' as const),
      k: fc.integer({ min: 0, max: 5 }),
      excludeDead: fc.boolean(),
      deadWithinMs: fc.integer({ min: 0, max: 1000 }),
    }),
  },
);

function assertSame(table: NodeTable, ref: ReferenceTable): void {
  assert.equal(table.size, ref.list.length);
  assert.deepEqual(
    table.list.map((n, i) => [n.name, n.incarnation, n.status, table.stateChangeAtIndex(i)]),
    ref.list.map((e) => [e.name, e.incarnation, e.status, e.stateChangeAt]),
  );
  for (const e of ref.list) {
    assert.equal(table.get(e.name)?.incarnation, e.incarnation);
    assert.equal(table.stateChangeAt(e.name), e.stateChangeAt);
    assert.equal(table.member(e.name)?.stateChangeAt, e.stateChangeAt);
  }
  // Names never inserted, or forgotten by a reset, are not found.
  for (let i = 0; i <= 41; i++) {
    const name = `m${i}`;
    if (ref.byName.has(name)) continue;
    assert.equal(table.get(name), undefined, name);
    assert.equal(table.stateChangeAt(name), undefined, name);
  }
}

describe('NodeTable', () => {
  it('keeps the same members, order, times and random draws as one object per member', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 200 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer(),
        (ops, seed, hashSeed) => {
          const table = new NodeTable(hashSeed);
          const ref = new ReferenceTable();
          const r1 = new SeededRandom(seed);
          const r2 = new SeededRandom(seed);
          for (const o of ops) {
            const name = `m${'name' in o ? o.name : o.op === 'reset' ? o.keep : 0}`;
            switch (o.op) {
              case 'insert':
                if (table.get(name) !== undefined) break;
                table.insert(state(name, 0, o.status), o.at, r1);
                ref.insert({ name, incarnation: 0, status: o.status, stateChangeAt: o.at }, r2);
                break;
              case 'update': {
                const e = ref.byName.get(name);
                if (e === undefined) {
                  assert.throws(() => table.update(state(name, o.incarnation, o.status)), RangeError);
                  break;
                }
                table.update(state(name, o.incarnation, o.status), o.at ?? undefined);
                e.incarnation = o.incarnation;
                e.status = o.status;
                if (o.at !== null) e.stateChangeAt = o.at;
                break;
              }
              case 'reset':
                assert.deepEqual(
                  table.resetAndShuffle(o.now, o.olderThan, r1, name),
                  ref.resetAndShuffle(o.now, o.olderThan, r2, name),
                );
                break;
              case 'draw': {
                const now = 1000;
                const a = table.randomNodes(
                  o.k,
                  r1,
                  (n, at) =>
                    (o.excludeDead && isDeadOrLeft(n)) || (n.status === 'dead' && now - at > o.deadWithinMs),
                );
                const b = ref.randomNodes(
                  o.k,
                  r2,
                  (n) =>
                    (o.excludeDead && (n.status === 'dead' || n.status === 'left')) ||
                    (n.status === 'dead' && now - n.stateChangeAt > o.deadWithinMs),
                );
                assert.deepEqual(
                  a.map((n) => n.name),
                  b.map((n) => n.name),
                );
                break;
              }
            }
            assertSame(table, ref);
          }
          // Both generators were drawn from the same number of times.
          assert.equal(r1.int(1 << 30), r2.int(1 << 30));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds every member of a large table by name, through growth, swaps and resets', () => {
    const table = new NodeTable(0x5eed);
    const random = new SeededRandom(3);
    const n = 5000;
    for (let i = 0; i < n; i++) table.insert(state(`big-${i}`, 0, i % 2 === 0 ? 'alive' : 'dead'), i, random);
    assert.throws(() => table.insert(state('big-7', 1, 'alive'), 0, random), RangeError);
    for (let i = 0; i < n; i++) assert.equal(table.stateChangeAt(`big-${i}`), i);
    for (let i = 0; i < n; i += 3) table.update(state(`big-${i}`, 2, 'suspect'), n + i);
    const forgotten = table.resetAndShuffle(10 * n, 1, random, 'none');
    // The dead ones (odd i) that were not made suspect (i a multiple of 3) are forgotten.
    const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 1 && i % 3 !== 0);
    assert.deepEqual(new Set(forgotten), new Set(expected.map((i) => `big-${i}`)));
    assert.equal(table.size, n - expected.length);
    for (let i = 0; i < n; i++) {
      const e = table.get(`big-${i}`);
      if (forgotten.includes(`big-${i}`)) assert.equal(e, undefined);
      else {
        assert.equal(e?.name, `big-${i}`);
        assert.equal(table.stateChangeAt(`big-${i}`), i % 3 === 0 ? n + i : i);
      }
    }
    table.list.forEach((e, i) => {
      assert.equal(table.stateChangeAtIndex(i), table.stateChangeAt(e.name));
    });
  });

  it('hands out public views with their own metadata copy and the time of the last change', () => {
    const table = new NodeTable();
    const meta = new Uint8Array([1, 2, 3]);
    const s = internState({ ...state('a', 3, 'suspect'), meta });
    table.insert(s, 12.5, new SeededRandom(1));
    const m = table.member('a')!;
    assert.equal(m.stateChangeAt, 12.5);
    assert.equal(m.status, 'suspect');
    assert.notEqual(m.meta, s.meta);
    assert.deepEqual(toMember(s, 7).stateChangeAt, 7);
    assert.equal(table.member('b'), undefined);
    assert.equal(table.stateChangeAt('b'), undefined);
  });
});

describe('internState', () => {
  it('shares one frozen entry per content, and tells apart any differing field', () => {
    const a = state('x', 1, 'alive');
    assert.equal(state('x', 1, 'alive'), a);
    assert.ok(Object.isFrozen(a));
    assert.throws(() => {
      (a as { incarnation: number }).incarnation = 2;
    }, TypeError);
    const base = { ...a };
    // Equal content in other arrays is still the same entry.
    assert.equal(internState({ ...base, addr: new Uint8Array([10, 0, 0, 1]), vsn: [1, 5, 2, 2, 5, 4] }), a);
    const variants: Partial<NodeState>[] = [
      { incarnation: 2 },
      { status: 'suspect' },
      { port: 7947, address: '10.0.0.1:7947' },
      { addr: new Uint8Array([10, 0, 0, 2]), address: '10.0.0.2:7946' },
      { meta: new Uint8Array([1]) },
      { vsn: [1, 5, 2, 2, 5, 5] },
    ];
    for (const v of variants) {
      const other = internState({ ...base, ...v });
      assert.notEqual(other, a, JSON.stringify(v));
      assert.equal(internState({ ...base, ...v }), other, 'and that one is shared too');
    }
  });

  it('keeps a few entries per name, and starts over past its bound, staying correct', () => {
    const first = state('y', 0, 'alive');
    for (let i = 1; i <= INTERN_STATES_PER_NAME; i++) state('y', i, 'alive');
    const again = state('y', 0, 'alive');
    assert.notEqual(again, first, 'the oldest of the name was let go');
    assert.deepEqual({ ...again }, { ...first });
    for (let i = 0; i < INTERN_MAX_STATES + 10; i++) {
      const s = state(`z${i}`, 0, 'alive');
      assert.equal(s.name, `z${i}`);
    }
    assert.equal(state('z3', 0, 'alive').name, 'z3');
  });
});
