/**
 * The declarative rotation planner (src/cluster/key-rotation.ts) as a table: from a desired
 * keyring and a cluster-wide listing, the next key operation or why to wait.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KeyResponse, keyringFingerprint, nextRotationStep } from '../../src/cluster/index.ts';

const K1 = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const K2 = 'qVcPhJ8/N7cmmluNxTIke/vSw6NvomA8jMfk5xHKavE=';
const K3 = 'AAECAwQFBgcICQoLDA0ODw==';

function listing(
  keys: Record<string, number>,
  primaryKeys: Record<string, number>,
  numNodes = 3,
  numResp = numNodes,
  numErr = 0,
): KeyResponse {
  return { messages: {}, numNodes, numResp, numErr, keys, primaryKeys, error: undefined };
}

const agree = { disagreeing: [] };

describe('key rotation planner', () => {
  it('install -> use -> remove, one step at a time, from K1 to K2', () => {
    const want = { primary: K2, keys: [K2, K1] };
    assert.deepEqual(nextRotationStep(want, listing({ [K1]: 3 }, { [K1]: 3 }), agree, undefined), {
      op: 'install',
      key: K2,
      reason: '0 of 3 members hold it',
    });
    assert.equal(
      nextRotationStep(want, listing({ [K1]: 3, [K2]: 2 }, { [K1]: 3 }), agree, undefined).op,
      'install',
    );
    assert.deepEqual(nextRotationStep(want, listing({ [K1]: 3, [K2]: 3 }, { [K1]: 3 }), agree, undefined), {
      op: 'use',
      key: K2,
      reason: 'every member holds it; 0 of 3 use it',
    });
    assert.deepEqual(nextRotationStep(want, listing({ [K1]: 3, [K2]: 3 }, { [K2]: 3 }), agree, undefined), {
      op: 'done',
    });
    const only = { primary: K2, keys: [K2] };
    assert.deepEqual(nextRotationStep(only, listing({ [K1]: 3, [K2]: 3 }, { [K2]: 3 }), agree, K2), {
      op: 'remove',
      key: K1,
      reason: 'no longer in the desired keyring',
    });
    assert.deepEqual(nextRotationStep(only, listing({ [K2]: 3 }, { [K2]: 3 }), agree, K2), { op: 'done' });
  });

  it('waits while a member does not answer the listing, and installs nothing', () => {
    const a = nextRotationStep(
      { primary: K2, keys: [K2] },
      listing({ [K1]: 2 }, { [K1]: 2 }, 3, 2),
      agree,
      undefined,
    );
    assert.equal(a.op, 'wait');
    assert.match((a as { reason: string }).reason, /reached 2 of 3 members/);
    const e = nextRotationStep(
      { primary: K2, keys: [K2] },
      listing({ [K1]: 3 }, { [K1]: 3 }, 3, 3, 1),
      agree,
      undefined,
    );
    assert.equal(e.op, 'wait');
  });

  it('installs while others disagree, but neither uses nor removes until they agree', () => {
    const want = { primary: K2, keys: [K2, K1] };
    const split = { disagreeing: ['b', 'c'] };
    assert.equal(nextRotationStep(want, listing({ [K1]: 3 }, { [K1]: 3 }), split, undefined).op, 'install');
    const w = nextRotationStep(want, listing({ [K1]: 3, [K2]: 3 }, { [K1]: 3 }), split, undefined);
    assert.equal(w.op, 'wait');
    assert.match((w as { reason: string }).reason, /members b, c have other key files/);
    const only = { primary: K2, keys: [K2] };
    assert.equal(nextRotationStep(only, listing({ [K1]: 3, [K2]: 3 }, { [K2]: 3 }), split, K2).op, 'wait');
    // Nothing to change: disagreement does not matter.
    assert.equal(
      nextRotationStep(want, listing({ [K1]: 3, [K2]: 3 }, { [K2]: 3 }), split, undefined).op,
      'done',
    );
  });

  it('members that do not report their primary (Serf 0.8): a use that reached everyone counts', () => {
    const want = { primary: K2, keys: [K2] };
    const l = listing({ [K2]: 3 }, { [K2]: 1, '': 2 });
    assert.equal(nextRotationStep(want, l, agree, undefined).op, 'use');
    assert.equal(nextRotationStep(want, l, agree, K2).op, 'done');
    assert.equal(nextRotationStep(want, l, agree, K3).op, 'use', 'a use of another key does not');
  });

  it('fingerprints: the secondaries order does not matter; the primary does', () => {
    const a = keyringFingerprint({ primary: K1, keys: [K1, K2, K3] });
    assert.equal(a, keyringFingerprint({ primary: K1, keys: [K1, K3, K2] }));
    assert.notEqual(a, keyringFingerprint({ primary: K2, keys: [K1, K2, K3] }));
    assert.notEqual(a, keyringFingerprint({ primary: K1, keys: [K1, K2] }));
    assert.match(a, /^[0-9a-f]{12}$/);
  });
});
