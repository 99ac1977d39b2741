import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/runtime/random.ts';
import {
  DIGEST_FANOUT_BITS,
  DIGEST_MAX_DEPTH,
  DigestTree,
  inRange,
  nameHashes,
  summaryHash,
} from '../../src/state/digest.ts';

interface M {
  name: string;
  h1: number;
  h2: number;
  hashHi: number;
  hashLo: number;
  gen: number;
  max: number;
}

test('digest tree: every range hash and count equal a recomputation from scratch, through adds, updates and removes', () => {
  const random = new SeededRandom(7);
  const tree = new DigestTree<M>();
  const held = new Map<string, M>();
  for (let step = 0; step < 3000; step++) {
    const name = `node-${random.int(400)}`;
    const m = held.get(name);
    if (m === undefined) {
      const [h1, h2] = nameHashes(name);
      const nm: M = { name, h1, h2, hashHi: 0, hashLo: 0, gen: 1 + random.int(3), max: random.int(50) };
      tree.add(nm, nm.gen, nm.max);
      held.set(name, nm);
    } else if (random.chance(0.2)) {
      tree.remove(m);
      held.delete(name);
    } else {
      m.max += 1 + random.int(5);
      tree.update(m, m.gen, m.max);
    }
    if (step % 100 !== 0) continue;
    for (let depth = 0; depth <= DIGEST_MAX_DEPTH; depth++) {
      for (let k = 0; k < 8; k++) {
        const index = depth === 0 ? 0 : random.int(2 ** (DIGEST_FANOUT_BITS * depth));
        let hi = 0;
        let lo = 0;
        const inside = [...held.values()].filter((x) => inRange(x.h1, depth, index));
        for (const x of inside) {
          const [a, b] = summaryHash(x.h1, x.h2, x.gen, x.max);
          hi ^= a;
          lo ^= b;
        }
        assert.deepEqual(tree.range(depth, index), {
          hashHi: hi >>> 0,
          hashLo: lo >>> 0,
          count: inside.length,
        });
        assert.deepEqual(
          tree
            .members(depth, index)
            .map((x) => x.name)
            .sort(),
          inside.map((x) => x.name).sort(),
        );
      }
    }
  }
});

test('digest tree: one changed version changes the root; equal sets in any order give equal roots', () => {
  const a = new DigestTree<M>();
  const b = new DigestTree<M>();
  const mk = (name: string, max: number): M => {
    const [h1, h2] = nameHashes(name);
    return { name, h1, h2, hashHi: 0, hashLo: 0, gen: 1, max };
  };
  const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
  const inA = names.map((n, i) => mk(n, i));
  const inB = [...names].reverse().map((n) => mk(n, Number(n.slice(1))));
  for (const m of inA) a.add(m, m.gen, m.max);
  for (const m of inB) b.add(m, m.gen, m.max);
  assert.deepEqual(a.range(0, 0), b.range(0, 0));
  b.update(inB[0]!, 1, 1000);
  assert.notDeepEqual(a.range(0, 0), b.range(0, 0));
});
