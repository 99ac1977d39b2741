/** The Serf layer: membership with reasons, tags, user events, queries and key rotation, wire-compatible with `serf agent`. */
export {
  type Coalescer,
  CoalescingStage,
  type CoalescingStageInit,
  MAX_COALESCE_MEMBERS,
  MAX_COALESCE_USER_EVENTS,
  MemberEventCoalescer,
  UserEventCoalescer,
} from './coalesce.ts';
export {
  CoordinateClient,
  type CoordinateConfig,
  defaultCoordinateConfig,
  distanceSeconds,
  isValidCoordinate,
  MAX_FILTERED_NODES,
  MAX_RTT_SECONDS,
  newCoordinate,
} from './coordinate.ts';
export {
  DYNAMIC_QUEUE_HARD_CAP,
  MAX_EVENTS_PER_LTIME,
  MAX_MEMBERS,
  MAX_PENDING_QUERIES,
  MAX_QUERY_IDS_PER_LTIME,
  MAX_QUERY_REPLIES,
  MAX_RECENT_INTENTS,
  type SerfState,
  type SerfStats,
} from './core.ts';
export { tagsToMeta } from './delegate.ts';
export {
  CAPABILITY_NAME_MAX_CHARS,
  EXTENSION_MESSAGE_TYPE_MIN,
  type ExtensionContext,
  type SerfExtension,
} from './extension.ts';
export {
  compileGoRegexp,
  GO_REGEXP_CACHE_SIZE,
  GO_REGEXP_MAX_LENGTH,
  type GoRegexp,
  type GoRegexpResult,
  goRegexpMatch,
} from './go-regexp.ts';
export { InternalQuery } from './internal-query.ts';
export {
  type DesiredKeyring,
  type KeyringAgreement,
  keyId,
  keyringFingerprint,
  nextRotationStep,
  type RotationAction,
} from './key-rotation.ts';
export {
  KeyManager,
  type KeyRequestOptions,
  type KeyResponse,
  type KeyRotation,
  type RotationStep,
} from './keymanager.ts';
export { LamportClock, type LamportTime } from './lamport.ts';
export {
  defaultSerfOptions,
  resolveSerfOptions,
  SERF_PROTOCOL_MAX,
  SERF_PROTOCOL_MIN,
  type SerfOptions,
  USER_EVENT_SIZE_HARD_LIMIT,
} from './options.ts';
export {
  INTERNAL_QUERY_PREFIX,
  type NodeResponse,
  Query,
  type QueryParams,
  type QueryReply,
  QueryResponse,
  type QueryResponseEvents,
  type QueryResult,
} from './query.ts';
export {
  type JoinOptions,
  type MemberlistOverrides,
  type PreviousNode,
  type RestoredClocks,
  Serf,
  type SerfInfo,
  type SerfInit,
  type SerfSignalOptions,
  type UserEventOptions,
} from './serf.ts';
export {
  type ClockEvent,
  type ClockName,
  type ConflictEvent,
  type InternalQueryEvent,
  type KeyringChangeEvent,
  MEMBER_STATUS_CODE,
  type MemberEvent,
  type MemberEventType,
  type MemberStatus,
  type ProtocolRange,
  type SerfEvent,
  type SerfEvents,
  type SerfMember,
  type ShutdownEvent,
  type UserEvent,
} from './types.ts';
