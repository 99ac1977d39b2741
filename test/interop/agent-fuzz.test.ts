/**
 * Malformed input on a live `gossip agent`'s gossip port, plaintext and encrypted.
 *
 * A 3-agent cluster (lan profile); one agent, the target, gets ~20,000 seeded malformed and
 * mutated UDP packets (the decoder fuzz corpus of test/support/fuzz.ts: the captured vectors and
 * packets our encoder makes, mutated by bit flips, truncations, lengths pointing past the end,
 * 255-part compounds, deep nesting, junk after the compression and encryption type bytes, empty
 * decompressed payloads) and a few hundred garbage TCP streams (random bytes, truncated
 * push-pulls, huge declared lengths, connections that send nothing).
 *
 * Forged messages only ever name this test's own sockets: each candidate is decoded with
 * src/wire first and skipped if any message in it carries an address (alive, ping and indirect
 * ping source or target, push-pull node states, Serf query and relay addresses) other than
 * 127.0.0.1 at one of the three agents' ports or at a sink port this test binds — stricter than
 * "loopback", because other tests run agents on other loopback ports at the same time. Captured
 * vectors have their gossip ports (27xxx/28xxx) rewritten to the sink port before mutation.
 * Well-formed messages about the three members themselves (suspect/dead/alive/leave/join intents
 * naming them) are skipped too: acting on those is the protocol working, not a robustness fault.
 *
 * Then: the target is still up and answering HTTP; `gossip_packets_dropped_total` grew (by
 * reason); the other two still list it alive at the incarnation it had before (it was never
 * suspected, or it would have refuted with a higher one), and it still lists them alive.
 * Encrypted (a fresh random key, so no captured vector authenticates; candidates that would
 * authenticate are skipped): the target's member list — names, statuses, incarnations — is
 * exactly the same after as before, and the drops are authentication failures.
 *
 * Reproduce with AGENT_FUZZ_SEED=<seed> (printed); AGENT_FUZZ_PACKETS changes the count.
 */
// npm test: heavy (floods an agent: 20,000 UDP packets and 320 streams, twice)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { SeededRandom } from '../../src/runtime/random.ts';
import {
  compressMessage,
  decodePacket,
  decodeSerfMessage,
  decodeStreamMessage,
  encodeCompound,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeSerfMessage,
  encodeStreamMessage,
  encodeTags,
  Keyring,
  type MemberlistMessage,
  type PushNodeState,
  type SerfMessage,
  type StreamMessage,
} from '../../src/wire/index.ts';
import { capturedVectors, encoderInputs, mutate } from '../support/fuzz.ts';
import { GossipAgent } from '../support/gossip-agent.ts';
import { freePort, sleep, waitFor } from '../support/serf.ts';

const SEED = Number(process.env.AGENT_FUZZ_SEED ?? 20261126);
const UDP_PACKETS = Number(process.env.AGENT_FUZZ_PACKETS ?? 20_000);
const TCP_STREAMS = 300;
const IDLE_STREAMS = 20;
/** UDP pacing: a burst of this many packets, then a pause (about 2,500 packets a second). */
const BURST = 25;
const BURST_PAUSE_MS = 10;
/**
 * At most about this many packets sent and not yet read by the target: past it, the sender
 * waits for the target. A starved agent reads slowly, and the kernel drops what overflows its
 * socket buffer (2 MiB asked, but capped by net.core.rmem_max: 208 KiB on a stock kernel, ~300
 * of these packets), which the per-reason counts below could not tell from a miscount.
 */
const UDP_UNREAD_MAX = 250;
/**
 * A bound, not a target: a mode takes 25-35 s on a loaded 2-core machine (its UDP pacing alone
 * is 8 s), minutes when starved. Its speed is nothing this test asserts.
 */
const MODE_TIMEOUT_MS = 300_000;

/** A key only this run knows, so that no captured vector authenticates. */
const CLUSTER_KEY = randomBytes(32).toString('base64');
const OTHER_KEYRING = new Keyring([new Uint8Array(32).map((_, i) => i * 3)]);

interface Detail {
  name: string;
  status: string;
  swimStatus: string;
  incarnation: number;
}

// ---------------------------------------------------------------------------------------------
// What a candidate may carry

const LOOPBACK = Uint8Array.of(127, 0, 0, 1);

class Guard {
  /** Ports of this test's sockets on 127.0.0.1: the three agents and the sink. */
  readonly ports: Set<number>;
  readonly names: Set<string>;
  readonly targetPort: number;
  readonly keyring: Keyring | undefined;
  readonly skipped = new Map<string, number>();

  constructor(ports: number[], names: string[], targetPort: number, keyring: Keyring | undefined) {
    this.ports = new Set(ports);
    this.names = new Set(names);
    this.targetPort = targetPort;
    this.keyring = keyring;
  }

  #skip(why: string): false {
    this.skipped.set(why, (this.skipped.get(why) ?? 0) + 1);
    return false;
  }

  /** Checks one address; `port` 0 means the receiver's own port, as memberlist reads it. */
  #addrOk(ip: Uint8Array, port: number): boolean | string {
    const loopback =
      (ip.length === 4 && ip[0] === 127) ||
      (ip.length === 16 && ip.subarray(0, 15).every((b) => b === 0) && ip[15] === 1);
    if (!loopback) return 'an address outside 127.0.0.0/8 and ::1';
    if (!(ip.length === 4 && ip.every((b, i) => b === LOOPBACK[i])))
      return 'a loopback address other than 127.0.0.1';
    if (!this.ports.has(port === 0 ? this.targetPort : port)) return 'a loopback port not ours';
    return true;
  }

  #checkAddr(ip: Uint8Array, port: number): boolean {
    const v = this.#addrOk(ip, port);
    return v === true ? true : this.#skip(v as string);
  }

  #checkName(name: string): boolean {
    return this.names.has(name) ? this.#skip('a message about a cluster member') : true;
  }

  #checkSerf(msg: SerfMessage, depth = 0): boolean {
    switch (msg.type) {
      case 'join':
      case 'leave':
        return this.#checkName(msg.body.node);
      case 'query':
        return this.#checkAddr(msg.body.addr, msg.body.port);
      case 'relay': {
        if (!this.#checkAddr(msg.header.destAddr.ip, msg.header.destAddr.port)) return false;
        const inner = decodeSerfMessage(msg.inner);
        return !inner.ok || depth > 4 || this.#checkSerf(inner.value, depth + 1);
      }
      case 'pushPull':
        for (const n of Object.keys(msg.body.statusLTimes)) if (!this.#checkName(n)) return false;
        for (const n of msg.body.leftMembers ?? []) if (!this.#checkName(n)) return false;
        return true;
      default:
        return true;
    }
  }

  #checkUserPayload(payload: Uint8Array): boolean {
    const s = decodeSerfMessage(payload);
    return !s.ok || this.#checkSerf(s.value);
  }

  #checkMessage(m: MemberlistMessage): boolean {
    switch (m.type) {
      case 'ping':
        return m.body.sourceAddr.length === 0 || m.body.sourcePort === 0
          ? true
          : this.#checkAddr(m.body.sourceAddr, m.body.sourcePort);
      case 'indirectPing':
        if (!this.#checkAddr(m.body.target, m.body.port)) return false;
        return m.body.sourceAddr.length === 0 || m.body.sourcePort === 0
          ? true
          : this.#checkAddr(m.body.sourceAddr, m.body.sourcePort);
      case 'alive':
        return this.#checkName(m.body.node) && this.#checkAddr(m.body.addr, m.body.port);
      case 'suspect':
      case 'dead':
        return this.#checkName(m.body.node);
      case 'user':
        return this.#checkUserPayload(m.payload);
      default:
        return true;
    }
  }

  #checkStream(m: StreamMessage): boolean {
    switch (m.type) {
      case 'pushPull':
        for (const s of m.states)
          if (!this.#checkName(s.name) || !this.#checkAddr(s.addr, s.port)) return false;
        return m.userState.length === 0 || this.#checkUserPayload(m.userState);
      case 'user':
        return this.#checkUserPayload(m.payload);
      default:
        return true;
    }
  }

  /** Whether a UDP candidate may be sent: decoded as the target would decode it. */
  udp(buf: Uint8Array): boolean {
    if (buf.length > 65_507) return this.#skip('larger than a UDP datagram');
    const p = decodePacket(buf, { keyring: this.keyring });
    if (!p.ok) return true;
    if (this.keyring && p.value.encrypted) return this.#skip('authenticates with the cluster key');
    for (const m of p.value.messages) if (!this.#checkMessage(m)) return false;
    return true;
  }

  /** Whether a TCP stream's bytes may be sent. */
  tcp(buf: Uint8Array): boolean {
    const s = decodeStreamMessage(buf, { keyring: this.keyring });
    if (s.status !== 'ok') return true;
    if (this.keyring && s.encrypted) return this.#skip('authenticates with the cluster key');
    return this.#checkStream(s.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** Rewrites msgpack uint16 values in the vectors' gossip port range to `port`. */
function rewritePorts(b: Uint8Array, port: number): Uint8Array {
  const out = b.slice();
  for (let i = 0; i + 2 < out.length; i++) {
    if (out[i] !== 0xcd) continue;
    const v = (out[i + 1]! << 8) | out[i + 2]!;
    if (v >= 27_000 && v < 30_000) {
      out[i + 1] = port >> 8;
      out[i + 2] = port & 0xff;
      i += 2;
    }
  }
  return out;
}

interface Cluster {
  target: GossipAgent;
  others: GossipAgent[];
  sinkPort: number;
}

/** Messages and packets aimed at the cluster, naming only its sockets. */
function aimedInputs(c: Cluster, keyring: Keyring | undefined): Uint8Array[] {
  const ip = LOOPBACK;
  const sink = c.sinkPort;
  const [b] = c.others;
  const vsn = [1, 5, 2, 2, 5, 5];
  const msgs: Uint8Array[] = [
    encodeMessage({
      type: 'ping',
      body: { seqNo: 1, node: c.target.node, sourceAddr: ip, sourcePort: sink, sourceNode: 'fz-src' },
    }),
    encodeMessage({
      type: 'ping',
      body: { seqNo: 2, node: 'nobody', sourceAddr: ip, sourcePort: sink, sourceNode: 'fz-src' },
    }),
    encodeMessage({
      type: 'indirectPing',
      body: {
        seqNo: 3,
        target: ip,
        port: b!.port,
        node: b!.node,
        nack: true,
        sourceAddr: ip,
        sourcePort: sink,
        sourceNode: 'fz-src',
      },
    }),
    encodeMessage({
      type: 'alive',
      body: {
        incarnation: 1,
        node: 'fz-ghost',
        addr: ip,
        port: sink,
        meta: encodeTags({ role: 'ghost' }),
        vsn,
      },
    }),
    encodeMessage({ type: 'suspect', body: { incarnation: 1, node: 'fz-ghost', from: 'fz-src' } }),
    encodeMessage({ type: 'dead', body: { incarnation: 1, node: 'fz-ghost', from: 'fz-ghost' } }),
    encodeMessage({ type: 'ack', body: { seqNo: 99, payload: null } }),
    encodeMessage({ type: 'nack', body: { seqNo: 99 } }),
    encodeMessage({
      type: 'user',
      payload: encodeSerfMessage({
        type: 'userEvent',
        body: { lTime: 5, name: 'fz', payload: Uint8Array.of(1, 2, 3), cc: false },
      }),
    }),
    encodeMessage({
      type: 'user',
      payload: encodeSerfMessage({ type: 'join', body: { lTime: 3, node: 'fz-ghost' } }),
    }),
    encodeMessage({
      type: 'user',
      payload: encodeSerfMessage({ type: 'leave', body: { lTime: 4, node: 'fz-ghost', prune: false } }),
    }),
    encodeMessage({
      type: 'user',
      payload: encodeSerfMessage({
        type: 'query',
        body: {
          lTime: 2,
          id: 7,
          addr: ip,
          port: sink,
          sourceNode: 'fz-src',
          filters: null,
          flags: 1,
          relayFactor: 1,
          timeout: 500_000_000,
          name: 'fz-query',
          payload: Uint8Array.of(9),
        },
      }),
    }),
  ];
  const out = [...msgs];
  out.push(encodeCompound(msgs));
  out.push(encodePacket(msgs.slice(0, 6), { crc: true }));
  out.push(compressMessage(encodeCompound(msgs)));
  out.push(encodePacket(msgs, { compress: true, crc: true }));
  // Encrypted with a key the cluster does not have, and (mutated: unauthenticated) with its own.
  out.push(encodePacket(msgs, { keyring: OTHER_KEYRING, crc: true }));
  if (keyring) for (const m of msgs.slice(0, 3)) out.push(encodePacket([m], { keyring }));
  return out;
}

function pushPullFrom(c: Cluster, keyring: Keyring | undefined, compress: boolean): Uint8Array {
  const states: PushNodeState[] = Array.from({ length: 5 }, (_, i) => ({
    name: `fz-pp-${i}`,
    addr: LOOPBACK,
    port: c.sinkPort,
    meta: encodeTags({ n: String(i) }),
    incarnation: i + 1,
    state: i % 4,
    vsn: [1, 5, 2, 2, 5, 5],
  }));
  return encodeStreamMessage(encodePushPull(false, states, new Uint8Array(0)), {
    compress,
    ...(keyring ? { keyring } : {}),
  });
}

/** Huge declared lengths in stream headers. */
function hugeLengthStreams(): Uint8Array[] {
  const str = (s: string) => [0xa0 | s.length, ...new TextEncoder().encode(s)];
  const u32 = [0xce, 0xff, 0xff, 0xff, 0xff];
  return [
    // push-pull header: 4 billion nodes / user state of 4 GB
    Uint8Array.of(6, 0x83, ...str('Join'), 0xc2, ...str('Nodes'), ...u32, ...str('UserStateLen'), 0),
    Uint8Array.of(6, 0x83, ...str('Join'), 0xc2, ...str('Nodes'), 0, ...str('UserStateLen'), ...u32),
    Uint8Array.of(
      6,
      0x83,
      ...str('Join'),
      0xc2,
      ...str('Nodes'),
      0xcd,
      0xff,
      0xff,
      ...str('UserStateLen'),
      0,
    ),
    // stream user message of 4 GB
    Uint8Array.of(8, 0x81, ...str('UserMsgLen'), ...u32),
    // encrypted frame declaring 4 GB, and one declaring a little more than it sends
    Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 1, 2, 3),
    Uint8Array.of(0x0a, 0x00, 0x00, 0x10, 0x00, 1, ...new Uint8Array(100)),
    // a compress envelope whose buffer is 4 GB long
    Uint8Array.of(9, 0x82, ...str('Algo'), 0, ...str('Buf'), 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2),
    // a msgpack str32 and array32 of 4 billion entries inside a push-pull node state
    Uint8Array.of(6, 0x83, ...str('Join'), 0xc2, ...str('Nodes'), 1, ...str('UserStateLen'), 0, 0xdb, 0xff),
    Uint8Array.of(6, 0x83, ...str('Join'), 0xc2, ...str('Nodes'), 1, ...str('UserStateLen'), 0, 0xdd, 0xff),
  ];
}

// ---------------------------------------------------------------------------------------------
// Observing the agents

async function metricsDropped(a: GossipAgent): Promise<Map<string, number>> {
  const res = await fetch(`http://${a.httpAddr}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  for (const m of (await res.text()).matchAll(/^gossip_packets_dropped_total\{reason="([^"]+)"\} (\S+)$/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

function growth(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

async function metricValue(a: GossipAgent, name: string): Promise<number> {
  const res = await fetch(`http://${a.httpAddr}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await res.text());
  return m ? Number(m[1]) : 0;
}

/** Adds the drops the target should count for `p` (packet-level and compound parts) to `tally`. */
function expectDrops(p: Uint8Array, keyring: Keyring | undefined, tally: Map<string, number>): void {
  const add = (reason: string) => tally.set(reason, (tally.get(reason) ?? 0) + 1);
  const d = decodePacket(p, { keyring });
  if (!d.ok) add(d.reason);
  else for (const f of d.value.partFailures) add(f.reason);
}

async function detail(a: GossipAgent): Promise<Detail[]> {
  const ms = (await a.get<{ members: Detail[] }>('/v1/members/detail')).members;
  return ms
    .map((m) => ({ name: m.name, status: m.status, swimStatus: m.swimStatus, incarnation: m.incarnation }))
    .sort((x, y) => x.name.localeCompare(y.name));
}

// ---------------------------------------------------------------------------------------------
// Sending

function udpSocket(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('message', () => {});
    s.on('error', () => {});
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function sendUdp(s: UdpSocket, buf: Uint8Array, port: number): Promise<boolean> {
  return new Promise((resolve) => s.send(buf, port, '127.0.0.1', (err) => resolve(!err)));
}

/** Sends `data` on a fresh connection; `end` half-closes after it, else it is held then cut. */
function tcpSend(port: number, data: Uint8Array, end: boolean, holdMs = 300): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      resolve();
    };
    const timer = setTimeout(finish, end ? 3000 : holdMs);
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('data', () => {});
    sock.on('connect', () => {
      if (data.length > 0) sock.write(data);
      if (end) sock.end();
    });
  });
}

/** Runs `tasks` with at most `n` in flight. */
async function pool(n: number, tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

// ---------------------------------------------------------------------------------------------

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plaintext';
  describe(`malformed input on a live agent's gossip port (${mode})`, {
    timeout: MODE_TIMEOUT_MS,
  }, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c().catch(() => {});
    });

    it(`~${UDP_PACKETS} UDP packets and ${TCP_STREAMS + IDLE_STREAMS} TCP streams change nothing they should not`, async () => {
      const started = performance.now();
      const prefix = encrypted ? 'fze' : 'fzp';
      const encrypt = encrypted ? { encrypt: CLUSTER_KEY } : {};
      const keyring = encrypted ? new Keyring([Keyring.parseKey(CLUSTER_KEY)]) : undefined;
      const common = {
        profile: 'lan' as const,
        ...encrypt,
        extraArgs: ['--log-level', 'info', '--no-dashboard'],
      };

      // The sink: where forged addresses point. It reads and discards.
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

      const target = await GossipAgent.start({ node: `${prefix}-a`, ...common });
      cleanups.push(() => target.stop());
      const b = await GossipAgent.start({ node: `${prefix}-b`, join: [target.addr], ...common });
      cleanups.push(() => b.stop());
      const c = await GossipAgent.start({ node: `${prefix}-c`, join: [target.addr], ...common });
      cleanups.push(() => c.stop());
      const agents = [target, b, c];
      const names = agents.map((a) => a.node);
      await waitFor(
        'all 3 alive in every view',
        async () => {
          for (const a of agents) {
            const ms = await a.members();
            if (!names.every((n) => ms.some((m) => m.name === n && m.status === 'alive'))) return false;
          }
          return true;
        },
        20_000,
      );
      // Let the join's broadcasts and early push-pulls settle before taking the "before" view.
      await sleep(2000);
      const cluster: Cluster = { target, others: [b, c], sinkPort };
      const guard = new Guard([sinkPort, ...agents.map((a) => a.port)], names, target.port, keyring);

      const incarnationIn = async (viewer: GossipAgent) =>
        (await detail(viewer)).find((m) => m.name === target.node)!;
      const beforeTargetView = await detail(target);
      const beforeInOthers = await Promise.all([b, c].map(incarnationIn));
      for (const m of beforeInOthers) assert.equal(m.status, 'alive');
      const droppedBefore = await metricsDropped(target);

      // Connections that send nothing: opened first, so the agent's stream deadline (10 s on
      // the lan profile) runs out while the rest goes on.
      const idle: Socket[] = [];
      const idleClosed: Promise<void>[] = [];
      for (let i = 0; i < IDLE_STREAMS; i++) {
        const s = connect(target.port, '127.0.0.1');
        s.on('error', () => {});
        idle.push(s);
        idleClosed.push(new Promise((r) => s.once('close', () => r())));
      }
      cleanups.push(async () => {
        for (const s of idle) s.destroy();
      });

      // UDP.
      const r = new SeededRandom(SEED + (encrypted ? 1 : 0));
      const vectors = capturedVectors().map((v) => rewritePorts(v.bytes, sinkPort));
      const udpSeeds = [...vectors, ...encoderInputs(OTHER_KEYRING), ...aimedInputs(cluster, keyring)];
      const sock = await udpSocket();
      cleanups.push(async () => {
        sock.close();
      });
      const expectedUdp = new Map<string, number>();
      const receivedBefore = await metricValue(target, 'gossip_packets_received_total');
      let sent = 0;
      let candidates = 0;
      let unsendable = 0;
      while (sent < UDP_PACKETS && candidates < UDP_PACKETS * 3) {
        candidates++;
        const p = mutate(r, udpSeeds);
        if (!guard.udp(p)) continue;
        if (await sendUdp(sock, p, target.port)) {
          sent++;
          expectDrops(p, keyring, expectedUdp);
        } else unsendable++;
        if (sent % BURST === 0) await sleep(BURST_PAUSE_MS);
        if (sent % UDP_UNREAD_MAX === 0) {
          // (Packets the kernel did drop would hold this wait to its end; the counts judge.)
          await waitFor(
            'the target to keep up with the UDP packets',
            async () =>
              (await metricValue(target, 'gossip_packets_received_total')) - receivedBefore >=
              sent - UDP_UNREAD_MAX,
            10_000,
            20,
          ).catch(() => {});
        }
      }
      const udpDone = performance.now();
      // What the UDP phase did, before any TCP: packets the target read, and its drops next to
      // the drops our decoder predicts for the same packets.
      let received = 0;
      await waitFor(
        'the target to have read the UDP packets',
        async () => {
          received = (await metricValue(target, 'gossip_packets_received_total')) - receivedBefore;
          return received >= sent;
        },
        5000,
        200,
      ).catch(() => {});
      const udpGrew = growth(droppedBefore, await metricsDropped(target));

      // TCP: random bytes, truncated push-pulls, huge declared lengths, mutated stream vectors.
      const streamSeeds = [
        ...capturedVectors()
          .filter((v) => v.transport === 'tcp')
          .map((v) => rewritePorts(v.bytes, sinkPort)),
        pushPullFrom(cluster, undefined, false),
        pushPullFrom(cluster, undefined, true),
        pushPullFrom(cluster, OTHER_KEYRING, true),
        ...(keyring ? [pushPullFrom(cluster, keyring, true)] : []),
      ];
      const huge = hugeLengthStreams();
      const streams: { data: Uint8Array; end: boolean }[] = [];
      let tcpCandidates = 0;
      while (streams.length < TCP_STREAMS && tcpCandidates < TCP_STREAMS * 10) {
        tcpCandidates++;
        let data: Uint8Array;
        let end = true;
        switch (r.int(4)) {
          case 0: {
            data = new Uint8Array(1 + r.int(4096));
            for (let i = 0; i < data.length; i++) data[i] = r.int(256);
            break;
          }
          case 1: {
            // a truncated push-pull; half the time the sender then stalls and drops the connection
            const pp = streamSeeds[streamSeeds.length - 1 - r.int(keyring ? 4 : 3)]!;
            data = pp.subarray(0, r.int(pp.length));
            end = r.chance(0.5);
            break;
          }
          case 2:
            data = huge[r.int(huge.length)]!;
            end = r.chance(0.5);
            break;
          default:
            data = mutate(r, streamSeeds);
        }
        if (guard.tcp(data)) streams.push({ data, end });
      }
      await pool(
        16,
        streams.map((s) => () => tcpSend(target.port, s.data, s.end)),
      );
      // A stream larger than any message may be (20 MiB + framing): cut off as too large.
      await tcpSend(target.port, new Uint8Array(21 * 1024 * 1024).fill(0x06), true);

      // The idle connections: closed by the agent at its stream deadline.
      await Promise.race([
        Promise.all(idleClosed),
        sleep(15_000).then(() =>
          assert.fail('the agent kept idle connections open past its stream deadline'),
        ),
      ]);
      // Time for any suspicion of the target to surface as a refutation (a higher incarnation).
      await sleep(3000);

      // Still up and answering.
      assert.equal(target.exitCode, null, `the target exited:\n${target.log}`);
      const self = await target.get<{ name: string }>('/v1/agent');
      assert.equal(self.name, target.node);
      const droppedAfter = await metricsDropped(target);
      const grew = growth(droppedBefore, droppedAfter);
      const totalDropped = Object.values(grew).reduce((x, y) => x + y, 0);
      const afterTargetView = await detail(target);
      const afterInOthers = await Promise.all([b, c].map(incarnationIn));

      console.log(
        `${mode} (AGENT_FUZZ_SEED=${SEED}): UDP ${sent} sent, ${candidates - sent - unsendable} skipped, ` +
          `${unsendable} unsendable; TCP ${streams.length} garbage streams + ${IDLE_STREAMS} idle + 1 oversized, ` +
          `${tcpCandidates - streams.length} skipped; skipped because: ${JSON.stringify(Object.fromEntries(guard.skipped))}; ` +
          `the target's packets-received counter grew by ${received} (peers' gossip included); UDP-phase drops by reason ${JSON.stringify(udpGrew)}, ` +
          `our decoder predicts ${JSON.stringify(Object.fromEntries(expectedUdp))} (plus message-level drops); ` +
          `all drops by reason: ${JSON.stringify(grew)} (${totalDropped} in all); ` +
          `UDP phase ${Math.round(udpDone - started)} ms from start, whole mode ${Math.round(performance.now() - started)} ms; ` +
          `target as seen by the others: ${JSON.stringify(afterInOthers)}; target's own list: ${afterTargetView.length} members`,
      );

      assert.ok(sent >= UDP_PACKETS * 0.9, `only ${sent} UDP packets passed the guard`);
      assert.ok(totalDropped > 0, 'gossip_packets_dropped_total did not grow');
      // The target counts each packet-level and compound-part failure for the reason our decoder
      // gives (less any datagram the kernel dropped under the flood).
      for (const [reason, n] of expectedUdp) {
        const got = udpGrew[reason] ?? 0;
        assert.ok(got <= n && got >= n * 0.95, `${reason}: the target counted ${got}, our decoder ${n}`);
      }
      assert.ok((grew['stream-timeout'] ?? 0) >= IDLE_STREAMS, 'idle streams are counted as timed out');
      assert.ok((grew['too-large'] ?? 0) > 0, 'huge declared lengths and the oversized stream are refused');
      for (const [i, viewer] of [b, c].entries()) {
        assert.equal(afterInOthers[i]!.status, 'alive', `${viewer.node} lists the target alive`);
        assert.equal(
          afterInOthers[i]!.incarnation,
          beforeInOthers[i]!.incarnation,
          `${viewer.node} sees the target at the same incarnation (it was never suspected)`,
        );
      }
      for (const other of [b, c]) {
        const m = afterTargetView.find((x) => x.name === other.node);
        assert.equal(m?.status, 'alive', `the target lists ${other.node} alive`);
      }
      if (encrypted) {
        assert.deepEqual(
          afterTargetView,
          beforeTargetView,
          'nothing unauthenticated changed the member list',
        );
        // Every UDP packet was refused at decryption (checked against our decoder above).
        assert.ok((udpGrew['auth-failed'] ?? 0) > 0, 'some packets failed authentication');
        for (const reason of Object.keys(udpGrew))
          assert.ok(
            expectedUdp.has(reason) || reason === 'stream-timeout',
            `an unexpected ${reason} drop in the UDP phase`,
          );
        // Nothing got past decryption: no reason that only a decrypted packet can produce.
        for (const reason of [
          'bad-crc',
          'too-deep',
          'wrong-node',
          'unexpected-type',
          'trailing-bytes',
          'bad-value',
        ])
          assert.equal(grew[reason] ?? 0, 0, `a ${reason} drop means something was read past decryption`);
      } else {
        for (const reason of ['truncated', 'malformed', 'unknown-type'])
          assert.ok((grew[reason] ?? 0) > 0, `some input was dropped as ${reason}`);
      }
    });
  });
}
