/**
 * `--keyring-dir` (src/agent/keyring-dir.ts): the directory layout, read the way a Kubernetes
 * Secret volume presents it (`..data` symlink to a timestamped directory, one symlink per key),
 * and a rotation of real agents driven only by updating their directories the way the kubelet
 * does (a new timestamped directory, then `..data` renamed over: every file changes at once).
 *
 * Each agent has its own directory, as each pod has its own mount of the one Secret, so they can
 * be updated at different times, as kubelets do: the primary must not change until every
 * member's files agree, and the cluster must stay one throughout.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PRIMARY_KEY_FILE, readKeyringDir } from '../../src/agent/keyring-dir.ts';
import { GossipAgent } from '../support/gossip-agent.ts';
import { sleep, waitFor } from '../support/serf.ts';

const K1 = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const K2 = 'qVcPhJ8/N7cmmluNxTIke/vSw6NvomA8jMfk5xHKavE=';

let stamp = 0;
/**
 * Writes `files` into `dir` as the kubelet's AtomicWriter does: a new `..<timestamp>` directory,
 * a `..data_tmp` symlink to it renamed over `..data`, a symlink `name -> ..data/name` per key,
 * then the old timestamped directory and the symlinks of keys that are gone removed.
 */
function writeSecret(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const ts = `..2026_12_03_18_00_00.${process.pid}${++stamp}`;
  mkdirSync(join(dir, ts));
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, ts, name), `${value}\n`);
  const old = readdirSync(dir).filter((n) => n.startsWith('..2') && n !== ts);
  symlinkSync(ts, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  const present = new Set(readdirSync(dir).filter((n) => !n.startsWith('.')));
  for (const name of Object.keys(files)) {
    if (!present.has(name)) symlinkSync(join('..data', name), join(dir, name));
  }
  for (const name of present) if (!(name in files)) rmSync(join(dir, name));
  for (const o of old) rmSync(join(dir, o), { recursive: true });
}

interface Keys {
  numNodes: number;
  numResp: number;
  numErr: number;
  keys: Record<string, number>;
  primaryKeys: Record<string, number>;
}

describe('--keyring-dir', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gossip-keyring-dir-'));
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  });

  it('reads a Secret volume: primary first, other files accepted, dot entries and directories skipped', () => {
    const dir = join(tmp, 'read');
    writeSecret(dir, { primary: K2, previous: K1 });
    const c = readKeyringDir(dir);
    assert.equal(c.primary, K2);
    assert.deepEqual(c.keys, [K2, K1]);
    assert.deepEqual(c.files, ['primary', 'previous']);
    assert.match(c.fingerprint, /^[0-9a-f]{12}$/);
    writeSecret(dir, { previous: K1 });
    assert.throws(() => readKeyringDir(dir), new RegExp(`no file "${PRIMARY_KEY_FILE}"`));
    writeSecret(dir, { primary: 'not a key' });
    assert.throws(() => readKeyringDir(dir), /primary: .*base64 key of 16, 24 or 32 bytes/);
    assert.throws(() => readKeyringDir(join(tmp, 'missing')), /Mount the Secret there/);
  });

  it('rotates real agents from K1 to K2 as their directories change, one at a time', async () => {
    const names = ['kr-a', 'kr-b', 'kr-c'];
    const dirs = names.map((n) => join(tmp, n));
    for (const d of dirs) writeSecret(d, { primary: K1 });
    const agents: GossipAgent[] = [];
    for (const [i, n] of names.entries()) {
      const a = await GossipAgent.start({
        node: n,
        profile: 'local',
        join: i === 0 ? [] : [agents[0]!.addr],
        extraArgs: ['--keyring-dir', dirs[i]!],
      });
      stops.push(() => a.stop());
      agents.push(a);
    }
    const alive = async () => {
      for (const a of agents)
        if ((await a.members()).filter((m) => m.status === 'alive').length !== 3) return false;
      return true;
    };
    await waitFor('the encrypted cluster of three', alive, 30_000);
    // A listing counts only the members that answered within the query's timeout (1.6 s on the
    // local profile): one answered by two of three says "2" for every key, which tells nothing
    // about the third. Every check below is on a listing all three answered.
    const keys = () =>
      waitFor(
        'a key listing every member answered',
        async () => {
          const k = await agents[0]!.get<Keys>('/v1/keys');
          return k.numNodes === 3 && k.numResp === 3 && k.numErr === 0 && k;
        },
        30_000,
      );
    const used = () => agents.filter((a) => /keyring-dir: use key/.test(a.log)).map((a) => a.node);

    // Only kr-c's kubelet has the update yet: kr-a drives (the lowest name) with its own files,
    // which still say K1 only, so nothing changes.
    writeSecret(dirs[2]!, { primary: K2, previous: K1 });
    await sleep(3000);
    let k = await keys();
    assert.deepEqual([k.keys, k.primaryKeys], [{ [K1]: 3 }, { [K1]: 3 }], 'nothing moved');

    // The driver's files change too: K2 is installed everywhere at once, but stays secondary
    // while kr-b's files still say K1 alone.
    writeSecret(dirs[0]!, { primary: K2, previous: K1 });
    await waitFor('K2 installed on all three', async () => (await keys()).keys[K2] === 3, 30_000);
    await sleep(3000);
    k = await keys();
    assert.equal(k.primaryKeys[K1], 3, 'K1 is still primary everywhere');
    assert.deepEqual(used(), [], 'no member has sent a use while kr-b has other files');
    assert.match(agents[0]!.log, /keyring-dir: waiting: members kr-b have other key files/);
    assert.ok(await alive(), 'still one cluster');

    // The last kubelet catches up: every member agrees, so K2 becomes primary.
    writeSecret(dirs[1]!, { primary: K2, previous: K1 });
    await waitFor('K2 primary on all three', async () => (await keys()).primaryKeys[K2] === 3, 30_000);
    k = await keys();
    assert.equal(k.keys[K1], 3, 'K1 stays while the files list it');

    // Step 2: K1 leaves the Secret: it is removed everywhere.
    for (const d of dirs) writeSecret(d, { primary: K2 });
    await waitFor('K1 gone everywhere', async () => (await keys()).keys[K1] === undefined, 30_000);
    k = await keys();
    assert.deepEqual(k.keys, { [K2]: 3 });
    assert.ok(await alive(), 'one cluster at the end');
    assert.match(agents[0]!.log, /keyring-dir: use key [0-9a-f]{8} on every member/);
    assert.doesNotMatch(agents[1]!.log, /keyring-dir: (install|use|remove) key/, 'only the driver acts');

    // A new member started from the final Secret joins with K2 alone.
    const d = join(tmp, 'kr-d');
    writeSecret(d, { primary: K2 });
    const late = await GossipAgent.start({
      node: 'kr-d',
      profile: 'local',
      join: [agents[1]!.addr],
      extraArgs: ['--keyring-dir', d],
    });
    stops.push(() => late.stop());
    await waitFor(
      'kr-d in',
      async () => (await late.members()).filter((m) => m.status === 'alive').length === 4,
    );
  });
});
