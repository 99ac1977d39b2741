/** The replicated state: each node's versioned key/value map, known on every node of ours, gossiped Scuttlebutt-style. */
export { STATE_CAPABILITY, STATE_CAPABILITY_VERSION, STATE_MESSAGE_TYPE } from './codec.ts';
export { DIGEST_BUCKETS, DIGEST_MAX_DEPTH, LEAF_MAX_NODES } from './digest.ts';
export { MAX_TTL_MS } from './local.ts';
export {
  defaultStateOptions,
  KEY_BYTES_HARD_LIMIT,
  resolveStateOptions,
  type StateOptions,
  VALUE_BYTES_HARD_LIMIT,
} from './options.ts';
export { MAX_PENDING_ASKS, type ReplicaVersion } from './replicas.ts';
export { ReplicatedState, type ReplicatedStateInit, type StateInfo } from './state.ts';
export { CHANGE_CACHE_MAX_VALUE_BYTES, ChangeCache } from './store.ts';
export type {
  DeleteCause,
  OwnerStatus,
  PersistedChange,
  PersistedEntry,
  PersistedState,
  ReplicationLag,
  SetOptions,
  StateChange,
  StateEntry,
  StatePersistence,
  StateStats,
  WatchDeleteEvent,
  WatchEvent,
  WatchOptions,
  WatchSetEvent,
  WatchSnapshotEvent,
  WriteResult,
} from './types.ts';
export { WatchOverflowError } from './watch.ts';
