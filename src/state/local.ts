/**
 * Our own map: writes and deletes (each takes the next version of our counter), their limits,
 * TTL expiry, the periodic sweep (expired keys, tombstone collection), our generation, and the
 * persistence hook.
 *
 * A write is checked against every limit first; then persisted (a throwing hook fails the
 * write); then applied, published to watches, and queued for gossip. Nothing is sent for a
 * write that failed.
 *
 * Generation: ours is given at start (the agent uses the wall clock, and the persisted one
 * plus one). When a peer shows us our own map at a newer generation, or at a higher version
 * of ours, it holds a previous life's (a restart that lost its data, or a name reused): we
 * take a generation above it, and our map replaces that one everywhere.
 */
import { GossipError, StateLimitError } from '../errors.ts';
import { type Change, EntryFlag, utf8Length } from './codec.ts';
import type { StateCore } from './core.ts';
import { queueOwnChange } from './gossip.ts';
import { entryBytes, MapData } from './store.ts';
import type {
  DeleteCause,
  PersistedState,
  SetOptions,
  StateChange,
  StatePersistence,
  WriteResult,
} from './types.ts';

/** The longest TTL accepted, ms (about 24.8 days: a 32-bit signed count of milliseconds). */
export const MAX_TTL_MS = 2 ** 31 - 1;

/** Our map as the persistence hook stores it. */
export function persistedState(core: StateCore): PersistedState {
  const live = core.self.live;
  const now = core.clock.now();
  const entries: PersistedState['entries'] = [];
  for (const c of live.entries.values()) {
    if (c.value === null || (c.flags & EntryFlag.ephemeral) !== 0 || live.expired.has(c.key)) continue;
    const ttl = live.ttlLeft(c.key, now);
    entries.push({
      key: c.key,
      value: c.value,
      version: c.version,
      ...(ttl > 0 ? { ttlRemainingMs: ttl } : {}),
    });
  }
  return { generation: live.gen, version: live.max, entries };
}

/**
 * Our starting map from what the previous life persisted (entries keep their versions; the
 * counter continues), at a generation above the persisted one.
 */
export function loadPersisted(
  persistence: StatePersistence | undefined,
  generation: number,
  now: number,
): { map: MapData | undefined; generation: number } {
  const saved = persistence?.load();
  if (saved === undefined) return { map: undefined, generation };
  const gen = Math.max(generation, saved.generation + 1);
  const map = new MapData(gen, saved.version, 0);
  for (const e of saved.entries) {
    if (e.version > map.max) map.max = e.version;
    const ttlMs = e.ttlRemainingMs !== undefined ? Math.max(1, Math.ceil(e.ttlRemainingMs)) : 0;
    map.apply({ key: e.key, version: e.version, value: e.value, flags: 0, ttlMs }, now);
  }
  return { map, generation: gen };
}

function validateKey(core: StateCore, key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('a key is a non-empty string');
  }
  const n = utf8Length(key);
  if (n > core.opts.maxKeyBytes)
    refuse(core, 'maxKeyBytes', 'the key length in bytes', n, core.opts.maxKeyBytes);
}

function refuse(core: StateCore, limit: string, what: string, value: number, max: number): never {
  core.count(core.stats.writesRefused, limit);
  throw new StateLimitError(limit, what, value, max);
}

/** Writes `key` in our map. */
export function setLocal(core: StateCore, key: string, value: Uint8Array, options: SetOptions): WriteResult {
  validateKey(core, key);
  const o = core.opts;
  if (value.length > o.maxValueBytes)
    refuse(core, 'maxValueBytes', 'the value size in bytes', value.length, o.maxValueBytes);
  let ttlMs = 0;
  if (options.ttlMs !== undefined) {
    if (!(Number.isFinite(options.ttlMs) && options.ttlMs > 0 && options.ttlMs <= MAX_TTL_MS)) {
      throw new RangeError(`ttlMs: expected milliseconds in (0, ${MAX_TTL_MS}]; got ${options.ttlMs}`);
    }
    ttlMs = Math.ceil(options.ttlMs);
  }
  const live = core.self.live;
  const old = live.entries.get(key);
  const oldLive = old !== undefined && old.value !== null;
  const keys = live.liveKeys + (oldLive ? 0 : 1);
  if (keys > o.maxKeysPerNode) refuse(core, 'maxKeysPerNode', 'the number of keys', keys, o.maxKeysPerNode);
  const bytes = live.liveBytes - (oldLive ? entryBytes(old.key, old.value!) : 0) + entryBytes(key, value);
  if (bytes > o.maxBytesPerNode)
    refuse(core, 'maxBytesPerNode', 'the bytes of keys and values', bytes, o.maxBytesPerNode);
  const flags = options.ephemeral === true ? EntryFlag.ephemeral : 0;
  // The value is copied: the caller may reuse its buffer, and what we hold is never changed.
  return writeLocal(core, { key, version: live.max + 1, value: value.slice(), flags, ttlMs }, 'deleted');
}

/** Deletes `key` from our map; undefined when it holds no value. */
export function deleteLocal(
  core: StateCore,
  key: string,
  cause: DeleteCause = 'deleted',
): WriteResult | undefined {
  validateKey(core, key);
  const live = core.self.live;
  const old = live.entries.get(key);
  if (old === undefined || old.value === null) return undefined;
  return writeLocal(core, { key, version: live.max + 1, value: null, flags: 0, ttlMs: 0 }, cause);
}

function writeLocal(core: StateCore, c: Change, cause: DeleteCause): WriteResult {
  const self = core.self;
  const live = self.live;
  if (core.persistence !== undefined) {
    try {
      core.persistence.append({
        generation: live.gen,
        version: c.version,
        key: c.key,
        // An ephemeral value does not outlive this process: persisted, the key is gone.
        value: (c.flags & EntryFlag.ephemeral) !== 0 ? null : c.value,
        ...(c.ttlMs > 0 ? { ttlMs: c.ttlMs } : {}),
      });
    } catch (e) {
      throw new GossipError(
        'persist-failed',
        `the write of "${c.key}" could not be persisted: ${String(e)}`,
        {
          cause: e,
        },
      );
    }
  }
  const old = live.apply(c, core.clock.now());
  live.max = c.version;
  const events: StateChange[] = [];
  self.diff(old, c, cause, events);
  core.emit(events);
  core.touch(self);
  core.stats.writes++;
  queueOwnChange(core, c);
  return { version: c.version, generation: live.gen };
}

/** One sweep: TTLs that ran out, and tombstones past their grace period. */
export function sweep(core: StateCore): void {
  const now = core.clock.now();
  const self = core.self;
  const expiredOwn: string[] = [];
  for (const [key, at] of self.live.expiries) if (at <= now) expiredOwn.push(key);
  for (const key of expiredOwn) {
    try {
      deleteLocal(core, key, 'expired');
    } catch (e) {
      // Persisting the delete failed: keep the key and try again at the next sweep.
      core.log.warn('state: could not delete an expired key', { key, error: String(e) });
    }
  }
  const olderThan = now - core.opts.tombstoneGraceMs;
  for (const copy of core.copies.values()) {
    const live = copy.live;
    if (copy !== self && live.expiries.size > 0) {
      const events: StateChange[] = [];
      for (const [key, at] of live.expiries) {
        if (at > now || live.expired.has(key)) continue;
        const c = live.entries.get(key);
        const wasVisible = copy.isVisible(c);
        live.expired.add(key);
        if (wasVisible) {
          events.push({
            type: 'delete',
            node: copy.node,
            key,
            version: c.version,
            generation: live.gen,
            cause: 'expired',
          });
        }
      }
      core.emit(events);
    }
    const gcBefore = live.gc;
    const n = live.hasCollectible(olderThan, core.opts.maxKeysPerNode)
      ? copy.writableLive().collect(olderThan, core.opts.maxKeysPerNode)
      : 0;
    if (copy.staging !== undefined) copy.staging.collect(olderThan, core.opts.maxKeysPerNode);
    if (n > 0) {
      core.stats.tombstonesCollected += n;
      if (live.gc !== gcBefore)
        core.log.debug('state: collected tombstones', { node: copy.node, gc: live.gc, n });
    }
  }
}

/**
 * A peer holds our map at (gen, max): if that is ahead of ours, it is a previous life's, and
 * we take a generation above it (our map then replaces it everywhere).
 */
export function refute(core: StateCore, gen: number, max: number): void {
  const live = core.self.live;
  if (gen < live.gen || (gen === live.gen && max <= live.max)) return;
  const next = Math.max(gen, live.gen) + 1;
  core.log.warn('state: the cluster holds our map from a previous life; raising our generation', {
    held: `${gen}/${max}`,
    ours: `${live.gen}/${live.max}`,
    generation: next,
  });
  live.gen = next;
  core.touch(core.self);
  core.stats.generationBumps++;
  if (core.persistence !== undefined) {
    try {
      core.persistence.rewrite(persistedState(core));
    } catch (e) {
      core.log.error('state: could not persist the new generation', { error: String(e) });
    }
  }
}
