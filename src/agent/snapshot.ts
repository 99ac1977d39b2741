/**
 * The snapshot: an append-only text file in the data directory (Serf's `-snapshot` format, so
 * the two are interchangeable) recording who was alive and the Lamport clocks, replayed at start
 * so that a restarted node rejoins the members it knew and does not handle old events again.
 *
 * One record per line:
 *   alive: NAME IP:PORT    a member joined or came back (the local node too)
 *   not-alive: NAME        a member left or failed
 *   clock: N               member clock − 1, written when it grows
 *   event-clock: N         the newest user event's Lamport time
 *   query-clock: N         the newest query's Lamport time
 *   leave                  a graceful leave: the next start does not rejoin
 *   # ...                  a comment
 * Unknown lines are skipped with a warning. Records are written at once (an `fsync`-free append:
 * a crash may lose the last lines, never corrupt earlier ones). When the file grows past
 * {@link compactionThreshold} it is rewritten through `<path>.compact` and renamed into place.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';

/** Bytes per known node the file may grow to before compaction (Serf's `snapshotBytesPerNode`). */
export const SNAPSHOT_BYTES_PER_NODE = 128;
/** Compaction happens beyond this multiple of the expected size (Serf's `snapshotCompactionThreshold`). */
export const SNAPSHOT_COMPACTION_FACTOR = 2;
/** Snapshot files larger than this are not read (a guard against a wrong path). */
export const SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024;
/** Members a snapshot remembers; more are ignored with a warning. */
export const SNAPSHOT_MAX_MEMBERS = 1_000_000;

export interface SnapshotState {
  /** Members alive at the last record, name → ip:port, in the order they were first seen. */
  alive: Map<string, string>;
  memberClock: number;
  eventClock: number;
  queryClock: number;
  /** The node left gracefully last time: do not rejoin. */
  left: boolean;
}

/** Reads a snapshot file (missing file → empty state). */
export function readSnapshot(path: string, log: Logger): SnapshotState {
  const s: SnapshotState = { alive: new Map(), memberClock: 0, eventClock: 0, queryClock: 0, left: false };
  if (!existsSync(path)) return s;
  const size = statSync(path).size;
  if (size > SNAPSHOT_MAX_BYTES) {
    log.warn(`snapshot ${path} is ${size} bytes, over ${SNAPSHOT_MAX_BYTES}: ignoring it`);
    return s;
  }
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === 'leave') {
      // A graceful leave: forget the members and clocks read so far (Serf without -rejoin).
      s.alive.clear();
      s.memberClock = 0;
      s.eventClock = 0;
      s.queryClock = 0;
      s.left = true;
      continue;
    }
    const colon = line.indexOf(':');
    const key = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    switch (key) {
      case 'alive': {
        const sp = value.lastIndexOf(' ');
        if (sp <= 0) {
          log.warn(`snapshot line ${i + 1} is malformed: "${line}"`);
          break;
        }
        if (s.alive.size >= SNAPSHOT_MAX_MEMBERS) break;
        const name = value.slice(0, sp);
        s.alive.delete(name);
        s.alive.set(name, value.slice(sp + 1));
        s.left = false;
        break;
      }
      case 'not-alive':
        s.alive.delete(value);
        break;
      case 'clock':
      case 'event-clock':
      case 'query-clock': {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < 0) {
          log.warn(`snapshot line ${i + 1} has a bad clock value: "${line}"`);
          break;
        }
        if (key === 'clock') s.memberClock = Math.max(s.memberClock, n);
        else if (key === 'event-clock') s.eventClock = Math.max(s.eventClock, n);
        else s.queryClock = Math.max(s.queryClock, n);
        break;
      }
      case 'coordinate':
        break; // legacy, ignored as Serf does
      default:
        log.warn(`snapshot line ${i + 1} is not recognised: "${line}"`);
    }
  }
  return s;
}

/** Appends records to the snapshot file, compacting it when it grows too large. */
export class SnapshotWriter {
  readonly #path: string;
  readonly #log: Logger;
  readonly #alive = new Map<string, string>();
  #fd: number;
  #size: number;
  #memberClock: number;
  #eventClock: number;
  #queryClock: number;

  /** Opens (creating the directory) for appending; `state` is what was read at start. */
  constructor(path: string, state: SnapshotState, log: Logger) {
    this.#path = path;
    this.#log = log;
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, 'a');
    this.#size = existsSync(path) ? statSync(path).size : 0;
    this.#memberClock = state.memberClock;
    this.#eventClock = state.eventClock;
    this.#queryClock = state.queryClock;
    for (const [n, a] of state.alive) this.#alive.set(n, a);
  }

  #append(line: string): void {
    const buf = Buffer.from(`${line}\n`);
    try {
      writeSync(this.#fd, buf);
      this.#size += buf.length;
    } catch (e) {
      this.#log.error('cannot write the snapshot', { path: this.#path, error: (e as Error).message });
      return;
    }
    if (this.#size > compactionThreshold(this.#alive.size)) this.compact();
  }

  alive(name: string, addr: string): void {
    this.#alive.set(name, addr);
    this.#append(`alive: ${name} ${addr}`);
  }

  notAlive(name: string): void {
    if (!this.#alive.delete(name)) return;
    this.#append(`not-alive: ${name}`);
  }

  /** Records the member clock (`time − 1`), only when it grew. */
  memberClock(time: number): void {
    const v = time - 1;
    if (v <= this.#memberClock) return;
    this.#memberClock = v;
    this.#append(`clock: ${v}`);
  }

  eventClock(lTime: number): void {
    if (lTime <= this.#eventClock) return;
    this.#eventClock = lTime;
    this.#append(`event-clock: ${lTime}`);
  }

  queryClock(lTime: number): void {
    if (lTime <= this.#queryClock) return;
    this.#queryClock = lTime;
    this.#append(`query-clock: ${lTime}`);
  }

  leave(): void {
    this.#append('leave');
  }

  /** Rewrites the file with only the current state, atomically (temp file + rename). */
  compact(): void {
    const tmp = `${this.#path}.compact`;
    const lines = ['# compacted snapshot'];
    for (const [n, a] of this.#alive) lines.push(`alive: ${n} ${a}`);
    if (this.#memberClock > 0) lines.push(`clock: ${this.#memberClock}`);
    if (this.#eventClock > 0) lines.push(`event-clock: ${this.#eventClock}`);
    if (this.#queryClock > 0) lines.push(`query-clock: ${this.#queryClock}`);
    const body = Buffer.from(`${lines.join('\n')}\n`);
    try {
      const fd = openSync(tmp, 'w');
      writeSync(fd, body);
      closeSync(fd);
      closeSync(this.#fd);
      renameSync(tmp, this.#path);
      this.#fd = openSync(this.#path, 'a');
      this.#size = body.length;
    } catch (e) {
      this.#log.error('snapshot compaction failed; keeping the old file', { error: (e as Error).message });
    }
  }

  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}

/** The size beyond which a snapshot is compacted, for `members` known nodes. */
export function compactionThreshold(members: number): number {
  return SNAPSHOT_COMPACTION_FACTOR * SNAPSHOT_BYTES_PER_NODE * Math.max(members, 16);
}
