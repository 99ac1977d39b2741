/**
 * The keyring and memberlist's AES-GCM envelopes (memberlist `security.go`, `keyring.go`;
 * spec §7, §5.1/§5.3, §8).
 *
 * Envelope (the same bytes for UDP and TCP):
 *
 * ```
 * version 1:  0x01 | nonce(12) | AES-GCM(plaintext)                | tag(16)   overhead exactly 29
 * version 0:  0x00 | nonce(12) | AES-GCM(plaintext ‖ PKCS#7 pad)   | tag(16)   overhead 30..45
 * ```
 *
 * - The key size picks the cipher: 16, 24 or 32 bytes → AES-128, -192 or -256 (`serf keygen`
 *   makes 32). The nonce is 12 random bytes, the tag 16 bytes (Go's `cipher.NewGCM`).
 * - Version 0 pads to a multiple of 16 with PKCS#7, which always adds 1..16 bytes (a full block
 *   of 16 × `0x10` when the plaintext is already a multiple of 16).
 * - **UDP**: the whole datagram is the envelope, with **no AAD**. There is no `0x0a` in front,
 *   so an encrypted datagram starts with `0x01` (which a node without keys reads as an
 *   indirect ping).
 * - **TCP**: `0x0a | u32 BE L | envelope(L bytes)`, and the **AAD is those first 5 bytes**, so
 *   the length is authenticated. L counts the whole envelope and must be ≤
 *   {@link MAX_PUSH_STATE_BYTES}.
 * - With a cluster label (newer memberlist, `label.ts`), the label bytes are the UDP AAD and
 *   follow the 5 header bytes in the TCP AAD.
 * - The version a sender uses follows **its own** memberlist protocol version: 1 → v0,
 *   ≥ 2 → v1 ({@link encryptionVersionFor}). Serf maps every Serf protocol to memberlist 2,
 *   so a Serf agent never sends v0; it accepts both and answers a v0 request with v1.
 * - The version byte itself is **not authenticated** (it is neither in the ciphertext nor in
 *   the AAD). Flipping `0x00` → `0x01` turns any valid v0 envelope into a valid v1 envelope
 *   whose plaintext still carries the padding; flipping `0x01` → `0x00` is accepted when the
 *   v1 plaintext happens to end in valid PKCS#7 padding. That is the protocol, not a bug here.
 * - Encryption always uses the primary key (`keys[0]`); decryption tries every key in order.
 *
 * Go's `pkcs7decode` checks nothing (a bad last byte even panics); this decoder refuses v0
 * plaintext that is not a multiple of 16 or whose padding bytes are not all equal to a value in
 * 1..16, as `malformed`. Go senders always produce valid padding.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { sameBytes } from './bytes.ts';
import { ENCRYPTION_OVERHEAD_V0_MAX, ENCRYPTION_OVERHEAD_V1, MAX_PUSH_STATE_BYTES } from './limits.ts';
import { type DecodeFailure, type DecodeResult, fail, ok } from './result.ts';

/** Envelope version: 0 = AES-GCM over PKCS#7-padded plaintext, 1 = no padding. */
export type EncryptionVersion = 0 | 1;

const VERSION_BYTES = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const BLOCK_BYTES = 16;
/** memberlist's `encryptMsg` stream type byte that opens an encrypted TCP frame. */
const ENCRYPT_MSG_TYPE = 0x0a;
/** `0x0a` plus the u32 length: also the AAD of the envelope that follows. */
const STREAM_HEADER_BYTES = 5;
const VALID_KEY_SIZES: readonly number[] = [16, 24, 32];

/**
 * The envelope version a node whose memberlist protocol version is `protocolVersion` sends
 * (memberlist `encryptionVersion()`): 1 → 0, anything else → 1.
 */
export function encryptionVersionFor(protocolVersion: number): EncryptionVersion {
  return protocolVersion === 1 ? 0 : 1;
}

/**
 * Largest number of bytes encryption adds for `version` (memberlist `encryptOverhead`): 29 for
 * v1, 45 for v0 (whose padding adds 1..16). Senders subtract this from the UDP budget.
 */
export function encryptionOverhead(version: EncryptionVersion): number {
  return version === 1 ? ENCRYPTION_OVERHEAD_V1 : ENCRYPTION_OVERHEAD_V0_MAX;
}

/** Exact envelope length for a plaintext of `plaintextLength` bytes (memberlist `encryptedLength`). */
export function encryptedLength(version: EncryptionVersion, plaintextLength: number): number {
  const body = version === 1 ? plaintextLength : plaintextLength + padLength(plaintextLength);
  return VERSION_BYTES + NONCE_BYTES + body + TAG_BYTES;
}

/** PKCS#7 pad length for `n` bytes: always 1..16. */
function padLength(n: number): number {
  return BLOCK_BYTES - (n % BLOCK_BYTES);
}

/** Stable codes of {@link KeyringError}. */
export type KeyringErrorCode =
  /** A key is not 16, 24 or 32 bytes long. */
  | 'invalid-key-size'
  /** A key string is not valid standard base64. */
  | 'invalid-base64'
  /** `useKey` named a key that is not installed. */
  | 'key-not-installed'
  /** `removeKey` named the primary key (Serf refuses this). */
  | 'remove-primary'
  /** Encryption was asked of a keyring that has no key. */
  | 'empty-keyring'
  /** `addKey` on a keyring that holds {@link KEYRING_MAX_KEYS} keys already. */
  | 'too-many-keys';

/**
 * Most keys a keyring holds. Every received packet is tried with each key in turn, so the
 * count bounds the work an undecryptable packet costs (memberlist sets no limit; rotation
 * needs two or three).
 */
export const KEYRING_MAX_KEYS = 16;

/** Error thrown by keyring management (never by the decrypt hot path). `code` is stable. */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';

  constructor(
    /** Stable machine-readable code. */
    readonly code: KeyringErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A successfully opened envelope. */
export interface DecryptedPayload {
  /** The plaintext, with v0 padding removed. */
  readonly plaintext: Uint8Array;
  /** Index in {@link Keyring.keys} of the key that authenticated it (0 = primary). */
  readonly keyIndex: number;
  /** Envelope version byte. */
  readonly version: EncryptionVersion;
}

/** Result of {@link Keyring.decryptStreamFrame} on a buffer that may still be growing. */
export type StreamFrameResult =
  /** Not enough bytes yet: call again when more data has arrived. */
  | { readonly status: 'incomplete' }
  /** A full frame was decrypted; it occupied the first `consumed` bytes of the buffer. */
  | {
      readonly status: 'ok';
      readonly plaintext: Uint8Array;
      readonly keyIndex: number;
      readonly version: EncryptionVersion;
      readonly consumed: number;
    }
  /** The frame is bad; the connection should be dropped. */
  | { readonly status: 'error'; readonly failure: DecodeFailure };

interface InstalledKey {
  readonly bytes: Uint8Array;
  readonly keyObject: KeyObject;
  readonly algorithm: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
}

function keySizeMessage(n: number): string {
  return `key must be 16, 24 or 32 bytes (AES-128, AES-192 or AES-256); got ${n} bytes`;
}

function installable(key: Uint8Array): InstalledKey {
  if (!(key instanceof Uint8Array)) {
    throw new KeyringError('invalid-key-size', 'key must be a Uint8Array of 16, 24 or 32 bytes');
  }
  if (!VALID_KEY_SIZES.includes(key.length)) {
    throw new KeyringError('invalid-key-size', keySizeMessage(key.length));
  }
  const bytes = Uint8Array.from(key);
  const algorithm = key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
  return { bytes, keyObject: createSecretKey(bytes), algorithm };
}

/** A zero-copy plain `Uint8Array` over a Buffer (so `.slice()` copies, as callers expect). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The installed encryption keys, primary first (memberlist `Keyring`). The primary key
 * encrypts everything; every key is tried, in order, to decrypt.
 *
 * Management methods throw {@link KeyringError}. The envelope methods never throw on bad input:
 * they return a {@link DecodeResult} / {@link StreamFrameResult}.
 */
export class Keyring {
  #keys: InstalledKey[] = [];

  /**
   * @param keys Installed in order; the first becomes primary. Duplicates are ignored. An empty
   *   list makes an empty keyring (encryption off until a key is added).
   * @throws KeyringError `invalid-key-size` if a key is not 16, 24 or 32 bytes.
   */
  constructor(keys: readonly Uint8Array[] = []) {
    for (const key of keys) this.addKey(key);
  }

  /**
   * Decodes and validates a base64 key as printed by `serf keygen` / `gossip keygen`
   * (standard alphabet, `=` padding; surrounding whitespace is ignored). Error messages never
   * echo the key.
   * @throws KeyringError `invalid-base64` or `invalid-key-size`.
   */
  static parseKey(base64: string): Uint8Array {
    const hint = 'Generate one with `gossip keygen`';
    const s = base64.trim();
    if (s.length === 0) {
      throw new KeyringError('invalid-base64', `key is empty. ${hint}`);
    }
    if (!BASE64.test(s) || s.length % 4 !== 0) {
      throw new KeyringError(
        'invalid-base64',
        `key is not valid base64 (standard alphabet A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters; got ${s.length} characters). ${hint}`,
      );
    }
    const bytes = Buffer.from(s, 'base64');
    if (!VALID_KEY_SIZES.includes(bytes.length)) {
      throw new KeyringError(
        'invalid-key-size',
        `key must be 16, 24 or 32 bytes after base64 decoding; got ${bytes.length} bytes. ${hint}`,
      );
    }
    return Uint8Array.from(bytes);
  }

  /** 32 random bytes from `node:crypto` (an AES-256 key, like `serf keygen`). */
  static generateKey(): Uint8Array {
    return Uint8Array.from(randomBytes(32));
  }

  /** Standard base64 of a key, the form {@link Keyring.parseKey} and `serf -encrypt` accept. */
  static encodeKey(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
  }

  /** Copies of the installed keys, primary first. */
  get keys(): Uint8Array[] {
    return this.#keys.map((k) => Uint8Array.from(k.bytes));
  }

  /** A copy of the primary key, or `undefined` when the keyring is empty. */
  get primaryKey(): Uint8Array | undefined {
    const k = this.#keys[0];
    return k === undefined ? undefined : Uint8Array.from(k.bytes);
  }

  /** Number of installed keys. Zero means encryption is off. */
  get size(): number {
    return this.#keys.length;
  }

  /** Whether `key` is installed. */
  hasKey(key: Uint8Array): boolean {
    return this.#indexOf(key) >= 0;
  }

  /**
   * Installs `key` at the end of the ring; the first key ever added becomes primary. Adding an
   * installed key does nothing.
   * @returns whether the key was new.
   * @throws KeyringError `invalid-key-size`, or `too-many-keys` past {@link KEYRING_MAX_KEYS}.
   */
  addKey(key: Uint8Array): boolean {
    const installed = installable(key);
    if (this.#indexOf(key) >= 0) return false;
    if (this.#keys.length >= KEYRING_MAX_KEYS) {
      throw new KeyringError(
        'too-many-keys',
        `the keyring holds ${KEYRING_MAX_KEYS} keys already; remove an old one first`,
      );
    }
    this.#keys = [...this.#keys, installed];
    return true;
  }

  /**
   * Makes an installed key the primary; the others keep their order.
   * @throws KeyringError `key-not-installed`.
   */
  useKey(key: Uint8Array): void {
    const i = this.#indexOf(key);
    if (i < 0) throw new KeyringError('key-not-installed', 'Requested key is not in the keyring');
    const chosen = this.#keys[i]!;
    this.#keys = [chosen, ...this.#keys.filter((_, j) => j !== i)];
  }

  /**
   * Drops a key. Removing a key that is not installed does nothing (as in memberlist).
   * @returns whether a key was removed.
   * @throws KeyringError `remove-primary` for the primary key.
   */
  removeKey(key: Uint8Array): boolean {
    const i = this.#indexOf(key);
    if (i === 0) throw new KeyringError('remove-primary', 'Removing the primary key is not allowed');
    if (i < 0) return false;
    this.#keys = this.#keys.filter((_, j) => j !== i);
    return true;
  }

  #indexOf(key: Uint8Array): number {
    return this.#keys.findIndex((k) => sameBytes(k.bytes, key));
  }

  #primary(): InstalledKey {
    const k = this.#keys[0];
    if (k === undefined) throw new KeyringError('empty-keyring', 'cannot encrypt: the keyring has no key');
    return k;
  }

  /**
   * Encrypts `plaintext` with the primary key into a fresh envelope. For UDP the AAD is the
   * packet's cluster label, if it has one (none in memberlist 0.2.x).
   * @throws KeyringError `empty-keyring` (a caller bug, not bad input).
   */
  encryptPayload(version: EncryptionVersion, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    const out = new Uint8Array(encryptedLength(version, plaintext.length));
    sealInto(this.#primary(), version, plaintext, aad, out, 0);
    return out;
  }

  /**
   * Opens an envelope, trying every key in order. Never throws on bad input.
   *
   * Failures: `truncated` (empty, or shorter than the version's minimum: 29 bytes for v1, 45 for
   * v0, whose padding is at least one block), `unknown-type` (version byte not 0 or 1),
   * `malformed` (v0 ciphertext not a multiple of 16, or bad PKCS#7 padding), `auth-failed` (no
   * key authenticates), `encryption-mismatch` (the keyring is empty).
   */
  decryptPayload(envelope: Uint8Array, aad?: Uint8Array): DecodeResult<DecryptedPayload> {
    if (envelope.length === 0) return fail('truncated', 'empty encrypted payload');
    const version = envelope[0]!;
    if (version !== 0 && version !== 1) {
      return fail('unknown-type', `unsupported encryption version ${version} (expected 0 or 1)`);
    }
    const min = encryptedLength(version, 0);
    if (envelope.length < min) {
      return fail(
        'truncated',
        `encrypted payload of ${envelope.length} bytes is shorter than the v${version} minimum of ${min}`,
      );
    }
    const ctLength = envelope.length - VERSION_BYTES - NONCE_BYTES - TAG_BYTES;
    if (version === 0 && ctLength % BLOCK_BYTES !== 0) {
      return fail('malformed', `v0 ciphertext of ${ctLength} bytes is not a multiple of ${BLOCK_BYTES}`);
    }
    const keys = this.#keys;
    if (keys.length === 0) return fail('encryption-mismatch', 'encrypted payload but no key is installed');
    const nonce = envelope.subarray(VERSION_BYTES, VERSION_BYTES + NONCE_BYTES);
    const ciphertext = envelope.subarray(VERSION_BYTES + NONCE_BYTES, envelope.length - TAG_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
      const opened = open(keys[keyIndex]!, nonce, ciphertext, tag, aad);
      if (opened === undefined) continue;
      if (version === 1) return ok({ plaintext: opened, keyIndex, version });
      const pad = opened[opened.length - 1]!;
      if (pad < 1 || pad > BLOCK_BYTES) {
        return fail('malformed', `v0 PKCS#7 padding byte ${pad} is not in 1..${BLOCK_BYTES}`);
      }
      for (let i = opened.length - pad; i < opened.length; i++) {
        if (opened[i] !== pad) return fail('malformed', `v0 PKCS#7 padding bytes are not all ${pad}`);
      }
      return ok({ plaintext: opened.subarray(0, opened.length - pad), keyIndex, version });
    }
    return fail('auth-failed', `none of the ${keys.length} installed keys authenticates the payload`);
  }

  /**
   * Builds an encrypted TCP stream frame `0x0a | u32 BE L | envelope`, with the 5 header bytes
   * as AAD, followed by the stream's cluster label when there is one (newer memberlist;
   * `wire/label.ts`). Receivers refuse L > {@link MAX_PUSH_STATE_BYTES}; keeping under it is the caller's
   * job.
   * @throws KeyringError `empty-keyring`.
   */
  encryptStreamFrame(plaintext: Uint8Array, version: EncryptionVersion, label?: Uint8Array): Uint8Array {
    const length = encryptedLength(version, plaintext.length);
    const out = new Uint8Array(STREAM_HEADER_BYTES + length);
    out[0] = ENCRYPT_MSG_TYPE;
    new DataView(out.buffer).setUint32(1, length, false);
    sealInto(
      this.#primary(),
      version,
      plaintext,
      streamAad(out.subarray(0, STREAM_HEADER_BYTES), label),
      out,
      STREAM_HEADER_BYTES,
    );
    return out;
  }

  /**
   * Reads one encrypted stream frame from the start of `buf`, which may still be growing: it
   * answers `incomplete` until the whole frame is there. A length above
   * {@link MAX_PUSH_STATE_BYTES} fails with `too-large` (and a length below the envelope minimum
   * with `truncated`) as soon as the header is in, without waiting for the data. A first byte
   * other than `0x0a` fails with `unknown-type`. Bytes after `consumed` are left alone.
   * `label` is the stream's cluster label (part of the AAD), if it has one.
   */
  decryptStreamFrame(buf: Uint8Array, label?: Uint8Array): StreamFrameResult {
    if (buf.length === 0) return { status: 'incomplete' };
    if (buf[0] !== ENCRYPT_MSG_TYPE) {
      return {
        status: 'error',
        failure: fail('unknown-type', `stream frame starts with 0x${hex2(buf[0]!)}, expected 0x0a`),
      };
    }
    if (buf.length < STREAM_HEADER_BYTES) return { status: 'incomplete' };
    const length = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1, false);
    if (length > MAX_PUSH_STATE_BYTES) {
      return {
        status: 'error',
        failure: fail(
          'too-large',
          `encrypted stream frame of ${length} bytes exceeds ${MAX_PUSH_STATE_BYTES}`,
        ),
      };
    }
    if (length < ENCRYPTION_OVERHEAD_V1) {
      return {
        status: 'error',
        failure: fail(
          'truncated',
          `encrypted stream frame length ${length} is below the ${ENCRYPTION_OVERHEAD_V1}-byte minimum`,
        ),
      };
    }
    const consumed = STREAM_HEADER_BYTES + length;
    if (buf.length < consumed) return { status: 'incomplete' };
    const r = this.decryptPayload(
      buf.subarray(STREAM_HEADER_BYTES, consumed),
      streamAad(buf.subarray(0, STREAM_HEADER_BYTES), label),
    );
    if (!r.ok) return { status: 'error', failure: r };
    return { status: 'ok', ...r.value, consumed };
  }
}

/** A stream frame's AAD: its 5 header bytes, then the stream's label (memberlist `encryptLocalState`). */
function streamAad(header: Uint8Array, label: Uint8Array | undefined): Uint8Array {
  if (label === undefined || label.length === 0) return header;
  const aad = new Uint8Array(header.length + label.length);
  aad.set(header);
  aad.set(label, header.length);
  return aad;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** Writes `version | nonce | ciphertext | tag` for `plaintext` into `out` at `offset`. */
function sealInto(
  key: InstalledKey,
  version: EncryptionVersion,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  out: Uint8Array,
  offset: number,
): void {
  const nonce = randomBytes(NONCE_BYTES);
  out[offset] = version;
  out.set(nonce, offset + VERSION_BYTES);
  const cipher = createCipheriv(key.algorithm, key.keyObject, nonce, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(aad);
  let at = offset + VERSION_BYTES + NONCE_BYTES;
  const put = (chunk: Buffer): void => {
    out.set(chunk, at);
    at += chunk.length;
  };
  put(cipher.update(plaintext));
  if (version === 0)
    put(cipher.update(new Uint8Array(padLength(plaintext.length)).fill(padLength(plaintext.length))));
  put(cipher.final());
  out.set(cipher.getAuthTag(), at);
}

/** AES-GCM open with one key; `undefined` when the tag does not verify. */
function open(
  key: InstalledKey,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array | undefined,
): Uint8Array | undefined {
  const decipher = createDecipheriv(key.algorithm, key.keyObject, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  if (aad !== undefined) decipher.setAAD(aad);
  const body = decipher.update(ciphertext);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain(body) : plain(Buffer.concat([body, rest]));
  } catch {
    return undefined;
  }
}
