/**
 * The agent's replicated-state file, `--data-dir/state`: this node's own map, its version
 * counter and generation, so that after a crash (`kill -9`) and a restart it serves its old
 * keys again, at a newer generation, and its new writes win everywhere.
 *
 * Format: JSON lines, append-only.
 * - `{"gen":G,"version":V}` starts a full image (written by `rewrite`): the generation and the
 *   version counter; the image's entries follow;
 * - `{"gen":G,"v":V,"k":KEY,"b":BASE64}` one entry, or change, at version V; `"b":null` means
 *   the key is gone; `"exp":MS` is the wall-clock expiry (Unix ms) of a key with a TTL.
 *
 * Each change is appended with one `write` before the write is gossiped (`kill -9` cannot lose
 * it: it is in the kernel's page cache; a power loss can, and the node then comes back at a
 * newer generation without it, everywhere). When the file holds more than twice the lines
 * the map needs (and at least {@link STATE_FILE_COMPACT_MIN_LINES}), it is rewritten whole, to
 * a temporary file renamed over it. A torn last line (a crash mid-write) or a malformed one
 * is skipped and logged: what came before it stands.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Logger } from '../log.ts';
import type { PersistedChange, PersistedEntry, PersistedState, StatePersistence } from '../state/types.ts';

/** The file is never compacted below this many lines. */
export const STATE_FILE_COMPACT_MIN_LINES = 1024;

interface Line {
  gen?: number;
  version?: number;
  v?: number;
  k?: string;
  b?: string | null;
  exp?: number;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** A {@link StatePersistence} on a file. `now` is the wall clock (Unix ms), injected for tests. */
export class StateFile implements StatePersistence {
  readonly path: string;
  readonly #log: Logger;
  readonly #now: () => number;
  #fd: number | undefined;
  #lines = 0;
  /** What the file holds, kept to rewrite it. */
  #gen = 0;
  #version = 0;
  readonly #entries = new Map<string, { v: number; b: string; exp?: number }>();

  constructor(path: string, log: Logger, now: () => number = Date.now) {
    this.path = path;
    this.#log = log;
    this.#now = now;
  }

  load(): PersistedState | undefined {
    if (!existsSync(this.path)) return undefined;
    const text = readFileSync(this.path, 'utf8');
    let seen = false;
    let bad = 0;
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        bad++;
        continue;
      }
      if (isCount(line.gen) && isCount(line.version) && line.k === undefined) {
        this.#gen = line.gen;
        this.#version = line.version;
        this.#entries.clear();
        seen = true;
      } else if (isCount(line.gen) && isCount(line.v) && typeof line.k === 'string') {
        this.#gen = Math.max(this.#gen, line.gen);
        this.#version = Math.max(this.#version, line.v);
        if (typeof line.b === 'string') {
          this.#entries.set(line.k, {
            v: line.v,
            b: line.b,
            ...(isCount(line.exp) ? { exp: line.exp } : {}),
          });
        } else {
          this.#entries.delete(line.k);
        }
        seen = true;
      } else {
        bad++;
      }
    }
    if (bad > 0)
      this.#log.warn('skipped unreadable lines of the state file', { path: this.path, lines: bad });
    if (!seen) return undefined;
    const now = this.#now();
    const entries: PersistedEntry[] = [];
    for (const [key, e] of this.#entries) {
      if (e.exp !== undefined && e.exp <= now) continue;
      entries.push({
        key,
        value: new Uint8Array(Buffer.from(e.b, 'base64')),
        version: e.v,
        ...(e.exp !== undefined ? { ttlRemainingMs: e.exp - now } : {}),
      });
    }
    return { generation: this.#gen, version: this.#version, entries };
  }

  rewrite(state: PersistedState): void {
    const now = this.#now();
    this.#gen = state.generation;
    this.#version = state.version;
    this.#entries.clear();
    for (const e of state.entries) {
      this.#entries.set(e.key, {
        v: e.version,
        b: Buffer.from(e.value).toString('base64'),
        ...(e.ttlRemainingMs !== undefined ? { exp: Math.round(now + e.ttlRemainingMs) } : {}),
      });
    }
    this.#writeImage();
  }

  append(c: PersistedChange): void {
    const line: Line = { gen: c.generation, v: c.version, k: c.key, b: null };
    if (c.value !== null) {
      const entry = { v: c.version, b: Buffer.from(c.value).toString('base64') };
      line.b = entry.b;
      if (c.ttlMs !== undefined) line.exp = Math.round(this.#now() + c.ttlMs);
      this.#entries.set(c.key, line.exp !== undefined ? { ...entry, exp: line.exp } : entry);
    } else {
      this.#entries.delete(c.key);
    }
    this.#gen = c.generation;
    this.#version = Math.max(this.#version, c.version);
    if (this.#fd === undefined) this.#fd = openSync(this.path, 'a');
    writeSync(this.#fd, `${JSON.stringify(line)}\n`);
    this.#lines++;
    if (this.#lines > Math.max(STATE_FILE_COMPACT_MIN_LINES, 2 * (this.#entries.size + 1)))
      this.#writeImage();
  }

  /** Writes the whole map to a new file and renames it over the old one. */
  #writeImage(): void {
    const tmp = `${this.path}.tmp`;
    const lines = [JSON.stringify({ gen: this.#gen, version: this.#version })];
    for (const [k, e] of this.#entries) lines.push(JSON.stringify({ gen: this.#gen, k, ...e }));
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${lines.join('\n')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.close();
    renameSync(tmp, this.path);
    this.#lines = lines.length;
  }

  /** Closes the file (the next append opens it again). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
