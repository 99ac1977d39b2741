/**
 * memberlist's messages: the type byte and the msgpack body of each (memberlist 0.2.2 `net.go`).
 *
 * A message on the wire is `type byte || msgpack struct`. The type codes below are the protocol:
 * memberlist declares them with `iota`, so their *order* is the contract there; here each is
 * written out. The body field names are Go's, because they are the msgpack map keys.
 */
import { MsgpackReader, MsgpackWriter } from './msgpack.ts';
import { catchDecode, DecodeAbort, type DecodeResult } from './result.ts';
import { StructCodec, field as s } from './schema.ts';

/** memberlist message type bytes. */
export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nack: 11,
  hasCrc: 12,
  err: 13,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** Names by code, for logs and metrics. */
export const MESSAGE_TYPE_NAMES: readonly string[] = Object.entries(MessageType)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** Node states as pushed in a push-pull (`NodeStateType`). */
export const NodeStateCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;

/**
 * The six protocol-version bytes every node advertises, in wire order:
 * `[protocolMin, protocolMax, protocolCur, delegateMin, delegateMax, delegateCur]`.
 */
export type Vsn = readonly number[];

/** `ping` (0): a probe. The receiver acks to `sourceAddr:sourcePort`, or to the packet's source. */
export interface Ping {
  seqNo: number;
  /** The intended target's name; a node that is not this name ignores the ping. */
  node: string;
  /** Reply address (4 or 16 bytes); empty when not sent. */
  sourceAddr: Uint8Array;
  sourcePort: number;
  sourceNode: string;
}

/** `indirectPing` (1): asks a helper to probe `node` at `target:port` and relay the ack. */
export interface IndirectPingReq {
  /** The requester's sequence number, to be used in the relayed ack or nack. */
  seqNo: number;
  target: Uint8Array;
  port: number;
  node: string;
  /** Whether the requester wants a nack when the target does not answer (peer protocol >= 4). */
  nack: boolean;
  sourceAddr: Uint8Array;
  sourcePort: number;
  sourceNode: string;
}

/** `ackResp` (2). `payload` is nil on stream acks and relayed acks; Serf puts its coordinate here. */
export interface AckResp {
  seqNo: number;
  payload: Uint8Array | null;
}

/** `nackResp` (11): an indirect probe's helper did not hear from the target. */
export interface NackResp {
  seqNo: number;
}

/** `errResp` (13): a stream listener could not read the request. */
export interface ErrResp {
  error: string;
}

/** `suspect` (3). */
export interface Suspect {
  incarnation: number;
  node: string;
  from: string;
}

/** `alive` (4): also how a node announces itself. */
export interface Alive {
  incarnation: number;
  node: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  vsn: Vsn;
}

/** `dead` (5). `from === node` means the node left voluntarily. */
export interface Dead {
  incarnation: number;
  node: string;
  from: string;
}

/** The header of a push-pull exchange (6). */
export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}

/** One node's state in a push-pull. `state` is a {@link NodeStateCode}. */
export interface PushNodeState {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  incarnation: number;
  state: number;
  vsn: Vsn;
}

/** The header of a user message sent on a stream. */
export interface UserMsgHeader {
  userMsgLen: number;
}

/** `compress` (9). `algo` 0 is LZW, the only one defined. */
export interface Compress {
  algo: number;
  buf: Uint8Array;
}

/** Struct codecs, one per Go struct. */
export const structs = {
  ping: new StructCodec<Ping>('ping', [
    s('SeqNo', 'seqNo', 'uint32'),
    s('Node', 'node', 'string'),
    s('SourceAddr', 'sourceAddr', 'bytes', true),
    s('SourcePort', 'sourcePort', 'uint16', true),
    s('SourceNode', 'sourceNode', 'string', true),
  ]),
  indirectPingReq: new StructCodec<IndirectPingReq>('indirectPingReq', [
    s('SeqNo', 'seqNo', 'uint32'),
    s('Target', 'target', 'bytes'),
    s('Port', 'port', 'uint16'),
    s('Node', 'node', 'string'),
    s('Nack', 'nack', 'bool'),
    s('SourceAddr', 'sourceAddr', 'bytes', true),
    s('SourcePort', 'sourcePort', 'uint16', true),
    s('SourceNode', 'sourceNode', 'string', true),
  ]),
  ackResp: new StructCodec<AckResp>('ackResp', [
    s('SeqNo', 'seqNo', 'uint32'),
    s('Payload', 'payload', 'bytesOrNil'),
  ]),
  nackResp: new StructCodec<NackResp>('nackResp', [s('SeqNo', 'seqNo', 'uint32')]),
  errResp: new StructCodec<ErrResp>('errResp', [s('Error', 'error', 'string')]),
  suspect: new StructCodec<Suspect>('suspect', [
    s('Incarnation', 'incarnation', 'uint32'),
    s('Node', 'node', 'string'),
    s('From', 'from', 'string'),
  ]),
  alive: new StructCodec<Alive>('alive', [
    s('Incarnation', 'incarnation', 'uint32'),
    s('Node', 'node', 'string'),
    s('Addr', 'addr', 'bytes'),
    s('Port', 'port', 'uint16'),
    s('Meta', 'meta', 'bytes'),
    s('Vsn', 'vsn', 'vsn'),
  ]),
  dead: new StructCodec<Dead>('dead', [
    s('Incarnation', 'incarnation', 'uint32'),
    s('Node', 'node', 'string'),
    s('From', 'from', 'string'),
  ]),
  pushPullHeader: new StructCodec<PushPullHeader>('pushPullHeader', [
    s('Nodes', 'nodes', 'int'),
    s('UserStateLen', 'userStateLen', 'int'),
    s('Join', 'join', 'bool'),
  ]),
  pushNodeState: new StructCodec<PushNodeState>('pushNodeState', [
    s('Name', 'name', 'string'),
    s('Addr', 'addr', 'bytes'),
    s('Port', 'port', 'uint16'),
    s('Meta', 'meta', 'bytes'),
    s('Incarnation', 'incarnation', 'uint32'),
    s('State', 'state', 'int'),
    s('Vsn', 'vsn', 'vsn'),
  ]),
  userMsgHeader: new StructCodec<UserMsgHeader>('userMsgHeader', [s('UserMsgLen', 'userMsgLen', 'int')]),
  compress: new StructCodec<Compress>('compress', [s('Algo', 'algo', 'uint8'), s('Buf', 'buf', 'bytes')]),
};

/**
 * A single memberlist message that a node acts on (framing such as compound, compress, CRC
 * and encryption is unwrapped by `packet.ts` and `stream.ts`).
 */
export type MemberlistMessage =
  | { type: 'ping'; body: Ping }
  | { type: 'indirectPing'; body: IndirectPingReq }
  | { type: 'ack'; body: AckResp }
  | { type: 'nack'; body: NackResp }
  | { type: 'suspect'; body: Suspect }
  | { type: 'alive'; body: Alive }
  | { type: 'dead'; body: Dead }
  | { type: 'err'; body: ErrResp }
  /** A user (delegate) message: for Serf, a Serf type byte and its msgpack body. */
  | { type: 'user'; payload: Uint8Array };

const bodyCodecs = {
  ping: structs.ping,
  indirectPing: structs.indirectPingReq,
  ack: structs.ackResp,
  nack: structs.nackResp,
  suspect: structs.suspect,
  alive: structs.alive,
  dead: structs.dead,
  err: structs.errResp,
} as const;

const writer = new MsgpackWriter(1500);

/** Encodes one message as `type byte || msgpack body` (or `8 || payload` for a user message). */
export function encodeMessage(msg: MemberlistMessage): Uint8Array {
  writer.reset();
  writer.byte(MessageType[msg.type]);
  if (msg.type === 'user') writer.bytes(msg.payload);
  else (bodyCodecs[msg.type] as StructCodec<object>).encode(writer, msg.body);
  return writer.finish();
}

/** Encodes a bare struct with one of {@link structs} (no type byte). */
export function encodeStruct<T extends object>(codec: StructCodec<T>, value: T): Uint8Array {
  const w = new MsgpackWriter();
  codec.encode(w, value);
  return w.finish();
}

/**
 * Decodes one message of the kinds a UDP packet can carry as a leaf (not compound, compress or
 * CRC, which `packet.ts` unwraps). Trailing bytes after the body are ignored, as Go's decoder does.
 */
export function decodeLeafMessage(buf: Uint8Array): DecodeResult<MemberlistMessage> {
  return catchDecode(() => {
    if (buf.length === 0) throw new DecodeAbort('truncated', 'empty message');
    const t = buf[0]!;
    const r = new MsgpackReader(buf, 1);
    switch (t) {
      case MessageType.ping:
        return { type: 'ping', body: structs.ping.decode(r) };
      case MessageType.indirectPing:
        return { type: 'indirectPing', body: structs.indirectPingReq.decode(r) };
      case MessageType.ack:
        return { type: 'ack', body: structs.ackResp.decode(r) };
      case MessageType.nack:
        return { type: 'nack', body: structs.nackResp.decode(r) };
      case MessageType.suspect:
        return { type: 'suspect', body: structs.suspect.decode(r) };
      case MessageType.alive:
        return { type: 'alive', body: structs.alive.decode(r) };
      case MessageType.dead:
        return { type: 'dead', body: structs.dead.decode(r) };
      case MessageType.user:
        return { type: 'user', payload: buf.slice(1) };
    }
    throw new DecodeAbort(
      'unknown-type',
      t < MESSAGE_TYPE_NAMES.length
        ? `message type ${t} (${MESSAGE_TYPE_NAMES[t]}) is not valid here`
        : `unknown message type ${t}`,
    );
  });
}
