/**
 * A death notice newer than the death we hold (transitions.ts `newerDeath`, a difference from
 * memberlist): a member we declared dead at one incarnation that refuted elsewhere and then left
 * at a higher one is held left at that incarnation, so an alive from before its leave, still in
 * flight, does not bring it back. On the in-memory network, in virtual time, with hand-made
 * messages from a peer that is not a member.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '../../src/wire/index.ts';
import { memoryHarness } from '../support/cluster.ts';

const X_ADDR = Uint8Array.of(10, 70, 0, 2);
const PLAIN = [1, 5, 2, 0, 0, 0];

const alive = (incarnation: number) =>
  encodeMessage({
    type: 'alive',
    body: { incarnation, node: 'x', addr: X_ADDR, port: 7946, meta: new Uint8Array(0), vsn: PLAIN },
  });
const dead = (incarnation: number, from: string) =>
  encodeMessage({ type: 'dead', body: { incarnation, node: 'x', from } });

describe('membership: a death newer than the one held', () => {
  it('a leave at a higher incarnation than our dead verdict makes the member left there, and an older alive does not revive it', async () => {
    const h = memoryHarness(5);
    try {
      const a = await h.addNode('a');
      const peer = h.network.createTransport('10.70.0.1:7946');
      const to = a.ml.localNode.address;
      const events: string[] = [];
      a.ml.on('join', ({ member }) => {
        if (member.name === 'x') events.push(`join@${member.incarnation}`);
      });
      a.ml.on('leave', ({ member }) => {
        if (member.name === 'x') events.push(`${member.status}@${member.incarnation}`);
      });
      const send = async (m: Uint8Array) => {
        peer.sendPacket(to, m);
        await h.run(20);
      };
      await send(alive(1));
      await send(dead(1, 'p')); // declared dead at 1 (by someone's suspicion)
      assert.deepEqual(events, ['join@1', 'dead@1']);
      // x refuted elsewhere (to 2), then left at 2: its leave reaches us before its refutation.
      await send(dead(2, 'x'));
      assert.equal(a.ml.member('x')?.status, 'left');
      assert.equal(a.ml.member('x')?.incarnation, 2);
      await send(alive(2));
      assert.equal(a.ml.member('x')?.status, 'left', 'the alive from before its leave does not revive it');
      // Old news changes nothing and is not reported again.
      await send(dead(1, 'x'));
      await send(dead(2, 'x'));
      assert.deepEqual(events, ['join@1', 'dead@1', 'left@2']);
      // A death at a higher incarnation is taken too (no event: it stays left).
      await send(dead(3, 'p'));
      assert.equal(a.ml.member('x')?.incarnation, 3);
      assert.equal(a.ml.member('x')?.status, 'left');
      // A later life of x (it refutes its leave with a higher incarnation) is back.
      await send(alive(4));
      assert.equal(a.ml.member('x')?.status, 'alive');
      assert.deepEqual(events, ['join@1', 'dead@1', 'left@2', 'join@4']);
    } finally {
      await h.close();
    }
  });
});
