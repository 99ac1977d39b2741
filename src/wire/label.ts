/**
 * The cluster label header of newer memberlist (0.3.1+, `label.go`; not in 0.2.x, which Serf
 * 0.8 uses): an optional prefix on every UDP packet and at the start of every TCP stream the
 * *dialer* opens, so that two clusters sharing a network (reused pod IPs, a stale seed) never
 * merge.
 *
 * ```
 * f4 | len (1..255) | label bytes | the packet / the stream as without a label
 * ```
 *
 * - `0xf4` (244, memberlist `hasLabelMsg`) is far above every message type, so an unlabelled
 *   packet is never mistaken for a labelled one. A length of 0 is invalid ("label header cannot
 *   be empty when present"): no label means no header at all.
 * - **Packets**: the header is outside the encryption envelope. With encryption the label bytes
 *   are the AES-GCM additional data (AAD), so a header swapped in transit fails authentication.
 *   Without a label the AAD stays empty, as in 0.2.x.
 * - **Streams**: only the dialer writes the header, once, before its first message; the reply
 *   carries none. With encryption, the AAD of every encrypted frame on the stream, both ways, is
 *   `0a | u32 length | label bytes` (0.2.x: the first 5 bytes only). The listener answers with
 *   the label it read.
 * - memberlist compares labels as raw bytes; a peer whose label differs, or that sends none when
 *   one is expected (or one when none is expected), is dropped before any decryption or decoding.
 *
 * A Serf 0.8 / memberlist 0.2.x node reads `0xf4` as an unknown message type and drops it, so a
 * labelled cluster and an old serf never merge either; with no label configured we send exactly
 * what 0.2.x sends.
 */
import { sameBytes } from './bytes.ts';
import { type DecodeFailure, type DecodeResult, fail, ok } from './result.ts';

/** The type byte that opens a label header (memberlist `hasLabelMsg`). */
export const LABEL_MSG_TYPE = 244;

/** Longest label in bytes: its length is one byte (memberlist `LabelMaxSize`). */
export const LABEL_MAX_BYTES = 255;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes of `label` as sent (UTF-8), or an error message when it cannot be a label:
 * longer than {@link LABEL_MAX_BYTES} bytes. The empty string means "no label".
 */
export function labelBytes(label: string): Uint8Array | string {
  const bytes = utf8.encode(label);
  if (bytes.length > LABEL_MAX_BYTES) {
    return `label "${label}" is too long: ${bytes.length} bytes, at most ${LABEL_MAX_BYTES}`;
  }
  return bytes;
}

/** Bytes a label header adds (memberlist `labelOverhead`): 0 without a label, else 2 + its length. */
export function labelOverhead(label: Uint8Array | undefined): number {
  return label === undefined || label.length === 0 ? 0 : 2 + label.length;
}

/** `f4 | len | label` followed by `rest`; `rest` unchanged when the label is empty. */
export function addLabelHeader(label: Uint8Array | undefined, rest: Uint8Array): Uint8Array {
  if (label === undefined || label.length === 0) return rest;
  if (label.length > LABEL_MAX_BYTES) {
    throw new RangeError(`a label holds at most ${LABEL_MAX_BYTES} bytes, got ${label.length}`);
  }
  const out = new Uint8Array(2 + label.length + rest.length);
  out[0] = LABEL_MSG_TYPE;
  out[1] = label.length;
  out.set(label, 2);
  out.set(rest, 2 + label.length);
  return out;
}

/** A label header read from the start of a packet or stream. */
export interface LabelHeader {
  /** The label bytes; empty when the input had no header. */
  label: Uint8Array;
  /** Where the unlabelled packet or stream starts (0 without a header). */
  offset: number;
}

/**
 * Reads the optional label header at the start of a whole packet (memberlist
 * `RemoveLabelHeaderFromPacket`). An empty packet has no label. Failures: `truncated` (the
 * header runs past the end) and `malformed` (a header with length 0).
 */
export function readPacketLabel(buf: Uint8Array): DecodeResult<LabelHeader> {
  const r = readLabelPrefix(buf);
  return r === 'incomplete' ? fail('truncated', 'cannot decode label; packet has been truncated') : r;
}

/**
 * Reads the optional label header at the start of a stream that may still be growing
 * (memberlist `RemoveLabelHeaderFromStream`): `incomplete` until the whole header is in.
 * An empty buffer is `incomplete` (the first byte decides whether a header follows).
 */
export function readStreamLabel(buf: Uint8Array): DecodeResult<LabelHeader> | 'incomplete' {
  if (buf.length === 0) return 'incomplete';
  return readLabelPrefix(buf);
}

function readLabelPrefix(buf: Uint8Array): DecodeResult<LabelHeader> | 'incomplete' {
  if (buf.length === 0 || buf[0] !== LABEL_MSG_TYPE) return ok({ label: EMPTY, offset: 0 });
  if (buf.length < 2) return 'incomplete';
  const size = buf[1]!;
  if (size < 1) return fail('malformed', 'label header cannot be empty when present');
  if (buf.length < 2 + size) return 'incomplete';
  return ok({ label: buf.subarray(2, 2 + size), offset: 2 + size });
}

const EMPTY = new Uint8Array(0);

/** A label for log lines: its text when it is valid UTF-8, else hex. */
export function labelText(label: Uint8Array): string {
  try {
    return utf8Strict.decode(label);
  } catch {
    return `0x${Buffer.from(label).toString('hex')}`;
  }
}

/** How a node treats labels on input. */
export interface LabelPolicy {
  /** Our label; empty = none. */
  label: Uint8Array;
  /**
   * Also accept input that carries no label (ours is still required on input that carries one).
   * For a rolling change of the label; memberlist has no such mode.
   * @default false
   */
  acceptUnlabeled?: boolean;
}

/**
 * Checks a label read from input against the policy (memberlist `ingestPacket`/`handleConn`:
 * the labels must be equal bytes). Returns the failure to count and drop, or undefined.
 */
export function checkLabel(found: Uint8Array, policy: LabelPolicy | undefined): DecodeFailure | undefined {
  const ours = policy?.label ?? EMPTY;
  if (sameBytes(found, ours)) return undefined;
  if (found.length === 0) {
    return policy?.acceptUnlabeled
      ? undefined
      : fail('label-missing', `no cluster label; this node requires "${labelText(ours)}"`);
  }
  if (ours.length === 0) {
    return fail('label-unexpected', `cluster label "${labelText(found)}"; this node has none`);
  }
  return fail('label-mismatch', `cluster label "${labelText(found)}"; this node's is "${labelText(ours)}"`);
}
