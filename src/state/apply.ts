/**
 * Applying other nodes' changes, always in version order (the gap-free rule): a gossiped
 * update at `max + 1`, a run of a node delta `(from, to]` with `from <= max`, or a map from
 * scratch (a reset: a newer generation, or we were behind the sender's collection point).
 * Out-of-order updates wait in a bounded buffer until the versions before them arrive.
 *
 * Only members Serf knows and that advertise the state capability get a map here (others'
 * changes are counted as `unknown-node` drops), so a reaped node is never brought back by a
 * peer that has not reaped it yet.
 *
 * Changes about ourselves are never applied: a peer holding our map at a newer generation,
 * or at a higher version of our generation, holds a previous life's, and we raise our
 * generation over it (`refute`, in local.ts), as memberlist refutes with an incarnation.
 */
import type { Change, NodeDelta } from './codec.ts';
import type { StateCore } from './core.ts';
import { refute } from './local.ts';
import { MapData, NodeCopy } from './store.ts';
import type { StateChange } from './types.ts';

/** Our map of `node`, made (empty, at `gen`) if the node is one of ours and there is room. */
export function copyFor(core: StateCore, node: string, gen: number): NodeCopy | undefined {
  const existing = core.copies.get(node);
  if (existing !== undefined) return existing;
  const peer = core.peers.get(node);
  if (peer === undefined) {
    core.drop('unknown-node', `no member of ours is called ${node}`);
    return undefined;
  }
  if (core.copies.size >= core.opts.maxNodes) {
    core.drop('too-many-nodes', `already holding ${core.copies.size} maps (maxNodes)`, { node });
    return undefined;
  }
  const copy = new NodeCopy(node, new MapData(gen));
  copy.ownerStatus = peer.status;
  core.copies.set(node, copy);
  core.tree.add(copy, gen, 0);
  return copy;
}

/**
 * Applies the changes of a run with versions above `data.max`, in order, up to `to`; stops
 * (counted) at the first one that would cross our per-node limits. Returns whether it reached
 * `to`. Pushes the visible changes into `events` when `data` is the live map.
 */
function applyRun(
  core: StateCore,
  copy: NodeCopy,
  data: MapData,
  changes: readonly Change[],
  to: number,
  events: StateChange[] | undefined,
): boolean {
  const now = core.clock.now();
  for (const c of changes) {
    if (c.version <= data.max) continue;
    const refusal = data.check(c, core.opts);
    if (refusal !== undefined) {
      // Everything before c in the run is applied; versions missing from the run were
      // overwritten later or collected, so max may stand just below c.
      data.max = c.version - 1;
      core.drop(refusal, `the map of ${copy.node} would cross our limit at version ${c.version}`);
      return false;
    }
    const shared = core.changeCache === undefined ? c : core.changeCache.intern(copy.node, data.gen, c);
    const old = data.apply(shared, now);
    data.max = c.version;
    if (events !== undefined) copy.diff(old, shared, c.value === null ? 'deleted' : copy.awayCause, events);
  }
  if (to > data.max) data.max = to;
  return true;
}

/** Notes that (gen, max) of `copy`'s node exists somewhere (replication lag). */
export function noteKnown(copy: NodeCopy, gen: number, max: number): void {
  if (gen > copy.knownGen) {
    copy.knownGen = gen;
    copy.knownMax = max;
  } else if (gen === copy.knownGen && max > copy.knownMax) {
    copy.knownMax = max;
  }
}

/** Whether our readable map of `copy`'s node is behind what we have heard of. */
export function isBehind(copy: NodeCopy): boolean {
  const live = copy.live;
  return copy.knownGen > live.gen || (copy.knownGen === live.gen && copy.knownMax > live.max);
}

/** Updates the lag bookkeeping after `copy` changed. */
export function updateLag(core: StateCore, copy: NodeCopy): void {
  if (isBehind(copy)) copy.behindSince ??= core.clock.now();
  else copy.behindSince = undefined;
}

/** Replaces the live map with a complete one, publishing what changed. */
function swapIn(core: StateCore, copy: NodeCopy, next: MapData): void {
  const events: StateChange[] = [];
  copy.swap(next, next.gen > copy.live.gen ? 'generation' : 'deleted', events);
  copy.staging = undefined;
  core.emit(events);
}

/** Shares a remote map with other nodes of this process that hold the same (see ChangeCache). */
function share(core: StateCore, copy: NodeCopy): void {
  if (
    core.changeCache === undefined ||
    copy === core.self ||
    copy.staging !== undefined ||
    copy.pending.size > 0
  )
    return;
  copy.live = core.changeCache.shareMap(copy.node, copy.live);
}

/**
 * A map's horizon: no delete at or below it can be missing from it. Its max; for a map being
 * rebuilt from scratch, possibly higher: the collection point of the map it is rebuilt from
 * (a key deleted at or below it was already absent from that map).
 */
export function horizonOf(data: MapData): number {
  return Math.max(data.max, data.gc);
}

/** One node delta from a peer. Returns whether our map of its node moved forward. */
export function acceptNodeDelta(core: StateCore, d: NodeDelta): boolean {
  if (d.node === core.name) {
    refute(core, d.gen, d.max);
    return false;
  }
  const copy = copyFor(core, d.node, d.gen);
  if (copy === undefined) return false;
  noteKnown(copy, d.gen, d.max);
  const t = copy.target;
  if (d.reset) {
    // From scratch: for a newer generation, past our max, or when we are behind the sender's
    // collection point (the run it would otherwise send could miss a delete).
    const isWanted = d.gen > t.gen || (d.gen === t.gen && (d.to > t.max || horizonOf(t) < d.gc));
    if (!isWanted) {
      core.drop(
        'stale-delta',
        `a reset of ${d.node} at (${d.gen}, ${d.to}) is not ahead of (${t.gen}, ${t.max})`,
      );
      return false;
    }
    core.stats.resetsReceived++;
    const fresh = new MapData(d.gen, 0, d.gc);
    const whole = applyRun(core, copy, fresh, d.changes, d.to, undefined);
    if (whole && fresh.max >= d.max) swapIn(core, copy, fresh);
    else copy.staging = fresh;
  } else {
    if (d.gen !== t.gen) {
      core.drop('stale-delta', `a delta of ${d.node} for generation ${d.gen}; we hold ${t.gen}`);
      return false;
    }
    if (d.from > t.max) {
      core.drop('delta-gap', `a delta of ${d.node} from ${d.from}; we hold up to ${t.max}`);
      return false;
    }
    if (d.to <= t.max) return false;
    const w = copy.writableTarget();
    if (w === copy.live) {
      const events: StateChange[] = [];
      applyRun(core, copy, w, d.changes, d.to, events);
      core.emit(events);
    } else {
      const whole = applyRun(core, copy, w, d.changes, d.to, undefined);
      if (whole && w.max >= d.max) swapIn(core, copy, w);
    }
  }
  core.touch(copy);
  drainPending(core, copy);
  afterProgress(core, copy);
  return true;
}

/** Applies one gossiped change at `max + 1` of the map `copy` builds on. */
export function applyOne(core: StateCore, copy: NodeCopy, c: Change): void {
  const t = copy.writableTarget();
  if (t === copy.live) {
    const events: StateChange[] = [];
    applyRun(core, copy, t, [c], c.version, events);
    core.emit(events);
  } else {
    applyRun(core, copy, t, [c], c.version, undefined);
  }
}

/** Holds an out-of-order update of generation `gen`. Returns false when it was already held or there is no room. */
export function holdPending(core: StateCore, copy: NodeCopy, gen: number, c: Change): boolean {
  if (gen !== copy.pendingGen) {
    if (gen < copy.pendingGen) return false;
    core.pendingCount -= copy.pending.size;
    copy.pending.clear();
    copy.pendingGen = gen;
  }
  if (copy.pending.has(c.version)) return false;
  if (core.pendingCount >= core.opts.maxPendingUpdates) {
    core.drop('pending-full', `${core.pendingCount} out-of-order updates held (maxPendingUpdates)`);
    return false;
  }
  copy.pending.set(c.version, c);
  core.pendingCount++;
  return true;
}

/** Applies held updates that are now next in line, and forgets those already covered. */
export function drainPending(core: StateCore, copy: NodeCopy): void {
  if (copy.pending.size === 0) return;
  const t = copy.target;
  if (copy.pendingGen < t.gen) {
    core.pendingCount -= copy.pending.size;
    copy.pending.clear();
    return;
  }
  if (copy.pendingGen > t.gen) return;
  // copy.target is read again after each change: applyOne may swap a shared map for a copy.
  let next = copy.pending.get(t.max + 1);
  let changed = false;
  while (next !== undefined) {
    copy.pending.delete(next.version);
    core.pendingCount--;
    applyOne(core, copy, next);
    changed = true;
    next = copy.pending.get(copy.target.max + 1);
  }
  const max = copy.target.max;
  for (const v of copy.pending.keys()) {
    if (v <= max) {
      copy.pending.delete(v);
      core.pendingCount--;
    }
  }
  if (changed) core.touch(copy);
}

/** After a map moved forward: lag bookkeeping, and relaying a notice we can now serve. */
export function afterProgress(core: StateCore, copy: NodeCopy): void {
  updateLag(core, copy);
  share(core, copy);
  const n = copy.notice;
  if (n === undefined) return;
  const live = copy.live;
  if (live.gen > n.gen || (live.gen === n.gen && live.max >= n.version)) {
    copy.notice = undefined;
    core.queue.queue(n.bytes, { name: `notice:${copy.node}` });
    core.stats.noticesQueued++;
  }
}

/** Forgets a node's map (its member was reaped), publishing the deletes. */
export function forget(core: StateCore, node: string): void {
  const copy = core.copies.get(node);
  if (copy === undefined || copy === core.self) return;
  const events: StateChange[] = [];
  copy.swap(new MapData(copy.live.gen, copy.live.max, copy.live.max), 'forgotten', events);
  core.emit(events);
  core.tree.remove(copy);
  core.copies.delete(node);
  core.pendingCount -= copy.pending.size;
  copy.pending.clear();
  copy.gapTimer?.cancel();
}
