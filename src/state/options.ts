/**
 * Options of the replicated state: one type, defaults, and a validator whose errors name the
 * field, what was expected and what was given (as `src/cluster/options.ts`).
 *
 * The limits bound memory: a node holds at most `maxNodes` maps of at most `maxBytesPerNode`
 * bytes (keys plus values) and `maxKeysPerNode` live keys, plus tombstones (at most
 * `maxKeysPerNode` more per node, each for at most `tombstoneGraceMs`). A write that would
 * cross a limit fails with a {@link StateLimitError} naming it, and nothing is sent; a peer's
 * map that crosses *our* limits (a peer configured larger) stops being applied at that point,
 * counted as a `node-over-keys` or `node-over-bytes` drop.
 */
import { ConfigError } from '../errors.ts';

/** The largest value any configuration may allow: larger ones would not fit one stream message comfortably. */
export const VALUE_BYTES_HARD_LIMIT = 1024 * 1024;
/** The largest key any configuration may allow. */
export const KEY_BYTES_HARD_LIMIT = 4096;

/** Everything the replicated state is tuned with. */
export interface StateOptions {
  /**
   * Largest value, bytes. A write over it fails with a `StateLimitError` (`maxValueBytes`).
   * Values too large for a gossip packet are announced by a small notice and fetched over a
   * stream, so any size up to this limit travels.
   * @default 65536 (64 KiB)
   */
  maxValueBytes: number;
  /** Longest key, in UTF-8 bytes. @default 512 */
  maxKeyBytes: number;
  /** Most live keys one node's map may hold. @default 4096 */
  maxKeysPerNode: number;
  /**
   * Most bytes (keys plus values of live entries) one node's map may hold.
   * @default 1048576 (1 MiB)
   */
  maxBytesPerNode: number;
  /**
   * Most node maps held (ours included). A map for one more node is refused (counted as a
   * `too-many-nodes` drop). Memory is bounded by about `maxNodes × maxBytesPerNode`.
   * @default 16384
   */
  maxNodes: number;
  /**
   * How long a delete is remembered as a tombstone before it is collected. A peer that was
   * behind the collection point (partitioned for longer) gets that node's map again from
   * scratch, never a map with holes, so this trades memory for re-sent bytes, not safety.
   * @default 600000 (10 min)
   */
  tombstoneGraceMs: number;
  /**
   * Interval of anti-entropy: each round this node compares a digest with one random peer
   * (of ours) and each side sends the other exactly what it is missing. A round where both
   * already agree costs one small packet (a 64-bit hash of every node's version).
   * Shorter repairs lost broadcasts sooner, at the expense of that packet more often.
   * @default 2000
   */
  antiEntropyIntervalMs: number;
  /**
   * Most bytes of entries one anti-entropy exchange sends (over a stream when it is larger
   * than a packet). A backlog larger than this drains over several exchanges, chained back to
   * back. Must hold the largest entry: at least `maxValueBytes + maxKeyBytes + 1024`.
   * @default 1048576 (1 MiB)
   */
  maxDeltaBytes: number;
  /**
   * Largest encoded update that rides the gossip broadcast queue with its value; a larger one
   * is broadcast as a notice (node, generation, version) that receivers answer by pulling the
   * value over a stream. At most the packet payload less 64 bytes.
   * @default 512
   */
  maxBroadcastBytes: number;
  /**
   * Most broadcasts (updates and notices) queued for gossip; beyond it the most transmitted go
   * first (anti-entropy repairs what they carried).
   * @default 4096
   */
  maxQueueDepth: number;
  /**
   * Most out-of-order updates held until the versions before them arrive (a gossip burst
   * arrives in any order, and a node's changes are applied in version order only).
   * @default 16384
   */
  maxPendingUpdates: number;
  /**
   * Recent changes kept for watches to resume from a token. A token older than the log
   * resumes with a fresh snapshot instead.
   * @default 4096
   */
  changeLogSize: number;
  /**
   * Most events a watch buffers for a consumer that does not keep up; past it the watch ends
   * with a `WatchOverflowError` carrying the last token delivered (resume from it).
   * @default 10000
   */
  maxWatchBacklog: number;
  /** How often expired TTL keys and old tombstones are collected, ms. @default 1000 */
  sweepIntervalMs: number;
}

/** The defaults. */
export function defaultStateOptions(): StateOptions {
  return {
    maxValueBytes: 64 * 1024,
    maxKeyBytes: 512,
    maxKeysPerNode: 4096,
    maxBytesPerNode: 1024 * 1024,
    maxNodes: 16_384,
    tombstoneGraceMs: 600_000,
    antiEntropyIntervalMs: 2000,
    maxDeltaBytes: 1024 * 1024,
    maxBroadcastBytes: 512,
    maxQueueDepth: 4096,
    maxPendingUpdates: 16_384,
    changeLogSize: 4096,
    maxWatchBacklog: 10_000,
    sweepIntervalMs: 1000,
  };
}

type Check = [keyof StateOptions, (v: number) => boolean, string];

const positive = (v: number) => Number.isFinite(v) && v > 0;
const positiveInt = (v: number) => Number.isInteger(v) && v > 0;

const CHECKS: Check[] = [
  [
    'maxValueBytes',
    (v) => positiveInt(v) && v <= VALUE_BYTES_HARD_LIMIT,
    `a whole number of bytes from 1 to ${VALUE_BYTES_HARD_LIMIT}, e.g. 65536`,
  ],
  [
    'maxKeyBytes',
    (v) => positiveInt(v) && v <= KEY_BYTES_HARD_LIMIT,
    `a whole number of bytes from 1 to ${KEY_BYTES_HARD_LIMIT}, e.g. 512`,
  ],
  ['maxKeysPerNode', positiveInt, 'a whole number >= 1, e.g. 4096'],
  ['maxBytesPerNode', positiveInt, 'a whole number of bytes >= 1, e.g. 1048576'],
  ['maxNodes', positiveInt, 'a whole number >= 1, e.g. 16384'],
  ['tombstoneGraceMs', positive, 'a positive number of milliseconds, e.g. 600000'],
  ['antiEntropyIntervalMs', positive, 'a positive number of milliseconds, e.g. 2000'],
  ['maxDeltaBytes', positiveInt, 'a whole number of bytes, e.g. 1048576'],
  ['maxBroadcastBytes', (v) => Number.isInteger(v) && v >= 64, 'a whole number of bytes >= 64, e.g. 512'],
  ['maxQueueDepth', positiveInt, 'a whole number >= 1, e.g. 4096'],
  ['maxPendingUpdates', (v) => Number.isInteger(v) && v >= 0, 'a whole number >= 0, e.g. 16384'],
  ['changeLogSize', positiveInt, 'a whole number >= 1, e.g. 4096'],
  ['maxWatchBacklog', positiveInt, 'a whole number >= 1, e.g. 10000'],
  ['sweepIntervalMs', positive, 'a positive number of milliseconds, e.g. 1000'],
];

/**
 * Merges `overrides` over the defaults and checks every field, throwing a {@link ConfigError}
 * that names the first bad one. `undefined` values keep the default.
 */
export function resolveStateOptions(overrides: Partial<StateOptions> = {}): StateOptions {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const o = { ...defaultStateOptions(), ...defined } as StateOptions;
  for (const [field, ok, expected] of CHECKS) {
    const v = o[field];
    if (typeof v !== 'number' || !ok(v)) {
      throw new ConfigError(field, `expected ${expected}; got ${JSON.stringify(v)}`);
    }
  }
  const entryMax = o.maxValueBytes + o.maxKeyBytes + 1024;
  if (o.maxDeltaBytes < entryMax) {
    throw new ConfigError(
      'maxDeltaBytes',
      `must hold the largest entry, maxValueBytes + maxKeyBytes + 1024 = ${entryMax} bytes; got ${o.maxDeltaBytes}`,
    );
  }
  if (o.maxBytesPerNode < o.maxValueBytes) {
    throw new ConfigError(
      'maxBytesPerNode',
      `must be at least maxValueBytes (${o.maxValueBytes}), or the largest value could never be written; got ${o.maxBytesPerNode}`,
    );
  }
  return o;
}
