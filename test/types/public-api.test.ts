/**
 * Type-level tests of the public API (checked by `tsc` in `npm test`), plus a smoke run:
 * what a user imports from 'gossip' has the types the docs promise.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as gossip from '../../src/index.ts';
import {
  type Clock,
  ConfigError,
  type Member,
  Memberlist,
  type MemberlistEvents,
  MemoryNetwork,
  type Random,
  SeededRandom,
  Serf,
  type SerfEvents,
  type SerfMember,
  type Transport,
  VirtualClock,
} from '../../src/index.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

// Members carry what the docs say.
export type _memberStatus = Assert<Equals<Member['status'], 'alive' | 'suspect' | 'dead' | 'left'>>;
export type _serfStatus = Assert<Equals<SerfMember['status'], 'alive' | 'leaving' | 'left' | 'failed'>>;
// Event payloads are typed by name.
export type _joinEvent = Assert<Equals<MemberlistEvents['join'], { member: Member }>>;
export type _suspectHasFrom = Assert<Equals<MemberlistEvents['suspect']['from'], string>>;
export type _userEvent = Assert<Equals<SerfEvents['user']['payload'], Uint8Array>>;
// Long operations return promises and take an AbortSignal.
export type _joinSignature = Assert<Equals<ReturnType<Memberlist['join']>, Promise<number>>>;
export type _joinTakesSignal = Assert<
  Equals<Parameters<Memberlist['join']>[1], gossip.SignalOptions | undefined>
>;
export type _serfLeave = Assert<Equals<ReturnType<Serf['leave']>, Promise<void>>>;
// The replicated state: local synchronous writes, async-iterator watches, typed limits.
export type _stateSet = Assert<Equals<ReturnType<gossip.ReplicatedState['set']>, gossip.WriteResult>>;
export type _stateWatch = Assert<
  Equals<ReturnType<gossip.ReplicatedState['watch']>, AsyncIterableIterator<gossip.WatchEvent>>
>;
export type _watchTypes = Assert<Equals<gossip.WatchEvent['type'], 'snapshot' | 'set' | 'delete'>>;
export type _stateLimit = Assert<Equals<gossip.StateLimitError['limit'], string>>;
// The injected edges are interfaces a user can implement.
export type _clock = Assert<Equals<keyof Clock, 'now' | 'setTimer'>>;
export type _transportHasPackets = Assert<
  Equals<Parameters<Transport['sendPacket']>, [to: string, data: Uint8Array]>
>;

it('the public API is importable and works end to end on the in-memory network', async () => {
  const clock = new VirtualClock();
  const random: Random = new SeededRandom(1);
  const net = new MemoryNetwork({ clock, random: random.fork() });
  const a = new Serf({
    name: 'a',
    transport: net.createTransport(),
    clock,
    random: random.fork(),
    tags: { role: 'x' },
  });
  const b = new Serf({ name: 'b', transport: net.createTransport(), clock, random: random.fork() });
  a.start();
  b.start();
  const joined = b.join([a.memberlist.localNode.address]);
  for (let i = 0; i < 100; i++) {
    clock.advance(10);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await joined, 1);
  assert.deepEqual(
    b
      .members()
      .map((m) => m.name)
      .sort(),
    ['a', 'b'],
  );
  assert.throws(() => new Memberlist({ name: '', transport: net.createTransport() }), ConfigError);
  await a.shutdown();
  await b.shutdown();
  assert.equal(typeof gossip.PACKAGE_VERSION, 'string');
});
