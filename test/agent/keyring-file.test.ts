/**
 * The keyring file survives restarts: created from --encrypt, rewritten on every key change
 * (install, use, remove through the cluster's key queries), and used at the next start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';

const K1 = '8I0gjH/3M3VsEqvJ8zlAM+uh3odYuimpssh68c7om7U=';
const K2 = 'iP21Y+2QM4hZDQ9Rfiwq6DyD3WwaembN3EiII3LkfeI=';
const sink = new Writable({
  write(_c, _e, cb) {
    cb();
  },
});

it('the keyring file follows key rotation and is used at the next start', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gossip-keyring-')), 'keyring.json');
  const base = {
    nodeName: 'kr',
    bindAddr: '127.0.0.1:0',
    httpAddr: '127.0.0.1:0',
    profile: 'local' as const,
    keyringFile: file,
  };
  const a = await Agent.create(resolveConfig({ ...base, encryptKey: K1 }), { out: sink });
  await a.start();
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [K1]);
  for (const [op, key] of [
    ['install', K2],
    ['use', K2],
    ['remove', K1],
  ] as const) {
    const r = (await a.keyOp(op, key)) as { numErr: number; numResp: number };
    assert.equal(r.numErr, 0, `${op}`);
    assert.equal(r.numResp, 1);
  }
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [K2]);
  await a.stop();
  const b = await Agent.create(resolveConfig(base), { out: sink });
  await b.start();
  assert.equal(Buffer.from(b.serf.keyring!.primaryKey!).toString('base64'), K2);
  await b.stop();
});
