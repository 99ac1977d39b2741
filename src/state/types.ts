/**
 * The public shapes of the replicated state: entries as reads hand them out, watch events,
 * write options and results, the persistence hook, and the counters.
 */

/** How the owner of a map stands in the cluster (Serf's member status, from our point of view). */
export type OwnerStatus = 'alive' | 'leaving' | 'left' | 'failed';

/** One key of one node's map, as reads hand it out (a snapshot: changing it changes nothing). */
export interface StateEntry {
  /** The node that owns (wrote) it. */
  readonly node: string;
  readonly key: string;
  readonly value: Uint8Array;
  /** The owner's version of this write: every write and delete of a node takes the next one. */
  readonly version: number;
  /** The owner's generation (grows across restarts; a newer generation's map replaces the older's). */
  readonly generation: number;
  /** Whether it disappears when its owner leaves or fails. */
  readonly ephemeral: boolean;
  /** Milliseconds left before it expires, or undefined without a TTL. */
  readonly ttlRemainingMs: number | undefined;
  /** The owner's status: entries of a failed or left node stay readable, marked as such. */
  readonly ownerStatus: OwnerStatus;
}

/** Options of a write. */
export interface SetOptions {
  /**
   * Time to live, ms: the owner deletes the key when it expires (a normal delete everyone
   * sees), and while the owner is away replicas drop it when their own copy of the TTL runs out.
   */
  ttlMs?: number;
  /**
   * The key disappears everywhere when its owner leaves or is declared failed (ZooKeeper's
   * ephemeral nodes), comes back if the owner does, and does not survive a restart.
   */
  ephemeral?: boolean;
}

/** What a write or delete did. */
export interface WriteResult {
  /** The version it took. */
  readonly version: number;
  readonly generation: number;
}

/** Why a key stopped being visible. */
export type DeleteCause =
  /** Its owner deleted it. */
  | 'deleted'
  /** Its TTL ran out. */
  | 'expired'
  /** It is ephemeral and its owner was declared failed. */
  | 'owner-failed'
  /** It is ephemeral and its owner left. */
  | 'owner-left'
  /** Its owner restarted (a new generation) without it. */
  | 'generation'
  /** The owner's map was forgotten (the member was reaped). */
  | 'forgotten';

/** A key became visible or got a new value. */
export interface WatchSetEvent {
  readonly type: 'set';
  readonly node: string;
  readonly key: string;
  readonly value: Uint8Array;
  readonly version: number;
  readonly generation: number;
  /** Resume a watch from here to get what came after. */
  readonly token: string;
}

/** A key stopped being visible. */
export interface WatchDeleteEvent {
  readonly type: 'delete';
  readonly node: string;
  readonly key: string;
  /** The version of the delete (a tombstone's), or of the last value for other causes. */
  readonly version: number;
  readonly generation: number;
  readonly cause: DeleteCause;
  readonly token: string;
}

/** The first event of a watch that does not resume: every visible entry the filter selects. */
export interface WatchSnapshotEvent {
  readonly type: 'snapshot';
  readonly entries: readonly StateEntry[];
  readonly token: string;
}

export type WatchEvent = WatchSetEvent | WatchDeleteEvent | WatchSnapshotEvent;

/** A change as the watch log keeps it (a set or a delete, no token yet). */
export type StateChange = Omit<WatchSetEvent, 'token'> | Omit<WatchDeleteEvent, 'token'>;

/** Options of a watch. */
export interface WatchOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Only this node's map. */
  node?: string;
  /**
   * Resume after this token (from an earlier event): the changes since then, without a
   * snapshot. A token this node can no longer resume from (too old, or from before a restart)
   * starts over with a snapshot.
   */
  since?: string;
  /** Ends the watch: the pending `next()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A node's own map as the persistence hook stores it. */
export interface PersistedState {
  /** The generation of the life that wrote it. */
  generation: number;
  /** The highest version used (the version counter). */
  version: number;
  /** Live, non-ephemeral entries. */
  entries: PersistedEntry[];
}

/** One entry of a {@link PersistedState}. */
export interface PersistedEntry {
  key: string;
  value: Uint8Array;
  version: number;
  /** Time left to live when saved (the agent stores a wall-clock expiry); absent without a TTL. */
  ttlRemainingMs?: number;
}

/** One change of our own map, for an append-only log. */
export interface PersistedChange {
  generation: number;
  version: number;
  key: string;
  /** `null`: the key is gone (deleted, expired, or overwritten by an ephemeral value). */
  value: Uint8Array | null;
  /** Time to live from now, ms, if any. */
  ttlMs?: number;
}

/**
 * Where a node keeps its own map across restarts (the agent writes it in `--data-dir`). Every
 * call is synchronous, on the protocol's thread; a throw from `append` fails the write (with
 * the error as its cause) before anything is sent.
 */
export interface StatePersistence {
  /** Called once, at construction: what the previous life saved, if anything. */
  load(): PersistedState | undefined;
  /** Our map as a whole: at start (after the generation was raised) and when the generation changes. */
  rewrite(state: PersistedState): void;
  /** One change of our map, in version order, before it is sent. */
  append(change: PersistedChange): void;
}

/** How far behind our copy of one node's map is. */
export interface ReplicationLag {
  readonly node: string;
  /** Versions between our copy and the newest we have heard of (0: up to date as far as we know). */
  readonly versionsBehind: number;
  /** How long our copy has been behind, ms (0 when it is not). */
  readonly behindForMs: number;
}

/** Counters of the replicated state; the agent exports them as metrics. */
export interface StateStats {
  /** Writes and deletes of our own map. */
  writes: number;
  /** Writes refused by a limit, by limit name. */
  writesRefused: Record<string, number>;
  /** Broadcasts queued: updates with their value, and notices of larger ones. */
  updatesQueued: number;
  noticesQueued: number;
  /** Updates received by gossip that were new here. */
  updatesReceived: number;
  /** Anti-entropy rounds this node started, and sync messages sent and received. */
  antiEntropyRounds: number;
  syncsSent: number;
  syncsReceived: number;
  /** Deltas (one per node map per exchange) sent and received, and the entries in them. */
  deltasSent: number;
  deltasReceived: number;
  deltaEntriesSent: number;
  deltaEntriesReceived: number;
  /** Deltas that replaced a map from scratch (new generation, or the peer was behind the collection point). */
  resetsSent: number;
  resetsReceived: number;
  /** Delta messages that went over a stream because they did not fit a packet. */
  streamDeltasSent: number;
  /**
   * Messages sent: in packets of their own (syncs, small deltas), over streams (large deltas),
   * and piggybacked on memberlist's gossip (updates and notices, each transmission counted).
   */
  packetsSent: number;
  streamsSent: number;
  broadcastsSent: number;
  /** Bytes of state messages sent and received (payloads, before memberlist's framing). */
  bytesSent: number;
  bytesReceived: number;
  /** Times this node raised its own generation over one the cluster still held. */
  generationBumps: number;
  /** Tombstones collected after their grace period. */
  tombstonesCollected: number;
  /** Input dropped, by reason. */
  dropped: Record<string, number>;
}
