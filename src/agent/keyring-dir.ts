/**
 * `--keyring-dir DIR`: the gossip keyring from a directory of files, typically a mounted
 * Kubernetes Secret, and automatic cluster-wide rotation whenever the files change.
 *
 * Layout (docs/kubernetes.md, "Keys"):
 *
 *     DIR/primary        the key to encrypt with: base64 of 16, 24 or 32 bytes (`gossip keygen`)
 *     DIR/<any name>     more keys accepted for decryption (the next key while it is installed,
 *                        the previous one until every member has moved on), one per file
 *
 * Names starting with `.` are skipped, and so is anything that is not a regular file: a Secret
 * volume holds `..data` (a symlink to a timestamped directory) and one symlink per key through
 * it; the kubelet updates a Secret by writing a new timestamped directory and renaming a new
 * `..data` symlink over the old one, so every file changes at once. Whitespace around a key is
 * ignored (`kubectl create secret --from-file` keeps a trailing newline).
 *
 * Rotation (src/cluster/key-rotation.ts): every agent publishes a fingerprint of its files'
 * keyring in the Serf tag `keyring-dir`. The alive member with the lowest name among those that
 * publish one drives, one key query at a time: install every desired key everywhere, make the
 * desired primary primary once every member holds it and every publishing member's files agree,
 * remove the keys that are no longer in the files. The others only watch. A driver that dies is
 * replaced by the next name.
 *
 * The files are watched with `fs.watch` on the directory and read again every
 * {@link KEYRING_DIR_POLL_MS} (a watch can miss events on some volume types); a directory that
 * fails to parse is logged with the fix and ignored, keeping the last good keyring.
 */
import { type FSWatcher, lstatSync, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import {
  type DesiredKeyring,
  keyId,
  keyringFingerprint,
  nextRotationStep,
  type RotationAction,
} from '../cluster/key-rotation.ts';
import type { Serf } from '../cluster/serf.ts';
import { ConfigError } from '../errors.ts';
import type { Clock, Timer } from '../runtime/clock.ts';
import { Keyring } from '../wire/crypto.ts';
import type { AgentLogger } from './logging.ts';

/** The file holding the primary key. */
export const PRIMARY_KEY_FILE = 'primary';
/** The Serf tag each agent publishes its files' keyring fingerprint in. */
export const KEYRING_DIR_TAG = 'keyring-dir';
/** Most key files read from the directory. */
export const KEYRING_DIR_MAX_FILES = 32;
/** Largest key file read (a base64 key of 32 bytes is 44 characters). */
export const KEYRING_DIR_MAX_FILE_BYTES = 1024;
/** How often the directory is read again, whatever `fs.watch` reports. */
export const KEYRING_DIR_POLL_MS = 5000;
/** Quiet time after a change event before reading (a Secret update is several renames). */
export const KEYRING_DIR_DEBOUNCE_MS = 250;
/** Delay before a rotation step is retried after a wait or a failed query; doubles up to the max. */
export const KEY_ROTATION_RETRY_MS = 2000;
export const KEY_ROTATION_RETRY_MAX_MS = 30_000;
/** Most key operations in one pass (a pass ends sooner when done or told to wait). */
export const KEY_ROTATION_MAX_STEPS = 64;

/** A keyring read from a directory. */
export interface KeyringDirContents extends DesiredKeyring {
  /** {@link keyringFingerprint} of it. */
  fingerprint: string;
  /** The files the keys came from (primary first). */
  files: string[];
}

/** Reads and checks the directory. Throws a ConfigError saying what is wrong and how to fix it. */
export function readKeyringDir(dir: string): KeyringDirContents {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new ConfigError(
      'keyring-dir',
      `cannot read ${dir}: ${(e as Error).message}. Mount the Secret there, or create the directory with a file "${PRIMARY_KEY_FILE}" holding a key (gossip keygen)`,
    );
  }
  const files: { name: string; key: string }[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let isFile: boolean;
    try {
      isFile = statSync(path).isFile(); // follows the Secret's symlinks
    } catch {
      continue; // a dangling link mid-update; the next read sees the new one
    }
    if (!isFile) continue;
    if (files.length >= KEYRING_DIR_MAX_FILES) {
      throw new ConfigError('keyring-dir', `${dir} holds more than ${KEYRING_DIR_MAX_FILES} key files`);
    }
    const size = statSync(path).size;
    if (size > KEYRING_DIR_MAX_FILE_BYTES) {
      throw new ConfigError(
        'keyring-dir',
        `${path} is ${size} bytes: a key file holds one base64 key (44 characters for 32 bytes)`,
      );
    }
    const text = readFileSync(path, 'utf8').trim();
    try {
      Keyring.parseKey(text);
    } catch (e) {
      throw new ConfigError(
        'keyring-dir',
        `${path}: ${(e as Error).message}. Each file holds one base64 key of 16, 24 or 32 bytes (gossip keygen makes one)`,
      );
    }
    files.push({ name, key: Buffer.from(text, 'base64').toString('base64') });
  }
  const primary = files.find((f) => f.name === PRIMARY_KEY_FILE);
  if (primary === undefined) {
    throw new ConfigError(
      'keyring-dir',
      `${dir} has no file "${PRIMARY_KEY_FILE}": put the key to encrypt with there (other files hold keys that are only accepted)`,
    );
  }
  const keys = [primary.key, ...files.filter((f) => f !== primary).map((f) => f.key)];
  const unique = [...new Set(keys)];
  const desired = { primary: primary.key, keys: unique };
  return {
    ...desired,
    fingerprint: keyringFingerprint(desired),
    files: [primary.name, ...files.filter((f) => f !== primary).map((f) => f.name)],
  };
}

/** The keyring a node starts with: the primary first, then the others. */
export function keyringFromDir(contents: KeyringDirContents): Keyring {
  return new Keyring(contents.keys.map((k) => Keyring.parseKey(k)));
}

/** What {@link KeyringDirRotator} reports to the agent's event stream. */
export interface KeyRotationReport {
  action: RotationAction['op'] | 'read' | 'invalid' | 'failed';
  key?: string;
  detail: string;
}

/**
 * Watches the directory, publishes its fingerprint as a tag, and (when this node is the driver)
 * runs the rotation. `start()` / `stop()`.
 */
export class KeyringDirRotator {
  readonly #dir: string;
  readonly #serf: Serf;
  readonly #clock: Clock;
  readonly #log: AgentLogger;
  readonly #report: (r: KeyRotationReport) => void;
  #desired: KeyringDirContents;
  #watcher: FSWatcher | undefined;
  #pollTimer: Timer | undefined;
  #debounce: Timer | undefined;
  #retryTimer: Timer | undefined;
  #retryMs = KEY_ROTATION_RETRY_MS;
  #running = false;
  #again = false;
  #stopped = false;
  #lastWait = '';
  #usedPrimary: string | undefined;
  #lastDirState = '';
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: {
    dir: string;
    serf: Serf;
    clock: Clock;
    logger: AgentLogger;
    initial: KeyringDirContents;
    report?: (r: KeyRotationReport) => void;
  }) {
    this.#dir = options.dir;
    this.#serf = options.serf;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#desired = options.initial;
    this.#report = options.report ?? (() => {});
  }

  /** The keyring the files ask for now. */
  get desired(): KeyringDirContents {
    return this.#desired;
  }

  start(): void {
    this.#lastDirState = this.#dirState();
    try {
      this.#watcher = watch(this.#dir, () => this.#changed());
      this.#watcher.on('error', (e) =>
        this.#log.warn('keyring-dir: watching stopped; polling only', { error: String(e) }),
      );
    } catch (e) {
      this.#log.warn('keyring-dir: cannot watch the directory; polling only', { error: String(e) });
    }
    const poll = () => {
      if (this.#stopped) return;
      const state = this.#dirState();
      if (state !== this.#lastDirState) this.#changed();
      this.#pollTimer = this.#clock.setTimer(KEYRING_DIR_POLL_MS, poll);
    };
    this.#pollTimer = this.#clock.setTimer(KEYRING_DIR_POLL_MS, poll);
    const kick = () => this.kick();
    for (const ev of [
      'member-join',
      'member-leave',
      'member-failed',
      'member-update',
      'member-reap',
    ] as const) {
      this.#unsubscribe.push(this.#serf.on(ev, kick));
    }
    this.kick();
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#pollTimer?.cancel();
    this.#debounce?.cancel();
    this.#retryTimer?.cancel();
    for (const u of this.#unsubscribe) u();
  }

  /** What the poll compares: names, sizes, modification times and link targets of the entries. */
  #dirState(): string {
    try {
      return readdirSync(this.#dir)
        .sort()
        .map((n) => {
          const p = join(this.#dir, n);
          try {
            const l = lstatSync(p);
            const s = statSync(p);
            return `${n}:${l.mtimeMs}:${s.mtimeMs}:${s.size}:${s.ino}`;
          } catch {
            return `${n}:?`;
          }
        })
        .join('|');
    } catch (e) {
      return `unreadable:${(e as Error).message}`;
    }
  }

  #changed(): void {
    if (this.#stopped) return;
    this.#debounce?.cancel();
    this.#debounce = this.#clock.setTimer(KEYRING_DIR_DEBOUNCE_MS, () => this.#reread());
  }

  #reread(): void {
    if (this.#stopped) return;
    this.#lastDirState = this.#dirState();
    let next: KeyringDirContents;
    try {
      next = readKeyringDir(this.#dir);
    } catch (e) {
      const msg = (e as Error).message;
      this.#log.error(`keyring-dir: ${msg}; keeping the keys read before`, { dir: this.#dir });
      this.#report({ action: 'invalid', detail: msg });
      return;
    }
    if (next.fingerprint === this.#desired.fingerprint) return;
    this.#desired = next;
    this.#usedPrimary = undefined;
    this.#log.info('keyring-dir: the key files changed', {
      primary: keyId(next.primary),
      keys: next.keys.map(keyId).join(','),
      fingerprint: next.fingerprint,
    });
    this.#report({ action: 'read', detail: `primary ${keyId(next.primary)}, ${next.keys.length} keys` });
    // Publish what our files say; the driver waits for every publisher to agree before a use.
    void this.#serf
      .setTags({ ...this.#serf.tags, [KEYRING_DIR_TAG]: next.fingerprint })
      .catch((e: Error) =>
        this.#log.warn('keyring-dir: could not publish the fingerprint tag', { error: e.message }),
      );
    this.kick();
  }

  /** The members publishing a fingerprint, and whether we drive (the lowest such name alive). */
  #publishers(): { isDriver: boolean; disagreeing: string[] } {
    const me = this.#serf.name;
    const ours = this.#desired.fingerprint;
    let lowest: string | undefined;
    const disagreeing: string[] = [];
    for (const m of this.#serf.members()) {
      if (m.status !== 'alive') continue;
      const fp = m.name === me ? ours : m.tags[KEYRING_DIR_TAG];
      if (fp === undefined) continue;
      if (lowest === undefined || m.name < lowest) lowest = m.name;
      if (fp !== ours) disagreeing.push(m.name);
    }
    return { isDriver: lowest === me, disagreeing };
  }

  /** Runs a pass soon (files changed, membership changed, a retry). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#retryTimer?.cancel();
    this.#running = true;
    this.#pass()
      .catch((e: Error) => {
        this.#log.warn('keyring-dir: a rotation step failed; retrying', { error: e.message });
        this.#report({ action: 'failed', detail: e.message });
        this.#scheduleRetry();
      })
      .finally(() => {
        this.#running = false;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.kick();
        }
      });
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    this.#retryTimer?.cancel();
    this.#retryTimer = this.#clock.setTimer(this.#retryMs, () => this.kick());
    this.#retryMs = Math.min(this.#retryMs * 2, KEY_ROTATION_RETRY_MAX_MS);
  }

  async #pass(): Promise<void> {
    const serf = this.#serf;
    if (serf.state !== 'alive') return;
    const km = serf.keyManager;
    for (let step = 0; step < KEY_ROTATION_MAX_STEPS && !this.#stopped; step++) {
      const { isDriver, disagreeing } = this.#publishers();
      if (!isDriver) return; // the driver runs the rotation; a membership change kicks us again
      const desired = this.#desired;
      const listing = await km.listKeys();
      const action = nextRotationStep(desired, listing, { disagreeing }, this.#usedPrimary);
      if (action.op === 'done') {
        if (this.#lastWait !== 'done') {
          this.#log.info('keyring-dir: every member has the keyring of the files', {
            primary: keyId(desired.primary),
            members: listing.numNodes,
          });
          this.#report({ action: 'done', detail: `${listing.numNodes} members` });
        }
        this.#lastWait = 'done';
        this.#retryMs = KEY_ROTATION_RETRY_MS;
        return;
      }
      if (action.op === 'wait') {
        if (action.reason !== this.#lastWait) {
          this.#log.info(`keyring-dir: waiting: ${action.reason}`);
          this.#report({ action: 'wait', detail: action.reason });
        }
        this.#lastWait = action.reason;
        this.#scheduleRetry();
        return;
      }
      this.#lastWait = '';
      this.#log.info(`keyring-dir: ${action.op} key ${keyId(action.key)} on every member (${action.reason})`);
      const r =
        action.op === 'install'
          ? await km.installKey(action.key)
          : action.op === 'use'
            ? await km.useKey(action.key)
            : await km.removeKey(action.key);
      this.#report({ action: action.op, key: keyId(action.key), detail: r.error ?? 'every member' });
      if (r.error !== undefined) {
        this.#log.warn(`keyring-dir: ${action.op} of key ${keyId(action.key)} did not reach every member`, {
          error: r.error,
          messages: JSON.stringify(r.messages),
        });
        this.#scheduleRetry();
        return;
      }
      if (action.op === 'use') this.#usedPrimary = action.key;
    }
  }
}
