/**
 * Queries on the in-memory network: acks and responses (the querier answering itself too),
 * each node handling a query once though it is gossiped several times, node and tag filters,
 * relays around a broken link, deadlines on both sides, respond-once, size limits, abort, the
 * async iterator, and the default timeout formula.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueryParams, QueryReply } from '../../src/cluster/index.ts';
import { ConfigError, SizeLimitError, StateError, TimeoutError } from '../../src/errors.ts';
import { SerfSim, type SimNode, text } from './harness.ts';

describe('Serf queries', () => {
  it('collects acks and responses from every node, the querier included; each node handles it once', async () => {
    const sim = new SerfSim(41);
    const nodes = await sim.cluster(5);
    const handled = new Map<string, number>();
    for (const n of nodes) {
      n.serf.on('query', (q) => {
        handled.set(n.name, (handled.get(n.name) ?? 0) + 1);
        q.respond(`${n.name}:${text(q.payload)}`);
      });
    }
    const q = nodes[2]!.serf.query('whoami', 'ping', { requestAck: true });
    const { acks, responses } = await sim.drive(q.done);
    assert.deepEqual([...acks].sort(), ['n0', 'n1', 'n2', 'n3', 'n4']);
    assert.deepEqual(responses.map((r) => text(r.payload)).sort(), [
      'n0:ping',
      'n1:ping',
      'n2:ping',
      'n3:ping',
      'n4:ping',
    ]);
    await sim.run(5000); // every retransmission has happened by now
    assert.deepEqual([...handled.values()], [1, 1, 1, 1, 1]);
    await sim.close();
  });

  it('ends at the deadline; the default timeout is gossipInterval × 16 × ceil(log10(n + 1))', async () => {
    const sim = new SerfSim(42);
    const nodes = await sim.cluster(3);
    assert.equal(nodes[0]!.serf.defaultQueryTimeoutMs(), 200 * 16 * 1);
    const start = sim.clock.now();
    const q = nodes[0]!.serf.query('nobody-answers');
    const { acks, responses } = await sim.drive(q.done);
    assert.deepEqual([acks.length, responses.length], [0, 0]);
    assert.ok(Math.abs(sim.clock.now() - start - 3200) <= 10, `ended after ${sim.clock.now() - start} ms`);
    await sim.close();
  });

  it('node filters and tag filters (Go regexps) select who acks and answers', async () => {
    const sim = new SerfSim(43);
    const roles = ['web', 'db', 'web-canary', 'cache'];
    const nodes: SimNode[] = [];
    for (let i = 0; i < 4; i++) nodes.push(sim.add(`n${i}`, { tags: { role: roles[i]! } }));
    for (const n of nodes.slice(1)) await sim.drive(n.serf.join([nodes[0]!.addr]));
    for (const n of nodes) n.serf.on('query', (q) => q.respond(n.name));
    await sim.run(3000);
    const run = async (params: QueryParams) => {
      const { acks, responses } = await sim.drive(
        nodes[0]!.serf.query('f', '', { requestAck: true, ...params }).done,
      );
      return { acks: [...acks].sort(), responses: responses.map((r) => r.from).sort() };
    };
    assert.deepEqual(await run({ filterNodes: ['n1', 'n3'] }), {
      acks: ['n1', 'n3'],
      responses: ['n1', 'n3'],
    });
    assert.deepEqual(await run({ filterTags: { role: '^web' } }), {
      acks: ['n0', 'n2'],
      responses: ['n0', 'n2'],
    });
    assert.deepEqual(await run({ filterTags: { role: '^web$' } }), { acks: ['n0'], responses: ['n0'] });
    assert.deepEqual(await run({ filterTags: { dc: '' } }), {
      acks: ['n0', 'n1', 'n2', 'n3'],
      responses: ['n0', 'n1', 'n2', 'n3'],
    });
    assert.deepEqual(await run({ filterNodes: ['n0', 'n2'], filterTags: { role: 'canary' } }), {
      acks: ['n2'],
      responses: ['n2'],
    });
    assert.throws(
      () => nodes[0]!.serf.query('f', '', { filterTags: { role: '(?=x)' } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'filterTags.role',
    );
    await sim.close();
  });

  it('relays carry answers around a broken link, and the querier keeps one copy per node', async () => {
    const sim = new SerfSim(44);
    const nodes = await sim.cluster(5);
    for (const n of nodes) n.serf.on('query', (q) => q.respond(n.name));
    // n4 can no longer reach n0 directly (the other direction still works).
    sim.network.block(nodes[4]!.addr, nodes[0]!.addr);
    const direct = await sim.drive(nodes[0]!.serf.query('r', '', { requestAck: true }).done);
    assert.ok(!direct.acks.includes('n4') && !direct.responses.some((r) => r.from === 'n4'));
    const relayed = await sim.drive(nodes[0]!.serf.query('r', '', { requestAck: true, relayFactor: 2 }).done);
    assert.deepEqual([...relayed.acks].sort(), ['n0', 'n1', 'n2', 'n3', 'n4']);
    assert.deepEqual(relayed.responses.map((r) => r.from).sort(), ['n0', 'n1', 'n2', 'n3', 'n4']);
    const forwarded = nodes.reduce((s, n) => s + n.serf.stats().counters.relaysForwarded, 0);
    assert.ok(forwarded > 0);
    assert.ok(
      nodes[0]!.serf.stats().counters.duplicateResponses > 0,
      'relayed copies of direct answers are dropped',
    );
    await sim.close();
  });

  it('respond(): once, before the deadline, within the size limit', async () => {
    const sim = new SerfSim(45);
    const nodes = await sim.cluster(2);
    const errors: unknown[] = [];
    nodes[1]!.serf.on('query', (q) => {
      try {
        q.respond(new Uint8Array(2000));
      } catch (e) {
        errors.push(e);
      }
      q.respond('ok');
      assert.equal(q.hasResponded, true);
      try {
        q.respond('again');
      } catch (e) {
        errors.push(e);
      }
    });
    const late: unknown[] = [];
    nodes[0]!.serf.on('query', (q) => {
      sim.clock.setTimer(600, () => {
        try {
          q.respond('too late');
        } catch (e) {
          late.push(e);
        }
      });
    });
    const { responses } = await sim.drive(nodes[0]!.serf.query('once', '', { timeoutMs: 500 }).done);
    assert.deepEqual(
      responses.map((r) => `${r.from}=${text(r.payload)}`),
      ['n1=ok'],
    );
    assert.ok(errors[0] instanceof SizeLimitError && errors[0].limit === 1024);
    assert.ok(errors[1] instanceof StateError);
    await sim.run(200);
    assert.ok(late[0] instanceof TimeoutError);
    await sim.close();
  });

  it('refuses a query over querySizeLimit and sends nothing', async () => {
    const sim = new SerfSim(46);
    const nodes = await sim.cluster(2);
    let seen = 0;
    nodes[1]!.serf.on('query', () => seen++);
    const before = nodes[0]!.serf.clocks.query;
    assert.throws(
      () => nodes[0]!.serf.query('big', new Uint8Array(1100)),
      (e: unknown) => e instanceof SizeLimitError && e.limit === 1024 && /encoded query/.test(e.message),
    );
    assert.equal(nodes[0]!.serf.clocks.query, before);
    assert.equal(nodes[0]!.serf.stats().queryQueue, 0);
    await sim.run(2000);
    assert.equal(seen, 0);
    await sim.close();
  });

  it('is an async iterable of acks and responses; aborting ends it with the reason', async () => {
    const sim = new SerfSim(47);
    const nodes = await sim.cluster(3);
    for (const n of nodes) n.serf.on('query', (q) => q.respond(n.name));
    const q = nodes[0]!.serf.query('it', '', { requestAck: true });
    const replies: QueryReply[] = [];
    const consumed = (async () => {
      for await (const r of q) replies.push(r);
    })();
    await sim.drive(consumed);
    assert.equal(replies.filter((r) => r.type === 'ack').length, 3);
    assert.equal(replies.filter((r) => r.type === 'response').length, 3);

    const controller = new AbortController();
    const aborted = nodes[0]!.serf.query('slow', '', { signal: controller.signal, timeoutMs: 10_000 });
    const reason = new Error('stop');
    sim.clock.setTimer(100, () => controller.abort(reason));
    await assert.rejects(sim.drive(aborted.done), (e) => e === reason);
    await assert.rejects(
      (async () => {
        for await (const _ of aborted) {
        }
      })(),
      (e) => e === reason,
    );
    assert.ok(sim.clock.now() < 10_000);
    await sim.close();
  });

  it('a relay factor or timeout out of range is a ConfigError naming it', async () => {
    const sim = new SerfSim(48);
    const a = sim.add('a');
    assert.throws(
      () => a.serf.query('x', '', { relayFactor: 256 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'relayFactor',
    );
    assert.throws(
      () => a.serf.query('x', '', { timeoutMs: 0 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'timeoutMs',
    );
    const old = sim.add('old', { protocolVersion: 3 });
    assert.throws(
      () => old.serf.query('x'),
      (e: unknown) => e instanceof ConfigError && /protocol 4/.test(e.message),
    );
    await sim.close();
  });

  it('_serf_ping is acked (serf reachability) but never shown to the application', async () => {
    const sim = new SerfSim(49);
    const nodes = await sim.cluster(3);
    let appSaw = 0;
    const internal: string[] = [];
    for (const n of nodes) {
      n.serf.on('query', () => appSaw++);
      n.serf.on('internal-query', (e) => internal.push(`${n.name}:${e.name}`));
    }
    const { acks, responses } = await sim.drive(
      nodes[0]!.serf.query('_serf_ping', '', { requestAck: true }).done,
    );
    assert.deepEqual([...acks].sort(), ['n0', 'n1', 'n2']);
    assert.equal(responses.length, 0);
    assert.equal(appSaw, 0);
    assert.equal(internal.length, 3);
    await sim.close();
  });
});
