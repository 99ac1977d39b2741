/**
 * Name conflicts and key rotation on the in-memory network:
 * - a newcomer that takes a member's name is outvoted by `_serf_conflict` and shuts down without
 *   leaving, while the original stays and nobody's view changes;
 * - `install → use → remove` across an encrypted cluster, with Serf's tallies and messages, and
 *   traffic still flowing with only the new key; nodes without a keyring answer as Serf does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConflictEvent } from '../../src/cluster/index.ts';
import { KEYRING_MAX_KEYS, Keyring } from '../../src/wire/crypto.ts';
import { allAlive, SerfSim, type SimNode } from './harness.ts';

const K1 = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const K2 = 'qVcPhJ8/N7cmmluNxTIke/vSw6NvomA8jMfk5xHKavE=';
const keyring = (...keys: string[]) => new Keyring(keys.map((k) => Keyring.parseKey(k)));
const b64 = (k: Uint8Array | undefined) => (k ? Buffer.from(k).toString('base64') : '');

describe('Serf name conflicts', () => {
  it('a newcomer with a taken name loses the vote and shuts down without leaving', async () => {
    const sim = new SerfSim(51);
    const nodes = await sim.cluster(4);
    const original = nodes[1]!;
    const conflicts: string[] = [];
    let shutdown: string | undefined;
    const dup = sim.add('n1');
    dup.serf.on('conflict', (e: ConflictEvent) =>
      conflicts.push(`${e.outcome} ${e.matching}/${e.responses}`),
    );
    dup.serf.on('shutdown', (e) => {
      shutdown = e.reason;
    });
    const originalConflicts: ConflictEvent[] = [];
    original.serf.on('conflict', (e) => originalConflicts.push(e));
    await sim.drive(dup.serf.join([nodes[0]!.addr]));
    await sim.waitFor('the newcomer to quit', () => dup.serf.state === 'shutdown', 30_000);
    assert.equal(shutdown, 'name-conflict');
    // Everyone but the two claimants answered with the original's address.
    assert.deepEqual(conflicts, ['lost 0/3']);
    for (const e of originalConflicts) assert.equal(e.outcome, 'won');
    await sim.run(10_000);
    assert.equal(original.serf.state, 'alive');
    for (const n of nodes) {
      const m = n.serf.member('n1');
      assert.equal(m?.status, 'alive', `${n.name} sees n1 ${m?.status}`);
      assert.equal(m?.addr, original.addr.split(':')[0], `${n.name} sees the original's address`);
    }
    assert.ok(allAlive(nodes));
    await sim.close();
  });

  it('with conflict resolution off, the newcomer only logs', async () => {
    const sim = new SerfSim(52);
    const nodes = await sim.cluster(3);
    const dup = sim.add('n2', { enableNameConflictResolution: false });
    let voted = false;
    dup.serf.on('conflict', () => {
      voted = true;
    });
    await sim.drive(dup.serf.join([nodes[0]!.addr]));
    await sim.run(10_000);
    assert.equal(voted, false);
    assert.equal(dup.serf.state, 'alive');
    await sim.close();
  });
});

describe('Serf key manager', () => {
  async function encryptedCluster(seed: number): Promise<{ sim: SerfSim; nodes: SimNode[] }> {
    const sim = new SerfSim(seed);
    const nodes: SimNode[] = [];
    for (let i = 0; i < 4; i++) nodes.push(sim.add(`k${i}`, { keyring: keyring(K1) }));
    for (const n of nodes.slice(1)) await sim.drive(n.serf.join([nodes[0]!.addr]));
    await sim.waitFor('converged', () => allAlive(nodes), 10_000);
    return { sim, nodes };
  }

  it('install → use → remove across the cluster, tallied like `serf keys`', async () => {
    const { sim, nodes } = await encryptedCluster(53);
    const km = nodes[2]!.serf.keyManager;
    const changes: string[] = [];
    nodes[0]!.serf.on('keyring', (e) => changes.push(e.op));

    const install = await sim.drive(km.installKey(K2));
    assert.deepEqual(
      [install.numNodes, install.numResp, install.numErr, install.error],
      [4, 4, 0, undefined],
    );
    for (const n of nodes) assert.ok(n.serf.keyring?.hasKey(Keyring.parseKey(K2)), n.name);

    const listed = await sim.drive(km.listKeys());
    assert.deepEqual(listed.keys, { [K1]: 4, [K2]: 4 });
    assert.deepEqual(listed.primaryKeys, { [K1]: 4 });

    const use = await sim.drive(km.useKey(K2));
    assert.equal(use.numErr, 0);
    for (const n of nodes) assert.equal(b64(n.serf.keyring?.primaryKey), K2, n.name);

    const refused = await sim.drive(km.removeKey(K2));
    assert.equal(refused.numErr, 4);
    assert.equal(refused.error, '4/4 nodes reported failure');
    assert.deepEqual(
      Object.keys(refused.messages).sort(),
      nodes.map((n) => n.name),
    );
    for (const m of Object.values(refused.messages))
      assert.equal(m, 'Removing the primary key is not allowed');

    const removed = await sim.drive(km.removeKey(K1));
    assert.equal(removed.numErr, 0);
    for (const n of nodes) assert.equal(n.serf.keyring?.size, 1);
    assert.deepEqual(changes, ['install-key', 'use-key', 'remove-key']);

    const badUse = await sim.drive(km.useKey(K1));
    assert.deepEqual(Object.values(badUse.messages), Array(4).fill('Requested key is not in the keyring'));
    const badSize = await sim.drive(km.installKey(Buffer.from('short').toString('base64')));
    assert.deepEqual(Object.values(badSize.messages), Array(4).fill('key size must be 16, 24 or 32 bytes'));

    // Only K2 is left everywhere: events still flow and the members stay alive.
    let got = 0;
    for (const n of nodes) n.serf.on('user', () => got++);
    nodes[3]!.serf.userEvent('after', 'rotation');
    await sim.run(30_000);
    assert.equal(got, 4);
    assert.ok(allAlive(nodes));
    await sim.close();
  });

  it('rotateKey: install, verify, use, remove the old key; stops at a step not every node confirmed', async () => {
    const { sim, nodes } = await encryptedCluster(57);
    const km = nodes[1]!.serf.keyManager;
    const rotation = await sim.drive(km.rotateKey(K2));
    assert.equal(rotation.ok, true);
    assert.deepEqual(
      rotation.steps.map((s) => s.step),
      ['install', 'verify', 'use', 'remove'],
    );
    for (const n of nodes) {
      assert.deepEqual(n.serf.keyring?.keys.map(b64), [K2], n.name);
    }
    const bad = await sim.drive(km.rotateKey(Buffer.from('short').toString('base64')));
    assert.deepEqual([bad.ok, bad.failedStep, bad.steps.length], [false, 'install', 1]);
    for (const n of nodes) assert.deepEqual(n.serf.keyring?.keys.map(b64), [K2], 'nothing changed');
    await sim.close();
  });

  it('a key operation ends as soon as every node answered', async () => {
    const { sim, nodes } = await encryptedCluster(54);
    const start = sim.clock.now();
    await sim.drive(nodes[0]!.serf.keyManager.listKeys());
    assert.ok(sim.clock.now() - start < nodes[0]!.serf.defaultQueryTimeoutMs());
    await sim.close();
  });

  it("nodes without a keyring answer in Serf's words", async () => {
    const sim = new SerfSim(55);
    const nodes = await sim.cluster(3);
    const listed = await sim.drive(nodes[0]!.serf.keyManager.listKeys());
    assert.equal(listed.numErr, 3);
    assert.deepEqual(
      Object.values(listed.messages),
      Array(3).fill('Keyring is empty (encryption not enabled)'),
    );
    const install = await sim.drive(nodes[0]!.serf.keyManager.installKey(K2));
    assert.deepEqual(
      Object.values(install.messages),
      Array(3).fill('No keyring to modify (encryption not enabled)'),
    );
    await assert.rejects(nodes[0]!.serf.keyManager.installKey('not base64!'), /not valid base64/);
    await sim.close();
  });

  it("list-keys truncates a key list that would not fit, with Serf's message", async () => {
    // A full keyring (KEYRING_MAX_KEYS of 32 bytes) fits Serf's default 1024-byte answer, so the
    // answer limit is lowered to make the list not fit.
    const sim = new SerfSim(56);
    const ring = keyring(K1);
    for (let i = 1; i < KEYRING_MAX_KEYS; i++) {
      ring.addKey(Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j) & 0xff));
    }
    const a = sim.add('a', { keyring: ring, queryResponseSizeLimit: 400 });
    const listed = await sim.drive(a.serf.keyManager.listKeys());
    assert.equal(listed.numErr, 0);
    assert.match(
      listed.messages.a ?? '',
      new RegExp(`^truncated key list response, showing first \\d+ of ${KEYRING_MAX_KEYS} keys$`),
    );
    assert.ok(Object.keys(listed.keys).length < KEYRING_MAX_KEYS);
    await sim.close();
  });
});
