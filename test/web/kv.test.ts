// The dashboard's replicated-state model (web/src/kv.ts): watch events in, per-node maps out;
// a write's spread from /v1/replicas answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KV_KEYS_MAX, KvModel, type KvSpread, spreadProgress } from '../../web/src/kv.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

const set = (node: string, key: string, value: string, version: number, snapshot = false) => ({
  node,
  key,
  value,
  version,
  generation: 1,
  ...(snapshot ? { snapshot: true } : {}),
});

function keysOf(m: KvModel): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const n of m.sortedNodes(undefined))
    out[n.name] = Object.fromEntries([...n.keys].map(([k, v]) => [k, v.value]));
  return out;
}

describe('dashboard kv model', () => {
  it('takes the snapshot, then sets and deletes; a node without keys goes away', () => {
    const m = new KvModel();
    m.apply('set', set('a', 'x', '1', 1, true), T0);
    m.apply('set', set('b', 'y', '2', 4, true), T0);
    assert.equal(m.ready, false);
    m.apply('ready', { token: 't1' }, T0);
    assert.equal(m.ready, true);
    assert.deepEqual(keysOf(m), { a: { x: '1' }, b: { y: '2' } });
    m.apply('set', set('a', 'x', '3', 2), T0 + 10);
    m.apply('set', { ...set('a', 'bin', '', 3), value: undefined, valueBase64: 'aGk=' }, T0 + 11);
    m.apply('delete', { node: 'b', key: 'y', version: 5, generation: 1, cause: 'deleted' }, T0 + 12);
    assert.deepEqual(keysOf(m), { a: { x: '3', bin: 'hi' } });
    assert.equal(m.keyCount, 2);
    assert.equal(m.nodes.get('a')!.version, 3);
    assert.equal(m.nodes.get('a')!.keys.get('x')!.changedAt, T0 + 10);
  });

  it('a snapshot after a reconnect replaces what it held once its ready arrives', () => {
    const m = new KvModel();
    m.apply('set', set('a', 'x', '1', 1, true), T0);
    m.apply('set', set('a', 'gone', '1', 2, true), T0);
    m.apply('ready', { token: 't1' }, T0);
    m.apply('set', set('a', 'x', '2', 3, true), T0);
    // Until its ready, the page still shows the old view.
    assert.deepEqual(keysOf(m), { a: { x: '1', gone: '1' } });
    m.apply('ready', { token: 't9' }, T0);
    assert.deepEqual(keysOf(m), { a: { x: '2' } });
    assert.equal(m.keyCount, 1);
  });

  it('holds at most KV_KEYS_MAX keys and counts the rest; malformed events change nothing', () => {
    const m = new KvModel();
    for (let i = 0; i < KV_KEYS_MAX + 3; i++) m.apply('set', set('a', `k${i}`, 'v', i + 1), T0);
    assert.equal(m.keyCount, KV_KEYS_MAX);
    assert.equal(m.dropped, 3);
    const before = m.revision;
    m.apply('set', { node: 'a', key: 1 }, T0);
    m.apply('set', null, T0);
    m.apply('delete', 'nonsense', T0);
    m.apply('something-new', {}, T0);
    assert.equal(m.revision, before);
  });

  it('lists the local node first', () => {
    const m = new KvModel();
    for (const n of ['c', 'b', 'a']) m.apply('set', set(n, 'k', 'v', 1), T0);
    assert.deepEqual(
      m.sortedNodes('b').map((n) => n.name),
      ['b', 'a', 'c'],
    );
  });
});

describe('dashboard kv spread', () => {
  const start: KvSpread = {
    key: 'k',
    value: 'v',
    node: 'a',
    version: 7,
    generation: 2,
    at: T0,
    reached: new Map(),
    done: false,
    error: undefined,
  };
  const answer = (...r: [string, number, number][]) => ({
    node: 'a',
    replicas: r.map(([node, generation, version]) => ({ node, generation, version })),
  });

  it('marks each node when it first holds the write, and is done when all do', () => {
    let s = spreadProgress(start, answer(['a', 2, 7], ['b', 2, 6], ['c', 1, 99]), T0 + 40);
    assert.deepEqual(
      [...s.reached],
      [
        ['a', 40],
        ['b', undefined],
        ['c', undefined],
      ],
    );
    assert.equal(s.done, false);
    s = spreadProgress(s, answer(['a', 2, 8], ['b', 2, 7], ['c', 3, 1]), T0 + 300);
    assert.deepEqual(
      [...s.reached],
      [
        ['a', 40],
        ['b', 300],
        ['c', 300],
      ],
    );
    assert.equal(s.done, true);
    assert.equal(spreadProgress(start, { nope: 1 }, T0), start);
  });
});
