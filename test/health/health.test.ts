/**
 * The library's operations helpers (src/health): the leave-spread estimate and the shutdown
 * budget as numbers, then an embedding service's view on real sockets — two Serf nodes on
 * loopback, a `node:http` server answering through `healthMiddleware`: not ready before the join,
 * ready after, not ready as soon as `gracefulShutdown` begins while still live, stopped at the
 * end; the peer sees the node `left`, never `failed`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Serf } from '../../src/cluster/index.ts';
import {
  gracefulShutdown,
  HealthTracker,
  healthMiddleware,
  healthResponse,
  leaveSpreadMs,
  planShutdown,
} from '../../src/health/index.ts';
import { UdpTcpTransport } from '../../src/transport/index.ts';
import { sleep, waitFor } from '../support/serf.ts';

const LAN = { gossipIntervalMs: 200, gossipNodes: 3, retransmitMult: 4, leavePropagateDelayMs: 1000 };

describe('health: the numbers', () => {
  it('leave spread: ceil(log_{1+k} n + ln n / k) gossip rounds', () => {
    assert.equal(leaveSpreadMs(1, 200, 3), 0, 'nobody to tell');
    assert.equal(leaveSpreadMs(2, 200, 3), 200); // 0.5 + 0.23 -> 1 round
    assert.equal(leaveSpreadMs(10, 200, 3), 600); // 1.66 + 0.77 -> 3
    assert.equal(leaveSpreadMs(1000, 200, 3), 1600); // 4.98 + 2.30 -> 8
    assert.equal(leaveSpreadMs(10, 100, 3), 300);
    assert.equal(leaveSpreadMs(10_000, 500, 4), 9 * 500); // 5.72 + 2.30 -> 9 rounds
  });

  it('shutdown plan: our leave, the spread, and the 10 % exit margin inside the grace period', () => {
    const p = planShutdown(30_000, 10, LAN);
    assert.equal(p.exitMarginMs, 3000);
    assert.equal(p.deadlineMs, 27_000);
    // retransmit limit 4 x ceil(log10 11) = 8, at 3 per round: 3 rounds per message, 2 messages.
    assert.equal(p.leaveMs, 2 * 3 * 200 + 1000);
    assert.equal(p.spreadMs, 600);
    assert.equal(p.stayMs, 2200);
    assert.ok(p.fits);
    assert.equal(planShutdown(30_000, 1, LAN).stayMs, 0, 'alone: nothing to wait for');
    assert.equal(planShutdown(5000, 10, LAN).exitMarginMs, 1000, 'at least a second');
    assert.equal(planShutdown(2500, 10, LAN).fits, false, 'a grace period too short says so');
  });
});

describe('health: an embedding service on real sockets', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  const node = async (name: string) => {
    const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0' });
    const serf = new Serf({ name, transport, profile: 'local' });
    cleanups.push(() => serf.shutdown());
    return serf;
  };

  const serve = async (health: HealthTracker): Promise<string> => {
    const handle = healthMiddleware(health);
    const server: Server = createServer((req, res) => {
      if (handle(req, res)) return;
      res.writeHead(200).end('the app');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const get = async (base: string, path: string) => {
    const res = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return {
      status: res.status,
      body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    };
  };

  it('not ready until joined, ready after, not ready (still live) from the first moment of the shutdown', async () => {
    const a = await node('emb-a');
    const b = await node('emb-b');
    const health = new HealthTracker(b);
    const base = await serve(health);

    assert.deepEqual(
      [(await get(base, '/health/live')).status, (await get(base, '/health/ready')).body.state],
      [200, 'starting'],
    );
    assert.equal((await get(base, '/other')).body, 'the app', 'other paths go to the app');
    a.start();
    b.start();
    const joining = await get(base, '/health/ready');
    assert.equal(joining.status, 503);
    assert.equal(joining.body.state, 'joining');
    await b.join([a.memberlist.localNode.address]);
    const ready = await get(base, '/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.state, 'ready');
    assert.equal(ready.body.aliveMembers, 2);
    assert.ok(new HealthTracker(a).health().ready, 'a tracker made after the join counts it');
    assert.ok(new HealthTracker(await node('emb-c'), { alone: true }).health().live);

    const seenByA = new Set<string>();
    a.on('member-failed', (e) => {
      for (const m of e.members) seenByA.add(`failed:${m.name}`);
    });
    a.on('member-leave', (e) => {
      for (const m of e.members) seenByA.add(`left:${m.name}`);
    });
    const done = gracefulShutdown(b, { health, gracePeriodMs: 10_000 });
    const during = [await get(base, '/health/ready'), await get(base, '/health/live')];
    assert.equal(during[0]!.status, 503);
    assert.equal(during[0]!.body.state, 'leaving');
    assert.equal(during[1]!.status, 200, 'live while leaving');
    const result = await done;
    assert.ok(result.leftGracefully);
    assert.ok(result.elapsedMs >= result.plan.stayMs - 50, 'it stayed up while the leave spread');
    assert.ok(result.elapsedMs < result.plan.deadlineMs);
    const stopped = await get(base, '/health/live');
    assert.equal(stopped.status, 503);
    assert.equal(stopped.body.state, 'stopped');
    await waitFor('a to see b left', () => seenByA.has('left:emb-b'));
    await sleep(1500); // a probe round or so: b's closed port must not turn into a failure
    assert.ok(!seenByA.has('failed:emb-b'), 'never failed');
    assert.equal(a.member('emb-b')?.status, 'left');
  });

  it('healthResponse: 200/503 by check', () => {
    const source = {
      health: () => ({ live: true, ready: false, state: 'joining' as const, reason: 'x', aliveMembers: 1 }),
    };
    assert.equal(healthResponse(source, 'live').status, 200);
    assert.equal(healthResponse(source, 'ready').status, 503);
  });
});
