/**
 * Serf's own queries (Serf `internal_query.go`; spec §9.8), names prefixed `_serf_`, handled
 * here and never shown to the application:
 *
 * - `_serf_ping`: nothing to do; the ack (requested by `serf reachability`) is the answer.
 * - `_serf_conflict`, payload = a node name: answer `0x06 | Member` as we know that node, or
 *   `0x06 | nil` if we do not; never answer about our own name.
 * - `_serf_install-key`, `_serf_use-key`, `_serf_remove-key`, payload = `0x07 | {Key}`: change
 *   the keyring, answer `0x08 | {Result, Message, Keys: nil, PrimaryKey: ""}` with Serf's
 *   exact messages ("Removing the primary key is not allowed", ...).
 * - `_serf_list-keys`: answer every installed key and the primary (base64), truncating the list
 *   with Serf's message when the answer would exceed the response size limit.
 *
 * Also here: name-conflict resolution, which runs `_serf_conflict` about our own name and
 * shuts this node down (without a leave) if a majority of answers name another address.
 */
import { KeyringError } from '../wire/crypto.ts';
import { ipFromString, ipToString } from '../wire/ip.ts';
import { MsgpackReader } from '../wire/msgpack.ts';
import { catchDecode } from '../wire/result.ts';
import {
  encodeSerfMessage,
  type NodeKeyResponse,
  type SerfMember,
  SerfMessageType,
  serfStructs,
} from '../wire/serf.ts';
import type { SerfCore } from './core.ts';
import { INTERNAL_QUERY_PREFIX, type Query, startQuery } from './query.ts';
import { MEMBER_STATUS_CODE } from './types.ts';

/** Serf's internal query names, without the prefix. */
export const InternalQuery = {
  ping: 'ping',
  conflict: 'conflict',
  installKey: 'install-key',
  useKey: 'use-key',
  removeKey: 'remove-key',
  listKeys: 'list-keys',
} as const;

/** Serf's `minEncodedKeyLength`: the list-keys truncation loop starts at `limit / 25` keys. */
const MIN_ENCODED_KEY_LENGTH = 25;

const utf8 = new TextDecoder();

/** Handles one `_serf_*` query delivered to this node. */
export function handleInternalQuery(core: SerfCore, q: Query): void {
  const name = q.name.slice(INTERNAL_QUERY_PREFIX.length);
  switch (name) {
    case InternalQuery.ping:
      return;
    case InternalQuery.conflict:
      handleConflict(core, q);
      return;
    case InternalQuery.installKey:
    case InternalQuery.useKey:
    case InternalQuery.removeKey:
      handleKeyChange(core, q, name);
      return;
    case InternalQuery.listKeys:
      handleListKeys(core, q);
      return;
    default:
      core.log.warn('serf: unhandled internal query', { name: q.name });
  }
}

function respond(core: SerfCore, q: Query, payload: Uint8Array): void {
  try {
    q.respond(payload);
  } catch (e) {
    core.log.error('serf: could not answer an internal query', { name: q.name, error: String(e) });
  }
}

function handleConflict(core: SerfCore, q: Query): void {
  const node = utf8.decode(q.payload);
  if (node === core.name) return;
  core.log.debug('serf: conflict resolution query', { node });
  const m = core.members.get(node);
  const body: SerfMember | null =
    m === undefined
      ? null
      : {
          name: m.name,
          addr: m.addr,
          port: m.port,
          tags: m.tags,
          status: MEMBER_STATUS_CODE[m.status],
          protocolMin: m.vsn[0] ?? 0,
          protocolMax: m.vsn[1] ?? 0,
          protocolCur: m.vsn[2] ?? 0,
          delegateMin: m.vsn[3] ?? 0,
          delegateMax: m.vsn[4] ?? 0,
          delegateCur: m.vsn[5] ?? 0,
        };
  respond(core, q, encodeSerfMessage({ type: 'conflictResponse', body }));
}

/** The key of a key request payload (`0x07 | {Key}`); Serf skips the type byte unchecked. */
function requestedKey(q: Query): Uint8Array | undefined {
  if (q.payload.length < 1) return undefined;
  const r = catchDecode(() => serfStructs.keyRequest.decode(new MsgpackReader(q.payload, 1)));
  return r.ok ? r.value.key : undefined;
}

/** Serf's (memberlist's) wording for each keyring refusal. */
function keyringMessage(e: unknown): string {
  if (e instanceof KeyringError) {
    switch (e.code) {
      case 'invalid-key-size':
        return 'key size must be 16, 24 or 32 bytes';
      case 'key-not-installed':
        return 'Requested key is not in the keyring';
      case 'remove-primary':
        return 'Removing the primary key is not allowed';
      default:
        return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

function handleKeyChange(core: SerfCore, q: Query, op: 'install-key' | 'use-key' | 'remove-key'): void {
  const response: NodeKeyResponse = { result: false, message: '', keys: null, primaryKey: '' };
  const key = requestedKey(q);
  const keyring = core.keyring;
  if (key === undefined) {
    core.log.error('serf: could not decode a key request', { query: q.name });
  } else if (keyring === undefined) {
    response.message = 'No keyring to modify (encryption not enabled)';
    core.log.error(`serf: ${response.message}`);
  } else {
    try {
      if (op === 'install-key') keyring.addKey(key);
      else if (op === 'use-key') keyring.useKey(key);
      else keyring.removeKey(key);
      response.result = true;
      core.log.info(`serf: ${op} done`, { from: q.sourceNode });
      core.events.emit('keyring', { op });
    } catch (e) {
      response.message = keyringMessage(e);
      core.log.error(`serf: ${op} failed`, { error: response.message });
    }
  }
  respond(core, q, encodeSerfMessage({ type: 'keyResponse', body: response }));
}

function handleListKeys(core: SerfCore, q: Query): void {
  const response: NodeKeyResponse = { result: false, message: '', keys: null, primaryKey: '' };
  const keyring = core.keyring;
  if (keyring === undefined) {
    response.message = 'Keyring is empty (encryption not enabled)';
    core.log.error(`serf: ${response.message}`);
    respond(core, q, encodeSerfMessage({ type: 'keyResponse', body: response }));
    return;
  }
  const all = keyring.keys.map((k) => Buffer.from(k).toString('base64'));
  const primary = keyring.primaryKey;
  response.keys = all;
  response.primaryKey = primary === undefined ? '' : Buffer.from(primary).toString('base64');
  response.result = true;
  // Shrink the key list until the answer fits (Serf `keyListResponseWithCorrectSize`).
  const limit = core.opts.queryResponseSizeLimit;
  for (let n = Math.floor(limit / MIN_ENCODED_KEY_LENGTH); n >= 0; n--) {
    const resp = q.response(encodeSerfMessage({ type: 'keyResponse', body: response }));
    const raw = encodeSerfMessage({ type: 'queryResponse', body: resp });
    if (raw.length > limit) {
      response.keys = all.slice(0, n);
      response.message = `truncated key list response, showing first ${n} of ${all.length} keys`;
      continue;
    }
    if (all.length > n) core.log.warn(`serf: ${response.message}`);
    try {
      q.respondRaw(raw, resp);
    } catch (e) {
      core.log.error('serf: could not answer list-keys', { error: String(e) });
    }
    return;
  }
  core.log.error('serf: could not truncate the key list to fit in a response');
}

/**
 * Another node claims our name (Serf `resolveNodeConflict`): ask the cluster which address it
 * knows for our name; with fewer than a majority of answers naming ours, shut down without
 * leaving. One vote at a time: conflicts reported while one runs are ignored.
 */
export async function resolveNodeConflict(
  core: SerfCore,
  otherAddress: string,
  shutdown: () => Promise<void>,
): Promise<void> {
  if (core.resolvingConflict) return;
  core.resolvingConflict = true;
  try {
    const local = core.ml.localNode;
    const localIp = ipFromString(local.ip);
    const query = startQuery(
      core,
      `${INTERNAL_QUERY_PREFIX}${InternalQuery.conflict}`,
      new TextEncoder().encode(core.name),
    );
    const { responses } = await query.done;
    let answered = 0;
    let matching = 0;
    for (const r of responses) {
      if (r.payload.length < 1 || r.payload[0] !== SerfMessageType.conflictResponse) {
        core.log.error('serf: invalid conflict query response', { from: r.from });
        continue;
      }
      const decoded = catchDecode(() => {
        const reader = new MsgpackReader(r.payload, 1);
        return reader.tryNil() ? null : serfStructs.member.decode(reader);
      });
      if (!decoded.ok) {
        core.log.error('serf: could not decode a conflict query response', { from: r.from });
        continue;
      }
      answered++;
      const m = decoded.value;
      if (m !== null && localIp && ipToString(m.addr) === ipToString(localIp) && m.port === local.port)
        matching++;
    }
    const majority = Math.floor(answered / 2) + 1;
    const won = matching >= majority;
    core.events.emit('conflict', {
      other: otherAddress,
      matching,
      responses: answered,
      outcome: won ? 'won' : 'lost',
    });
    if (won) {
      core.log.info('serf: majority in name conflict resolution', { matching, responses: answered });
      return;
    }
    core.log.warn('serf: minority in name conflict resolution, quitting', { matching, responses: answered });
    await shutdown();
  } catch (e) {
    core.log.error('serf: name conflict resolution failed', { error: String(e) });
  } finally {
    core.resolvingConflict = false;
  }
}
