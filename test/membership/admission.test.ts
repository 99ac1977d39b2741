/**
 * Admission rules for member claims (src/membership/admission.ts): the version rule as a table
 * (serf's own vectors pass, what cannot work with ours is refused), the per-source budget of
 * never-seen names, and, on the in-memory network in virtual time, a node under a burst of
 * forged alives and a joiner whose seed hands it an incompatible member in the push-pull.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/log.ts';
import {
  MAX_RATE_LIMITED_SOURCES,
  SourceRateLimiter,
  sourceOf,
  versionIncompatibility,
} from '../../src/membership/admission.ts';
import type { MemoryTransport } from '../../src/transport/memory.ts';
import {
  decodeStreamMessage,
  encodeMessage,
  encodePushPull,
  encodeStreamMessage,
  type PushNodeState,
  type StreamMessage,
} from '../../src/wire/index.ts';
import { memoryHarness } from '../support/cluster.ts';

/** What a Serf 0.8-0.10 agent and ours advertise. */
const SERF = [1, 5, 2, 2, 5, 5];

describe('admission: versions', () => {
  it('takes every vector a real serf or memberlist peer of ours can have, refuses what cannot work with ours', () => {
    const cases: [number[], number[], boolean][] = [
      // ours, theirs, admitted
      [SERF, SERF, true],
      // serf agents speaking protocol 2, 3 or 4 (memberlist 2 in every case)
      [SERF, [1, 5, 2, 2, 5, 2], true],
      [SERF, [1, 5, 2, 2, 5, 4], true],
      // a member that speaks 3 and understands 2: fine for us (we speak 2, understand 3)
      [SERF, [2, 5, 3, 2, 5, 5], true],
      // narrow, but containing our versions
      [SERF, [2, 2, 2, 5, 5, 5], true],
      // the forged member, and others from the burst
      [SERF, [1, 5, 80, 2, 5, 5], false],
      [SERF, [247, 250, 248, 2, 5, 5], false],
      [SERF, [1, 1, 1, 2, 5, 5], false], // understands only 1: cannot read our 2
      [SERF, [1, 5, 2, 6, 9, 7], false], // a Serf protocol we do not understand
      [SERF, [1, 5, 2, 2, 4, 4], false], // cannot read our Serf 5
      // memberlist's own check at the door
      [SERF, [0, 5, 2, 2, 5, 5], false],
      [SERF, [3, 2, 2, 2, 5, 5], false],
      // short vectors (memberlist reads six bytes)
      [SERF, [], false],
      [SERF, [1, 5, 2], false],
      // plain memberlist nodes (no delegate protocol) among themselves, and next to serf
      [[1, 5, 2, 0, 0, 0], [1, 5, 2, 0, 0, 0], true],
      [[1, 5, 2, 0, 0, 0], SERF, false],
      [SERF, [1, 5, 2, 0, 0, 0], false],
    ];
    for (const [ours, theirs, admitted] of cases) {
      const why = versionIncompatibility(ours, theirs);
      assert.equal(why === undefined, admitted, `ours ${ours} theirs ${theirs}: ${why}`);
    }
    assert.match(versionIncompatibility(SERF, [1, 5, 80, 2, 5, 5])!, /protocol version 80/);
  });

  it('sourceOf keeps the IP of ip:port and [v6]:port', () => {
    assert.equal(sourceOf('127.0.0.2:7946'), '127.0.0.2');
    assert.equal(sourceOf('[::1]:7946'), '::1');
    assert.equal(sourceOf('10.0.0.8'), '10.0.0.8');
  });
});

describe('admission: never-seen names per source', () => {
  it('a burst of a second’s worth, then the rate; sources are independent; tracked sources are bounded', () => {
    const l = new SourceRateLimiter(10);
    let taken = 0;
    for (let i = 0; i < 25; i++) if (l.take('a', 0)) taken++;
    assert.equal(taken, 10, 'one second’s worth at once');
    assert.equal(l.take('b', 0), true, 'another source has its own budget');
    assert.equal(l.take('a', 50), false, 'half a token after 50 ms');
    assert.equal(l.take('a', 100), true, 'one token after 100 ms');
    taken = 0;
    for (let i = 0; i < 25; i++) if (l.take('a', 10_100)) taken++;
    assert.equal(taken, 10, 'never more than a second’s worth banked');
    for (let i = 0; i < MAX_RATE_LIMITED_SOURCES + 100; i++) l.take(`s${i}`, 20_000);
    assert.equal(l.size, MAX_RATE_LIMITED_SOURCES);
  });
});

/** A raw peer on the in-memory network: sends what the test says, answers push-pulls with `states`. */
function rawPeer(t: MemoryTransport, states: () => PushNodeState[]): void {
  t.attach({
    packet() {},
    stream(s) {
      let answered = false;
      s.setHandlers({
        data() {
          if (answered) return;
          answered = true;
          s.write(
            encodeStreamMessage(encodePushPull(false, states(), new Uint8Array(0)), { compress: false }),
          );
          s.close();
        },
        close() {},
      });
    },
  });
}

function alive(node: string, port: number, vsn: number[], ip = [10, 9, 9, 9]): Uint8Array {
  return encodeMessage({
    type: 'alive',
    body: { incarnation: 1, node, addr: Uint8Array.from(ip), port, meta: new Uint8Array(0), vsn },
  });
}

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };
}

describe('admission on a node (in-memory network, virtual time)', () => {
  it('a burst of forged alives: incompatible ones counted and logged once each, new names bounded per source', async () => {
    const h = memoryHarness(7);
    try {
      const logger = capture();
      const target = await h.addNode('target', {
        delegateProtocolMin: 2,
        delegateProtocolMax: 5,
        delegateProtocolVersion: 5,
        maxNewNamesPerSourcePerSecond: 50,
        logger,
      });
      const attacker = h.network.createTransport('10.66.0.1:7946');
      const other = h.network.createTransport('10.66.0.2:7946');
      const addr = target.ml.localNode.address;
      // 10 incompatible claims, each sent 3 times, then 200 compatible never-seen names at once.
      for (let round = 0; round < 3; round++)
        for (let i = 0; i < 10; i++)
          attacker.sendPacket(addr, alive(`bad-${i}`, 7946, [1, 5, 80 + i, 2, 5, 5]));
      for (let i = 0; i < 200; i++) attacker.sendPacket(addr, alive(`flood-${i}`, 7946, SERF));
      await h.run(20);
      const ml = target.ml;
      const names = () => ml.members().map((m) => m.name);
      assert.equal(names().filter((n) => n.startsWith('bad-')).length, 0, 'no incompatible member held');
      assert.equal(ml.stats.dropped['incompatible-version'], 30);
      for (let i = 0; i < 10; i++) {
        const lines = logger.lines.filter((l) => l.includes(`"bad-${i}"`));
        assert.equal(lines.length, 1, `bad-${i} logged once: ${lines.join('\n')}`);
      }
      const flood = names().filter((n) => n.startsWith('flood-')).length;
      assert.equal(flood, 50, 'one second’s worth of new names from the attacker');
      assert.equal(ml.stats.dropped['new-name-rate'], 150);
      // Another source is not starved by the attacker; known names are not limited.
      other.sendPacket(addr, alive('legit', 7946, SERF, [10, 66, 0, 2]));
      attacker.sendPacket(
        addr,
        encodeMessage({
          type: 'alive',
          body: {
            incarnation: 2,
            node: 'flood-0',
            addr: Uint8Array.of(10, 9, 9, 9),
            port: 7946,
            meta: Uint8Array.of(1),
            vsn: SERF,
          },
        }),
      );
      await h.run(20);
      assert.ok(names().includes('legit'), 'a new name from another source is taken');
      assert.equal(ml.stats.dropped['new-name-rate'], 150, 'an update about a known name spends nothing');
      // A second later, the attacker has a second’s worth again.
      await h.run(1000);
      for (let i = 200; i < 300; i++) attacker.sendPacket(addr, alive(`flood-${i}`, 7946, SERF));
      await h.run(20);
      assert.equal(names().filter((n) => n.startsWith('flood-')).length, 100);
    } finally {
      await h.close();
    }
  });

  it('the member table is bounded: claims about new names beyond maxMembers are dropped', async () => {
    const h = memoryHarness(8);
    try {
      const target = await h.addNode('target', { maxMembers: 20 });
      const addr = target.ml.localNode.address;
      for (let i = 0; i < 40; i++) {
        const t = h.network.createTransport(`10.67.0.${i + 1}:7946`);
        t.sendPacket(addr, alive(`n${i}`, 7946, [1, 5, 2, 0, 0, 0], [10, 67, 0, i + 1]));
      }
      await h.run(20);
      assert.equal(target.ml.members().length, 20);
      assert.equal(target.ml.stats.dropped['member-limit'], 21);
    } finally {
      await h.close();
    }
  });

  it('a joiner skips (and says so) a member of the seed’s list whose versions cannot work with ours', async () => {
    const h = memoryHarness(9);
    try {
      const seed = h.network.createTransport('10.68.0.1:7946');
      const entry = (name: string, vsn: number[], state = 0, ip = [10, 68, 0, 1]): PushNodeState => ({
        name,
        addr: Uint8Array.from(ip),
        port: 7946,
        meta: new Uint8Array(0),
        incarnation: 1,
        state,
        vsn,
      });
      const plain = [1, 5, 2, 0, 0, 0];
      rawPeer(seed, () => [
        entry('seed', plain),
        entry('forged-v80', [1, 5, 80, 0, 0, 0], 0, [10, 68, 0, 9]),
        entry('forged-dead', [247, 250, 248, 0, 0, 0], 2, [10, 68, 0, 10]),
      ]);
      const logger = capture();
      const joiner = await h.addNode('joiner', { logger });
      const joined = await h.drive(joiner.ml.join([seed.localAddr]));
      assert.equal(joined, 1, 'the join succeeds');
      const names = joiner.ml
        .members()
        .map((m) => m.name)
        .sort();
      assert.deepEqual(names, ['joiner', 'seed']);
      assert.equal(joiner.ml.stats.dropped['incompatible-version'], 2);
      assert.ok(
        logger.lines.some(
          (l) => /skipped members whose versions cannot work with ours/.test(l) && /forged-v80/.test(l),
        ),
        `the joiner says what it skipped:\n${logger.lines.join('\n')}`,
      );

      // A seed none of whose alive members can work with us: the join fails, saying why.
      const alien = h.network.createTransport('10.68.0.2:7946');
      rawPeer(alien, () => [entry('alien', [1, 5, 2, 2, 5, 5], 0, [10, 68, 0, 2])]);
      const other = await h.addNode('other');
      await assert.rejects(
        h.drive(other.ml.join([alien.localAddr])),
        /no member of the remote cluster can work with our versions: Node 'alien' delegate protocol version 5/,
      );
    } finally {
      await h.close();
    }
  });
});

describe('push-pulls per source (in-memory network, virtual time)', () => {
  it('one address gets a second’s worth of push-pulls answered, then error replies; another address is served', async () => {
    const h = memoryHarness(10);
    try {
      const target = await h.addNode('target', { maxPushPullsPerSourcePerSecond: 10 });
      const addr = target.ml.localNode.address;
      const ask = (from: MemoryTransport, i: number) =>
        new Promise<StreamMessage['type'] | 'none'>((resolve) => {
          const state: PushNodeState = {
            name: `pp-${from.localAddr}-${i}`,
            addr: Uint8Array.of(10, 69, 0, 1),
            port: 7946,
            meta: new Uint8Array(0),
            incarnation: 1,
            state: 0,
            vsn: SERF.map((v, j) => (j >= 3 ? 0 : v)),
          };
          from.dialStream(addr, 1000, (d) => {
            if (!d.ok) return resolve('none');
            let got: Uint8Array = new Uint8Array(0);
            d.stream.setHandlers({
              data(chunk) {
                got = Uint8Array.from([...got, ...chunk]);
                const r = decodeStreamMessage(got);
                if (r.status === 'ok') resolve(r.message.type);
              },
              close() {
                resolve('none');
              },
            });
            d.stream.write(
              encodeStreamMessage(encodePushPull(false, [state], new Uint8Array(0)), { compress: false }),
            );
          });
        });
      const flooder = h.network.createTransport('10.69.0.1:7946');
      const other = h.network.createTransport('10.69.0.2:7946');
      const replies = await h.drive(Promise.all(Array.from({ length: 30 }, (_, i) => ask(flooder, i))));
      assert.equal(replies.filter((t) => t === 'pushPull').length, 10);
      assert.equal(replies.filter((t) => t === 'err').length, 20, 'the rest get an error reply');
      assert.equal(target.ml.stats.dropped['push-pull-rate'], 20);
      assert.equal(await h.drive(ask(other, 0)), 'pushPull', 'another address is served');
      await h.run(1000);
      assert.equal(
        await h.drive(ask(flooder, 99)),
        'pushPull',
        'a second later, the flooder is served again',
      );
    } finally {
      await h.close();
    }
  });
});
