/**
 * Forged member claims on a live plaintext `gossip agent` (issue 13): a burst of `alive`
 * messages from one UDP socket, with random names, loopback addresses (a sink port this test
 * binds) and random version vectors, one of them claiming memberlist protocol version 80.
 *
 * Before admission rules existed, the agent took every forged claim that passed memberlist's
 * own check (non-zero `pMin <= pMax`) into its member list, and every later join through it
 * failed: `Node '…' protocol version (80) is incompatible: [247, 5]`. Now:
 * - a new `gossip agent` and a real `serf agent` both join through the attacked agent (and
 *   through the forged members it does hold: the compatible ones, until they fail);
 * - the agent holds no member whose versions cannot work with its own, and counts the dropped
 *   claims as `incompatible-version` in `/metrics`, logging each forged name once;
 * - claims about never-seen names beyond the per-source budget are dropped as `new-name-rate`,
 *   while a claim from another source is still taken.
 *
 * Reproduce with FORGED_SEED=<seed> (printed).
 */
// npm test: heavy (a burst of forged members, a serf agent and ours joining through it)
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { SeededRandom } from '../../src/runtime/random.ts';
import { encodeMessage, encodeTags } from '../../src/wire/index.ts';
import { GossipAgent } from '../support/gossip-agent.ts';
import { freePort, SerfAgent, serfAvailable, sleep, waitFor } from '../support/serf.ts';

const SEED = Number(process.env.FORGED_SEED ?? 20261127);
/** Forged claims with random version vectors in the burst. */
const RANDOM_VSN_CLAIMS = 200;
/** Forged claims with a vector like ours (they can work with us, so they are held until probed dead). */
const COMPATIBLE_CLAIMS = 8;
/** Our vector, and which claims it can work with (pairwise memberlist `verifyProtocol`). */
const OURS = [1, 5, 2, 2, 5, 5] as const;

function compatibleWithOurs(v: readonly number[]): boolean {
  if (v.length < 6) return false;
  const [pMin, pMax, pCur, dMin, dMax, dCur] = v as [number, number, number, number, number, number];
  if (pMin === 0 || pMax === 0 || pMin > pMax) return false; // memberlist's own check
  const lo = Math.max(OURS[0], pMin);
  const hi = Math.min(OURS[1], pMax);
  const dLo = Math.max(OURS[3], dMin);
  const dHi = Math.min(OURS[4], dMax);
  return (
    pCur >= lo &&
    pCur <= hi &&
    OURS[2] >= lo &&
    OURS[2] <= hi &&
    dCur >= dLo &&
    dCur <= dHi &&
    OURS[5] >= dLo &&
    OURS[5] <= dHi
  );
}

function udpSocket(host = '127.0.0.1'): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('message', () => {});
    s.on('error', () => {});
    s.bind(0, host, () => resolve(s));
  });
}

function send(s: UdpSocket, buf: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve) => s.send(buf, port, '127.0.0.1', () => resolve()));
}

function forgedAlive(node: string, port: number, vsn: number[]): Uint8Array {
  return encodeMessage({
    type: 'alive',
    body: {
      incarnation: 1,
      node,
      addr: Uint8Array.of(127, 0, 0, 1),
      port,
      meta: encodeTags({ role: 'forged' }),
      vsn,
    },
  });
}

async function dropped(a: GossipAgent): Promise<Record<string, number>> {
  const res = await fetch(`http://${a.httpAddr}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^gossip_packets_dropped_total\{reason="([^"]+)"\} (\S+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

describe('forged member claims on a live agent (plaintext)', {
  skip: !serfAvailable() && 'the serf binary is not installed (CI installs it)',
  timeout: 120_000,
}, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('a burst of forged alives blocks no join, ours or serf’s, and leaves no incompatible member', async () => {
    // The sink: where every forged address points. It reads and discards (never acks).
    const sinkPort = await freePort();
    const sinkUdp = createSocket('udp4');
    sinkUdp.on('message', () => {});
    await new Promise<void>((r) => sinkUdp.bind(sinkPort, '127.0.0.1', () => r()));
    const sinkTcp: Server = createServer((s) => {
      s.on('error', () => {});
      s.resume();
      setTimeout(() => s.destroy(), 100);
    });
    await new Promise<void>((r) => sinkTcp.listen(sinkPort, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      sinkUdp.close();
      await new Promise<void>((r) => sinkTcp.close(() => r()));
    });

    const common = { profile: 'local' as const, extraArgs: ['--no-dashboard'] };
    const target = await GossipAgent.start({ node: 'fm-target', ...common });
    cleanups.push(() => target.stop());

    // The burst: random vectors (about half pass memberlist's own pMin/pMax check), one claiming
    // protocol version 80, and a few with our vector.
    const r = new SeededRandom(SEED);
    const claims: { node: string; vsn: number[] }[] = [];
    for (let i = 0; i < RANDOM_VSN_CLAIMS; i++) {
      claims.push({
        node: `forged-${i}-${r.uint32().toString(16)}`,
        vsn: Array.from({ length: 6 }, () => r.int(256)),
      });
    }
    claims.push({ node: 'forged-v80', vsn: [1, 5, 80, 2, 5, 5] });
    for (let i = 0; i < COMPATIBLE_CLAIMS; i++) claims.push({ node: `forged-ok-${i}`, vsn: [...OURS] });
    const sock = await udpSocket();
    cleanups.push(async () => {
      sock.close();
    });
    for (const c of claims) await send(sock, forgedAlive(c.node, sinkPort, c.vsn), target.port);
    const incompatible = claims.filter((c) => !compatibleWithOurs(c.vsn));
    const passesMemberlist = incompatible.filter(
      (c) => c.vsn[0]! > 0 && c.vsn[1]! > 0 && c.vsn[0]! <= c.vsn[1]!,
    );
    console.log(
      `FORGED_SEED=${SEED}: ${claims.length} forged alives, ${incompatible.length} incompatible with ours, ` +
        `${passesMemberlist.length} of which pass memberlist's own check`,
    );
    assert.ok(passesMemberlist.length > 10, 'the burst holds incompatible claims memberlist would take');

    // The compatible forged members are held (the target probes them at the sink, in vain).
    await waitFor(
      'the target to hold the compatible forged members',
      async () =>
        (await target.members()).filter((m) => m.name.startsWith('forged-ok-')).length === COMPATIBLE_CLAIMS,
      10_000,
    );

    // A gossip joiner and a serf joiner, through the attacked agent.
    const joiner = await GossipAgent.start({ node: 'fm-joiner', join: [target.addr], ...common });
    cleanups.push(() => joiner.stop());
    const serf = await SerfAgent.start({ node: 'fm-serf', profile: 'local', join: [target.addr] });
    cleanups.push(() => serf.stop());
    const trio = ['fm-target', 'fm-joiner', 'fm-serf'];
    let views: string[] = [];
    await waitFor(
      'the target, the gossip joiner and the serf joiner to list each other alive',
      async () => {
        const all = [await target.members(), await joiner.members(), await serf.members()];
        views = all.map((ms) =>
          ms
            .filter((m) => trio.includes(m.name))
            .map((m) => `${m.name}:${m.status}`)
            .join(','),
        );
        return all.every((ms) => trio.every((n) => ms.some((m) => m.name === n && m.status === 'alive')));
      },
      60_000,
      250,
    ).catch((e) => {
      throw new Error(
        `${String(e)}\nviews (target, joiner, serf): ${JSON.stringify(views)}\n--- serf log ---\n${serf.log.slice(-3000)}`,
      );
    });

    // No view holds a member whose versions cannot work with ours.
    for (const [who, ms] of [
      ['target', await target.members()],
      ['joiner', await joiner.members()],
    ] as const) {
      const bad = ms.filter((m) => incompatible.some((c) => c.node === m.name));
      assert.deepEqual(
        bad.map((m) => m.name),
        [],
        `${who} holds no incompatible forged member`,
      );
    }
    const drops = await dropped(target);
    assert.equal(
      drops['incompatible-version'],
      incompatible.length,
      `every incompatible claim is counted once (${JSON.stringify(drops)})`,
    );
    // Logged once per forged name, however often it is claimed.
    for (const c of incompatible.slice(0, 20))
      await send(sock, forgedAlive(c.node, sinkPort, c.vsn), target.port);
    await sleep(300);
    const v80Lines = target.log.split('\n').filter((l) => l.includes('forged-v80'));
    assert.equal(v80Lines.length, 1, `forged-v80 is logged once:\n${v80Lines.join('\n')}`);
    assert.match(v80Lines[0]!, /protocol version 80/);
  });
});
