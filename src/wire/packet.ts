/**
 * UDP packet framing: what memberlist does to messages between the encoder and the socket.
 *
 * Send (`rawSendMsgPacket`), in this order:
 *   messages → compound `07 N len₁..lenₙ part₁..partₙ` (if several)
 *            → compress `09 {Algo: 0, Buf: lzw(...)}` (only if that is shorter)
 *            → CRC `0c crc32_be(...)` (memberlist adds it for peers with protocol max >= 5)
 *            → encryption envelope (whole datagram, no outer type byte; AAD = the label, if any)
 *            → label header `f4 len label` (newer memberlist, only with a label; `label.ts`).
 * Receive (`ingestPacket` / `handleCommand`): label header (checked against ours) → decrypt
 * (every key) → optional CRC (top level only) → recursive dispatch over compound and compress
 * → leaf messages.
 *
 * A compound part that fails to decode does not sink its siblings: memberlist handles each
 * part on its own, so {@link decodePacket} returns the good parts plus the failures.
 */
import { crc32 } from './crc32.ts';
import type { Keyring } from './crypto.ts';
import { addLabelHeader, checkLabel, type LabelPolicy, readPacketLabel } from './label.ts';
import {
  MAX_COMPOUND_PARTS,
  MAX_DECOMPRESSED_PACKET_BYTES,
  MAX_NESTING_DEPTH,
  MAX_PACKET_BYTES,
} from './limits.ts';
import { lzwCompress, lzwDecompress } from './lzw.ts';
import {
  decodeLeafMessage,
  encodeStruct,
  type MemberlistMessage,
  MessageType,
  structs,
} from './memberlist.ts';
import { MsgpackReader } from './msgpack.ts';
import { catchDecode, type DecodeFailure, type DecodeResult, fail, ok } from './result.ts';

/** The only compression algorithm memberlist defines. */
export const LZW_ALGORITHM = 0;

/** Options for {@link decodePacket}. */
export interface PacketDecodeOptions {
  /** Keys to decrypt with. With no keyring (or an empty one) packets are read as plaintext. */
  keyring?: Keyring | undefined;
  /**
   * memberlist `GossipVerifyIncoming`: with a keyring, drop packets that no key decrypts. When
   * false, such packets are read as plaintext (for a rolling plaintext→encrypted migration).
   * @default true
   */
  verifyIncoming?: boolean;
  /**
   * Our cluster label and how strictly it is checked; a packet whose label does not pass is
   * dropped before decryption. Without a policy, only unlabelled packets pass.
   */
  labelPolicy?: LabelPolicy | undefined;
}

/** A decoded datagram. */
export interface DecodedPacket {
  /** Leaf messages in wire order. */
  messages: MemberlistMessage[];
  /** The encoded size of each leaf message (for per-type byte counters). */
  sizes: number[];
  /** Compound parts that failed; the other parts are still in `messages`. */
  partFailures: DecodeFailure[];
  /** Whether the datagram was encrypted, and which keyring index decrypted it (-1 if not). */
  encrypted: boolean;
  keyIndex: number;
  /** Whether a CRC was present (and matched), and whether any part was compressed. */
  hadCrc: boolean;
  compressed: boolean;
  /** The packet's cluster label (empty when it had none). */
  label: Uint8Array;
}

/** Decodes a whole datagram. Never throws on bad input. */
export function decodePacket(
  buf: Uint8Array,
  options: PacketDecodeOptions = {},
): DecodeResult<DecodedPacket> {
  if (buf.length > MAX_PACKET_BYTES) {
    return fail('too-large', `packet of ${buf.length} bytes exceeds ${MAX_PACKET_BYTES}`);
  }
  const out: DecodedPacket = {
    messages: [],
    sizes: [],
    partFailures: [],
    encrypted: false,
    keyIndex: -1,
    hadCrc: false,
    compressed: false,
    label: new Uint8Array(0),
  };
  const header = readPacketLabel(buf);
  if (!header.ok) return header;
  const label = header.value.label;
  const mismatch = checkLabel(label, options.labelPolicy);
  if (mismatch) return mismatch;
  out.label = label;
  let plain = header.value.offset === 0 ? buf : buf.subarray(header.value.offset);
  const keyring = options.keyring;
  if (keyring !== undefined && keyring.keys.length > 0) {
    const dec = keyring.decryptPayload(plain, label.length > 0 ? label : undefined);
    if (dec.ok) {
      plain = dec.value.plaintext;
      out.encrypted = true;
      out.keyIndex = dec.value.keyIndex;
    } else if (options.verifyIncoming ?? true) {
      // Whatever failed inside the envelope (version byte, length, tag), the packet is not an
      // authentic one: count it as such, keeping the precise cause in the detail.
      return dec.reason === 'auth-failed'
        ? dec
        : fail('auth-failed', `not an authentic encrypted packet: ${dec.detail}`);
    }
  }
  if (plain.length >= 1 && plain[0] === MessageType.hasCrc) {
    if (plain.length < 5) return fail('truncated', `hasCrc message of ${plain.length} bytes, need 5`);
    const want = ((plain[1]! << 24) | (plain[2]! << 16) | (plain[3]! << 8) | plain[4]!) >>> 0;
    const body = plain.subarray(5);
    const got = crc32(body);
    if (got !== want) {
      return fail('bad-crc', `CRC-32 mismatch: header 0x${hex32(want)}, computed 0x${hex32(got)}`);
    }
    out.hadCrc = true;
    plain = body;
  }
  const top = unwrap(plain, 0, out);
  return top === undefined ? ok(out) : top;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Unwraps compound and compress layers into `out`. Returns a failure only when the message
 * at this level is unusable as a whole; failures of compound parts go to `out.partFailures`.
 */
function unwrap(buf: Uint8Array, depth: number, out: DecodedPacket): DecodeFailure | undefined {
  if (buf.length === 0) return fail('truncated', 'empty message');
  if (depth > MAX_NESTING_DEPTH) {
    return fail('too-deep', `compound/compress layers nested deeper than ${MAX_NESTING_DEPTH}`);
  }
  const t = buf[0]!;
  if (t === MessageType.compound) {
    const parts = splitCompound(buf.subarray(1));
    if (!parts.ok) return parts;
    for (const part of parts.value.parts) {
      const f = unwrap(part, depth + 1, out);
      if (f !== undefined) out.partFailures.push(f);
    }
    if (parts.value.truncated > 0) {
      out.partFailures.push(
        fail('truncated', `compound message truncated: ${parts.value.truncated} of its parts are missing`),
      );
    }
    return undefined;
  }
  if (t === MessageType.compress) {
    const inner = decompressMessage(buf, MAX_DECOMPRESSED_PACKET_BYTES);
    if (!inner.ok) return inner;
    out.compressed = true;
    return unwrap(inner.value, depth + 1, out);
  }
  const leaf = decodeLeafMessage(buf);
  if (!leaf.ok) return leaf;
  out.messages.push(leaf.value);
  out.sizes.push(buf.length);
  return undefined;
}

/**
 * Splits the body of a compound message (after its type byte) into its parts. Parts whose
 * declared length runs past the end are counted in `truncated`, as memberlist does.
 */
export function splitCompound(body: Uint8Array): DecodeResult<{ parts: Uint8Array[]; truncated: number }> {
  if (body.length < 1) return fail('truncated', 'compound message without a part count');
  const n = body[0]!;
  if (body.length < 1 + 2 * n) {
    return fail('truncated', `compound message declares ${n} parts but has no room for their lengths`);
  }
  const parts: Uint8Array[] = [];
  let offset = 1 + 2 * n;
  for (let i = 0; i < n; i++) {
    const len = (body[1 + 2 * i]! << 8) | body[2 + 2 * i]!;
    if (offset + len > body.length) return ok({ parts, truncated: n - i });
    parts.push(body.subarray(offset, offset + len));
    offset += len;
  }
  return ok({ parts, truncated: 0 });
}

/**
 * Decodes a compress message (`09 {Algo, Buf}`, type byte included) and decompresses it.
 * `maxBytes` bounds the output (a decompression-bomb guard).
 */
export function decompressMessage(buf: Uint8Array, maxBytes: number): DecodeResult<Uint8Array> {
  const c = catchDecode(() => {
    const r = new MsgpackReader(buf, 1);
    const v = structs.compress.decode(r);
    return { value: v, end: r.pos };
  });
  if (!c.ok) return c;
  if (c.value.value.algo !== LZW_ALGORITHM) {
    return fail('unknown-type', `unknown compression algorithm ${c.value.value.algo}`);
  }
  const out = lzwDecompress(c.value.value.buf, maxBytes);
  if (!out.ok) return out;
  if (out.value.length === 0) return fail('truncated', 'compressed payload decompresses to nothing');
  return out;
}

/** Wraps `msg` in a compress message: `09 || msgpack{Algo: 0, Buf: lzw(msg)}`. */
export function compressMessage(msg: Uint8Array): Uint8Array {
  const body = encodeStruct(structs.compress, { algo: LZW_ALGORITHM, buf: lzwCompress(msg) });
  const out = new Uint8Array(1 + body.length);
  out[0] = MessageType.compress;
  out.set(body, 1);
  return out;
}

/** Builds one compound message from at most 255 encoded messages, each at most 65535 bytes. */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > MAX_COMPOUND_PARTS) {
    throw new RangeError(`a compound message holds at most ${MAX_COMPOUND_PARTS} parts, got ${parts.length}`);
  }
  let total = 2 + 2 * parts.length;
  for (const p of parts) {
    if (p.length > 0xffff) throw new RangeError(`compound part of ${p.length} bytes exceeds 65535`);
    total += p.length;
  }
  const out = new Uint8Array(total);
  out[0] = MessageType.compound;
  out[1] = parts.length;
  let offset = 2 + 2 * parts.length;
  parts.forEach((p, i) => {
    out[2 + 2 * i] = p.length >> 8;
    out[3 + 2 * i] = p.length & 0xff;
    out.set(p, offset);
    offset += p.length;
  });
  return out;
}

/** Splits any number of messages into compound messages of at most 255 parts (memberlist `makeCompoundMessages`). */
export function encodeCompounds(parts: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i += MAX_COMPOUND_PARTS) {
    out.push(encodeCompound(parts.slice(i, i + MAX_COMPOUND_PARTS)));
  }
  return out;
}

/** Prefixes `msg` with `0c || crc32_be(msg)`. */
export function withCrc(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + msg.length);
  const c = crc32(msg);
  out[0] = MessageType.hasCrc;
  out[1] = c >>> 24;
  out[2] = (c >>> 16) & 0xff;
  out[3] = (c >>> 8) & 0xff;
  out[4] = c & 0xff;
  out.set(msg, 5);
  return out;
}

/** Options for {@link encodePacket}. */
export interface PacketEncodeOptions {
  /** Compress when that makes the packet shorter (memberlist `EnableCompression`). @default true */
  compress?: boolean;
  /** Add the CRC prefix (memberlist does for peers whose protocol max is >= 5). @default false */
  crc?: boolean;
  /** Encrypt with this keyring's primary key, if it has keys. */
  keyring?: Keyring | undefined;
  /** Encryption version: 1 for memberlist protocol >= 2 (every Serf agent), 0 for protocol 1. @default 1 */
  encryptionVersion?: 0 | 1;
  /** Cluster label to put in front (and to authenticate as AAD when encrypting); none when empty. */
  label?: Uint8Array | undefined;
}

/**
 * Frames encoded messages as one datagram: compound when there are several (at most 255),
 * then compress, CRC, encryption and the label header as the options say.
 */
export function encodePacket(messages: readonly Uint8Array[], options: PacketEncodeOptions = {}): Uint8Array {
  if (messages.length === 0) throw new RangeError('encodePacket: no messages');
  let buf = messages.length === 1 ? messages[0]! : encodeCompound(messages);
  if (options.compress ?? true) {
    const c = compressMessage(buf);
    if (c.length < buf.length) buf = c;
  }
  if (options.crc) buf = withCrc(buf);
  const keyring = options.keyring;
  if (keyring !== undefined && keyring.keys.length > 0) {
    const label = options.label;
    buf = keyring.encryptPayload(options.encryptionVersion ?? 1, buf, label?.length ? label : undefined);
  }
  return addLabelHeader(options.label, buf);
}
