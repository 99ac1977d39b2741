/**
 * Event coalescing (Serf `coalesce.go`, `coalesce_member.go`, `coalesce_user.go`): a stage an
 * agent puts in front of its event handlers so that a burst of events becomes a few.
 *
 * A {@link CoalescingStage} passes through what its {@link Coalescer} does not handle, at once.
 * What it handles is folded into the coalescer's state, and flushed when the first of two
 * timers (on the injected clock) fires:
 * - the **quantum** (`coalescePeriodMs`), started by the first event of a batch: the longest an
 *   event waits;
 * - the **quiescent** period (`quiescentPeriodMs`), restarted by every event: a quiet spell ends
 *   the batch early.
 * `stop()` flushes what is pending (Serf flushes on shutdown).
 *
 * Two coalescers:
 * - {@link MemberEventCoalescer}: per member, only the latest event of a batch survives, and it
 *   is dropped if it repeats the last one delivered for that member (updates always pass). The
 *   survivors are grouped into one event per type, in a fixed order (join, leave, failed,
 *   update, reap; Serf's order is random).
 * - {@link UserEventCoalescer}: user events sent with `coalesce: true`; per event name, only
 *   those of the newest Lamport time survive.
 *
 * Differences from Serf 0.9.4, both bug fixes: the member coalescer forgets its batch after a
 * flush (Serf's keeps it, so an old update would be re-sent at every later flush), and every
 * member of a multi-member event is kept (Serf's loop keeps a pointer to its loop variable).
 */
import type { Clock, Timer } from '../runtime/clock.ts';
import type { MemberEvent, MemberEventType, SerfEvent, SerfMember } from './types.ts';

/** Most members whose last delivered event the member coalescer remembers. */
export const MAX_COALESCE_MEMBERS = 1_000_000;
/** Most distinct user event names (and events per name) held in one batch. */
export const MAX_COALESCE_USER_EVENTS = 65_536;

/** One coalescing policy (Serf `coalescer`). */
export interface Coalescer<E> {
  /** Whether this coalescer takes `event`; others pass through the stage untouched. */
  handle(event: E): boolean;
  /** Folds `event` into the pending batch. */
  coalesce(event: E): void;
  /** Emits the batch and starts a new one. */
  flush(emit: (event: E) => void): void;
}

/** What a {@link CoalescingStage} is made of. */
export interface CoalescingStageInit<E> {
  clock: Clock;
  coalescer: Coalescer<E>;
  /** Where events go: passed through at once, or flushed in batches. */
  emit: (event: E) => void;
  /** The longest a coalesced event waits. The agent's default is 3000 ms. */
  coalescePeriodMs: number;
  /** A quiet spell this long flushes early. The agent's default is 1000 ms. */
  quiescentPeriodMs: number;
}

/** A coalescing stage (Serf `coalesceLoop`), driven by the injected clock. */
export class CoalescingStage<E> {
  readonly #clock: Clock;
  readonly #coalescer: Coalescer<E>;
  readonly #emit: (event: E) => void;
  readonly #coalesceMs: number;
  readonly #quiescentMs: number;
  #quantum: Timer | undefined;
  #quiescent: Timer | undefined;
  #stopped = false;

  constructor(init: CoalescingStageInit<E>) {
    if (!(init.coalescePeriodMs > 0) || !(init.quiescentPeriodMs > 0)) {
      throw new RangeError(
        `coalescePeriodMs and quiescentPeriodMs must be positive; got ${init.coalescePeriodMs} and ${init.quiescentPeriodMs}`,
      );
    }
    this.#clock = init.clock;
    this.#coalescer = init.coalescer;
    this.#emit = init.emit;
    this.#coalesceMs = init.coalescePeriodMs;
    this.#quiescentMs = init.quiescentPeriodMs;
  }

  /** Takes one event: passes it through, or folds it into the batch and (re)arms the timers. */
  push(event: E): void {
    if (this.#stopped || !this.#coalescer.handle(event)) {
      this.#emit(event);
      return;
    }
    this.#quantum ??= this.#clock.setTimer(this.#coalesceMs, () => this.flush());
    this.#quiescent?.cancel();
    this.#quiescent = this.#clock.setTimer(this.#quiescentMs, () => this.flush());
    this.#coalescer.coalesce(event);
  }

  /** Flushes the batch now and disarms the timers. */
  flush(): void {
    this.#quantum?.cancel();
    this.#quiescent?.cancel();
    this.#quantum = undefined;
    this.#quiescent = undefined;
    this.#coalescer.flush(this.#emit);
  }

  /** Flushes what is pending; afterwards every event passes straight through. */
  stop(): void {
    if (this.#stopped) return;
    this.flush();
    this.#stopped = true;
  }
}

const MEMBER_TYPES: readonly MemberEventType[] = [
  'member-join',
  'member-leave',
  'member-failed',
  'member-update',
  'member-reap',
];

/** Coalesces member events (Serf `memberEventCoalescer`). */
export class MemberEventCoalescer implements Coalescer<SerfEvent> {
  /** Member → type of the last event delivered for it. */
  readonly #lastEvents = new Map<string, MemberEventType>();
  /** Member → its latest event in this batch. */
  #latest = new Map<string, { type: MemberEventType; member: SerfMember }>();

  /** Member events only. */
  handle(event: SerfEvent): boolean {
    return event.type !== 'user' && event.type !== 'query';
  }

  /** Keeps each member's latest event of the batch. */
  coalesce(event: SerfEvent): void {
    const e = event as MemberEvent;
    for (const member of e.members) {
      this.#latest.delete(member.name);
      this.#latest.set(member.name, { type: e.type, member });
    }
  }

  /** Emits one event per type, skipping repeats of the last delivered event (updates excepted). */
  flush(emit: (event: SerfEvent) => void): void {
    const byType = new Map<MemberEventType, SerfMember[]>();
    for (const [name, { type, member }] of this.#latest) {
      const previous = this.#lastEvents.get(name);
      if (previous === type && type !== 'member-update') continue;
      this.#remember(name, type);
      let list = byType.get(type);
      if (list === undefined) {
        list = [];
        byType.set(type, list);
      }
      list.push(member);
    }
    this.#latest = new Map();
    for (const type of MEMBER_TYPES) {
      const members = byType.get(type);
      if (members) emit({ type, members });
    }
  }

  #remember(name: string, type: MemberEventType): void {
    this.#lastEvents.delete(name);
    if (type === 'member-reap') return; // a reaped member starts over
    if (this.#lastEvents.size >= MAX_COALESCE_MEMBERS) {
      const oldest = this.#lastEvents.keys().next().value;
      if (oldest !== undefined) this.#lastEvents.delete(oldest);
    }
    this.#lastEvents.set(name, type);
  }
}

/** Coalesces user events marked coalescable (Serf `userEventCoalescer`). */
export class UserEventCoalescer implements Coalescer<SerfEvent> {
  /** Event name → the newest Lamport time seen in this batch and its events. */
  #events = new Map<string, { lTime: number; events: SerfEvent[] }>();
  /** Events dropped because the batch was full. */
  dropped = 0;

  /** User events sent with `coalesce: true` only. */
  handle(event: SerfEvent): boolean {
    return event.type === 'user' && event.coalesce;
  }

  /** Keeps, per name, the events of the newest Lamport time. */
  coalesce(event: SerfEvent): void {
    if (event.type !== 'user') return;
    const latest = this.#events.get(event.name);
    if (latest === undefined || latest.lTime < event.lTime) {
      if (latest === undefined && this.#events.size >= MAX_COALESCE_USER_EVENTS) {
        this.dropped++;
        return;
      }
      this.#events.set(event.name, { lTime: event.lTime, events: [event] });
      return;
    }
    if (latest.lTime === event.lTime) {
      if (latest.events.length >= MAX_COALESCE_USER_EVENTS) {
        this.dropped++;
        return;
      }
      latest.events.push(event);
    }
  }

  /** Emits the kept events and starts a new batch. */
  flush(emit: (event: SerfEvent) => void): void {
    const batch = this.#events;
    this.#events = new Map();
    for (const { events } of batch.values()) for (const e of events) emit(e);
  }
}
