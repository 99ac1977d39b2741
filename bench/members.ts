/**
 * `npm run bench -- members` (options: {@link usage}): what one
 * member entry costs in the heap, the figure that decides how large a cluster the protocol
 * simulator can hold (each of its n nodes keeps an entry for each of the n members: n² entries).
 *
 * `--nodes` real `Memberlist`s on a `VirtualClock` and a `MemoryNetwork` each join through a
 * stand-in seed that answers the push-pull with the same list of `--members` alive members
 * (the way a join reply carries a cluster), so every node decodes and merges its own copy of
 * the list, as in the simulator. Their broadcast queues are capped at one message
 * (`maxBroadcastQueueDepth: 1`) so that the queued re-gossip of every new member, which
 * drains in a running cluster, is not counted. After a full garbage collection, the heap
 * growth is divided by nodes × members.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Memberlist } from '../src/membership/memberlist.ts';
import { SeededRandom } from '../src/runtime/random.ts';
import { VirtualClock } from '../src/runtime/virtual-clock.ts';
import { ProtocolSim } from '../src/sim/protocol-sim.ts';
import { SIM_MEMBER_ENTRY_BYTES } from '../src/sim/scenario.ts';
import { MemoryNetwork } from '../src/transport/memory.ts';
import type { PushNodeState } from '../src/wire/memberlist.ts';
import { encodePushPull } from '../src/wire/stream.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

/** A full garbage collection, so heap figures count live objects only (exposed on demand). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** What {@link measureMemberEntryBytes} found. */
export interface MemberEntryMeasurement {
  nodes: number;
  members: number;
  /** Heap growth over the joins, after a full GC (bytes). */
  heapBytes: number;
  /** heapBytes / (nodes × members). */
  bytesPerEntry: number;
}

/**
 * A push-pull reply listing `members` alive members `m0`, `m1`, ... at 10.1.x.y:7946, each
 * field a separate buffer, with the version vector `vsn` and empty metadata.
 */
export function memberListReply(members: number, vsn: readonly number[]): Uint8Array {
  const states: PushNodeState[] = [];
  for (let i = 0; i < members; i++) {
    states.push({
      name: `m${i}`,
      addr: new Uint8Array([10, 1, (i >>> 8) & 255, i & 255]),
      port: 7946,
      meta: new Uint8Array(0),
      incarnation: 1,
      state: 0,
      vsn: [...vsn],
    });
  }
  return encodePushPull(false, states, new Uint8Array(0));
}

/** Builds `nodes` memberlists holding `members` members each; returns the heap cost per entry. */
export async function measureMemberEntryBytes(
  nodes: number,
  members: number,
): Promise<MemberEntryMeasurement> {
  const clock = new VirtualClock();
  const network = new MemoryNetwork({ clock, random: new SeededRandom(1), latencyMs: 1 });
  let reply: Uint8Array = new Uint8Array(0);
  const seed = network.createTransport('10.2.0.1:7946');
  seed.attach({
    packet: () => {},
    stream: (s) => {
      s.setHandlers({ data: () => {}, close: () => {} });
      s.write(reply);
      s.close();
    },
  });
  const random = new SeededRandom(2);
  const mls: Memberlist[] = [];
  for (let i = 0; i < nodes; i++) {
    const ml = new Memberlist({
      name: `node-${i}`,
      transport: network.createTransport(),
      clock,
      random: random.fork(),
      maxBroadcastQueueDepth: 1,
      joinAnnounceMax: 0,
      postJoinPushPullDelaysMs: [],
    });
    ml.start();
    mls.push(ml);
  }
  const { protocol: p, delegate: d } = mls[0]!.localNode;
  reply = memberListReply(members, [p.min, p.max, p.current, d.min, d.max, d.current]);
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let joined = 0;
  for (const ml of mls) void ml.join([seed.localAddr]).then(() => joined++);
  for (let t = 0; t < 1000 && joined < nodes; t++) {
    clock.advance(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (joined < nodes) throw new Error(`only ${joined} of ${nodes} nodes joined`);
  for (const ml of mls) {
    if (ml.allMembers().length !== members + 1)
      throw new Error(`a node holds ${ml.allMembers().length} members, expected ${members + 1}`);
  }
  // Then 30 virtual seconds, so that what a join holds only until its timers fire (the decoded
  // reply, until the stream's deadline) is not counted as what a member entry costs.
  for (let t = 0; t < 30; t++) {
    clock.advance(1000);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  collectGarbage();
  const heapBytes = process.memoryUsage().heapUsed - before;
  for (const ml of mls) await ml.shutdown();
  return { nodes, members, heapBytes, bytesPerEntry: heapBytes / (nodes * members) };
}

/** The options, for `npm run bench -- members --help`. */
export const usage = '[--nodes 100] [--members 5000] [--sim-nodes 200,600]';

/** Entry point for bench/main.ts. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseBenchArgs(args, {
    nodes: { type: 'string', default: '100' },
    members: { type: 'string', default: '5000' },
    'sim-nodes': { type: 'string', default: '200,600' },
  });
  const nodes = Number(values.nodes);
  const members = Number(values.members);
  for (const [flag, v] of [
    ['--nodes', nodes],
    ['--members', members],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new BenchUsageError(`${flag} takes a whole number >= 1, got ${v}`);
  }
  const [small, large] = values['sim-nodes'].split(',').map(Number) as [number, number];
  if (!(Number.isInteger(small) && Number.isInteger(large) && small >= 2 && large > small))
    throw new BenchUsageError(
      `--sim-nodes takes two whole numbers, the second larger, e.g. 200,600; got "${values['sim-nodes']}"`,
    );
  const m = await measureMemberEntryBytes(nodes, members);
  console.log(
    `member entries: ${m.nodes} nodes × ${m.members} members = ${m.nodes * m.members} entries, heap +${(m.heapBytes / 1e6).toFixed(1)} MB, ${m.bytesPerEntry.toFixed(0)} B per entry`,
  );
  const a = await simHeapBytes(small);
  const b = await simHeapBytes(large);
  const marginal = (b - a) / (large * large - small * small);
  console.log(
    `protocol simulator (memberlist + Serf, warm start): ${small} nodes +${(a / 1e6).toFixed(1)} MB, ` +
      `${large} nodes +${(b / 1e6).toFixed(1)} MB: ${marginal.toFixed(0)} B per member entry at the margin; ` +
      `gossip sim's heap warning assumes ${SIM_MEMBER_ENTRY_BYTES} B (SIM_MEMBER_ENTRY_BYTES)`,
  );
}

/** Heap growth of a warm-started protocol simulation of `nodes` nodes (every node holds all). */
async function simHeapBytes(nodes: number): Promise<number> {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const sim = new ProtocolSim({
    scenario: 'crash',
    seed: 1,
    nodes,
    isObserving: false,
    maxBroadcastQueueDepth: 64,
    adjustParams: (p) => ({ ...p, faults: [] }),
  });
  await sim.warmStart();
  // As above: what only lives until a timer fires is not a member entry's cost.
  await sim.runFor(30_000);
  collectGarbage();
  const heap = process.memoryUsage().heapUsed - before;
  const held = sim.cluster.nodes.reduce((n, x) => n + (x.ml?.allMembers().length ?? 0), 0);
  if (held !== nodes * nodes) throw new Error(`${held} member entries held, expected ${nodes * nodes}`);
  return heap;
}
