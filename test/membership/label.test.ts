/**
 * Cluster labels in the membership layer, on the in-memory network (virtual time, encrypted, so
 * the label is also authenticated data): adding a label to a running cluster in three rolling
 * steps never splits it and drops nothing; skipping the first step fails loudly; at the end the
 * cluster refuses unlabelled and other-labelled joiners, counting why.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MemberlistInit } from '../../src/membership/index.ts';
import { Keyring } from '../../src/wire/index.ts';
import { type Harness, memoryHarness, type TestNode } from '../support/cluster.ts';

const KEY = Keyring.parseKey('aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=');
const SIZE = 3;

const PLAIN: Partial<MemberlistInit> = {};
const STEP1: Partial<MemberlistInit> = {
  label: 'prod',
  labelAcceptUnlabeled: true,
  labelSendUnlabeled: true,
};
const STEP2: Partial<MemberlistInit> = { label: 'prod', labelAcceptUnlabeled: true };
const STEP3: Partial<MemberlistInit> = { label: 'prod' };

function labelDrops(nodes: TestNode[]): number {
  let n = 0;
  for (const node of nodes)
    for (const [reason, count] of Object.entries(node.ml.stats.dropped))
      if (reason.startsWith('label-')) n += count;
  return n;
}

function aliveEverywhere(nodes: TestNode[], expected: number): boolean {
  return nodes.every((n) => n.ml.members().filter((m) => m.status === 'alive').length === expected);
}

describe('cluster label: membership on the in-memory network', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
  });
  const add = (h: Harness, name: string, options: Partial<MemberlistInit>) =>
    h.addNode(name, { keyring: new Keyring([KEY]), ...options });

  it('a label is added to a running cluster in three rolling steps without a split or a drop', async () => {
    const h = memoryHarness(11);
    harnesses.push(h);
    const live: TestNode[] = [];
    for (let i = 0; i < SIZE; i++) live.push(await add(h, `plain-${i}`, PLAIN));
    await h.drive(Promise.all(live.slice(1).map((n) => n.ml.join([live[0]!.ml.localNode.address]))));
    await h.waitFor('the plain cluster', () => aliveEverywhere(live, SIZE), 30_000);
    for (const [step, options] of [
      ['step1', STEP1],
      ['step2', STEP2],
      ['step3', STEP3],
    ] as const) {
      // Replace the members one at a time, each newcomer joining through a current member.
      for (let i = 0; i < SIZE; i++) {
        const n = await add(h, `${step}-${i}`, options);
        await h.drive(n.ml.join([live.at(-1)!.ml.localNode.address]));
        live.push(n);
        await h.waitFor(`${n.name} to be seen by all`, () => aliveEverywhere(live, live.length), 30_000);
        const gone = live.shift()!;
        await h.crash(gone);
        await h.waitFor(`${gone.name} to be declared dead`, () => aliveEverywhere(live, live.length), 60_000);
      }
      assert.equal(labelDrops(live), 0, `${step}: no input was dropped for its label`);
    }
    // Strict now: unlabelled and other-labelled nodes stay out, and say why.
    const outsider = await add(h, 'outsider', PLAIN);
    await assert.rejects(h.drive(outsider.ml.join([live[0]!.ml.localNode.address])));
    const stranger = await add(h, 'stranger', { label: 'staging' });
    await assert.rejects(h.drive(stranger.ml.join([live[0]!.ml.localNode.address])));
    await h.run(2000);
    assert.ok((live[0]!.ml.stats.dropped['label-missing'] ?? 0) > 0, 'the unlabelled join was counted');
    assert.ok((live[0]!.ml.stats.dropped['label-mismatch'] ?? 0) > 0, 'the other label was counted');
    assert.ok(aliveEverywhere(live, SIZE), 'the labelled cluster is unchanged');
  });

  it('skipping the first step: a labelled newcomer cannot join an unlabelled cluster', async () => {
    const h = memoryHarness(12);
    harnesses.push(h);
    const a = await add(h, 'plain-a', PLAIN);
    const b = await add(h, 'plain-b', PLAIN);
    await h.drive(b.ml.join([a.ml.localNode.address]));
    const c = await add(h, 'labelled', STEP2);
    await assert.rejects(h.drive(c.ml.join([a.ml.localNode.address])));
    assert.ok((a.ml.stats.dropped['label-unexpected'] ?? 0) > 0);
  });

  it('the label is checked before decryption: no key is tried on another cluster packet', async () => {
    const h = memoryHarness(13);
    harnesses.push(h);
    const a = await add(h, 'a', { label: 'prod' });
    const b = await h.addNode('b', { label: 'staging', keyring: new Keyring([new Uint8Array(16)]) });
    await assert.rejects(h.drive(b.ml.join([a.ml.localNode.address])));
    assert.ok((a.ml.stats.dropped['label-mismatch'] ?? 0) > 0);
    assert.equal(a.ml.stats.dropped['auth-failed'] ?? 0, 0);
  });
});
