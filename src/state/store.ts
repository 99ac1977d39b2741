/**
 * The data model: one {@link NodeCopy} per node whose map we hold (ours included), each with
 * the map as reads see it (`live`) and, while a replacement arrives in parts, the one being
 * built (`staging`).
 *
 * A map ({@link MapData}) is a generation, a gap-free high-water version `max` (every change
 * of that generation up to `max` is reflected: present, or overwritten by a later one, or a
 * tombstone collected at or below `gc`), and the entries: the newest change per key, values
 * and tombstones alike. Entries are immutable {@link Change} objects; a map replaces them.
 *
 * Rules the sync code relies on (sync.ts):
 * - changes of a generation are applied in version order only: one at `max + 1`, or a run
 *   `(from, to]` with `from <= max` (a node delta);
 * - a map is replaced only from scratch (a reset), for a newer generation, or when we were
 *   behind a collection point; a replacement that arrives in parts is built aside
 *   (`staging`) and swapped in whole, so reads never see a map with holes;
 * - tombstones are collected `tombstoneGraceMs` after we applied them (our clock), raising `gc`;
 *   the oldest go early when a map holds more than `maxKeysPerNode` of them.
 *
 * Visibility: an entry is visible when it holds a value, has not expired (TTL, as marked by
 * the sweep), and is not an ephemeral entry of an owner that is away (failed or left).
 */
import type { Timer } from '../runtime/clock.ts';
import { sameBytes } from '../wire/bytes.ts';
import { type Change, EntryFlag, utf8Length } from './codec.ts';
import { type DigestMember, nameHashes } from './digest.ts';
import type { DeleteCause, OwnerStatus, StateChange } from './types.ts';

/** A tombstone waiting for collection. */
interface Tomb {
  key: string;
  version: number;
  at: number;
}

/** Why applying a change failed. */
export type ApplyRefusal = 'node-over-keys' | 'node-over-bytes';

/** Limits a map is held to. */
export interface MapLimits {
  maxKeysPerNode: number;
  maxBytesPerNode: number;
}

/** Bytes an entry counts towards `maxBytesPerNode`: key plus value. */
export function entryBytes(key: string, value: Uint8Array): number {
  return utf8Length(key) + value.length;
}

/** One generation of one node's map. */
export class MapData {
  gen: number;
  /** Gap-free high-water version. */
  max: number;
  /** Highest version collected (versions at or below may be gone). */
  gc: number;
  readonly entries = new Map<string, Change>();
  liveKeys = 0;
  liveBytes = 0;
  tombstones = 0;
  /** Tombstones in the order they were applied (some may be stale: checked when popped). */
  readonly #tombs: Tomb[] = [];
  #tombHead = 0;
  /** Local expiry times of entries with a TTL. */
  readonly expiries = new Map<string, number>();
  /** Keys whose TTL ran out (hidden until a newer change for the key). */
  readonly expired = new Set<string>();
  /**
   * Held by several nodes of one process at once (see {@link ChangeCache.shareMap}): never
   * changed in place; a node that changes it works on its own {@link clone} first.
   */
  shared = false;

  constructor(gen: number, max = 0, gc = 0) {
    this.gen = gen;
    this.max = max;
    this.gc = gc;
  }

  /** A copy of its own (not shared). */
  clone(): MapData {
    const c = new MapData(this.gen, this.max, this.gc);
    for (const [k, v] of this.entries) c.entries.set(k, v);
    c.liveKeys = this.liveKeys;
    c.liveBytes = this.liveBytes;
    c.tombstones = this.tombstones;
    for (let i = this.#tombHead; i < this.#tombs.length; i++) c.#tombs.push(this.#tombs[i]!);
    for (const [k, v] of this.expiries) c.expiries.set(k, v);
    for (const k of this.expired) c.expired.add(k);
    return c;
  }

  /** Whether {@link collect} would collect anything. */
  hasCollectible(olderThan: number, maxTombstones: number): boolean {
    if (this.tombstones > maxTombstones) return true;
    const t = this.#tombs[this.#tombHead];
    return t !== undefined && t.at <= olderThan;
  }

  /**
   * Whether `c` could be applied without crossing `limits` (replacing the key's current entry).
   * Returns the limit it would cross, or undefined.
   */
  check(c: Change, limits: MapLimits): ApplyRefusal | undefined {
    if (c.value === null) return undefined;
    const old = this.entries.get(c.key);
    const oldLive = old !== undefined && old.value !== null;
    const keys = this.liveKeys + (oldLive ? 0 : 1);
    if (keys > limits.maxKeysPerNode) return 'node-over-keys';
    const bytes =
      this.liveBytes - (oldLive ? entryBytes(old.key, old.value!) : 0) + entryBytes(c.key, c.value);
    if (bytes > limits.maxBytesPerNode) return 'node-over-bytes';
    return undefined;
  }

  /** Applies `c` (the caller checked order and limits); returns the entry it replaced. */
  apply(c: Change, now: number): Change | undefined {
    const old = this.entries.get(c.key);
    if (old !== undefined) {
      if (old.value !== null) {
        this.liveKeys--;
        this.liveBytes -= entryBytes(old.key, old.value);
      } else {
        this.tombstones--;
      }
    }
    this.entries.set(c.key, c);
    this.expired.delete(c.key);
    if (c.value !== null) {
      this.liveKeys++;
      this.liveBytes += entryBytes(c.key, c.value);
    } else {
      this.tombstones++;
      this.#tombs.push({ key: c.key, version: c.version, at: now });
    }
    if (c.value !== null && c.ttlMs > 0) this.expiries.set(c.key, now + c.ttlMs);
    else this.expiries.delete(c.key);
    return old;
  }

  /**
   * Collects tombstones applied before `olderThan`, and the oldest beyond `maxTombstones`.
   * Returns how many went.
   */
  collect(olderThan: number, maxTombstones: number): number {
    let n = 0;
    const tombs = this.#tombs;
    while (this.#tombHead < tombs.length) {
      const t = tombs[this.#tombHead]!;
      if (t.at > olderThan && this.tombstones <= maxTombstones) break;
      this.#tombHead++;
      const e = this.entries.get(t.key);
      if (e === undefined || e.value !== null || e.version !== t.version) continue; // stale
      this.entries.delete(t.key);
      this.tombstones--;
      if (t.version > this.gc) this.gc = t.version;
      n++;
    }
    if (this.#tombHead > 1024 && this.#tombHead * 2 > tombs.length) {
      tombs.splice(0, this.#tombHead);
      this.#tombHead = 0;
    }
    return n;
  }

  /** Every change with a version above `from`, in version order. */
  changesAfter(from: number): Change[] {
    const out: Change[] = [];
    for (const c of this.entries.values()) if (c.version > from) out.push(c);
    out.sort((a, b) => a.version - b.version);
    return out;
  }

  /** Milliseconds of TTL left for `key` at `now`, or 0 without one. */
  ttlLeft(key: string, now: number): number {
    const at = this.expiries.get(key);
    return at === undefined ? 0 : Math.max(1, Math.ceil(at - now));
  }
}

/** Everything we hold about one node's map. */
export class NodeCopy implements DigestMember {
  readonly node: string;
  readonly h1: number;
  readonly h2: number;
  hashHi = 0;
  hashLo = 0;
  live: MapData;
  /** A replacement being received in parts (a reset larger than one exchange). */
  staging: MapData | undefined;
  /** The owner's status as Serf sees it ('alive' for ourselves). */
  ownerStatus: OwnerStatus = 'alive';
  /** Out-of-order updates of generation `pendingGen`, by version. */
  readonly pending = new Map<number, Change>();
  pendingGen = 0;
  /** The newest (generation, version) we have heard of for this node (lag). */
  knownGen = 0;
  knownMax = 0;
  /** Clock time our copy fell behind `knownMax`, or undefined when it is not behind. */
  behindSince: number | undefined;
  /** The newest notice heard of a version we did not have yet, relayed once we have it. */
  notice: { gen: number; version: number; bytes: Uint8Array } | undefined;
  /** Who told us of a version we lack (asked first when the gap does not close). */
  gapSource: string | undefined;
  /** A pending check that the gap closed (asks `gapSource` if it did not). */
  gapTimer: Timer | undefined;

  constructor(node: string, live: MapData) {
    this.node = node;
    [this.h1, this.h2] = nameHashes(node);
    this.live = live;
  }

  /** The map this node reports in digests and builds on: the staging one while it exists. */
  get target(): MapData {
    return this.staging ?? this.live;
  }

  /** The live map, made this copy's own first if it is shared (to change it). */
  writableLive(): MapData {
    if (this.live.shared) this.live = this.live.clone();
    return this.live;
  }

  /** The map this copy builds on, made its own first if it is shared (to change it). */
  writableTarget(): MapData {
    return this.staging ?? this.writableLive();
  }

  /** Whether ephemeral entries are hidden (the owner is away). */
  get isOwnerAway(): boolean {
    return this.ownerStatus === 'failed' || this.ownerStatus === 'left';
  }

  /** Whether `c` (an entry of `live`) is visible. */
  isVisible(c: Change | undefined): c is Change & { value: Uint8Array } {
    if (c === undefined || c.value === null) return false;
    if (this.live.expired.has(c.key)) return false;
    return !((c.flags & EntryFlag.ephemeral) !== 0 && this.isOwnerAway);
  }

  /** The change events for one key going from `before` to `after` (entries of `live`). */
  diff(before: Change | undefined, after: Change | undefined, cause: DeleteCause, out: StateChange[]): void {
    const wasVisible = this.isVisible(before);
    const isVisible = this.isVisible(after);
    if (isVisible) {
      if (wasVisible && before!.version === after!.version && sameBytes(before!.value!, after!.value)) return;
      out.push({
        type: 'set',
        node: this.node,
        key: after!.key,
        value: after!.value,
        version: after!.version,
        generation: this.live.gen,
      });
    } else if (wasVisible) {
      out.push({
        type: 'delete',
        node: this.node,
        key: before!.key,
        version: after?.version ?? before!.version,
        generation: this.live.gen,
        cause,
      });
    }
  }

  /** Why an entry of ours stops being visible when the owner goes: 'owner-failed' or 'owner-left'. */
  get awayCause(): DeleteCause {
    return this.ownerStatus === 'left' ? 'owner-left' : 'owner-failed';
  }

  /**
   * Replaces `live` with `next` (a complete map from scratch), pushing the events of every key
   * whose visible value changed. `cause` is what a key that disappears is put down to.
   */
  swap(next: MapData, cause: DeleteCause, out: StateChange[]): void {
    const before = this.live;
    const visibleBefore = new Map<string, Change>();
    for (const c of before.entries.values()) if (this.isVisible(c)) visibleBefore.set(c.key, c);
    this.live = next;
    for (const c of next.entries.values()) {
      const old = visibleBefore.get(c.key);
      if (!this.isVisible(c)) {
        if (old !== undefined) {
          out.push({
            type: 'delete',
            node: this.node,
            key: c.key,
            version: c.version,
            generation: next.gen,
            cause,
          });
        }
      } else if (old === undefined || old.version !== c.version || !sameBytes(old.value!, c.value)) {
        out.push({
          type: 'set',
          node: this.node,
          key: c.key,
          value: c.value!,
          version: c.version,
          generation: next.gen,
        });
      }
      visibleBefore.delete(c.key);
    }
    for (const old of visibleBefore.values()) {
      out.push({
        type: 'delete',
        node: this.node,
        key: old.key,
        version: old.version,
        generation: next.gen,
        cause,
      });
    }
  }
}

/** Values up to this size are shared through a {@link ChangeCache}. */
export const CHANGE_CACHE_MAX_VALUE_BYTES = 512;

/**
 * Shared copies of changes and maps, for many nodes in one process (the simulator, an
 * embedding): the change at (node, generation, version) is the same everywhere, so every
 * replica can hold one object instead of its own decoded copy; and replicas whose copy of a
 * node's map holds the very same changes can hold one map, copied on write (a replica that
 * applies a change to a shared map first makes it its own). Bounded: at most `maxEntries`
 * changes (a full cache starts over) and one map per node; only changes with values up to
 * {@link CHANGE_CACHE_MAX_VALUE_BYTES}, and maps without TTLs (their expiry times are each
 * replica's own), are shared. A miss just means a replica keeps its own copy. A hit is checked
 * for equal content, so a cache shared by unrelated clusters (reusing node names) never mixes
 * their values up.
 */
export class ChangeCache {
  readonly maxEntries: number;
  /** node → generation → version → change. */
  readonly #changes = new Map<string, Map<number, Map<number, Change>>>();
  #size = 0;
  readonly #maps = new Map<string, MapData>();

  constructor(maxEntries = 1 << 17) {
    this.maxEntries = maxEntries;
  }

  /** The shared copy of `c`, a change of `node`'s map at generation `gen`. @internal (the state core's) */
  intern(node: string, gen: number, c: Change): Change {
    if (c.value !== null && c.value.length > CHANGE_CACHE_MAX_VALUE_BYTES) return c;
    let byGen = this.#changes.get(node);
    if (byGen === undefined) {
      byGen = new Map();
      this.#changes.set(node, byGen);
    }
    let byVersion = byGen.get(gen);
    if (byVersion === undefined) {
      byVersion = new Map();
      byGen.set(gen, byVersion);
    }
    const hit = byVersion.get(c.version);
    if (hit !== undefined) {
      const same =
        hit.key === c.key &&
        hit.flags === c.flags &&
        hit.ttlMs === c.ttlMs &&
        (hit.value === null ? c.value === null : c.value !== null && sameBytes(hit.value, c.value));
      return same ? hit : c;
    }
    if (this.#size >= this.maxEntries) {
      this.#changes.clear();
      this.#maps.clear();
      this.#size = 0;
      return c;
    }
    byVersion.set(c.version, c);
    this.#size++;
    return c;
  }

  /**
   * The shared map equal to `data` (a replica's complete copy of `node`'s map), or `data`
   * itself, now shared, when it is the newest seen; or `data` unshared when it cannot be.
   * @internal (the state core's)
   */
  shareMap(node: string, data: MapData): MapData {
    if (data.shared || data.expiries.size > 0) return data;
    const held = this.#maps.get(node);
    if (
      held !== undefined &&
      held.gen === data.gen &&
      held.max === data.max &&
      held.gc === data.gc &&
      held.entries.size === data.entries.size &&
      held.liveKeys === data.liveKeys &&
      held.tombstones === data.tombstones
    ) {
      let same = true;
      for (const [k, c] of data.entries) {
        if (held.entries.get(k) !== c) {
          same = false;
          break;
        }
      }
      if (same) return held;
    }
    if (held === undefined || data.gen > held.gen || (data.gen === held.gen && data.max > held.max)) {
      data.shared = true;
      this.#maps.set(node, data);
    }
    return data;
  }
}
