/**
 * What memberlist calls into the Serf layer (Serf `delegate.go`, `event_delegate.go`,
 * `conflict_delegate.go`): our tags as node metadata, inbound Serf messages, Serf's broadcasts
 * to piggyback, and Serf's part of every push-pull.
 *
 * Push-pull user state (spec §9.9): `0x02 | {LTime, StatusLTimes, LeftMembers, EventLTime,
 * Events, QueryLTime}`. Merging witnesses each clock at `value − 1` (nothing has been sent at the
 * remote's current value yet), replays each left member as a leave intent one tick after its
 * status time and every other member as a join intent at its status time, then replays the
 * remote event ring — which is how a late joiner receives the events it missed.
 */
import { SizeLimitError } from '../errors.ts';
import type { MemberlistDelegate } from '../membership/delegate.ts';
import type { Member as MlMember } from '../membership/node-state.ts';
import type { Addr } from '../transport/transport.ts';
import { META_MAX_BYTES } from '../wire/limits.ts';
import { MsgpackWriter } from '../wire/msgpack.ts';
import {
  decodePingPayload,
  decodeSerfMessage,
  encodePingPayload,
  encodeSerfMessage,
  encodeTags,
  type MessagePushPull,
  SerfMessageType,
  type SerfMessageTypeName,
} from '../wire/serf.ts';
import { broadcastsPending, getBroadcasts } from './broadcasts.ts';
import type { SerfCore } from './core.ts';
import { eventRingForPushPull, replayRemoteEvents } from './events.ts';
import { EXTENSION_MESSAGE_TYPE_MIN } from './extension.ts';
import { handleNodeJoinIntent } from './members.ts';
import { forwardRelay, handleQuery, handleQueryResponse } from './query.ts';
import { serfSeams } from './seams.ts';

const utf8 = new TextEncoder();
const TYPE_NAMES = Object.fromEntries(Object.entries(SerfMessageType).map(([k, v]) => [v, k])) as Record<
  number,
  SerfMessageTypeName
>;

/** The smallest Serf protocol that puts a tag map (rather than the bare role) in the metadata. */
const TAGS_MIN_PROTOCOL = 3;

/** Encoded size of `tags` and `capabilities` as metadata (for the error message when it is too big). */
function encodedTagsSize(
  tags: Readonly<Record<string, string>>,
  capabilities: Readonly<Record<string, number>>,
): number {
  const w = new MsgpackWriter(64);
  w.byte(0xff);
  const keys = Object.keys(tags);
  w.mapHeader(keys.length);
  for (const k of keys) w.str(k).str(tags[k]!);
  const caps = Object.keys(capabilities);
  if (caps.length > 0) {
    w.mapHeader(caps.length);
    for (const c of caps) w.str(c).int(capabilities[c]!);
  }
  return w.length;
}

/**
 * Our node metadata for `tags` (Serf `encodeTags`): `ff | msgpack map` from protocol 3, the
 * bare `role` tag before; then our extensions' `capabilities` (protocol 3 and later only; see
 * `extension.ts`), which Serf does not see.
 * @throws SizeLimitError when it exceeds memberlist's 512-byte metadata limit.
 */
export function tagsToMeta(
  tags: Readonly<Record<string, string>>,
  protocolVersion: number,
  capabilities: Readonly<Record<string, number>> = {},
): Uint8Array {
  if (protocolVersion < TAGS_MIN_PROTOCOL) {
    const role = utf8.encode(tags.role ?? '');
    if (role.length > META_MAX_BYTES) throw new SizeLimitError('the role tag', role.length, META_MAX_BYTES);
    return role;
  }
  const size = encodedTagsSize(tags, capabilities);
  if (size > META_MAX_BYTES) {
    const capBytes = size - encodedTagsSize(tags, {});
    throw new SizeLimitError(
      'encoded tags',
      size,
      META_MAX_BYTES,
      `node metadata is limited to 512 bytes (memberlist MetaMaxSize)${capBytes > 0 ? `, of which ${capBytes} advertise this node's capabilities` : ''}; use fewer or shorter tags`,
    );
  }
  return encodeTags(tags, capabilities);
}

/** Hooks the Serf class gives the delegate. */
export interface DelegateHooks {
  /** memberlist saw another node claim a known member's name (possibly ours). */
  onConflict(existing: MlMember, other: MlMember): void;
}

/** The memberlist delegate of a Serf node. */
export function serfDelegate(core: SerfCore, hooks: DelegateHooks): MemberlistDelegate {
  return {
    nodeMeta: () => tagsToMeta(core.tags, core.opts.protocolVersion, core.capabilities),
    notifyMessage: (payload, from) => handleSerfMessage(core, payload, from),
    getBroadcasts: (overhead, limit, to) => getBroadcasts(core, overhead, limit, to),
    broadcastsPending: () => broadcastsPending(core),
    localState: () => localState(core),
    mergeRemoteState: (state, join) => mergeRemoteState(core, state, join),
    notifyConflict: (existing, other) => hooks.onConflict(existing, other),
    ...(core.coordClient
      ? {
          ackPayload: () => encodePingPayload(core.coordClient!.coordinate),
          notifyPingComplete: (peer: MlMember, rttMs: number, payload: Uint8Array | null) =>
            notifyPingComplete(core, peer, rttMs, payload),
        }
      : {}),
  };
}

/**
 * A probe came back (Serf's ping delegate): the ack carries the peer's coordinate; fold it and
 * the RTT into ours. An empty payload (a node without coordinates) is ignored, as Serf does.
 */
function notifyPingComplete(core: SerfCore, peer: MlMember, rttMs: number, payload: Uint8Array | null): void {
  const client = core.coordClient;
  if (!client || payload === null || payload.length === 0) return;
  const decoded = decodePingPayload(payload);
  if (!decoded.ok) {
    core.log.debug('serf: bad coordinate in an ack', { node: peer.name, reason: decoded.detail });
    return;
  }
  const result = client.update(peer.name, decoded.value, rttMs / 1000);
  if (typeof result === 'string') {
    core.log.debug('serf: rejected a coordinate', { node: peer.name, reason: result });
    return;
  }
  if (core.members.has(peer.name)) core.coordCache.set(peer.name, decoded.value);
  core.coordCache.set(core.name, result);
}

/** One inbound Serf message (Serf `NotifyMsg`); accepted intents, events and queries are re-gossiped. */
export function handleSerfMessage(core: SerfCore, payload: Uint8Array, from: Addr): void {
  if (payload.length === 0) return;
  if (payload[0]! >= EXTENSION_MESSAGE_TYPE_MIN) {
    handleExtensionMessage(core, payload, from);
    return;
  }
  const typeName = TYPE_NAMES[payload[0]!];
  if (typeName !== undefined && core.messageFilter?.(typeName)) return;
  core.count(core.stats.messagesReceived, typeName ?? `type-${payload[0]}`);
  const decoded = decodeSerfMessage(payload);
  if (!decoded.ok) {
    core.drop(decoded.reason, decoded.detail, { from });
    return;
  }
  const msg = decoded.value;
  let rebroadcast = false;
  let queue = core.intentQueue;
  switch (msg.type) {
    case 'leave':
      rebroadcast = serfSeams.leaveIntentReceived(core, msg.body);
      break;
    case 'join':
      rebroadcast = handleNodeJoinIntent(core, msg.body);
      break;
    case 'userEvent':
      rebroadcast = serfSeams.userEventReceived(core, msg.body);
      queue = core.eventQueue;
      break;
    case 'query':
      rebroadcast = handleQuery(core, msg.body);
      queue = core.queryQueue;
      break;
    case 'queryResponse':
      handleQueryResponse(core, msg.body);
      break;
    case 'relay':
      forwardRelay(core, msg.header, msg.inner);
      break;
    default:
      core.drop('unexpected-type', `a ${msg.type} message is not sent on its own`, { from });
  }
  // Re-gossip the exact bytes received (the buffer may be reused by the caller).
  if (rebroadcast) queue.queue(payload.slice());
}

/** A message for an extension (see `extension.ts`): handed to the one that owns its type byte. */
function handleExtensionMessage(core: SerfCore, payload: Uint8Array, from: Addr): void {
  const ext = core.extensions.get(payload[0]!);
  if (ext === undefined) {
    core.drop('unknown-type', `no extension owns message type ${payload[0]}`, { from });
    return;
  }
  core.count(core.stats.messagesReceived, ext.capability);
  try {
    ext.handleMessage(payload, from);
  } catch (e) {
    core.log.error('serf: an extension threw on a message; ignoring it', {
      extension: ext.capability,
      error: String(e),
    });
  }
}

/** Serf's push-pull state (Serf `LocalState`). */
export function localState(core: SerfCore): Uint8Array {
  const statusLTimes: Record<string, number> = {};
  for (const [name, m] of core.members) statusLTimes[name] = m.statusLTime;
  const pp: MessagePushPull = {
    lTime: core.memberClock.time(),
    statusLTimes,
    leftMembers: [...core.leftMembers.keys()],
    eventLTime: core.eventClock.time(),
    events: eventRingForPushPull(core),
    queryLTime: core.queryClock.time(),
  };
  return encodeSerfMessage({ type: 'pushPull', body: pp });
}

/** Merges a remote push-pull state (Serf `MergeRemoteState`). */
export function mergeRemoteState(core: SerfCore, buf: Uint8Array, join: boolean): void {
  if (buf.length === 0) {
    core.drop('empty-state', 'remote push-pull state is zero bytes');
    return;
  }
  if (buf[0] !== SerfMessageType.pushPull) {
    core.drop('bad-state', `remote push-pull state has type ${buf[0]}`);
    return;
  }
  if (core.messageFilter?.('pushPull')) return;
  const decoded = decodeSerfMessage(buf);
  if (!decoded.ok || decoded.value.type !== 'pushPull') {
    core.drop(decoded.ok ? 'bad-state' : decoded.reason, decoded.ok ? 'not a push-pull' : decoded.detail);
    return;
  }
  const pp = decoded.value.body;
  if (pp.lTime > 0) core.memberClock.witness(pp.lTime - 1);
  if (pp.eventLTime > 0) core.eventClock.witness(pp.eventLTime - 1);
  if (pp.queryLTime > 0) core.queryClock.witness(pp.queryLTime - 1);

  // Leaves first, one tick after the member's status time: the leave was accepted after it.
  const left = new Set(pp.leftMembers ?? []);
  for (const node of left) {
    serfSeams.leaveIntentReceived(core, { lTime: (pp.statusLTimes[node] ?? 0) + 1, node, prune: false });
  }
  for (const [node, lTime] of Object.entries(pp.statusLTimes)) {
    if (!left.has(node)) handleNodeJoinIntent(core, { lTime, node });
  }
  if (join && core.eventJoinIgnore && pp.eventLTime > core.eventMinTime) core.eventMinTime = pp.eventLTime;
  replayRemoteEvents(core, pp.events);
}
