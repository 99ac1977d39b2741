/**
 * Serf's messages (serf 0.9.4 `messages.go`, `internal_query.go`, `keymanager.go`), carried as
 * memberlist user messages: `08 | serf type byte | msgpack body`.
 *
 * Also here: Serf's tag encoding inside memberlist node metadata (`ff | msgpack map`), query
 * filters, the relay header, key requests and responses, the conflict response, and the
 * Vivaldi coordinate Serf puts in ping acks.
 */
import { META_MAX_BYTES } from './limits.ts';
import { fromUtf8, MsgpackReader, MsgpackWriter } from './msgpack.ts';
import { catchDecode, DecodeAbort, type DecodeResult, fail, ok } from './result.ts';
import { field as f, StructCodec } from './schema.ts';

/** Serf message type bytes (the first byte of a memberlist user message's payload). */
export const SerfMessageType = {
  leave: 0,
  join: 1,
  pushPull: 2,
  userEvent: 3,
  query: 4,
  queryResponse: 5,
  conflictResponse: 6,
  keyRequest: 7,
  keyResponse: 8,
  relay: 9,
} as const;
export type SerfMessageTypeName = keyof typeof SerfMessageType;

/** Query flag bits. */
export const QueryFlag = {
  /** The querier wants an ack from every node whose filters match. */
  ack: 1,
  /** Receivers must not re-gossip the query. */
  noBroadcast: 2,
} as const;

/** Serf member status codes (`MemberStatus`). */
export const MemberStatusCode = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 } as const;

/** Join intent (`messageJoin`). `lTime` is the member Lamport clock. */
export interface MessageJoin {
  lTime: number;
  node: string;
}

/** Leave intent (`messageLeave`). `prune` erases the member at once (force-leave -prune). */
export interface MessageLeave {
  lTime: number;
  node: string;
  prune: boolean;
}

/** A user event (`messageUserEvent`). `cc`: may be coalesced with newer events of the same name. */
export interface MessageUserEvent {
  lTime: number;
  name: string;
  payload: Uint8Array | null;
  cc: boolean;
}

/** One event in the push-pull event ring (no `CC` there). */
export interface UserEvent {
  name: string;
  payload: Uint8Array | null;
}

/** The events of one Lamport time, as kept in Serf's event ring. */
export interface UserEvents {
  lTime: number;
  events: UserEvent[] | null;
}

/** Serf's part of a push-pull (`messagePushPull`). */
export interface MessagePushPull {
  lTime: number;
  /** Member name → the Lamport time of its latest status change (`StatusLTimes`). */
  statusLTimes: Record<string, number>;
  leftMembers: string[] | null;
  eventLTime: number;
  /** Serf's 512-slot ring; `null` entries are empty slots. */
  events: (UserEvents | null)[] | null;
  queryLTime: number;
}

/** A query (`messageQuery`). */
export interface MessageQuery {
  lTime: number;
  /** Random per query (Go `rand.Int31()`); responses carry it back. */
  id: number;
  /** The querier's address and port, where acks and responses go. */
  addr: Uint8Array;
  port: number;
  sourceNode: string;
  /** Encoded filters (see {@link encodeFilter}); `null` when there are none. */
  filters: Uint8Array[] | null;
  flags: number;
  relayFactor: number;
  /** Nanoseconds (Go `time.Duration`). */
  timeout: number;
  name: string;
  payload: Uint8Array | null;
}

/** A query ack or response (`messageQueryResponse`). */
export interface MessageQueryResponse {
  lTime: number;
  id: number;
  from: string;
  /** {@link QueryFlag.ack} for an ack. */
  flags: number;
  payload: Uint8Array | null;
}

/** A member as `_serf_conflict` responders report it (`Member`). */
export interface SerfMember {
  name: string;
  addr: Uint8Array;
  port: number;
  tags: Record<string, string>;
  /** A {@link MemberStatusCode}. */
  status: number;
  protocolMin: number;
  protocolMax: number;
  protocolCur: number;
  delegateMin: number;
  delegateMax: number;
  delegateCur: number;
}

/** The payload of a key-management query (`keyRequest`): a raw 16/24/32-byte key. */
export interface KeyRequest {
  key: Uint8Array;
}

/** A node's answer to a key-management query (`nodeKeyResponse`). */
export interface NodeKeyResponse {
  result: boolean;
  message: string;
  /** Base64 keys (list-keys only; nil otherwise). */
  keys: string[] | null;
  /** Base64 primary key (list-keys only; "" otherwise). */
  primaryKey: string;
}

/** Go `net.UDPAddr`, as go-msgpack writes it. */
export interface UdpAddr {
  ip: Uint8Array;
  port: number;
  zone: string;
}

/** The header of a relayed query response (`relayHeader`). */
export interface RelayHeader {
  destAddr: UdpAddr;
  destName: string;
}

/** A Vivaldi network coordinate (`coordinate.Coordinate`). */
export interface Coordinate {
  vec: number[];
  error: number;
  adjustment: number;
  height: number;
}

const userEvent = new StructCodec<UserEvent>('userEvent', [
  f('Name', 'name', 'string'),
  f('Payload', 'payload', 'bytesOrNil'),
]);
const userEvents = new StructCodec<UserEvents>('userEvents', [
  f('LTime', 'lTime', 'uint64'),
  f('Events', 'events', { list: userEvent as StructCodec<object> }),
]);
const udpAddr = new StructCodec<UdpAddr>('UDPAddr', [
  f('IP', 'ip', 'bytes'),
  f('Port', 'port', 'int'),
  f('Zone', 'zone', 'string'),
]);

/** Struct codecs for Serf's structs. */
export const serfStructs = {
  join: new StructCodec<MessageJoin>('messageJoin', [
    f('LTime', 'lTime', 'uint64'),
    f('Node', 'node', 'string'),
  ]),
  leave: new StructCodec<MessageLeave>('messageLeave', [
    f('LTime', 'lTime', 'uint64'),
    f('Node', 'node', 'string'),
    f('Prune', 'prune', 'bool'),
  ]),
  userEvent: new StructCodec<MessageUserEvent>('messageUserEvent', [
    f('LTime', 'lTime', 'uint64'),
    f('Name', 'name', 'string'),
    f('Payload', 'payload', 'bytesOrNil'),
    f('CC', 'cc', 'bool'),
  ]),
  pushPull: new StructCodec<MessagePushPull>('messagePushPull', [
    f('LTime', 'lTime', 'uint64'),
    f('StatusLTimes', 'statusLTimes', 'uintMap'),
    f('LeftMembers', 'leftMembers', 'stringsOrNil'),
    f('EventLTime', 'eventLTime', 'uint64'),
    f('Events', 'events', { list: userEvents as StructCodec<object>, nilItems: true }),
    f('QueryLTime', 'queryLTime', 'uint64'),
  ]),
  query: new StructCodec<MessageQuery>('messageQuery', [
    f('LTime', 'lTime', 'uint64'),
    f('ID', 'id', 'uint32'),
    f('Addr', 'addr', 'bytes'),
    f('Port', 'port', 'uint16'),
    f('SourceNode', 'sourceNode', 'string'),
    f('Filters', 'filters', 'bytesListOrNil'),
    f('Flags', 'flags', 'uint32'),
    f('RelayFactor', 'relayFactor', 'uint8'),
    f('Timeout', 'timeout', 'int'),
    f('Name', 'name', 'string'),
    f('Payload', 'payload', 'bytesOrNil'),
  ]),
  queryResponse: new StructCodec<MessageQueryResponse>('messageQueryResponse', [
    f('LTime', 'lTime', 'uint64'),
    f('ID', 'id', 'uint32'),
    f('From', 'from', 'string'),
    f('Flags', 'flags', 'uint32'),
    f('Payload', 'payload', 'bytesOrNil'),
  ]),
  member: new StructCodec<SerfMember>('Member', [
    f('Name', 'name', 'string'),
    f('Addr', 'addr', 'bytes'),
    f('Port', 'port', 'uint16'),
    f('Tags', 'tags', 'stringMap'),
    f('Status', 'status', 'int'),
    f('ProtocolMin', 'protocolMin', 'uint8'),
    f('ProtocolMax', 'protocolMax', 'uint8'),
    f('ProtocolCur', 'protocolCur', 'uint8'),
    f('DelegateMin', 'delegateMin', 'uint8'),
    f('DelegateMax', 'delegateMax', 'uint8'),
    f('DelegateCur', 'delegateCur', 'uint8'),
  ]),
  keyRequest: new StructCodec<KeyRequest>('keyRequest', [f('Key', 'key', 'bytes')]),
  keyResponse: new StructCodec<NodeKeyResponse>('nodeKeyResponse', [
    f('Result', 'result', 'bool'),
    f('Message', 'message', 'string'),
    f('Keys', 'keys', 'stringsOrNil'),
    f('PrimaryKey', 'primaryKey', 'string'),
  ]),
  relayHeader: new StructCodec<RelayHeader>('relayHeader', [
    f('DestAddr', 'destAddr', { struct: udpAddr as StructCodec<object> }),
    f('DestName', 'destName', 'string'),
  ]),
  coordinate: new StructCodec<Coordinate>('Coordinate', [
    f('Vec', 'vec', 'float64s'),
    f('Error', 'error', 'float64'),
    f('Adjustment', 'adjustment', 'float64'),
    f('Height', 'height', 'float64'),
  ]),
  userEvents,
};

/** A decoded Serf message. */
export type SerfMessage =
  | { type: 'leave'; body: MessageLeave }
  | { type: 'join'; body: MessageJoin }
  | { type: 'pushPull'; body: MessagePushPull }
  | { type: 'userEvent'; body: MessageUserEvent }
  | { type: 'query'; body: MessageQuery }
  | { type: 'queryResponse'; body: MessageQueryResponse }
  /** `null` when the responder does not know the node. */
  | { type: 'conflictResponse'; body: SerfMember | null }
  | { type: 'keyRequest'; body: KeyRequest }
  | { type: 'keyResponse'; body: NodeKeyResponse }
  /**
   * A response to forward: `inner` is the exact Serf message bytes (type byte included) that
   * the relay node sends on to `header.destAddr` as a user message.
   */
  | { type: 'relay'; header: RelayHeader; inner: Uint8Array };

const codecsByType = {
  leave: serfStructs.leave,
  join: serfStructs.join,
  pushPull: serfStructs.pushPull,
  userEvent: serfStructs.userEvent,
  query: serfStructs.query,
  queryResponse: serfStructs.queryResponse,
  keyRequest: serfStructs.keyRequest,
  keyResponse: serfStructs.keyResponse,
} as const;

/** Encodes a Serf message as `type byte || msgpack body` (what goes after memberlist's `08`). */
export function encodeSerfMessage(msg: SerfMessage): Uint8Array {
  const w = new MsgpackWriter(128);
  w.byte(SerfMessageType[msg.type]);
  switch (msg.type) {
    case 'conflictResponse':
      if (msg.body === null) w.nil();
      else serfStructs.member.encode(w, msg.body);
      break;
    case 'relay':
      serfStructs.relayHeader.encode(w, msg.header);
      w.bytes(msg.inner);
      break;
    default:
      (codecsByType[msg.type] as StructCodec<object>).encode(w, msg.body);
  }
  return w.finish();
}

/** Decodes a Serf message (a memberlist user message's payload). Never throws on bad input. */
export function decodeSerfMessage(buf: Uint8Array): DecodeResult<SerfMessage> {
  return catchDecode((): SerfMessage => {
    if (buf.length === 0) throw new DecodeAbort('truncated', 'empty Serf message');
    const t = buf[0]!;
    const r = new MsgpackReader(buf, 1);
    switch (t) {
      case SerfMessageType.leave:
        return { type: 'leave', body: serfStructs.leave.decode(r) };
      case SerfMessageType.join:
        return { type: 'join', body: serfStructs.join.decode(r) };
      case SerfMessageType.pushPull:
        return { type: 'pushPull', body: serfStructs.pushPull.decode(r) };
      case SerfMessageType.userEvent:
        return { type: 'userEvent', body: serfStructs.userEvent.decode(r) };
      case SerfMessageType.query:
        return { type: 'query', body: serfStructs.query.decode(r) };
      case SerfMessageType.queryResponse:
        return { type: 'queryResponse', body: serfStructs.queryResponse.decode(r) };
      case SerfMessageType.conflictResponse:
        return { type: 'conflictResponse', body: r.tryNil() ? null : serfStructs.member.decode(r) };
      case SerfMessageType.keyRequest:
        return { type: 'keyRequest', body: serfStructs.keyRequest.decode(r) };
      case SerfMessageType.keyResponse:
        return { type: 'keyResponse', body: serfStructs.keyResponse.decode(r) };
      case SerfMessageType.relay: {
        const header = serfStructs.relayHeader.decode(r);
        const inner = buf.slice(r.pos);
        if (inner.length === 0) throw new DecodeAbort('truncated', 'relay message without an inner message');
        return { type: 'relay', header, inner };
      }
    }
    throw new DecodeAbort('unknown-type', `unknown Serf message type ${t}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Tags in node metadata

/** The byte that marks msgpack-encoded tags in node metadata (Serf protocol >= 3). */
export const TAG_MAGIC_BYTE = 0xff;

/**
 * Encodes tags as Serf puts them in memberlist node metadata: `ff || msgpack map`. Keys are
 * written sorted, so equal tag sets give equal bytes (Go's order is random; receivers that
 * compare bytes then see no spurious update). Throws a RangeError naming the limit when the
 * result exceeds {@link META_MAX_BYTES}.
 *
 * `capabilities` (ours, not Serf's) follow the tag map as a second msgpack map of name →
 * version: how our nodes recognise each other (see `src/cluster/extension.ts`). Serf decodes
 * the tags with a stream decoder that reads one value and ignores what follows (`decodeTags`
 * in serf.go), so it never sees them; our own {@link decodeTags} ignores them too. They count
 * towards the 512-byte limit.
 */
export function encodeTags(
  tags: Readonly<Record<string, string>>,
  capabilities?: Readonly<Record<string, number>>,
): Uint8Array {
  const w = new MsgpackWriter(64);
  w.byte(TAG_MAGIC_BYTE);
  const keys = Object.keys(tags).sort();
  w.mapHeader(keys.length);
  for (const k of keys) w.str(k).str(tags[k]!);
  const caps = capabilities ? Object.keys(capabilities).sort() : [];
  if (caps.length > 0) {
    w.mapHeader(caps.length);
    for (const c of caps) w.str(c).int(capabilities![c]!);
  }
  if (w.length > META_MAX_BYTES) {
    throw new RangeError(
      `encoded tags are ${w.length} bytes, over the ${META_MAX_BYTES}-byte node metadata limit (memberlist MetaMaxSize)`,
    );
  }
  return w.finish();
}

/**
 * Decodes tags from node metadata. Metadata not starting with `ff` is the pre-protocol-3 form:
 * the whole of it is the `role` tag (empty metadata gives no tags). Bytes after the tag map
 * (our capabilities) are not tags and are ignored, as Serf ignores them.
 */
export function decodeTags(meta: Uint8Array): DecodeResult<Record<string, string>> {
  if (meta.length === 0) return ok({});
  if (meta[0] !== TAG_MAGIC_BYTE) return ok({ role: fromUtf8(meta) });
  return catchDecode(() => {
    const r = new MsgpackReader(meta, 1);
    const n = r.mapHeader();
    const entries: [string, string][] = [];
    for (let i = 0; i < n; i++) entries.push([r.string(), r.tryNil() ? '' : r.string()]);
    return Object.fromEntries(entries);
  });
}

/**
 * The capabilities a node advertises after its tag map (see {@link encodeTags}): name →
 * version. Metadata without them (every Serf agent's) gives an empty map; so does metadata
 * whose trailer does not decode (never an error: a stranger's metadata is not ours to judge).
 */
export function decodeCapabilities(meta: Uint8Array): Record<string, number> {
  if (meta.length === 0 || meta[0] !== TAG_MAGIC_BYTE) return {};
  const r = catchDecode(() => {
    const reader = new MsgpackReader(meta, 1);
    reader.skip();
    const caps: Record<string, number> = {};
    if (reader.remaining === 0) return caps;
    const n = reader.mapHeader();
    for (let i = 0; i < n; i++) {
      const name = reader.string();
      caps[name] = reader.integer();
    }
    return caps;
  });
  return r.ok ? r.value : {};
}

// ---------------------------------------------------------------------------------------------
// Query filters

/** Filter type bytes (`filterType`). */
export const FilterType = { node: 0, tag: 1 } as const;

/** A decoded query filter. `expr` is a Go regular expression matched against the tag's value. */
export type QueryFilter = { type: 'node'; nodes: string[] } | { type: 'tag'; tag: string; expr: string };

const filterTagCodec = new StructCodec<{ tag: string; expr: string }>('filterTag', [
  f('Tag', 'tag', 'string'),
  f('Expr', 'expr', 'string'),
]);

/** Encodes a filter: `00 || msgpack []string` or `01 || msgpack {Expr, Tag}`. */
export function encodeFilter(filter: QueryFilter): Uint8Array {
  const w = new MsgpackWriter(32);
  if (filter.type === 'node') {
    w.byte(FilterType.node).arrayHeader(filter.nodes.length);
    for (const n of filter.nodes) w.str(n);
  } else {
    w.byte(FilterType.tag);
    filterTagCodec.encode(w, { tag: filter.tag, expr: filter.expr });
  }
  return w.finish();
}

/** Decodes one filter. Never throws on bad input. */
export function decodeFilter(buf: Uint8Array): DecodeResult<QueryFilter> {
  if (buf.length === 0) return fail('truncated', 'empty query filter');
  return catchDecode((): QueryFilter => {
    const r = new MsgpackReader(buf, 1);
    if (buf[0] === FilterType.node) {
      if (r.tryNil()) return { type: 'node', nodes: [] };
      const n = r.arrayHeader();
      const nodes: string[] = [];
      for (let i = 0; i < n; i++) nodes.push(r.string());
      return { type: 'node', nodes };
    }
    if (buf[0] === FilterType.tag) return { type: 'tag', ...filterTagCodec.decode(r) };
    throw new DecodeAbort('unknown-type', `unknown query filter type ${buf[0]}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Ping payload: Serf's Vivaldi coordinate

/** The version byte Serf puts before the coordinate in an ack payload (`PingVersion`). */
export const PING_PAYLOAD_VERSION = 1;

/** `01 || msgpack Coordinate`: what Serf sends in its ack payloads. */
export function encodePingPayload(c: Coordinate): Uint8Array {
  const w = new MsgpackWriter(128);
  w.byte(PING_PAYLOAD_VERSION);
  serfStructs.coordinate.encode(w, c);
  return w.finish();
}

/** Decodes an ack payload's coordinate. An unknown version byte is `unknown-type`. */
export function decodePingPayload(buf: Uint8Array): DecodeResult<Coordinate> {
  if (buf.length === 0) return fail('truncated', 'empty ping payload');
  if (buf[0] !== PING_PAYLOAD_VERSION) return fail('unknown-type', `unknown ping payload version ${buf[0]}`);
  return catchDecode(() => serfStructs.coordinate.decode(new MsgpackReader(buf, 1)));
}
