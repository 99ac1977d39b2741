/**
 * User events (Serf `UserEvent`, `handleUserEvent`; spec §9.6): small named payloads gossiped to
 * every member and delivered once to each.
 *
 * Each event carries the sender's event-clock time. A receiver keeps a ring of `eventBuffer`
 * slots, indexed by `lTime % eventBuffer`; a slot holds the distinct (name, payload) pairs seen
 * at one time. An event is new unless its slot holds the same time and an identical pair — so
 * two identical events sent at the same time count as one. Events older than the ring
 * (`lTime < now − eventBuffer`), or before `eventMinTime`, are dropped.
 *
 * The ring also travels in every push-pull, so a node that was away (or just joined) replays
 * the events it missed; `join({ ignoreOld: true })` raises `eventMinTime` to the cluster's
 * event time during the join so that a newcomer does not replay history.
 */
import { SizeLimitError } from '../errors.ts';
import { sameBytes } from '../wire/bytes.ts';
import { encodeSerfMessage, type MessageUserEvent, type UserEvents } from '../wire/serf.ts';
import { MAX_EVENTS_PER_LTIME, type SerfCore } from './core.ts';
import { USER_EVENT_SIZE_HARD_LIMIT } from './options.ts';
import { serfSeams } from './seams.ts';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * Sends a user event: size checks (before and after encoding; nothing is sent when one fails),
 * then the event clock ticks, the event is delivered here, and it is queued for gossip.
 * @throws SizeLimitError naming the limit.
 */
export function sendUserEvent(core: SerfCore, name: string, payload: Uint8Array, coalesce: boolean): void {
  const limit = core.opts.userEventSizeLimit;
  const size = utf8.encode(name).length + payload.length;
  if (size > limit) {
    throw new SizeLimitError(
      'user event name and payload',
      size,
      limit,
      'raise userEventSizeLimit (at most 9216) or send less',
    );
  }
  if (size > USER_EVENT_SIZE_HARD_LIMIT) {
    throw new SizeLimitError('user event name and payload', size, USER_EVENT_SIZE_HARD_LIMIT);
  }
  const msg: MessageUserEvent = { lTime: core.eventClock.time(), name, payload, cc: coalesce };
  const raw = encodeSerfMessage({ type: 'userEvent', body: msg });
  if (raw.length > limit) {
    throw new SizeLimitError(
      'encoded user event',
      raw.length,
      limit,
      'raise userEventSizeLimit or send less',
    );
  }
  if (raw.length > USER_EVENT_SIZE_HARD_LIMIT) {
    throw new SizeLimitError('encoded user event', raw.length, USER_EVENT_SIZE_HARD_LIMIT);
  }
  core.eventClock.increment();
  handleUserEvent(core, msg);
  core.eventQueue.queue(raw);
}

/** A user event arrived (or was replayed from a push-pull). Returns whether it was new (re-gossip it). */
export function handleUserEvent(core: SerfCore, msg: MessageUserEvent): boolean {
  core.eventClock.witness(msg.lTime);
  if (msg.lTime < core.eventMinTime) return false;
  const ring = core.eventRing;
  const now = core.eventClock.time();
  if (now > ring.length && msg.lTime < now - ring.length) {
    core.log.warn('serf: received an old event', { name: msg.name, lTime: msg.lTime, current: now });
    return false;
  }
  const payload = msg.payload ?? EMPTY;
  const idx = msg.lTime % ring.length;
  let slot = ring[idx];
  if (slot?.lTime === msg.lTime) {
    for (const e of slot.events) if (e.name === msg.name && sameBytes(e.payload, payload)) return false;
    if (slot.events.length >= MAX_EVENTS_PER_LTIME) {
      core.drop('event-slot-full', `over ${MAX_EVENTS_PER_LTIME} distinct events at time ${msg.lTime}`);
      return false;
    }
  } else {
    slot = { lTime: msg.lTime, events: [] };
    ring[idx] = slot;
  }
  slot.events.push({ name: msg.name, payload });
  core.stats.userEvents++;
  core.emitEvent({ type: 'user', lTime: msg.lTime, name: msg.name, payload, coalesce: msg.cc });
  return true;
}

/** The event ring as a push-pull carries it (`null` for empty slots). */
export function eventRingForPushPull(core: SerfCore): (UserEvents | null)[] {
  return core.eventRing.map((slot) =>
    slot === null
      ? null
      : { lTime: slot.lTime, events: slot.events.map((e) => ({ name: e.name, payload: e.payload })) },
  );
}

/** Replays a remote ring from a push-pull: each event goes through {@link handleUserEvent} (by its seam). */
export function replayRemoteEvents(core: SerfCore, ring: readonly (UserEvents | null)[] | null): void {
  if (ring === null) return;
  for (const slot of ring) {
    if (slot === null || slot.events === null) continue;
    for (const e of slot.events) {
      serfSeams.userEventReceived(core, { lTime: slot.lTime, name: e.name, payload: e.payload, cc: false });
    }
  }
}
