/**
 * Fresh writes on the gossip broadcast queue (infection-style, like Serf's user events): each
 * of our writes is queued as an **update** carrying its value, or, when the encoded update is
 * larger than `maxBroadcastBytes`, as a **notice** (node, generation, version) that receivers
 * answer by pulling the change over a stream. memberlist piggybacks the queue on its gossip
 * and probe packets, but only on those going to members of ours (`getBroadcasts` hands out
 * nothing for a Serf agent), each item up to `retransmitMult × ceil(log10(n + 1))` times.
 *
 * A receiver relays an update the first time it sees it (applied, or held until the versions
 * before it arrive), and a notice once it holds the version it announces, so the pull always
 * goes to a node that can answer. A gap that does not close within half an anti-entropy
 * interval is asked for directly (a `want`) from the node that told us of the newer version.
 */
import type { Addr } from '../transport/transport.ts';
import { applyOne, copyFor, drainPending, holdPending, noteKnown, updateLag } from './apply.ts';
import { type Change, encodeNotice, encodeUpdate, type NoticeMessage, type UpdateMessage } from './codec.ts';
import type { Peer, StateCore } from './core.ts';
import { refute } from './local.ts';
import { stateSeams } from './seams.ts';
import type { NodeCopy } from './store.ts';
import { sendWant } from './sync.ts';

/** Queues one of our changes for gossip. */
export function queueOwnChange(core: StateCore, c: Change): void {
  const gen = core.self.live.gen;
  const update = encodeUpdate({ node: core.name, gen, change: c });
  if (update.length <= core.opts.maxBroadcastBytes) {
    core.queue.queue(update);
    core.stats.updatesQueued++;
    return;
  }
  core.queue.queue(encodeNotice({ node: core.name, gen, version: c.version }), {
    name: `notice:${core.name}`,
  });
  core.stats.noticesQueued++;
}

/** Broadcasts for a packet to `to`: ours only when `to` is a member of ours. */
export function getBroadcasts(core: StateCore, overhead: number, limit: number, to: Addr): Uint8Array[] {
  if (core.queue.length === 0 || !core.peerByAddr.has(to)) return [];
  const out = core.queue.getBroadcasts(overhead, limit);
  core.stats.broadcastsSent += out.length;
  for (const m of out) core.stats.bytesSent += m.length;
  return out;
}

/** The peer a packet came from, if it is one of ours. */
function peerAt(core: StateCore, from: Addr): Peer | undefined {
  const name = core.peerByAddr.get(from);
  return name === undefined ? undefined : core.peers.get(name);
}

/** A gossiped update. `bytes` are the message as received (relayed as they are). */
export function handleUpdate(core: StateCore, u: UpdateMessage, bytes: Uint8Array, from: Addr): void {
  if (u.node === core.name) {
    refute(core, u.gen, u.change.version);
    return;
  }
  const copy = copyFor(core, u.node, u.gen);
  if (copy === undefined) return;
  const c = u.change;
  noteKnown(copy, u.gen, c.version);
  const t = copy.target;
  let isNew: boolean;
  if (u.gen < t.gen || (u.gen === t.gen && c.version <= t.max)) {
    isNew = false;
  } else if (u.gen === t.gen && stateSeams.isNextInLine(t.max, c.version)) {
    applyOne(core, copy, c);
    drainPending(core, copy);
    core.touch(copy);
    isNew = true;
  } else {
    isNew = holdPending(core, copy, u.gen, c);
    if (isNew) watchGap(core, copy, peerAt(core, from)?.name);
  }
  updateLag(core, copy);
  if (!isNew) return;
  core.stats.updatesReceived++;
  core.queue.queue(bytes.slice());
}

/** A gossiped notice of a version too large to gossip: pull it from whoever told us. */
export function handleNotice(core: StateCore, n: NoticeMessage, bytes: Uint8Array, from: Addr): void {
  if (n.node === core.name) {
    refute(core, n.gen, n.version);
    return;
  }
  const copy = copyFor(core, n.node, n.gen);
  if (copy === undefined) return;
  noteKnown(copy, n.gen, n.version);
  updateLag(core, copy);
  const t = copy.target;
  if (n.gen < t.gen || (n.gen === t.gen && n.version <= t.max)) return;
  const held = copy.notice;
  if (held !== undefined && (held.gen > n.gen || (held.gen === n.gen && held.version >= n.version))) return;
  copy.notice = { gen: n.gen, version: n.version, bytes: bytes.slice() };
  const source = peerAt(core, from) ?? core.peers.get(n.node);
  if (source !== undefined) sendWant(core, copy, source);
}

/**
 * Arms a check that the gap in `copy` closes: if it has not after half an anti-entropy
 * interval, ask `sourceName` (who told us of a newer version), else the owner.
 */
function watchGap(core: StateCore, copy: NodeCopy, sourceName: string | undefined): void {
  if (sourceName !== undefined) copy.gapSource = sourceName;
  if (copy.gapTimer !== undefined) return;
  copy.gapTimer = core.after(core.opts.antiEntropyIntervalMs / 2, () => {
    copy.gapTimer = undefined;
    if (core.copies.get(copy.node) !== copy) return;
    const t = copy.target;
    const stillBehind =
      copy.knownGen > t.gen || (copy.knownGen === t.gen && copy.knownMax > t.max) || copy.pending.size > 0;
    if (!stillBehind) return;
    const source =
      (copy.gapSource !== undefined ? core.peers.get(copy.gapSource) : undefined) ??
      core.peers.get(copy.node);
    if (source !== undefined && source.status !== 'failed' && source.status !== 'left')
      sendWant(core, copy, source);
  });
}
