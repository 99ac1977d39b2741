/**
 * Anti-entropy, Scuttlebutt-style: every `antiEntropyIntervalMs` a node sends one random peer
 * of ours the root of its digest tree (digest.ts); the two descend where their trees differ
 * until one side lists the maps of a small range (a leaf); each side then sends the other
 * exactly what it is missing (a delta) and asks (`want`) for what the other has newer.
 *
 * Deltas (per node map, see codec.ts) carry the changes the peer lacks in version order with
 * no gaps: a run `(peer's max, to]`, or the map from scratch when the peer holds an older
 * generation, does not hold the node at all, or is behind our collection point (its max is
 * below our `gc`: the tombstones it would need are gone). Within the byte budget of one
 * exchange (`maxDeltaBytes`) the runs are interleaved one change at a time, most-behind map
 * first, oldest change first: every map advances each exchange, so a small vital node is never
 * starved behind a bloated one, and each map's run stops at the first change that does not fit
 * (never skipping one). A delta that fits a packet goes in one; a larger one over a stream.
 * When the budget cut a delta short, the receiver starts the next exchange at once, so a
 * backlog drains back to back rather than one per interval.
 *
 * Sync messages fit one packet: what does not fit is left for the next round.
 */
import { acceptNodeDelta } from './apply.ts';
import {
  type Change,
  changeSize,
  type DeltaMessage,
  deltaOverhead,
  encodeDelta,
  encodeSync,
  type NodeDelta,
  type NodeSummary,
  nodeDeltaHeaderSize,
  type SyncItem,
  type SyncMessage,
  syncItemSize,
  syncOverhead,
  utf8Length,
} from './codec.ts';
import type { Peer, StateCore } from './core.ts';
import {
  DIGEST_FANOUT_BITS,
  DIGEST_MAX_DEPTH,
  inRange,
  isValidRange,
  LEAF_MAX_NODES,
  nameHashes,
} from './digest.ts';
import { refute } from './local.ts';
import { stateSeams } from './seams.ts';
import type { NodeCopy } from './store.ts';

/** Whether (gen, max) a is ahead of b. */
function isAhead(aGen: number, aMax: number, bGen: number, bMax: number): boolean {
  return aGen > bGen || (aGen === bGen && aMax > bMax);
}

function rangeItem(core: StateCore, depth: number, index: number): SyncItem {
  const r = core.tree.range(depth, index);
  return { type: 'range', depth, index, hashHi: r.hashHi, hashLo: r.hashLo, count: r.count };
}

function summaryOf(copy: NodeCopy): NodeSummary {
  const t = copy.target;
  return { node: copy.node, gen: t.gen, max: t.max, floor: copy.staging === undefined ? 0 : copy.staging.gc };
}

function leafItem(core: StateCore, depth: number, index: number): SyncItem {
  return { type: 'leaf', depth, index, nodes: core.tree.members(depth, index).map(summaryOf) };
}

/** Alive peers of ours. */
function livePeers(core: StateCore): Peer[] {
  const out: Peer[] = [];
  for (const p of core.peers.values()) if (p.status === 'alive' || p.status === 'leaving') out.push(p);
  return out;
}

/** One anti-entropy round: our digest root to one random live peer of ours. */
export function antiEntropyRound(core: StateCore, peer?: Peer): void {
  const target = peer ?? core.random.pick(livePeers(core));
  if (target === undefined) return;
  core.stats.antiEntropyRounds++;
  sendSync(core, target, [rangeItem(core, 0, 0)]);
}

/** Asks `peer` for what is newer than our map of `copy`'s node. */
export function sendWant(core: StateCore, copy: NodeCopy, peer: Peer): void {
  sendSync(core, peer, [{ type: 'want', ...summaryOf(copy) }]);
}

/** Sends `items` (as many as fit one packet, in order) to `peer`. */
function sendSync(core: StateCore, peer: Peer, items: readonly SyncItem[]): void {
  let room = core.ctx.packetPayloadBytes - syncOverhead(core.name);
  const taken: SyncItem[] = [];
  for (const item of items) {
    const size = syncItemSize(item);
    if (size > room) continue;
    room -= size;
    taken.push(item);
  }
  if (taken.length === 0) return;
  core.stats.syncsSent++;
  core.sendPacket(peer, encodeSync({ from: core.name, items: taken }));
}

/** What a peer holds of a node we owe it changes of, or null when it holds nothing. */
type Owed = Map<string, NodeSummary | null>;

/** A sync message from a peer. */
export function handleSync(core: StateCore, m: SyncMessage): void {
  core.stats.syncsReceived++;
  const peer = core.peers.get(m.from);
  if (peer === undefined) {
    core.drop('unknown-peer', `a sync from ${m.from}, not a member of ours`);
    return;
  }
  const wants: SyncItem[] = [];
  const leaves: SyncItem[] = [];
  const ranges: SyncItem[] = [];
  const owed: Owed = new Map();
  for (const item of m.items) {
    switch (item.type) {
      case 'range': {
        if (!isValidRange(item.depth, item.index)) {
          core.drop('bad-range', `range (${item.depth}, ${item.index})`);
          break;
        }
        const mine = core.tree.range(item.depth, item.index);
        if (mine.hashHi === item.hashHi && mine.hashLo === item.hashLo && mine.count === item.count) break;
        if (mine.count <= LEAF_MAX_NODES || item.depth === DIGEST_MAX_DEPTH) {
          leaves.push(leafItem(core, item.depth, item.index));
        } else {
          const first = item.index << DIGEST_FANOUT_BITS;
          for (let c = 0; c < 1 << DIGEST_FANOUT_BITS; c++)
            ranges.push(rangeItem(core, item.depth + 1, first + c));
        }
        break;
      }
      case 'leaf':
        if (!isValidRange(item.depth, item.index)) {
          core.drop('bad-range', `leaf (${item.depth}, ${item.index})`);
          break;
        }
        compareLeaf(core, item.depth, item.index, item.nodes, owed, wants);
        break;
      case 'want':
        noteWant(core, item, owed);
        break;
    }
  }
  if (wants.length + leaves.length + ranges.length > 0)
    sendSync(core, peer, [...wants, ...leaves, ...ranges]);
  if (owed.size > 0) sendDeltas(core, peer, owed);
}

/** A peer's leaf: what we owe it, and what we want from it. */
function compareLeaf(
  core: StateCore,
  depth: number,
  index: number,
  nodes: readonly NodeSummary[],
  owed: Owed,
  wants: SyncItem[],
): void {
  const theirs = new Map<string, NodeSummary>();
  for (const s of nodes) theirs.set(s.node, s);
  for (const copy of core.tree.members(depth, index)) {
    const mine = summaryOf(copy);
    const th = theirs.get(copy.node);
    theirs.delete(copy.node);
    if (th === undefined) {
      owed.set(copy.node, null);
    } else if (isAhead(mine.gen, mine.max, th.gen, th.max)) {
      owed.set(copy.node, th);
    } else if (isAhead(th.gen, th.max, mine.gen, mine.max)) {
      if (copy === core.self) refute(core, th.gen, th.max);
      else wants.push({ type: 'want', ...mine });
    }
  }
  for (const th of theirs.values()) {
    if (th.node === core.name) {
      refute(core, th.gen, th.max);
      continue;
    }
    // A map they hold and we do not: want it, if it is one we would accept (a member of ours,
    // in the range it was listed under).
    if (!inRange(nameHashes(th.node)[0], depth, index) || !core.peers.has(th.node)) continue;
    wants.push({ type: 'want', node: th.node, gen: 0, max: 0, floor: 0 });
  }
}

/** A peer holds a map at `theirs` (gen 0: not at all) and wants what is newer. */
function noteWant(core: StateCore, theirs: NodeSummary, owed: Owed): void {
  if (theirs.node === core.name) refute(core, theirs.gen, theirs.max);
  const copy = core.copies.get(theirs.node);
  if (copy === undefined) return;
  const mine = summaryOf(copy);
  if (theirs.gen === 0) owed.set(theirs.node, null);
  else if (isAhead(mine.gen, mine.max, theirs.gen, theirs.max)) owed.set(theirs.node, theirs);
}

/** One map's share of a delta under construction. */
interface Run {
  copy: NodeCopy;
  reset: boolean;
  from: number;
  changes: Change[];
  taken: number;
  isBlocked: boolean;
  deficit: number;
}

/** Sends `peer` the changes it lacks of the maps in `owed`, within one exchange's budget. */
function sendDeltas(core: StateCore, peer: Peer, owed: Owed): void {
  const now = core.clock.now();
  const runs: Run[] = [];
  for (const [node, theirs] of owed) {
    const copy = core.copies.get(node);
    // A map being replaced is not served: what we would send is not what our digest says.
    if (copy === undefined || copy.staging !== undefined) continue;
    const live = copy.live;
    // A run from the peer's max misses the deletes whose tombstones we collected (at or below
    // our gc): safe only when the peer's map cannot hold a value one of them deleted, i.e. when
    // its horizon (its max, or the floor of a rebuild from scratch) is at or past our gc.
    const reset =
      theirs === null ||
      theirs.gen < live.gen ||
      !stateSeams.canSendRun(Math.max(theirs.max, theirs.floor), live.gc);
    if (!reset && (theirs.gen > live.gen || theirs.max >= live.max)) continue;
    const from = reset ? 0 : theirs!.max;
    const changes = live.changesAfter(from);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      // TTLs travel as what is left of them here; an expired entry as about to expire.
      if (c.ttlMs > 0 || live.expired.has(c.key)) {
        changes[i] = { ...c, ttlMs: live.expired.has(c.key) ? 1 : live.ttlLeft(c.key, now) || 1 };
      }
    }
    runs.push({ copy, reset, from, changes, taken: 0, isBlocked: false, deficit: live.max - from });
  }
  if (runs.length === 0) return;
  // Most behind first; ties by name, so both sides of a run agree on the order.
  runs.sort((a, b) => b.deficit - a.deficit || (a.copy.node < b.copy.node ? -1 : 1));
  const budget = core.opts.maxDeltaBytes;
  let used = deltaOverhead(core.name);
  let more = false;
  const included: Run[] = [];
  for (const r of runs) {
    const live = r.copy.live;
    const header = nodeDeltaHeaderSize(r.copy.node, live.gen, live.gc, r.from, live.max);
    if (used + header > budget) {
      more = true;
      continue;
    }
    used += header;
    included.push(r);
  }
  // Interleave: one change of each map per pass, until every run is done or blocked.
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const r of included) {
      if (r.isBlocked || r.taken >= r.changes.length) continue;
      const c = r.changes[r.taken]!;
      const size = changeSize(c, utf8Length(c.key));
      if (used + size > budget) {
        r.isBlocked = true;
        more = true;
        continue;
      }
      used += size;
      r.taken++;
      progressed = true;
    }
  }
  const nodes: NodeDelta[] = [];
  let entries = 0;
  for (const r of included) {
    const live = r.copy.live;
    const isWhole = r.taken === r.changes.length;
    if (!isWhole && r.taken === 0) continue;
    const changes = isWhole ? r.changes : r.changes.slice(0, r.taken);
    const to = isWhole ? live.max : changes[changes.length - 1]!.version;
    nodes.push({
      node: r.copy.node,
      gen: live.gen,
      gc: live.gc,
      from: r.from,
      to,
      max: live.max,
      reset: r.reset,
      changes,
    });
    entries += changes.length;
    if (r.reset) core.stats.resetsSent++;
  }
  if (nodes.length === 0) return;
  const msg: DeltaMessage = { from: core.name, more, nodes };
  const bytes = encodeDelta(msg);
  core.stats.deltasSent += nodes.length;
  core.stats.deltaEntriesSent += entries;
  if (bytes.length <= core.ctx.packetPayloadBytes) {
    core.sendPacket(peer, bytes);
  } else {
    core.stats.streamDeltasSent++;
    core.sendStream(peer, bytes);
  }
}

/** A delta from a peer. */
export function handleDelta(core: StateCore, m: DeltaMessage): void {
  core.stats.deltasReceived += m.nodes.length;
  let progressed = false;
  for (const d of m.nodes) {
    core.stats.deltaEntriesReceived += d.changes.length;
    if (acceptNodeDelta(core, d)) progressed = true;
  }
  // The budget cut the delta short: the next exchange at once, but only after progress (a
  // delta we could not use would otherwise come back at once, for ever).
  if (!m.more || !progressed) return;
  const peer = core.peers.get(m.from);
  if (peer !== undefined) antiEntropyRound(core, peer);
}
