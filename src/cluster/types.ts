/**
 * The public shapes of the Serf layer: members as `serf members` shows them, and the typed
 * events a {@link Serf} emits (Serf `event.go`: member-join, member-leave, member-failed,
 * member-update, member-reap, user, query), plus the notifications an agent needs to persist
 * its clocks and to notice that the node shut itself down.
 */
import type { LamportTime } from './lamport.ts';
import type { Query } from './query.ts';

/**
 * A member's status as Serf sees it (spec §9.5), spelled as `serf members` prints it.
 * - `alive`: a member in good standing;
 * - `leaving`: it announced a leave intent and memberlist has not yet seen it go;
 * - `left`: it left gracefully (a tombstone until `tombstoneTimeoutMs`);
 * - `failed`: memberlist declared it dead without a leave intent (reconnected to until
 *   `reconnectTimeoutMs`).
 */
export type MemberStatus = 'alive' | 'leaving' | 'left' | 'failed';

/** Serf's wire codes of {@link MemberStatus} (`MemberStatus`, used in `_serf_conflict` answers). */
export const MEMBER_STATUS_CODE: Record<MemberStatus, number> = { alive: 1, leaving: 2, left: 3, failed: 4 };

/** A protocol range and the version spoken. */
export interface ProtocolRange {
  readonly min: number;
  readonly max: number;
  readonly version: number;
}

/** A member as the public API hands it out: a read-only snapshot. */
export interface SerfMember {
  readonly name: string;
  /** IP address as text (`127.0.0.1`, `::1`). */
  readonly addr: string;
  readonly port: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly status: MemberStatus;
  /** memberlist protocol range and version. */
  readonly protocol: ProtocolRange;
  /** Serf (memberlist "delegate") protocol range and version. */
  readonly delegate: ProtocolRange;
}

/** Kinds of member event. */
export type MemberEventType =
  | 'member-join'
  | 'member-leave'
  | 'member-failed'
  | 'member-update'
  | 'member-reap';

/**
 * A change of membership. The Serf layer emits one member per event; the member coalescer
 * (`coalesce.ts`) batches several.
 */
export interface MemberEvent {
  readonly type: MemberEventType;
  readonly members: readonly SerfMember[];
}

/** A user event delivered (once) to this node. */
export interface UserEvent {
  readonly type: 'user';
  /** The event clock time it was sent at. */
  readonly lTime: LamportTime;
  readonly name: string;
  readonly payload: Uint8Array;
  /** Whether the sender allowed it to be coalesced with newer events of the same name. */
  readonly coalesce: boolean;
}

/** Every event of the Serf layer, in one union: what an agent pipes through its coalescers. */
export type SerfEvent = MemberEvent | UserEvent | Query;

/** An internal (`_serf_…`) query this node handled itself; apps never see these as `query`. */
export interface InternalQueryEvent {
  readonly name: string;
  readonly lTime: LamportTime;
  readonly sourceNode: string;
}

/** Which Lamport clock. */
export type ClockName = 'member' | 'event' | 'query';

/** A Lamport clock moved to `time`. */
export interface ClockEvent {
  readonly clock: ClockName;
  readonly time: LamportTime;
}

/** The outcome of a name-conflict vote about our own name. */
export interface ConflictEvent {
  /** The address the other claimant advertises (`ip:port`). */
  readonly other: string;
  /** Responders that know our name at our own address. */
  readonly matching: number;
  readonly responses: number;
  /** `lost` means this node shuts down without leaving. */
  readonly outcome: 'won' | 'lost';
}

/** Which key operation changed the keyring. */
export interface KeyringChangeEvent {
  readonly op: 'install-key' | 'use-key' | 'remove-key';
}

/** Why a {@link Serf} shut down. */
export interface ShutdownEvent {
  readonly reason: 'shutdown' | 'name-conflict';
}

/**
 * Typed events of the Serf layer. Emitted synchronously, in protocol order; a listener must
 * return promptly and must not throw (a throw is logged and ignored).
 */
export interface SerfEvents {
  'member-join': MemberEvent;
  'member-leave': MemberEvent;
  'member-failed': MemberEvent;
  'member-update': MemberEvent;
  'member-reap': MemberEvent;
  /** A new user event (duplicates are never emitted). */
  user: UserEvent;
  /** A new query whose filters match this node; answer with `respond()` before its deadline. */
  query: Query;
  /** Every member, user and query event above, in order, as one stream. */
  event: SerfEvent;
  /** An internal query handled here (a snapshotter records its `lTime` as the query clock). */
  'internal-query': InternalQueryEvent;
  /** One of the three Lamport clocks moved (a snapshotter persists these). */
  clock: ClockEvent;
  /** A name-conflict vote about our name ended. */
  conflict: ConflictEvent;
  /**
   * A key query changed this node's keyring (an agent with a keyring file persists it now;
   * read the keys from the keyring it passed in).
   */
  keyring: KeyringChangeEvent;
  /** The node shut down (by `shutdown()`, or by itself after losing a name-conflict vote). */
  shutdown: ShutdownEvent;
}
