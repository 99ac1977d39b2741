/**
 * The trace the protocol simulator feeds its invariant checkers and metrics: what each node's
 * `Memberlist` and `Serf` reported (their typed events), what the simulator read back from a
 * memberlist after an event (a member's state), and the ground truth only the simulator knows
 * (which nodes run).
 *
 * Checkers consume nothing else, so a test can hand one a synthetic trace that breaks its
 * invariant and read the reason string it reports (after tigerbeetle's
 * `src/testing/cluster/state_checker.zig`, fed by the cluster on every replica event).
 *
 * Times are the simulator's virtual milliseconds; nodes are named (`n7`).
 */

/** A member's state as a node's memberlist holds it. */
export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left';

/** A member's status as a node's Serf layer holds it (`serf members`). */
export type SerfStatus = 'alive' | 'leaving' | 'left' | 'failed';

/** A Serf member event (Serf `event.go`). */
export type SerfMemberEvent =
  | 'member-join'
  | 'member-leave'
  | 'member-failed'
  | 'member-update'
  | 'member-reap';

/** One observation. */
export type TraceEvent =
  /** A node (a new process: first start or a restart) started. Its knowledge starts empty. */
  | { type: 'start'; atMs: number; node: string }
  /** A node stopped: crashed (no leave) or shut down after leaving. */
  | { type: 'stop'; atMs: number; node: string; how: 'crash' | 'leave' }
  /**
   * What `observer` holds about `member` right after an event that may have changed it;
   * `status` null means it does not know the member (never learned, or forgotten).
   */
  | {
      type: 'view';
      atMs: number;
      observer: string;
      member: string;
      status: MemberStatus | null;
      incarnation: number;
    }
  /** `observer` started suspecting `member` (event `suspect`); `from` is the accuser. */
  | { type: 'suspect'; atMs: number; observer: string; member: string; incarnation: number; from: string }
  /** `observer`'s own suspicion of `member` timed out: it declared it dead (event `dead`). */
  | { type: 'dead'; atMs: number; observer: string; member: string; incarnation: number }
  /** `observer` now holds `member` dead or left (event `leave`), for whatever reason. */
  | {
      type: 'leave';
      atMs: number;
      observer: string;
      member: string;
      incarnation: number;
      status: 'dead' | 'left';
    }
  /** `observer` now holds `member` alive after not knowing it or holding it dead (event `join`). */
  | { type: 'join'; atMs: number; observer: string; member: string; incarnation: number }
  /** `node` refuted an accusation by raising its incarnation (event `refute`). */
  | { type: 'refute'; atMs: number; node: string; incarnation: number; accusedIncarnation: number }
  /**
   * `node` processed a packet that accused it (a `suspect`, or a `dead` not of its own leave)
   * at `accusedIncarnation`. `incarnationBefore`/`After` are its own incarnation around the
   * packet, `refutedTo` the highest incarnation it refuted with while processing it (null if
   * it did not), `isLeaving` whether it had started to leave (a leaving node does not refute).
   */
  | {
      type: 'accused';
      atMs: number;
      node: string;
      accusedIncarnation: number;
      incarnationBefore: number;
      incarnationAfter: number;
      refutedTo: number | null;
      isLeaving: boolean;
    }
  /** `observer`'s Serf layer emitted a member event about `member`, which it now holds at `status`. */
  | {
      type: 'member';
      atMs: number;
      observer: string;
      member: string;
      event: SerfMemberEvent;
      status: SerfStatus;
    }
  /** `by` force-left `member`, which was down (an operator's `serf force-leave`). */
  | { type: 'force-leave'; atMs: number; by: string; member: string }
  /** `observer`'s Serf layer delivered user event `name`, sent at event-clock time `lTime`. */
  | { type: 'user-event'; atMs: number; observer: string; name: string; lTime: number };

/** Every {@link TraceEvent} type, in the order a run's `observed.events` lists them. */
export const TRACE_EVENT_TYPES = [
  'start',
  'stop',
  'view',
  'suspect',
  'dead',
  'leave',
  'join',
  'refute',
  'accused',
  'member',
  'force-leave',
  'user-event',
] as const satisfies readonly TraceEvent['type'][];

/** A trace event's type. */
export type TraceEventType = (typeof TRACE_EVENT_TYPES)[number];

// Every type of the union is listed above (a compile error names the one missing).
const everyTypeListed: Record<Exclude<TraceEvent['type'], TraceEventType>, never> = {};
void everyTypeListed;

/** Reports a broken invariant: which checker, when, and why (a sentence naming nodes and values). */
export type ViolationReporter = (reason: string, atMs: number) => void;

/** An invariant checked on every event of a run. */
export interface TraceChecker {
  /** Short name, printed before each reason. */
  readonly name: string;
  /**
   * Observations this checker has held against its invariant so far. A checker that stopped
   * seeing the events it needs stays at 0, which the sweep asserts against (a checker that
   * sees nothing can never fail).
   */
  readonly checks: number;
  /** Takes one observation (in trace order). */
  observe(event: TraceEvent): void;
  /**
   * Called once the simulator has finished an event (a packet delivery or a timer) and
   * everything it emitted has been observed; checks what must hold by then.
   */
  endOfEvent(atMs: number): void;
}

/** A broken invariant. */
export interface Violation {
  checker: string;
  atMs: number;
  reason: string;
}
