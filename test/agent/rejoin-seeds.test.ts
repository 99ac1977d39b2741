/**
 * Beyond Serf: an agent left alone (every other member gone) joins through its configured
 * addresses again. Serf's reconnect loop retries only failed members, so a node whose peers
 * all *left* (a rolling restart of a small cluster, say) stays alone forever in Serf.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';

const sink = new Writable({
  write(_c, _e, cb) {
    cb();
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(name: string, bind: string, join: string[] = []): Promise<Agent> {
  const a = await Agent.create(
    resolveConfig({
      nodeName: name,
      bindAddr: bind,
      httpAddr: '127.0.0.1:0',
      profile: 'local',
      join,
      reconnectIntervalMs: 2000,
    }),
    { out: sink },
  );
  await a.start();
  return a;
}

it('an agent whose peers all left rejoins through its --join addresses when one comes back', async () => {
  const seed = await start('seed', '127.0.0.1:0');
  const seedAddr = seed.gossipAddr;
  const lone = await start('lone', '127.0.0.1:0', [seedAddr]);
  try {
    for (let i = 0; i < 100 && lone.serf.member('seed')?.status !== 'alive'; i++) await sleep(50);
    assert.equal(lone.serf.member('seed')?.status, 'alive');
    // The seed leaves gracefully and comes back later at the same address (a rolling restart).
    await seed.leave();
    await seed.stop();
    for (let i = 0; i < 100 && lone.serf.member('seed')?.status !== 'left'; i++) await sleep(50);
    assert.equal(lone.serf.member('seed')?.status, 'left');
    const back = await start('seed-2', seedAddr);
    try {
      let found = false;
      for (let i = 0; i < 200 && !found; i++) {
        found = lone.serf.member('seed-2')?.status === 'alive';
        if (!found) await sleep(50);
      }
      assert.ok(found, 'lone found the restarted seed by itself');
    } finally {
      await back.stop();
    }
  } finally {
    await lone.stop();
    await seed.stop();
  }
});
