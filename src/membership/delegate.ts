/**
 * Extension points of the membership layer, after memberlist's `delegate.go`,
 * `alive_delegate.go`, `merge_delegate.go`, `conflict_delegate.go` and `ping_delegate.go`.
 *
 * Contract for every hook: it is called synchronously on the protocol's single thread, in the
 * order the protocol processes things; it must return promptly (no I/O, no waiting); it must not
 * throw (a throw is caught, logged and counted as if the hook were absent); byte arrays it is
 * given may be retained but must not be mutated, and arrays it returns must not be mutated after.
 *
 * Notifications (join, leave, update, suspect, refute, ...) are typed events instead, see
 * {@link MemberlistEvents}.
 */
import type { Addr } from '../transport/transport.ts';
import type { Member } from './node-state.ts';

export interface MemberlistDelegate {
  /**
   * This node's metadata, at most `limit` (512) bytes. Asked at start and on `updateNode()`.
   * Serf puts its tags here.
   */
  nodeMeta?(limit: number): Uint8Array;

  /** A user message arrived (UDP, or a stream user message). */
  notifyMessage?(payload: Uint8Array, from: Addr): void;

  /**
   * Broadcasts to piggyback after memberlist's own, each costing `overhead` extra bytes, within
   * `limit` bytes in total. Each returned message counts as one transmission for the delegate.
   * Return the raw payloads: memberlist frames each as a user message (`08 | payload`), and
   * `overhead` already includes that type byte. `to` is the address the packet goes to (a gossip
   * target, or the peer a probe, ack or nack is for), so that a delegate can keep broadcasts
   * that only some members understand away from the others (memberlist's hook has no such
   * argument; it is ours).
   */
  getBroadcasts?(overhead: number, limit: number, to: Addr): Uint8Array[];

  /**
   * Whether `getBroadcasts` could hand out anything now. When it says no, `getBroadcasts` is not
   * asked (neither by a gossip round nor for a probe or an ack), and a gossip round with
   * memberlist's own queue empty sends nothing and draws no targets (see `gossip.ts`). Without
   * this hook, `getBroadcasts` is asked every time, as
   * memberlist does; ours exists because asking 3 targets 5 times a second cost an idle Node.js
   * agent CPU for nothing.
   */
  broadcastsPending?(): boolean;

  /** The delegate's state for a push-pull (`join` tells whether it is a join). */
  localState?(join: boolean): Uint8Array;

  /** The remote side's delegate state from a push-pull. */
  mergeRemoteState?(state: Uint8Array, join: boolean): void;

  /**
   * Veto for a join: called with the remote side's members before they are merged. Return an
   * Error to refuse the whole merge (the join fails with it).
   */
  notifyMerge?(peers: Member[]): Error | undefined;

  /** Filter for alive messages: return an Error to ignore this member's alive. */
  notifyAlive?(peer: Member): Error | undefined;

  /** Another node claims our name, or a known member's name, from a different address. */
  notifyConflict?(existing: Member, other: Member): void;

  /** The payload of our acks (Serf sends its network coordinate); null for none. */
  ackPayload?(): Uint8Array | null;

  /** A direct probe completed: round-trip time and the ack's payload. */
  notifyPingComplete?(peer: Member, rttMs: number, payload: Uint8Array | null): void;
}

/** Typed events of the membership layer. Emitted synchronously, in protocol order. */
export interface MemberlistEvents {
  /** A member became alive: new, or back from dead or left. */
  join: { member: Member };
  /** A member was declared dead (`member.status === 'dead'`) or left (`'left'`). */
  leave: { member: Member };
  /** An alive member's metadata changed. */
  update: { member: Member };
  /** We started suspecting a member (first suspicion only), and who accused it. */
  suspect: { member: Member; from: string };
  /** A suspicion timed out and we declared the member dead (our own verdict). */
  dead: { member: Member; confirmations: number };
  /** A member we held suspect is alive again at a higher incarnation: it refuted the suspicion. */
  memberRefuted: { member: Member };
  /** We refuted an accusation about ourselves by raising our incarnation. */
  refute: { incarnation: number; accusedIncarnation: number; reason: 'suspect' | 'dead' | 'alive' };
  /** The local health score changed. */
  health: { score: number; reason: string };
  /** A probe ended. `ok` false means we suspected the target. */
  probe: { target: string; ok: boolean; rttMs?: number; indirect: boolean; inconclusive?: boolean };
  /** A packet or stream message was dropped: why, and from where. */
  dropped: { reason: string; from: Addr; detail: string };
  /** Push-pull finished (either side). */
  pushPull: { peer: Addr; join: boolean; initiated: boolean; durationMs: number; error?: string };
}
