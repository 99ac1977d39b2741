/**
 * `npm run bench -- state` (options: {@link usage}): the replicated state (src/state) in the simulator: real `Serf` + `ReplicatedState` nodes on a
 * `VirtualClock` and `MemoryNetwork` (1 ms links, no loss), LAN profile, default state options.
 * All times are virtual; the wall time of each size is printed beside them.
 *
 * Set-up, per size n (timed apart, not measured):
 * - membership by a **warm start**, as `ProtocolSim.warmStart` does: every node starts at 0 and
 *   a stand-in peer (a bare transport, not a member) push-pulls the full member list into each
 *   node through memberlist's stream code; each node's Serf then learns every member, and
 *   which are ours, from their metadata;
 * - every node writes `--keys` keys (`k000`…, 16-byte values) through the public API;
 * - the maps then reach everyone by a **state warm start**: the stand-in sends each node, over
 *   one stream, a delta with every other node's map from scratch (exactly as a peer's
 *   anti-entropy would, through the Transport seam and the state's own receive code), instead
 *   of n × keys gossiped updates re-gossiped by every node. The run checks that every node then
 *   holds every map at its owner's version, and waits until every broadcast queue is empty.
 *
 * Measured:
 * - **one write everywhere**: `--writes` times, one node writes one new key; the time until every
 *   node holds it, and that time in gossip rounds (memberlist's 200 ms gossip interval), next to
 *   the theory for push with memberlist's fanout (3) — fresh writes ride the gossip queue —
 *   and for push-pull with fanout 1 in anti-entropy rounds (the repair path);
 * - **bytes per write**: state bytes sent by all nodes from the write until every broadcast
 *   queue is empty again, less what the steady state sends in the same time; on the wire:
 *   payload plus framing (3 bytes per piggybacked message, 6 per packet of its own);
 * - **steady state**: with no writes, state bytes per node per second over 60 s, against what
 *   memberlist sends per node per second in the same window less the state's share (the
 *   target: under 10 %);
 * - **a new node**: one more node joins through one member (a real join); the time until it
 *   holds every node's map at its owner's version, and the bytes it received.
 */
import { pushPullRounds, pushRounds, roundTo } from '../src/broadcast/theory.ts';
import { Serf } from '../src/cluster/serf.ts';
import { SeededRandom } from '../src/runtime/random.ts';
import { VirtualClock } from '../src/runtime/virtual-clock.ts';
import { warmStartList } from '../src/sim/protocol-sim.ts';
import { nodeAddr } from '../src/sim/scenario.ts';
import { encodeDelta, type NodeDelta } from '../src/state/codec.ts';
import { defaultStateOptions } from '../src/state/options.ts';
import { ReplicatedState } from '../src/state/state.ts';
import { ChangeCache } from '../src/state/store.ts';
import { MemoryNetwork } from '../src/transport/memory.ts';
import { encodeStreamUserMessage } from '../src/wire/stream.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

/** The stand-in peer's address: TEST-NET-1, never a member. */
const STAND_IN_ADDR = '192.0.2.1:7946';
/** Streams the stand-in keeps open at once. */
const STAND_IN_STREAMS = 128;
/** memberlist's gossip interval in the LAN profile, ms (a gossip round). */
const GOSSIP_INTERVAL_MS = 200;
/** memberlist's gossip fanout in the LAN profile. */
const GOSSIP_FANOUT = 3;
/** Framing of a piggybacked message (compound part 2 + user type 1) and of a packet of its own (user type 1 + CRC 5). */
const PIGGYBACK_FRAMING = 3;
const PACKET_FRAMING = 6;
/** Framing of a stream message (user type, msgpack length header). */
const STREAM_FRAMING = 8;

interface BenchNode {
  name: string;
  addr: string;
  serf: Serf;
  state: ReplicatedState;
}

/** One size's results. */
export interface StateBenchRow {
  nodes: number;
  keysPerNode: number;
  /** Virtual ms until one write was everywhere, per write. */
  writeMs: number[];
  /** The same in gossip rounds. */
  writeRounds: number[];
  /** Theory: push with fanout 3, rounds; push-pull with fanout 1, anti-entropy rounds. */
  pushTheoryRounds: number;
  pushPullTheoryRounds: number;
  /** Wire bytes (all nodes) per write, per write. */
  bytesPerWrite: number[];
  /** Steady state, no writes: state and membership wire bytes per node per second. */
  steadyStateBytesPerNodePerS: number;
  membershipBytesPerNodePerS: number;
  /** A new node: virtual ms until it held every map, and the state bytes it received. */
  newNodeMs: number;
  newNodeBytes: number;
  /** Wall seconds of the whole size (set-up included). */
  wallSeconds: number;
  heapMB: number;
}

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

class Cluster {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly network: MemoryNetwork;
  readonly cache = new ChangeCache(1 << 18);
  readonly nodes: BenchNode[] = [];

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random.fork(), latencyMs: 1 });
  }

  add(slot: number): BenchNode {
    const addr = nodeAddr(slot);
    const transport = this.network.createTransport(addr);
    const name = `n${slot}`;
    const serf = new Serf({
      name,
      transport,
      clock: this.clock,
      random: this.random.fork(),
      // The warm start's re-gossip of every member is dropped rather than sent (see bench/sim.ts).
      memberlist: { maxBroadcastQueueDepth: 64 },
    });
    const state = new ReplicatedState({ serf, generation: 1 + slot, changeCache: this.cache });
    serf.start();
    const node = { name, addr, serf, state };
    this.nodes.push(node);
    return node;
  }

  async run(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.runUntil(Math.min(end, this.clock.now() + 20));
      await drain();
    }
  }

  /** Runs until `cond()` (checked every `pollMs`); returns the virtual ms it took. */
  async until(what: string, cond: () => boolean, maxMs: number, pollMs = 10): Promise<number> {
    const start = this.clock.now();
    while (!cond()) {
      if (this.clock.now() - start > maxMs)
        throw new Error(`not within ${maxMs} ms of virtual time: ${what}`);
      this.clock.runUntil(this.clock.now() + pollMs);
      await drain();
    }
    return this.clock.now() - start;
  }

  /** Sends `payload` to every node over one stream each, from the stand-in. */
  async standIn(targets: readonly BenchNode[], payload: (node: BenchNode) => Uint8Array): Promise<void> {
    const peer = this.network.createTransport(STAND_IN_ADDR);
    peer.attach({ packet: () => {}, stream: (s) => s.destroy() });
    let next = 0;
    let done = 0;
    const failures: string[] = [];
    const dialNext = () => {
      if (next >= targets.length) return;
      const node = targets[next++]!;
      peer.dialStream(node.addr, 10_000, (dial) => {
        if (!dial.ok) {
          failures.push(`${node.name}: ${dial.error.message}`);
          done++;
          dialNext();
          return;
        }
        dial.stream.setHandlers({
          data: () => {},
          close: () => {
            done++;
            dialNext();
          },
        });
        dial.stream.write(payload(node));
        dial.stream.close();
      });
    };
    for (let i = 0; i < STAND_IN_STREAMS; i++) dialNext();
    await this.until('the stand-in reached every node', () => done >= targets.length, 600_000, 50);
    await peer.shutdown();
    if (failures.length > 0) throw new Error(`the warm start failed: ${failures.slice(0, 3).join('; ')}`);
  }

  /** Membership warm start: the full member list into every node. */
  async warmMembership(): Promise<void> {
    const list = warmStartList(this.nodes.map((node) => node.serf.memberlist.localNode));
    await this.standIn(this.nodes, () => list);
  }

  /** State warm start: every node gets every other node's map from scratch in one delta. */
  async warmState(): Promise<void> {
    const deltas: NodeDelta[] = this.nodes.map((node) => {
      const v = node.state.mapVersion(node.name)!;
      const changes = node.state
        .entries({ node: node.name })
        .sort((a, b) => a.version - b.version)
        .map((e) => ({ key: e.key, version: e.version, value: e.value, flags: 0, ttlMs: 0 }));
      return {
        node: node.name,
        gen: v.generation,
        gc: 0,
        from: 0,
        to: v.version,
        max: v.version,
        reset: true,
        changes,
      };
    });
    // One message per node, its own map left out (a node never takes changes of its own map).
    await this.standIn(this.nodes, (node) =>
      encodeStreamUserMessage(
        encodeDelta({ from: 'stand-in', more: false, nodes: deltas.filter((d) => d.node !== node.name) }),
      ),
    );
  }

  /** Whether every node holds `owner`'s map at least at `version`. */
  everyoneHas(owner: string, version: number, nodes: readonly BenchNode[] = this.nodes): boolean {
    for (const n of nodes) {
      const v = n.state.mapVersion(owner);
      if (v === undefined || v.version < version) return false;
    }
    return true;
  }

  /** Whether `node` holds every other node's map at its owner's version. */
  holdsAll(node: BenchNode): boolean {
    for (const owner of this.nodes) {
      if (!this.everyoneHas(owner.name, owner.state.version, [node])) return false;
    }
    return true;
  }

  /** State wire bytes sent by every node so far (payload and framing). */
  stateWireBytes(): number {
    let total = 0;
    for (const n of this.nodes) {
      const i = n.state.info();
      total +=
        i.bytesSent +
        PIGGYBACK_FRAMING * i.broadcastsSent +
        PACKET_FRAMING * i.packetsSent +
        STREAM_FRAMING * i.streamsSent;
    }
    return total;
  }

  /** memberlist's bytes sent by every node so far (packets and streams; the state's ride inside). */
  memberlistBytes(): number {
    let total = 0;
    for (const n of this.nodes) total += n.serf.memberlist.stats.bytesSent;
    return total;
  }

  queuesEmpty(): boolean {
    return this.nodes.every((n) => n.state.info().queueDepth === 0 && n.serf.memberlist.queueDepth === 0);
  }
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Runs one size. */
export async function benchSize(
  n: number,
  keys: number,
  writes: number,
  seed: number,
): Promise<StateBenchRow> {
  const wallStart = performance.now();
  const c = new Cluster(seed);
  for (let i = 0; i < n; i++) c.add(i);
  await c.warmMembership();
  await c.until(
    'every Serf knows every member',
    () => c.nodes.every((x) => x.serf.members().length === n),
    60_000,
    100,
  );
  const value = (i: number) => `v${String(i).padStart(15, '0')}`;
  for (const node of c.nodes)
    for (let k = 0; k < keys; k++) node.state.set(`k${String(k).padStart(3, '0')}`, value(k));
  const elapsed = () => `${((performance.now() - wallStart) / 1000).toFixed(1)} s wall`;
  log(`  ${n} nodes: members and ${n * keys} keys written (${elapsed()}); warm start of the maps...`);
  await c.warmState();
  log(`  ${n} nodes: maps delivered (${elapsed()})`);
  await c.until('every node holds every map', () => c.nodes.every((x) => c.holdsAll(x)), 300_000, 1000);
  log(`  ${n} nodes: every node holds every map (${elapsed()}); draining the queues...`);
  await c.until('every broadcast queue is empty', () => c.queuesEmpty(), 600_000, 500);
  // Let anti-entropy and memberlist settle into their steady state.
  await c.run(2 * defaultStateOptions().antiEntropyIntervalMs);
  log(
    `  ${n} nodes: steady state reached (${((performance.now() - wallStart) / 1000).toFixed(1)} s wall); measuring...`,
  );

  // Steady state, no writes.
  const windowMs = 60_000;
  const s0 = c.stateWireBytes();
  const m0 = c.memberlistBytes();
  await c.run(windowMs);
  const stateSteady = c.stateWireBytes() - s0;
  const memberlistSteady = c.memberlistBytes() - m0;
  const steadyRate = stateSteady / (windowMs / 1000);
  const steadyPerNode = steadyRate / n;
  const membershipPerNode = (memberlistSteady - stateSteady) / (windowMs / 1000) / n;

  // One write everywhere, `writes` times.
  const writeMs: number[] = [];
  const bytesPerWrite: number[] = [];
  for (let w = 0; w < writes; w++) {
    const writer = c.nodes[c.random.int(n)]!;
    const before = c.stateWireBytes();
    const t0 = c.clock.now();
    const { version } = writer.state.set(`bench/${w}`, value(w));
    writeMs.push(
      await c.until('one write everywhere', () => c.everyoneHas(writer.name, version), 120_000, 10),
    );
    await c.until('queues drained', () => c.queuesEmpty(), 120_000, 50);
    const elapsed = c.clock.now() - t0;
    bytesPerWrite.push(Math.round(c.stateWireBytes() - before - (steadyRate * elapsed) / 1000));
    await c.run(5000);
  }

  // A new node joins through one member.
  const joiner = c.add(n);
  const before = joiner.state.info().bytesReceived;
  let joined = false;
  joiner.serf.join([c.nodes[0]!.addr]).then(
    () => {
      joined = true;
    },
    (e: unknown) => {
      throw e;
    },
  );
  const newNodeMs = await c.until(
    'the new node holds every map',
    () => joined && c.holdsAll(joiner),
    600_000,
    10,
  );
  const newNodeBytes = joiner.state.info().bytesReceived - before;

  const rounds = writeMs.map((ms) => roundTo(ms / GOSSIP_INTERVAL_MS, 1));
  const row: StateBenchRow = {
    nodes: n,
    keysPerNode: keys,
    writeMs: writeMs.map((x) => Math.round(x)),
    writeRounds: rounds,
    pushTheoryRounds: roundTo(pushRounds(n, GOSSIP_FANOUT), 1),
    pushPullTheoryRounds: roundTo(pushPullRounds(n, 1), 1),
    bytesPerWrite,
    steadyStateBytesPerNodePerS: roundTo(steadyPerNode, 1),
    membershipBytesPerNodePerS: roundTo(membershipPerNode, 1),
    newNodeMs: Math.round(newNodeMs),
    newNodeBytes,
    wallSeconds: roundTo((performance.now() - wallStart) / 1000, 1),
    heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
  for (const node of c.nodes) await node.serf.shutdown();
  return row;
}

const range = (xs: readonly number[]) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
};

/** The options, for `npm run bench -- state --help`. */
export const usage = '[--sizes 100,1000] [--keys 100] [--writes 5] [--seed 1] [--format table|json]';

export async function run(args: string[]): Promise<void> {
  const { values } = parseBenchArgs(args, {
    sizes: { type: 'string', default: '100,1000' },
    keys: { type: 'string', default: '100' },
    writes: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    format: { type: 'string', default: 'table' },
  });
  const sizes = values.sizes.split(',').map(Number);
  const keys = Number(values.keys);
  const writes = Number(values.writes);
  const seed = Number(values.seed);
  for (const [name, v] of [
    ['keys', keys],
    ['writes', writes],
    ['seed', seed],
    ...sizes.map((s) => ['sizes', s] as const),
  ] as const) {
    if (!Number.isInteger(v) || v < (name === 'seed' ? 0 : 1))
      throw new BenchUsageError(`--${name}: expected a positive whole number, got ${v}`);
  }
  const rows: StateBenchRow[] = [];
  for (const n of sizes) rows.push(await benchSize(n, keys, writes, seed));
  if (values.format === 'json') {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(`replicated state, simulated (virtual time; LAN profile, 1 ms links, no loss; seed ${seed})`);
  console.log(
    '| nodes | keys/node | one write everywhere: ms | gossip rounds | theory: push f=3 | push-pull f=1 (AE rounds) | wire bytes per write | steady state B/node/s | membership B/node/s | state/membership | new node: ms to full state | bytes received | wall s | heap MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const pct = (100 * r.steadyStateBytesPerNodePerS) / r.membershipBytesPerNodePerS;
    console.log(
      `| ${r.nodes} | ${r.keysPerNode} | ${range(r.writeMs)} | ${range(r.writeRounds)} | ${r.pushTheoryRounds} | ${r.pushPullTheoryRounds} | ${range(r.bytesPerWrite)} | ${r.steadyStateBytesPerNodePerS} | ${r.membershipBytesPerNodePerS} | ${pct.toFixed(1)} % | ${r.newNodeMs} | ${r.newNodeBytes} | ${r.wallSeconds} | ${r.heapMB} |`,
    );
  }
  console.log(
    `min–max over ${writes} writes. A gossip round is ${GOSSIP_INTERVAL_MS} ms; an anti-entropy (AE) round ${defaultStateOptions().antiEntropyIntervalMs} ms.`,
  );
}
