/**
 * Decoding results. On the hot path (every received packet) a decoder never throws on bad
 * input: it returns a {@link DecodeFailure} naming what was wrong, which the caller counts
 * and drops. Exceptions are left for bugs.
 */

/** Why a packet, stream frame or message could not be decoded. Stable strings: metrics use them as labels. */
export type DecodeFailureReason =
  /** The input ended before a declared length or a complete value. */
  | 'truncated'
  /** An unknown memberlist or Serf message type byte, or an unknown compression algorithm. */
  | 'unknown-type'
  /** The CRC-32 of a `hasCrc` message did not match. */
  | 'bad-crc'
  /** No key in the keyring could authenticate the packet (AES-GCM tag check failed). */
  | 'auth-failed'
  /** Encrypted input reached a node without keys, or plaintext reached a node that requires encryption. */
  | 'encryption-mismatch'
  /** msgpack containers or compound messages nested beyond {@link MAX_NESTING_DEPTH}. */
  | 'too-deep'
  /** A length beyond a documented limit (packet, push-pull state, decompressed size, meta, ...). */
  | 'too-large'
  /** A value of the wrong msgpack type or out of range for its field. */
  | 'bad-value'
  /** Malformed bytes: a reserved msgpack code, an invalid LZW code, bad padding. */
  | 'malformed'
  /** Bytes left over where a message must end exactly. */
  | 'trailing-bytes'
  /** A cluster label header (`wire/label.ts`) naming another cluster than ours. */
  | 'label-mismatch'
  /** No cluster label header, and this node requires one. */
  | 'label-missing'
  /** A cluster label header reached a node that has no label. */
  | 'label-unexpected';

export interface DecodeFailure {
  readonly ok: false;
  readonly reason: DecodeFailureReason;
  /** Human-readable detail: what was expected and what was found. */
  readonly detail: string;
}

export interface DecodeSuccess<T> {
  readonly ok: true;
  readonly value: T;
}

export type DecodeResult<T> = DecodeSuccess<T> | DecodeFailure;

export function ok<T>(value: T): DecodeSuccess<T> {
  return { ok: true, value };
}

export function fail(reason: DecodeFailureReason, detail: string): DecodeFailure {
  return { ok: false, reason, detail };
}

/**
 * Thrown inside a decoder to unwind from deep recursion, and caught at the decoder's entry
 * point, which turns it into a {@link DecodeFailure}. It never escapes a public decoder.
 *
 * Deliberately not an `Error`: capturing a stack trace made a failed decode ~30x slower, and
 * hostile input makes failure the common case. Nothing outside the decoders ever sees it.
 */
export class DecodeAbort {
  constructor(
    readonly reason: DecodeFailureReason,
    readonly detail: string,
  ) {}

  toFailure(): DecodeFailure {
    return fail(this.reason, this.detail);
  }
}

/** Runs `fn`, converting a {@link DecodeAbort} into a failure. Other exceptions are bugs and propagate. */
export function catchDecode<T>(fn: () => T): DecodeResult<T> {
  try {
    return ok(fn());
  } catch (e) {
    if (e instanceof DecodeAbort) return e.toFailure();
    throw e;
  }
}
