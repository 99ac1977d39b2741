/**
 * A suspicion whose deadline passes while the event loop is stalled waits one more turn before
 * it declares, so that a refutation which arrived during the stall is read first
 * (src/membership/suspicion.ts, `stallGraceMs`).
 *
 * Real sockets and the real event loop, because the order is Node.js's: after a stall inside a
 * packet handler, the timers that fell due meanwhile run before the sockets are read. `a` holds
 * a suspicion of `x` (a forged `suspect`; `a`'s packets to `x` that carry a suspicion are dropped, so `x` never hears
 * of it); shortly before the deadline, a packet handler sends `a` the refutation (an `alive` of
 * `x` at a higher incarnation) and then blocks the process until well past the deadline. Without
 * the extra turn `a` declares `x` dead in every such round, and takes it back a moment later.
 *
 * A round counts only if the stall began before the deadline (a loaded machine may run the
 * trigger late); the test needs a few that do.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, it } from 'node:test';
import { suspicionTimeoutMs } from '../../src/membership/index.ts';
import { encodeMessage, encodePacket } from '../../src/wire/index.ts';
import { udpHarness } from '../support/cluster.ts';

/** Rounds that must count, and the most tried. */
const ROUNDS_NEEDED = 3;
const ROUNDS_MAX = 12;
/** How long before the deadline the stall begins, and how far past it it lasts. */
const LEAD_MS = 500;
const OVERRUN_MS = 1000;

function bound(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(port, '127.0.0.1', () => resolve(s)));
}

const h = udpHarness();
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.close();
  await h.close();
});

it('a refutation that arrived during a stall is read before a suspicion that fell due in it', async () => {
  // A long suspicion (n = 2: no confirmations expected, the timer runs `min`), no push-pull,
  // periodic or after the join (it would tell x of the suspicion over TCP). Little else reaches a around a stall: x
  // neither gossips nor probes (its intervals are a minute), and while x is suspect a's probes
  // of it carry the suspicion, so they are dropped, and have no TCP fallback. (A packet that
  // reached a just before the stall would make a's socket part of the same poll batch, and the
  // refutation would be read with it, by luck, before the timers.)
  const extra = { suspicionMult: 8, pushPullIntervalMs: 0, postJoinPushPullDelaysMs: [] };
  const a = await h.addNode('a', { ...extra, disableTcpPings: true });
  const x = await h.addNode('x', { ...extra, probeIntervalMs: 60_000, gossipIntervalMs: 60_000 });
  await x.ml.join([a.ml.localNode.address]);
  await h.waitFor('a and x see each other', () => a.ml.member('x')?.status === 'alive', 10_000);
  const xAddr = x.ml.localNode.address;
  // x never hears that it is suspected (a's pings, and x's acks, go through while x is alive).
  a.transport.dropOutgoing = (msgs, to) =>
    to === xAddr && msgs.some((m) => m.type === 'suspect' || m.type === 'dead');
  const aPort = a.ml.localNode.port;
  const minMs = suspicionTimeoutMs(8, 2, a.ml.options.probeIntervalMs);
  const lag = a.ml.options.eventLoopLagThresholdMs;
  assert.ok(OVERRUN_MS > 2 * lag, `the stall overruns the deadline by more than the grace (${lag} ms)`);

  const sender = await bound();
  const trigger = await bound();
  sockets.push(sender, trigger);
  const send = (msg: Parameters<typeof encodeMessage>[0]) =>
    sender.send(encodePacket([encodeMessage(msg)]), aPort, '127.0.0.1');

  let suspectedAt = 0;
  a.ml.on('suspect', ({ member }) => {
    if (member.name === 'x') suspectedAt = performance.now();
  });

  let counted = 0;
  const declared: string[] = [];
  for (let round = 1; round <= ROUNDS_MAX && counted < ROUNDS_NEEDED; round++) {
    const before = a.ml.member('x')!;
    assert.equal(before.status, 'alive', `round ${round}: x is alive in a's view to begin with`);
    const inc = before.incarnation;
    const deadBefore = a.ml.stats.deadDeclared;
    suspectedAt = 0;
    send({ type: 'suspect', body: { incarnation: inc, node: 'x', from: 'z' } });
    await h.waitFor('a suspects x', () => suspectedAt > 0, 5000);
    const deadline = suspectedAt + minMs;
    const { protocol: p, delegate: d } = x.ml.localNode;
    const refutation = {
      type: 'alive' as const,
      body: {
        incarnation: inc + 1,
        node: 'x',
        addr: Uint8Array.of(127, 0, 0, 1),
        port: x.ml.localNode.port,
        meta: x.ml.localNode.meta,
        vsn: [p.min, p.max, p.current, d.min, d.max, d.current],
      },
    };
    const stalled = new Promise<boolean>((resolve) => {
      trigger.once('message', () => {
        const now = performance.now();
        send(refutation);
        if (now > deadline - LEAD_MS / 2) {
          resolve(false); // ran too late to stall across the deadline: this round does not count
          return;
        }
        // The stall: inside a packet handler, past the deadline; the alive waits in a's socket.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, deadline + OVERRUN_MS - now);
        resolve(true);
      });
    });
    setTimeout(
      () => sender.send('go', trigger.address().port, '127.0.0.1'),
      Math.max(0, deadline - LEAD_MS - performance.now()),
    );
    const counts = await stalled;
    // At least inc + 1: once a holds x at inc + 1 it passes that on to x (on its next ping), and
    // x, seeing an alive of itself above its own incarnation, refutes with inc + 2; under load
    // that can all happen between two polls.
    await h.waitFor(
      `a takes x's refutation (incarnation ${inc + 1} or later)`,
      () => a.ml.member('x')?.status === 'alive' && a.ml.member('x')!.incarnation >= inc + 1,
      5000,
    );
    const dead = a.ml.stats.deadDeclared - deadBefore;
    console.log(
      `round ${round}: ${counts ? 'stalled across the deadline' : 'trigger ran late, not counted'}; a declared x dead ${dead} time(s)`,
    );
    if (!counts) continue;
    counted++;
    if (dead > 0) declared.push(`round ${round}: a declared x dead`);
  }
  assert.ok(counted >= ROUNDS_NEEDED, `only ${counted} rounds stalled across the deadline`);
  assert.deepEqual(declared, [], 'the waiting refutation was read before the deadline was judged');
});
