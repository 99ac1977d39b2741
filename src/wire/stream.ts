/**
 * TCP stream framing: one exchange per connection (push-pull, the fallback ping, a stream user
 * message, an error reply).
 *
 *   [0a | u32 BE length | encryption envelope]   if the sender has keys (AAD = those 5 bytes)
 *     [09 | msgpack {Algo: 0, Buf}]              always, when compression is on (Go's default)
 *       type byte | msgpack object(s) | raw bytes
 *
 * Inside, nothing carries a total length: msgpack values delimit themselves, and only the
 * user bytes have explicit lengths (`UserStateLen`, `UserMsgLen`). A Go initiator writes its
 * request and waits without half-closing, so a listener must decode incrementally:
 * {@link decodeStreamMessage} says `incomplete` until a whole message is there.
 *
 * Push-pull (6): `06 | pushPullHeader{Join, Nodes, UserStateLen} | Nodes × pushNodeState | user state`.
 *
 * With a cluster label (newer memberlist, `label.ts`) the dialer writes `f4 len label` once in
 * front of its request, and the label follows the 5 header bytes in the AAD of every encrypted
 * frame on that stream, both ways. Writing and reading that header is the caller's (it happens
 * once per connection, not per message); these functions take the label for the AAD.
 */
import type { Keyring } from './crypto.ts';
import { MAX_DECOMPRESSED_STREAM_BYTES, MAX_PUSH_PULL_NODES, MAX_PUSH_STATE_BYTES } from './limits.ts';
import {
  type AckResp,
  type ErrResp,
  MessageType,
  type Ping,
  type PushNodeState,
  type PushPullHeader,
  structs,
} from './memberlist.ts';
import { MsgpackReader, MsgpackWriter } from './msgpack.ts';
import { compressMessage, decompressMessage } from './packet.ts';
import { DecodeAbort, type DecodeFailure, fail } from './result.ts';

/** A message read from a stream. */
export type StreamMessage =
  | {
      type: 'pushPull';
      join: boolean;
      states: PushNodeState[];
      /** The delegate's (Serf's) state bytes, empty when there are none. */
      userState: Uint8Array;
    }
  | { type: 'ping'; body: Ping }
  | { type: 'ack'; body: AckResp }
  | { type: 'err'; body: ErrResp }
  | { type: 'user'; payload: Uint8Array };

/** The outcome of trying to decode a (possibly still growing) stream buffer. */
export type StreamDecodeResult =
  | { status: 'incomplete' }
  | {
      status: 'ok';
      message: StreamMessage;
      /** Bytes of the buffer the message used; anything after it is not part of this exchange. */
      consumed: number;
      encrypted: boolean;
      compressed: boolean;
    }
  | { status: 'error'; failure: DecodeFailure };

/**
 * How far an earlier attempt got through a plain push-pull that is still arriving: its header
 * and the node states decoded so far. Passed back with a longer buffer, the next attempt goes on
 * from there instead of decoding the whole buffer again (a sender trickling a 20 MiB state in
 * small chunks would otherwise cost the listener time quadratic in its size).
 */
export interface StreamDecodeProgress {
  header: PushPullHeader | undefined;
  /** Offset of the first node state not yet decoded. */
  pos: number;
  states: PushNodeState[];
}

/** A fresh {@link StreamDecodeProgress}, one per stream. */
export function newStreamDecodeProgress(): StreamDecodeProgress {
  return { header: undefined, pos: 0, states: [] };
}

/** Options for {@link decodeStreamMessage}. */
export interface StreamDecodeOptions {
  /**
   * Progress kept between attempts on the same growing buffer (only its bytes may have been
   * appended since). @default none: every attempt starts over
   */
  progress?: StreamDecodeProgress | undefined;
  /** Keys to decrypt with; with none, an encrypted stream is refused. */
  keyring?: Keyring | undefined;
  /**
   * With a keyring, refuse plaintext streams (memberlist `GossipVerifyIncoming`).
   * @default true
   */
  verifyIncoming?: boolean;
  /** The stream's cluster label, authenticated with each encrypted frame; none when empty. */
  label?: Uint8Array | undefined;
}

/**
 * The error texts memberlist puts in an `errResp` for an encryption mismatch; a Go peer logs
 * them, so they are part of what an operator sees.
 */
export const ENCRYPTED_BUT_NOT_CONFIGURED = 'Remote state is encrypted and encryption is not configured';
export const CONFIGURED_BUT_NOT_ENCRYPTED = 'Encryption is configured but remote state is not encrypted';

const ENCRYPT_TYPE = MessageType.encrypt;

/**
 * Decodes one stream message from the start of `buf`, which may still be growing. Never throws
 * on bad input; returns `incomplete` while more bytes could complete the message.
 */
export function decodeStreamMessage(buf: Uint8Array, options: StreamDecodeOptions = {}): StreamDecodeResult {
  if (buf.length === 0) return { status: 'incomplete' };
  const keyring = options.keyring;
  const hasKeys = keyring !== undefined && keyring.keys.length > 0;
  if (buf[0] === ENCRYPT_TYPE) {
    if (!hasKeys)
      return { status: 'error', failure: fail('encryption-mismatch', ENCRYPTED_BUT_NOT_CONFIGURED) };
    const frame = keyring.decryptStreamFrame(buf, options.label);
    if (frame.status !== 'ok') return frame;
    const inner = decodeInner(frame.plaintext, true);
    if (inner.status === 'incomplete') {
      return {
        status: 'error',
        failure: fail('truncated', 'encrypted stream frame holds an incomplete message'),
      };
    }
    if (inner.status === 'error') return inner;
    return { ...inner, consumed: frame.consumed, encrypted: true };
  }
  if (hasKeys && (options.verifyIncoming ?? true)) {
    return { status: 'error', failure: fail('encryption-mismatch', CONFIGURED_BUT_NOT_ENCRYPTED) };
  }
  return decodeInner(buf, false, options.progress);
}

/** Decodes `[09 compress] → type + objects`. `complete` says no more bytes can arrive. */
function decodeInner(
  buf: Uint8Array,
  complete: boolean,
  progress?: StreamDecodeProgress,
): StreamDecodeResult {
  if (buf.length === 0) return complete ? truncatedError('empty stream message') : { status: 'incomplete' };
  if (buf[0] === MessageType.compress) {
    // The compress message is self-delimiting; a truncated one just needs more bytes.
    const end = compressEnd(buf);
    if (end === undefined)
      return complete ? truncatedError('truncated compress envelope') : { status: 'incomplete' };
    if (typeof end !== 'number') return { status: 'error', failure: end };
    const plain = decompressMessage(buf.subarray(0, end), MAX_DECOMPRESSED_STREAM_BYTES);
    if (!plain.ok) return { status: 'error', failure: plain };
    const inner = decodePlain(plain.value, true);
    if (inner.status !== 'ok') return inner;
    return { ...inner, consumed: end, compressed: true };
  }
  return decodePlain(buf, complete, progress);
}

function truncatedError(detail: string): StreamDecodeResult {
  return { status: 'error', failure: fail('truncated', detail) };
}

/** Where the compress message at the start of `buf` ends, undefined if incomplete. */
function compressEnd(buf: Uint8Array): number | undefined | DecodeFailure {
  try {
    const r = new MsgpackReader(buf, 1);
    structs.compress.decode(r);
    return r.pos;
  } catch (e) {
    if (e instanceof DecodeAbort) return e.reason === 'truncated' ? undefined : e.toFailure();
    throw e;
  }
}

function decodePlain(
  buf: Uint8Array,
  complete: boolean,
  progress?: StreamDecodeProgress,
): StreamDecodeResult {
  try {
    const r = new MsgpackReader(buf);
    const t = r.byte();
    let message: StreamMessage;
    switch (t) {
      case MessageType.pushPull: {
        let header = progress?.header;
        let states: PushNodeState[];
        if (header !== undefined) {
          // Go on from the first node state an earlier attempt could not read.
          states = progress!.states;
          r.pos = progress!.pos;
        } else {
          header = structs.pushPullHeader.decode(r);
          if (header.nodes < 0 || header.nodes > MAX_PUSH_PULL_NODES) {
            throw new DecodeAbort('too-large', `push-pull header declares ${header.nodes} nodes`);
          }
          if (header.userStateLen < 0 || header.userStateLen > MAX_PUSH_STATE_BYTES) {
            throw new DecodeAbort('too-large', `push-pull user state of ${header.userStateLen} bytes`);
          }
          // Each node state takes at least one byte: fail fast on impossible counts in complete input.
          if (complete && header.nodes > r.remaining) {
            throw new DecodeAbort(
              'truncated',
              `push-pull declares ${header.nodes} node states in ${r.remaining} bytes`,
            );
          }
          states = [];
          if (progress !== undefined) {
            progress.header = header;
            progress.states = states;
            progress.pos = r.pos;
          }
        }
        while (states.length < header.nodes) {
          states.push(structs.pushNodeState.decode(r));
          if (progress !== undefined) progress.pos = r.pos;
        }
        const userState = r.take(header.userStateLen).slice();
        message = { type: 'pushPull', join: header.join, states, userState };
        break;
      }
      case MessageType.ping:
        message = { type: 'ping', body: structs.ping.decode(r) };
        break;
      case MessageType.ack:
        message = { type: 'ack', body: structs.ackResp.decode(r) };
        break;
      case MessageType.err:
        message = { type: 'err', body: structs.errResp.decode(r) };
        break;
      case MessageType.user: {
        const header = structs.userMsgHeader.decode(r);
        if (header.userMsgLen < 0 || header.userMsgLen > MAX_PUSH_STATE_BYTES) {
          throw new DecodeAbort('too-large', `stream user message of ${header.userMsgLen} bytes`);
        }
        message = { type: 'user', payload: r.take(header.userMsgLen).slice() };
        break;
      }
      default:
        throw new DecodeAbort('unknown-type', `message type ${t} is not valid on a stream`);
    }
    return { status: 'ok', message, consumed: r.pos, encrypted: false, compressed: false };
  } catch (e) {
    if (!(e instanceof DecodeAbort)) throw e;
    if (e.reason === 'truncated' && !complete) return { status: 'incomplete' };
    return { status: 'error', failure: e.toFailure() };
  }
}

/** Options for {@link encodeStreamMessage}. */
export interface StreamEncodeOptions {
  /** Wrap in a compress message (Go always does when `EnableCompression`). @default true */
  compress?: boolean;
  /** Encrypt into a `0a` frame with the primary key, if the keyring has keys. */
  keyring?: Keyring | undefined;
  /** @default 1 */
  encryptionVersion?: 0 | 1;
  /** The stream's cluster label, authenticated with the encrypted frame; none when empty. */
  label?: Uint8Array | undefined;
}

/** Frames a plain stream message (from the `encode*` functions below) for the socket. */
export function encodeStreamMessage(plain: Uint8Array, options: StreamEncodeOptions = {}): Uint8Array {
  let buf = (options.compress ?? true) ? compressMessage(plain) : plain;
  const keyring = options.keyring;
  if (keyring !== undefined && keyring.keys.length > 0) {
    buf = keyring.encryptStreamFrame(buf, options.encryptionVersion ?? 1, options.label);
  }
  return buf;
}

/** `06 | header | states | userState`, unframed. */
export function encodePushPull(
  join: boolean,
  states: readonly PushNodeState[],
  userState: Uint8Array,
): Uint8Array {
  const w = new MsgpackWriter(64 + states.length * 96 + userState.length);
  w.byte(MessageType.pushPull);
  const header: PushPullHeader = { nodes: states.length, userStateLen: userState.length, join };
  structs.pushPullHeader.encode(w, header);
  for (const s of states) structs.pushNodeState.encode(w, s);
  w.bytes(userState);
  return w.finishView(); // the writer is this message's alone: no copy of a state that can be megabytes
}

/** One node state exactly as {@link encodePushPull} writes it (a piece for {@link encodePushPullOfEncoded}). */
export function encodePushNodeState(state: PushNodeState): Uint8Array {
  const w = new MsgpackWriter(96);
  structs.pushNodeState.encode(w, state);
  return w.finish();
}

/**
 * The same bytes as {@link encodePushPull}, from node states already encoded by
 * {@link encodePushNodeState}: a sender that keeps each member's encoding (its entries do not
 * change) copies bytes instead of encoding every member of every push-pull anew.
 */
export function encodePushPullOfEncoded(
  join: boolean,
  encodedStates: readonly Uint8Array[],
  userState: Uint8Array,
): Uint8Array {
  let size = 64 + userState.length;
  for (const b of encodedStates) size += b.length;
  const w = new MsgpackWriter(size);
  w.byte(MessageType.pushPull);
  const header: PushPullHeader = { nodes: encodedStates.length, userStateLen: userState.length, join };
  structs.pushPullHeader.encode(w, header);
  for (const b of encodedStates) w.bytes(b);
  w.bytes(userState);
  return w.finishView();
}

/** `08 | userMsgHeader | payload`, unframed: a user message sent reliably on a stream. */
export function encodeStreamUserMessage(payload: Uint8Array): Uint8Array {
  const w = new MsgpackWriter(16 + payload.length);
  w.byte(MessageType.user);
  structs.userMsgHeader.encode(w, { userMsgLen: payload.length });
  w.bytes(payload);
  return w.finish();
}

/** `0d | errResp`, unframed. */
export function encodeErrResp(error: string): Uint8Array {
  const w = new MsgpackWriter();
  w.byte(MessageType.err);
  structs.errResp.encode(w, { error });
  return w.finish();
}
