/**
 * Options of the Serf layer: one type, Serf 0.9.4's `DefaultConfig()` values as defaults, and a
 * validator whose errors name the field, what was expected and what was given.
 *
 * Names keep Serf's (`reapInterval`, `tombstoneTimeout`, `queryTimeoutMult`, ...) with units
 * last, so an operator who tuned Serf finds them. The memberlist layer underneath has its own
 * options (see `src/membership/options.ts`); Serf's query timeout and retransmit limits are
 * derived from those.
 */
import { ConfigError } from '../errors.ts';

/** The oldest Serf protocol version understood (Serf `ProtocolVersionMin`). */
export const SERF_PROTOCOL_MIN = 2;
/** The newest Serf protocol version understood, and the one spoken by default (Serf `ProtocolVersionMax`). */
export const SERF_PROTOCOL_MAX = 5;

/**
 * The hard cap on a user event's name plus payload, whatever `userEventSizeLimit` says
 * (Serf `UserEventSizeLimit`, 9 KiB): larger events cannot ride in a gossip packet.
 */
export const USER_EVENT_SIZE_HARD_LIMIT = 9 * 1024;

/** Everything a {@link Serf} is tuned with. Every field has Serf's default. */
export interface SerfOptions {
  /**
   * Serf protocol version spoken, 2..5. Tags need >= 3 (below, only the `role` tag is sent, as
   * raw metadata); queries need >= 4. The `serf agent` speaks 5.
   * @default 5
   */
  protocolVersion: number;
  /**
   * How long `leave()` waits for the leave intent to be fully gossiped, and then for
   * memberlist's own leave broadcast; also the bound of `setTags()` and `forceLeave()`.
   * @default 5000
   */
  broadcastTimeoutMs: number;
  /**
   * How long `leave()` keeps the node running after memberlist's leave went out, so that it
   * still answers the probes of members that have not heard of the leave yet (otherwise they
   * would see it fail instead of leave).
   * @default 1000
   */
  leavePropagateDelayMs: number;
  /**
   * Slots of the recent-events ring, used to drop duplicate user events and sent in every
   * push-pull so that a joiner catches up. An event older than the newest minus this many
   * Lamport ticks is dropped as too old.
   * @default 512
   */
  eventBuffer: number;
  /** Slots of the recent-queries ring, used to answer each query once. @default 512 */
  queryBuffer: number;
  /** Interval of the reaper, which forgets failed and left members after their timeouts. @default 15000 */
  reapIntervalMs: number;
  /**
   * Interval of reconnect attempts: each round, with probability `failed / alive`, one random
   * failed member is push-pulled, so a healed partition merges back by itself.
   * @default 30000
   */
  reconnectIntervalMs: number;
  /**
   * How long a failed member is remembered (and reconnected to) before it is reaped. Longer
   * lets longer partitions heal by themselves, at the expense of memory and reconnect traffic.
   * @default 86400000 (24 h)
   */
  reconnectTimeoutMs: number;
  /**
   * How long a member that left is remembered as a tombstone (so push-pulls do not revive it)
   * before it is reaped.
   * @default 86400000 (24 h)
   */
  tombstoneTimeoutMs: number;
  /** A failed member that rejoins within this time counts as a flap (the `flaps` counter). @default 60000 */
  flapTimeoutMs: number;
  /** Interval of the broadcast queue check (depth warning and pruning). @default 30000 */
  queueCheckIntervalMs: number;
  /** Queue depth at which the queue check logs a warning. @default 128 */
  queueDepthWarning: number;
  /**
   * Most broadcasts queued per Serf queue (intents, events, queries); beyond it the most
   * transmitted are dropped. Ignored when `minQueueDepth` is set.
   * @default 4096
   */
  maxQueueDepth: number;
  /**
   * When > 0, the queue limit follows the cluster: `max(minQueueDepth, 2 × members)`, checked
   * every `queueCheckIntervalMs`.
   * @default 0
   */
  minQueueDepth: number;
  /**
   * How long a join or leave intent for a member we do not know yet is kept, waiting for
   * memberlist to announce the member.
   * @default 300000 (5 min)
   */
  recentIntentTimeoutMs: number;
  /**
   * Default query timeout: `gossipInterval × queryTimeoutMult × ceil(log10(n + 1))`.
   * @default 16
   */
  queryTimeoutMult: number;
  /** Largest encoded query response (bytes), ours and the ones we relay. @default 1024 */
  queryResponseSizeLimit: number;
  /** Largest encoded query (bytes). @default 1024 */
  querySizeLimit: number;
  /**
   * Largest user event: name plus payload, and again the encoded message, in bytes. At most
   * {@link USER_EVENT_SIZE_HARD_LIMIT}.
   * @default 512
   */
  userEventSizeLimit: number;
  /**
   * When another node claims our name, ask the cluster (`_serf_conflict`) which address it
   * knows for the name, and shut down (without leaving) if we are in the minority.
   * @default true
   */
  enableNameConflictResolution: boolean;
  /**
   * Do not keep a Vivaldi network coordinate (none in our acks, none learned from others'), as
   * Serf's `DisableCoordinates`. With coordinates on, serf agents can estimate RTTs to us.
   * @default false
   */
  disableCoordinates: boolean;
}

/** Serf's `DefaultConfig()`, with the agent's protocol version (5). */
export function defaultSerfOptions(): SerfOptions {
  return {
    protocolVersion: SERF_PROTOCOL_MAX,
    broadcastTimeoutMs: 5000,
    leavePropagateDelayMs: 1000,
    eventBuffer: 512,
    queryBuffer: 512,
    reapIntervalMs: 15_000,
    reconnectIntervalMs: 30_000,
    reconnectTimeoutMs: 24 * 3600_000,
    tombstoneTimeoutMs: 24 * 3600_000,
    flapTimeoutMs: 60_000,
    queueCheckIntervalMs: 30_000,
    queueDepthWarning: 128,
    maxQueueDepth: 4096,
    minQueueDepth: 0,
    recentIntentTimeoutMs: 300_000,
    queryTimeoutMult: 16,
    queryResponseSizeLimit: 1024,
    querySizeLimit: 1024,
    userEventSizeLimit: 512,
    enableNameConflictResolution: true,
    disableCoordinates: false,
  };
}

type Check = [keyof SerfOptions, (v: number) => boolean, string];

const positive = (v: number) => Number.isFinite(v) && v > 0;
const nonNegative = (v: number) => Number.isFinite(v) && v >= 0;
const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
const nonNegativeInt = (v: number) => Number.isInteger(v) && v >= 0;
/** Ring sizes are bounded so a typo cannot allocate gigabytes. */
const MAX_RING_SLOTS = 1 << 16;

const CHECKS: Check[] = [
  [
    'protocolVersion',
    (v) => Number.isInteger(v) && v >= SERF_PROTOCOL_MIN && v <= SERF_PROTOCOL_MAX,
    `a Serf protocol version from ${SERF_PROTOCOL_MIN} to ${SERF_PROTOCOL_MAX}`,
  ],
  ['broadcastTimeoutMs', positive, 'a positive number of milliseconds, e.g. 5000'],
  ['leavePropagateDelayMs', nonNegative, 'milliseconds >= 0, e.g. 1000'],
  ['eventBuffer', (v) => positiveInt(v) && v <= MAX_RING_SLOTS, `a whole number from 1 to ${MAX_RING_SLOTS}`],
  ['queryBuffer', (v) => positiveInt(v) && v <= MAX_RING_SLOTS, `a whole number from 1 to ${MAX_RING_SLOTS}`],
  ['reapIntervalMs', positive, 'a positive number of milliseconds, e.g. 15000'],
  ['reconnectIntervalMs', positive, 'a positive number of milliseconds, e.g. 30000'],
  ['reconnectTimeoutMs', nonNegative, 'milliseconds >= 0, e.g. 86400000'],
  ['tombstoneTimeoutMs', nonNegative, 'milliseconds >= 0, e.g. 86400000'],
  ['flapTimeoutMs', nonNegative, 'milliseconds >= 0, e.g. 60000'],
  ['queueCheckIntervalMs', positive, 'a positive number of milliseconds, e.g. 30000'],
  ['queueDepthWarning', positiveInt, 'a whole number >= 1, e.g. 128'],
  ['maxQueueDepth', positiveInt, 'a whole number >= 1, e.g. 4096'],
  ['minQueueDepth', nonNegativeInt, 'a whole number >= 0 (0 disables dynamic sizing)'],
  ['recentIntentTimeoutMs', nonNegative, 'milliseconds >= 0, e.g. 300000'],
  ['queryTimeoutMult', positiveInt, 'a whole number >= 1, e.g. 16'],
  ['queryResponseSizeLimit', positiveInt, 'a whole number of bytes >= 1, e.g. 1024'],
  ['querySizeLimit', positiveInt, 'a whole number of bytes >= 1, e.g. 1024'],
  [
    'userEventSizeLimit',
    (v) => positiveInt(v) && v <= USER_EVENT_SIZE_HARD_LIMIT,
    `a whole number of bytes from 1 to ${USER_EVENT_SIZE_HARD_LIMIT} (Serf's hard cap), e.g. 512`,
  ],
];

/**
 * Merges `overrides` over Serf's defaults and checks every field, throwing a
 * {@link ConfigError} that names the first bad one, what was expected and what was given.
 * `undefined` values keep the default.
 */
export function resolveSerfOptions(overrides: Partial<SerfOptions> = {}): SerfOptions {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const o = { ...defaultSerfOptions(), ...defined } as SerfOptions;
  for (const [field, ok, expected] of CHECKS) {
    const v = o[field];
    if (typeof v !== 'number' || !ok(v)) {
      throw new ConfigError(field, `expected ${expected}; got ${JSON.stringify(v)}`);
    }
  }
  if (typeof o.disableCoordinates !== 'boolean') {
    throw new ConfigError(
      'disableCoordinates',
      `expected true or false; got ${JSON.stringify(o.disableCoordinates)}`,
    );
  }
  if (typeof o.enableNameConflictResolution !== 'boolean') {
    throw new ConfigError(
      'enableNameConflictResolution',
      `expected true or false; got ${JSON.stringify(o.enableNameConflictResolution)}`,
    );
  }
  return o;
}
