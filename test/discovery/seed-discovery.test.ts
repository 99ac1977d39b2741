/**
 * Seed discovery (src/discovery) on the in-memory network and a virtual clock: real Memberlist
 * nodes, a `MemoryResolver` whose records the test changes as it goes.
 *
 * - parsing the three seed forms, and the errors for bad ones;
 * - a node that starts before its peers keeps looking; its own address is never a join;
 * - re-resolution honours the TTL between a floor and a ceiling; failures back off with jitter;
 * - `maxAttempts` gives up (before the first join only);
 * - islands heal through the seeds (memberlist alone would stay split for ever);
 * - a whole cluster at new addresses finds itself again from the new records;
 * - the first-start gate: without it, two clusters form when the nodes' first DNS views differ;
 *   with it, exactly one node (the lowest name) starts alone and the rest join it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DiscoveryRound,
  MemoryResolver,
  memberlistTarget,
  parseSeed,
  SeedDiscovery,
  type SeedDiscoveryOptions,
} from '../../src/discovery/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { SeededRandom } from '../../src/runtime/index.ts';
import { type Harness, memoryHarness, type TestNode } from '../support/cluster.ts';

describe('seeds: parsing', () => {
  const cases: [string, unknown][] = [
    ['10.0.0.5:7946', { kind: 'ip', addr: '10.0.0.5:7946' }],
    ['10.0.0.5', { kind: 'ip', addr: '10.0.0.5:7946' }],
    ['[fd00:0::5]:8000', { kind: 'ip', addr: '[fd00::5]:8000' }],
    ['fd00::5', { kind: 'ip', addr: '[fd00::5]:7946' }],
    ['gossip.internal:7000', { kind: 'host', host: 'gossip.internal', port: 7000 }],
    ['gossip-headless', { kind: 'host', host: 'gossip-headless', port: 7946 }],
    ['dns+srv://_gossip._tcp.example.com', { kind: 'srv', name: '_gossip._tcp.example.com' }],
    ['DNS+SRV://_gossip._tcp.example.com.', { kind: 'srv', name: '_gossip._tcp.example.com.' }],
  ];
  for (const [spec, want] of cases) {
    it(`parses ${spec}`, () => {
      const got = parseSeed(spec) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want as Record<string, unknown>)) assert.equal(got[k], v, k);
    });
  }
  const bad: [string, RegExp][] = [
    ['dns+srv://_gossip._tcp.example.com:7946', /without a port/],
    ['http://example.com', /unknown scheme/],
    ['10.0.0.5:0', /port 0/],
    ['10.0.0.5:99999', /not a seed/],
    ['bad host!:7946', /not a host name/],
    ['', /not a seed/],
  ];
  for (const [spec, re] of bad) {
    it(`rejects ${JSON.stringify(spec)} with a message showing the forms`, () => {
      assert.throws(
        () => parseSeed(spec),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && /dns\+srv:\/\//.test(e.message),
      );
    });
  }
  it('needs a resolver for host names, not for IP seeds', () => {
    const target = {
      localName: 'x',
      localAddresses: () => [],
      join: async () => 0,
      members: () => [],
      peek: async () => [],
    };
    assert.throws(() => new SeedDiscovery({ seeds: ['gossip:7946'], target }), /needs? a resolver/);
    assert.doesNotThrow(() => new SeedDiscovery({ seeds: ['10.0.0.1:7946'], target }));
  });
});

interface World {
  h: Harness & { network: { partition(a: string[], b: string[]): void; heal(): void } };
  dns: MemoryResolver;
  nodes: Map<string, { node: TestNode; discovery: SeedDiscovery; rounds: DiscoveryRound[] }>;
}

function world(seed = 1): World {
  return { h: memoryHarness(seed), dns: new MemoryResolver(), nodes: new Map() };
}

async function addNode(
  w: World,
  name: string,
  seeds: string[],
  extra: Partial<SeedDiscoveryOptions> = {},
  resolver: MemoryResolver = w.dns,
): Promise<{ node: TestNode; discovery: SeedDiscovery; rounds: DiscoveryRound[] }> {
  const node = await w.h.addNode(name);
  const rounds: DiscoveryRound[] = [];
  const discovery = new SeedDiscovery({
    seeds,
    target: memberlistTarget(node.ml),
    resolver,
    clock: w.h.clock,
    random: new SeededRandom(name.charCodeAt(0)),
    ...extra,
  });
  discovery.on('round', (r) => rounds.push(r));
  discovery.start();
  const entry = { node, discovery, rounds };
  w.nodes.set(name, entry);
  return entry;
}

function aliveView(n: TestNode): string[] {
  return n.ml
    .allMembers()
    .filter((m) => m.status === 'alive')
    .map((m) => m.name)
    .sort();
}

/** Whether every running node holds exactly `names` alive. */
function isOneCluster(w: World, names: string[]): boolean {
  const want = [...names].sort().join(',');
  return names.every((n) => aliveView(w.nodes.get(n)!.node).join(',') === want);
}

async function close(w: World): Promise<void> {
  for (const e of w.nodes.values()) e.discovery.stop();
  await w.h.close();
}

describe('seed discovery: joining and re-resolving', () => {
  it('a node started before its peers keeps looking, never joins itself, and joins once they appear', async () => {
    const w = world();
    const a = await addNode(w, 'a', ['gossip.test:7946'], { retryMaxMs: 4000 });
    const aAddr = a.node.ml.localNode.address;
    // At first the name lists only a itself (a headless Service with one pod).
    w.dns.setHost('gossip.test', [aAddr.split(':')[0]!], 5);
    await w.h.run(20_000);
    assert.equal(a.discovery.phase, 'searching');
    assert.equal(a.discovery.formed, undefined);
    const last = a.rounds.at(-1)!;
    assert.deepEqual(last.discovered, []);
    assert.match(last.outcome, /gave no address but our own/);
    assert.ok(last.sources[0]!.skipped.some((s) => s.why === 'our own address'));
    // b appears (its own discovery looks at the same name).
    const b = await addNode(w, 'b', ['gossip.test:7946']);
    const bIp = b.node.ml.localNode.address.split(':')[0]!;
    w.dns.setHost('gossip.test', [aAddr.split(':')[0]!, bIp], 5);
    await w.h.waitFor('a and b in one cluster', () => isOneCluster(w, ['a', 'b']), 15_000);
    await w.h.run(5000); // a's next round (it was backing off) sees b joined it
    assert.equal(a.discovery.phase, 'joined');
    assert.equal(b.discovery.phase, 'joined');
    await close(w);
  });

  it('re-resolves at the TTL, clamped to the floor and the ceiling', async () => {
    for (const [ttlS, lo, hi] of [
      [10, 10_000, 12_000], // honoured (with up to 20 % jitter)
      [1, 5000, 6000], // floor 5 s
      [3600, 60_000, 72_000], // ceiling 60 s
    ] as const) {
      const w = world();
      const a = await addNode(w, 'a', ['gossip.test:7946']);
      const b = await addNode(w, 'b', ['gossip.test:7946']);
      const ips = [a, b].map((e) => e.node.ml.localNode.address.split(':')[0]!);
      w.dns.setHost('gossip.test', ips, ttlS);
      await w.h.run(400_000);
      assert.ok(isOneCluster(w, ['a', 'b']));
      const times = a.rounds.slice(2).map((r) => r.atMs);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      assert.ok(gaps.length >= 3, `rounds: ${gaps.length}`);
      for (const g of gaps)
        assert.ok(g >= lo && g <= hi + 50, `TTL ${ttlS} s: gap ${g} ms not in [${lo}, ${hi}]`);
      await close(w);
    }
  });

  it('backs off with jitter between failed rounds, and gives up after maxAttempts before a first join', async () => {
    const w = world();
    w.dns.setHost('nobody.test', ['10.9.9.9'], 5);
    const gaveUp: number[] = [];
    const a = await addNode(w, 'a', ['nobody.test:7946'], {
      retryBaseMs: 1000,
      retryMaxMs: 8000,
      maxAttempts: 6,
    });
    a.discovery.on('gave-up', (e) => gaveUp.push(e.attempts));
    await w.h.run(120_000);
    assert.deepEqual(gaveUp, [6]);
    assert.equal(a.discovery.phase, 'gave-up');
    assert.equal(a.rounds.length, 6);
    const gaps = a.rounds.slice(1).map((r, i) => r.atMs - a.rounds[i]!.atMs);
    // Each gap is the backoff (1, 2, 4, 8, 8 s, each stretched by up to 20 %) plus the failed
    // join's own time (the dial to 10.9.9.9 times out).
    const base = [1000, 2000, 4000, 8000, 8000];
    const joinMs = a.rounds[0]!.nextAtMs - a.rounds[0]!.atMs; // not the join time: the delay itself
    assert.ok(joinMs >= 1000 && joinMs <= 1200, `first delay ${joinMs}`);
    for (const [i, g] of gaps.entries()) {
      assert.ok(g >= base[i]!, `gap ${i}: ${g} < ${base[i]}`);
      const delay = a.rounds[i]!.nextAtMs - a.rounds[i]!.atMs;
      assert.ok(delay >= base[i]! && delay <= base[i]! * 1.2 + 1, `delay ${i}: ${delay} vs ${base[i]}`);
    }
    assert.ok(new Set(a.rounds.map((r) => ((r.nextAtMs - r.atMs) / 1000) % 1)).size > 1, 'jitter varies');
    await close(w);
  });

  it('islands heal through the seeds (memberlist alone stays split)', async () => {
    for (const withDiscovery of [true, false]) {
      const w = world(7);
      const names = ['a', 'b', 'c', 'd'];
      for (const n of names) {
        if (withDiscovery) await addNode(w, n, ['gossip.test:7946']);
        else {
          const node = await w.h.addNode(n);
          w.nodes.set(n, {
            node,
            discovery: new SeedDiscovery({ seeds: ['10.255.0.1:1'], target: memberlistTarget(node.ml) }),
            rounds: [],
          });
        }
      }
      const addrs = names.map((n) => w.nodes.get(n)!.node.ml.localNode.address);
      w.dns.setHost(
        'gossip.test',
        addrs.map((a) => a.split(':')[0]!),
        5,
      );
      if (!withDiscovery) {
        const a = w.nodes.get('a')!.node.ml;
        await w.h.drive(a.join(addrs.slice(1)));
      }
      await w.h.waitFor('one cluster', () => isOneCluster(w, names), 30_000);
      // Cut {a,b} from {c,d} until each side holds the other dead, then heal.
      w.h.network.partition(addrs.slice(0, 2), addrs.slice(2));
      await w.h.waitFor(
        'split',
        () =>
          aliveView(w.nodes.get('a')!.node).join() === 'a,b' &&
          aliveView(w.nodes.get('c')!.node).join() === 'c,d',
        120_000,
      );
      await w.h.run(40_000); // past gossip-to-the-dead: nothing crosses the cut by itself any more
      w.h.network.heal();
      let healed = true;
      try {
        await w.h.waitFor('healed', () => isOneCluster(w, names), 90_000);
      } catch {
        healed = false;
      }
      assert.equal(
        healed,
        withDiscovery,
        withDiscovery ? 'discovery heals the islands' : 'without discovery the split stays (the control)',
      );
      await close(w);
    }
  });

  it('a cluster whose every member moved to a new address finds itself again from the new records', async () => {
    const w = world(3);
    const names = ['a', 'b', 'c'];
    for (const n of names) await addNode(w, n, ['gossip.test:7946']);
    const ipsOf = () => names.map((n) => w.nodes.get(n)!.node.ml.localNode.address.split(':')[0]!);
    w.dns.setHost('gossip.test', ipsOf(), 5);
    await w.h.waitFor('first cluster', () => isOneCluster(w, names), 30_000);
    // Every node dies and comes back at a new address; the records change a few seconds later.
    for (const n of names) {
      const e = w.nodes.get(n)!;
      e.discovery.stop();
      await w.h.crash(e.node);
    }
    w.nodes.clear();
    for (const n of names) await addNode(w, n, ['gossip.test:7946']);
    await w.h.run(3000);
    assert.ok(!isOneCluster(w, names), 'the old records point nowhere');
    w.dns.setHost('gossip.test', ipsOf(), 5);
    const took = await w.h.waitFor('found again', () => isOneCluster(w, names), 60_000);
    assert.ok(took < 40_000, `took ${took} ms`);
    await close(w);
  });
});

describe('seed discovery: the first-start gate', () => {
  /**
   * Four nodes start at once; for the first 12 s their DNS views differ ({a,b} for a and b,
   * {c,d} for c and d: records still propagating), then everyone sees all four. Samples every
   * 100 ms whether two clusters exist at once (two nodes, each with another alive member,
   * whose alive views are disjoint).
   */
  async function firstStart(gate: SeedDiscoveryOptions['bootstrap']) {
    const w = world(11);
    const names = ['a', 'b', 'c', 'd'];
    const early = { ab: new MemoryResolver(), cd: new MemoryResolver() };
    const switchAt = 12_000;
    const entries = [];
    for (const n of names) {
      const own = n < 'c' ? early.ab : early.cd;
      entries.push(await addNode(w, n, ['gossip.test:7946'], { bootstrap: gate }, own));
    }
    const ips = entries.map((e) => e.node.ml.localNode.address.split(':')[0]!);
    const start = w.h.clock.now();
    early.ab.setHost('gossip.test', () => ({
      ips: w.h.clock.now() - start < switchAt ? ips.slice(0, 2) : ips,
      ttlS: 1,
    }));
    early.cd.setHost('gossip.test', () => ({
      ips: w.h.clock.now() - start < switchAt ? ips.slice(2) : ips,
      ttlS: 1,
    }));
    let twoClusters = false;
    for (let t = 0; t < 90_000 && !(isOneCluster(w, names) && t > switchAt); t += 100) {
      await w.h.run(100);
      const views = names.map((n) => aliveView(w.nodes.get(n)!.node)).filter((v) => v.length >= 2);
      for (const x of views) for (const y of views) if (!x.some((m) => y.includes(m))) twoClusters = true;
    }
    const formed = names.map((n) => w.nodes.get(n)!.discovery.formed);
    const outcomes = names.map(
      (n) =>
        w.nodes.get(n)!.rounds.find((r) => r.phase === 'joined' || /formed|joined/.test(r.outcome))
          ?.outcome ?? '',
    );
    const done = isOneCluster(w, names);
    await close(w);
    return { twoClusters, formed, outcomes, done };
  }

  it('without the gate, two clusters form at first start (then heal through the seeds)', async () => {
    const r = await firstStart(undefined);
    assert.equal(r.twoClusters, true, 'the race the gate prevents');
    assert.equal(r.done, true, 'continuous discovery merges them afterwards');
  });

  it('with the gate (3 peers expected), one node forms alone, the lowest name, and the others join it', async () => {
    const r = await firstStart({ minPeers: 3, stableMarginMs: 5000 });
    assert.equal(r.twoClusters, false);
    assert.equal(r.done, true);
    // a, the lowest name, either formed alone or was joined by the others first (both: one
    // cluster around a); b, c and d each joined a, or the cluster a already had by then.
    assert.ok(r.formed[0] === 'lowest-name' || r.formed[0] === 'joined-by-peer', `a: ${r.formed[0]}`);
    for (const i of [1, 2, 3]) {
      assert.equal(r.formed[i], 'joined');
      assert.match(r.outcomes[i]!, /joined a, the lowest name|joined an existing cluster through/);
    }
  });

  it('a gated node joins an existing cluster at once', async () => {
    const w = world(5);
    const a = await addNode(w, 'a', ['gossip.test:7946']);
    const b = await addNode(w, 'b', ['gossip.test:7946']);
    const ips = [a, b].map((e) => e.node.ml.localNode.address.split(':')[0]!);
    w.dns.setHost('gossip.test', ips, 5);
    await w.h.waitFor('a+b', () => isOneCluster(w, ['a', 'b']), 20_000);
    // z (a name after a and b, so no lowest-name shortcut) starts later with a strict gate.
    const z = await addNode(w, 'z', ['gossip.test:7946'], {
      bootstrap: { minPeers: 5, stableMarginMs: 60_000 },
    });
    w.dns.setHost('gossip.test', [...ips, z.node.ml.localNode.address.split(':')[0]!], 5);
    const took = await w.h.waitFor('z joined', () => isOneCluster(w, ['a', 'b', 'z']), 20_000);
    assert.ok(took < 5000, `took ${took} ms`);
    assert.equal(z.discovery.formed, 'joined');
    await close(w);
  });
});
