/**
 * Cluster-wide keyring changes (Serf `keymanager.go`): each operation is an internal query
 * (`_serf_install-key`, `_serf_use-key`, `_serf_remove-key`, `_serf_list-keys`) to every
 * member, ours included, and the answers are tallied into what `serf keys` prints: how many
 * nodes there are, how many answered, how many failed and why, and — for a listing — how many
 * nodes hold each key (and each primary key).
 *
 * A rotation is install → use → remove: install the new key everywhere (every node can then
 * decrypt it), make it primary everywhere (nodes encrypt with it), then remove the old one.
 * Operations run one at a time on a node, as in Serf. Collection ends early once every member
 * has answered.
 */
import { ConfigError } from '../errors.ts';
import { MsgpackReader } from '../wire/msgpack.ts';
import { catchDecode } from '../wire/result.ts';
import { encodeSerfMessage, SerfMessageType, serfStructs } from '../wire/serf.ts';
import type { SerfCore } from './core.ts';
import { InternalQuery } from './internal-query.ts';
import { INTERNAL_QUERY_PREFIX, startQuery } from './query.ts';

/** The tally of a key operation (Serf `KeyResponse`). */
export interface KeyResponse {
  /** Node → message, for nodes that failed or answered with a note (e.g. a truncated list). */
  readonly messages: Record<string, string>;
  /** Members memberlist counted (alive or suspect) when the query went out. */
  readonly numNodes: number;
  readonly numResp: number;
  readonly numErr: number;
  /** Base64 key → how many nodes hold it (list-keys). */
  readonly keys: Record<string, number>;
  /** Base64 primary key → how many nodes use it (list-keys). */
  readonly primaryKeys: Record<string, number>;
  /**
   * Serf's verdict when not every node succeeded: `"N/M nodes reported failure"` or
   * `"N/M nodes reported success"`; undefined when all did.
   */
  readonly error: string | undefined;
}

/** Options of a key operation. */
export interface KeyRequestOptions {
  /** Relay each answer through this many members as well (Serf `-relay-factor`). @default 0 */
  relayFactor?: number;
  /** @default the default query timeout */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A step of {@link KeyManager.rotateKey}. */
export type RotationStep = 'install' | 'verify' | 'use' | 'remove';

/** What {@link KeyManager.rotateKey} did. */
export interface KeyRotation {
  /** Whether every step succeeded on every node. */
  readonly ok: boolean;
  /** The step that stopped the rotation, if one did. */
  readonly failedStep: RotationStep | undefined;
  /** Each step's tally, in order (`remove` once per old key). */
  readonly steps: readonly { readonly step: RotationStep; readonly response: KeyResponse }[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64Key(key: string): Uint8Array {
  const s = key.trim();
  if (!BASE64.test(s) || s.length % 4 !== 0) {
    throw new ConfigError(
      'key',
      `not valid base64 (standard alphabet, = padding, a multiple of 4 characters; got ${s.length} characters)`,
    );
  }
  return Uint8Array.from(Buffer.from(s, 'base64'));
}

type Op = (typeof InternalQuery)[keyof typeof InternalQuery];

/** Runs key operations across the cluster. Get it from `serf.keyManager`. */
export class KeyManager {
  readonly #core: SerfCore;
  #queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(core: SerfCore) {
    this.#core = core;
  }

  /** Installs `key` (base64) on every node; it can decrypt at once, and encrypt once used. */
  installKey(key: string, options: KeyRequestOptions = {}): Promise<KeyResponse> {
    return this.#serial(() => this.#request(InternalQuery.installKey, decodeBase64Key(key), options));
  }

  /** Makes the installed `key` (base64) the primary (encrypting) key on every node. */
  useKey(key: string, options: KeyRequestOptions = {}): Promise<KeyResponse> {
    return this.#serial(() => this.#request(InternalQuery.useKey, decodeBase64Key(key), options));
  }

  /** Removes `key` (base64) from every node; nodes refuse to remove their primary key. */
  removeKey(key: string, options: KeyRequestOptions = {}): Promise<KeyResponse> {
    return this.#serial(() => this.#request(InternalQuery.removeKey, decodeBase64Key(key), options));
  }

  /** Lists the keys installed across the cluster, with how many nodes hold each. */
  listKeys(options: KeyRequestOptions = {}): Promise<KeyResponse> {
    return this.#serial(() => this.#request(InternalQuery.listKeys, new Uint8Array(0), options));
  }

  /**
   * Rotates the cluster to `newKey` (base64) safely: install it everywhere; check with a listing
   * that every node holds it; make it primary everywhere; then remove every other key. Stops at
   * the first step that not every node confirmed (answer missing or refused), leaving the
   * cluster able to talk: a node that missed the new key is never cut off by a switch to it.
   * Re-running a stopped rotation is safe (each step is idempotent).
   */
  async rotateKey(newKey: string, options: KeyRequestOptions = {}): Promise<KeyRotation> {
    const steps: { step: RotationStep; response: KeyResponse }[] = [];
    const stop = (step: RotationStep): KeyRotation => ({ ok: false, failedStep: step, steps });
    const install = await this.installKey(newKey, options);
    steps.push({ step: 'install', response: install });
    if (install.error !== undefined) return stop('install');
    const normalized = Buffer.from(decodeBase64Key(newKey)).toString('base64');
    const listed = await this.listKeys(options);
    steps.push({ step: 'verify', response: listed });
    if (listed.error !== undefined || listed.keys[normalized] !== listed.numNodes) return stop('verify');
    const use = await this.useKey(newKey, options);
    steps.push({ step: 'use', response: use });
    if (use.error !== undefined) return stop('use');
    for (const old of Object.keys(listed.keys)) {
      if (old === normalized) continue;
      const removed = await this.removeKey(old, options);
      steps.push({ step: 'remove', response: removed });
      if (removed.error !== undefined) return stop('remove');
    }
    return { ok: true, failedStep: undefined, steps };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #request(op: Op, key: Uint8Array, options: KeyRequestOptions): Promise<KeyResponse> {
    const core = this.#core;
    const payload = encodeSerfMessage({ type: 'keyRequest', body: { key } });
    const query = startQuery(core, `${INTERNAL_QUERY_PREFIX}${op}`, payload, {
      relayFactor: options.relayFactor ?? 0,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const numNodes = core.ml.members().length;
    const messages: Record<string, string> = {};
    const keys: Record<string, number> = {};
    const primaryKeys: Record<string, number> = {};
    let numResp = 0;
    let numErr = 0;
    for await (const reply of query) {
      if (reply.type !== 'response') continue;
      numResp++;
      const p = reply.payload;
      if (p.length < 1 || p[0] !== SerfMessageType.keyResponse) {
        messages[reply.from] = `Invalid key query response type: ${Buffer.from(p).toString('hex')}`;
        numErr++;
      } else {
        const r = catchDecode(() => serfStructs.keyResponse.decode(new MsgpackReader(p, 1)));
        if (!r.ok) {
          messages[reply.from] = `Failed to decode key query response: ${Buffer.from(p).toString('hex')}`;
          numErr++;
        } else {
          const nr = r.value;
          if (!nr.result) {
            messages[reply.from] = nr.message;
            numErr++;
          } else if (nr.message.length > 0) {
            messages[reply.from] = nr.message;
            core.log.warn(`serf: ${nr.message}`, { from: reply.from });
          }
          for (const k of nr.keys ?? []) keys[k] = (keys[k] ?? 0) + 1;
          primaryKeys[nr.primaryKey] = (primaryKeys[nr.primaryKey] ?? 0) + 1;
        }
      }
      if (numResp === numNodes) {
        query.close();
        break;
      }
    }
    let error: string | undefined;
    if (numErr !== 0) error = `${numErr}/${numNodes} nodes reported failure`;
    else if (numResp !== numNodes) error = `${numResp}/${numNodes} nodes reported success`;
    return { messages, numNodes, numResp, numErr, keys, primaryKeys, error };
  }
}
