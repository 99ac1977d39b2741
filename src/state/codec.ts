/**
 * The replicated state's wire messages. They travel as memberlist user messages (in gossip
 * packets, direct packets, or over streams) between our nodes only: a Serf agent never gets one
 * (see `src/cluster/extension.ts`). Layout: `40 | kind | msgpack array`, in the msgpack flavour
 * of the rest of the wire (strings and bytes in the raw family, integers in their smallest
 * form). Fields are positional (arrays, not maps): a write's bytes on the wire are its key,
 * its value and about a dozen bytes.
 *
 * | kind | message | body |
 * |---|---|---|
 * | 1 | update (gossiped) | `[node, gen, version, key, value \| nil, flags, ttlMs]` |
 * | 2 | notice (gossiped) | `[node, gen, version]`: a version too large to gossip exists; pull it |
 * | 3 | sync | `[from, [item...]]`, items below |
 * | 4 | delta | `[from, more, [nodeDelta...]]` |
 * | 5 | ask | `[from, id, node]`: which (generation, version) of node's map do you hold? |
 * | 6 | tell | `[from, id, node, gen, max]`: the answer (gen 0: none) |
 *
 * Sync items: `[0, depth, index, hashHi, hashLo, count]` a **range** of the digest tree (see
 * digest.ts) as the sender holds it; `[1, depth, index, [node, gen, max, floor, ...]]` a **leaf**:
 * every node map the sender holds in that range; `[2, node, gen, max, floor]` a **want**: the
 * sender holds `node` at (gen, max) (gen 0: not at all) and wants what is newer. See
 * {@link NodeSummary} for `floor`.
 *
 * A node delta: `[node, gen, gc, from, to, max, reset, [key, version, value | nil, flags, ttlMs, ...]]`:
 * the entries with versions in (from, to] the sender holds, in version order (versions missing
 * from the run were overwritten by later ones, or collected); with `reset`, the map from scratch
 * (every entry up to `to`, and `from` is 0); `gc` is the highest collected version the sender
 * knows of; `max` the sender's own high-water mark (`to < max`: the budget cut the run short).
 *
 * Decoding never throws: bad input gives a {@link DecodeFailure} (counted and dropped).
 */
import { fromUtf8Range, MsgpackReader, MsgpackWriter } from '../wire/msgpack.ts';
import { catchDecode, DecodeAbort, type DecodeResult, fail } from '../wire/result.ts';
import { KEY_BYTES_HARD_LIMIT, VALUE_BYTES_HARD_LIMIT } from './options.ts';

/** The Serf-level message type byte the state owns. */
export const STATE_MESSAGE_TYPE = 0x40;
/** The capability our nodes advertise (see `src/cluster/extension.ts`) and its version. */
export const STATE_CAPABILITY = 'state';
export const STATE_CAPABILITY_VERSION = 1;

/** Message kinds (the byte after the type). */
export const StateKind = { update: 1, notice: 2, sync: 3, delta: 4, ask: 5, tell: 6 } as const;

/** Entry flag bits. */
export const EntryFlag = { ephemeral: 1 } as const;

/** Longest node name accepted in a state message. */
export const NODE_NAME_MAX_BYTES = 512;
/** Most items in one sync message. */
export const MAX_SYNC_ITEMS = 4096;
/** Most node summaries in one leaf. */
export const MAX_LEAF_NODES = 65_536;
/** Most node deltas in one delta message. */
export const MAX_NODE_DELTAS = 65_536;

/** One change of a node's map: a value or (value null) a tombstone. Immutable once built. */
export interface Change {
  readonly key: string;
  readonly version: number;
  readonly value: Uint8Array | null;
  readonly flags: number;
  /** Time to live, ms, at the moment it was sent (0: none). */
  readonly ttlMs: number;
}

export interface UpdateMessage {
  readonly node: string;
  readonly gen: number;
  readonly change: Change;
}

export interface NoticeMessage {
  readonly node: string;
  readonly gen: number;
  readonly version: number;
}

/**
 * A node's map as summarised in a digest: its generation, gap-free high-water version, and
 * `floor`: 0, or while the map is being rebuilt from scratch, the collection point of the map
 * it is rebuilt from (no delete at or below it can be missing: see sync.ts).
 */
export interface NodeSummary {
  readonly node: string;
  readonly gen: number;
  readonly max: number;
  readonly floor: number;
}

export type SyncItem =
  | {
      readonly type: 'range';
      readonly depth: number;
      readonly index: number;
      readonly hashHi: number;
      readonly hashLo: number;
      readonly count: number;
    }
  | {
      readonly type: 'leaf';
      readonly depth: number;
      readonly index: number;
      readonly nodes: readonly NodeSummary[];
    }
  | ({ readonly type: 'want' } & NodeSummary);

export interface SyncMessage {
  readonly from: string;
  readonly items: readonly SyncItem[];
}

export interface NodeDelta {
  readonly node: string;
  readonly gen: number;
  readonly gc: number;
  readonly from: number;
  readonly to: number;
  /** The sender's high-water mark for this node; `to < max` when the budget cut the delta short. */
  readonly max: number;
  readonly reset: boolean;
  readonly changes: readonly Change[];
}

export interface DeltaMessage {
  readonly from: string;
  /** The sender had more for us than the budget allowed: ask again at once. */
  readonly more: boolean;
  readonly nodes: readonly NodeDelta[];
}

/** A question (`ask`) or its answer (`tell`) about where a peer's copy of a map stands. */
export interface AskMessage {
  readonly from: string;
  readonly id: number;
  readonly node: string;
}

export interface TellMessage extends AskMessage {
  readonly gen: number;
  readonly max: number;
}

export type StateMessage =
  | { readonly kind: 'ask'; readonly body: AskMessage }
  | { readonly kind: 'tell'; readonly body: TellMessage }
  | { readonly kind: 'update'; readonly body: UpdateMessage }
  | { readonly kind: 'notice'; readonly body: NoticeMessage }
  | { readonly kind: 'sync'; readonly body: SyncMessage }
  | { readonly kind: 'delta'; readonly body: DeltaMessage };

// ---------------------------------------------------------------------------------------------
// Sizes (for budgets: exact encoded lengths, so a message built to a budget stays within it)

const textEncoder = new TextEncoder();

/** UTF-8 length of `s`, without encoding it when it is ASCII. */
export function utf8Length(s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : textEncoder.encode(s).length;
}

/** Encoded length of raw bytes (or a string) of `n` bytes. */
export function rawSize(n: number): number {
  return n < 32 ? 1 + n : n < 0x10000 ? 3 + n : 5 + n;
}

/** Encoded length of a non-negative integer. */
export function uintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x100000000 ? 5 : 9;
}

/** Encoded length of an array header for `n` elements. */
export function arrayHeaderSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

/** Encoded length of one change inside a node delta (5 flat fields). */
export function changeSize(c: Change, keyBytes: number = utf8Length(c.key)): number {
  return (
    rawSize(keyBytes) +
    uintSize(c.version) +
    (c.value === null ? 1 : rawSize(c.value.length)) +
    uintSize(c.flags) +
    uintSize(c.ttlMs)
  );
}

/** Encoded length of a node delta's header fields (everything but its changes), with a 5-byte array header for them. */
export function nodeDeltaHeaderSize(
  node: string,
  gen: number,
  gc: number,
  from: number,
  max: number,
): number {
  // `to` is at most `max`, so its size is bounded by max's.
  return (
    1 + rawSize(utf8Length(node)) + uintSize(gen) + uintSize(gc) + uintSize(from) + 2 * uintSize(max) + 1 + 5
  );
}

// ---------------------------------------------------------------------------------------------
// Encoding

function header(w: MsgpackWriter, kind: number): MsgpackWriter {
  return w.byte(STATE_MESSAGE_TYPE).byte(kind);
}

function writeChange(w: MsgpackWriter, c: Change): void {
  w.str(c.key).int(c.version);
  if (c.value === null) w.nil();
  else w.raw(c.value);
  w.int(c.flags).int(c.ttlMs);
}

export function encodeUpdate(m: UpdateMessage): Uint8Array {
  const w = header(new MsgpackWriter(64 + (m.change.value?.length ?? 0)), StateKind.update);
  w.arrayHeader(7).str(m.node).int(m.gen);
  const c = m.change;
  w.int(c.version).str(c.key);
  if (c.value === null) w.nil();
  else w.raw(c.value);
  w.int(c.flags).int(c.ttlMs);
  return w.finish();
}

export function encodeNotice(m: NoticeMessage): Uint8Array {
  return header(new MsgpackWriter(48), StateKind.notice)
    .arrayHeader(3)
    .str(m.node)
    .int(m.gen)
    .int(m.version)
    .finish();
}

/** Encoded length of one sync item. */
export function syncItemSize(item: SyncItem): number {
  switch (item.type) {
    case 'range':
      return (
        1 +
        1 +
        uintSize(item.depth) +
        uintSize(item.index) +
        uintSize(item.hashHi) +
        uintSize(item.hashLo) +
        uintSize(item.count)
      );
    case 'leaf': {
      let n = 1 + 1 + uintSize(item.depth) + uintSize(item.index) + arrayHeaderSize(item.nodes.length * 4);
      for (const s of item.nodes) n += summarySize(s);
      return n;
    }
    case 'want':
      return 1 + 1 + summarySize(item);
  }
}

/** Encoded length of a node summary (three flat fields). */
export function summarySize(s: NodeSummary): number {
  return rawSize(utf8Length(s.node)) + uintSize(s.gen) + uintSize(s.max) + uintSize(s.floor);
}

/** Bytes of a sync message around its items: type, kind, headers, sender name. */
export function syncOverhead(from: string): number {
  return 2 + 1 + rawSize(utf8Length(from)) + 5;
}

export function encodeSync(m: SyncMessage): Uint8Array {
  const w = header(new MsgpackWriter(256), StateKind.sync);
  w.arrayHeader(2).str(m.from).arrayHeader(m.items.length);
  for (const item of m.items) {
    switch (item.type) {
      case 'range':
        w.arrayHeader(6)
          .int(0)
          .int(item.depth)
          .int(item.index)
          .int(item.hashHi)
          .int(item.hashLo)
          .int(item.count);
        break;
      case 'leaf':
        w.arrayHeader(4)
          .int(1)
          .int(item.depth)
          .int(item.index)
          .arrayHeader(item.nodes.length * 4);
        for (const s of item.nodes) w.str(s.node).int(s.gen).int(s.max).int(s.floor);
        break;
      case 'want':
        w.arrayHeader(5).int(2).str(item.node).int(item.gen).int(item.max).int(item.floor);
        break;
    }
  }
  return w.finish();
}

export function encodeAsk(m: AskMessage): Uint8Array {
  return header(new MsgpackWriter(64), StateKind.ask)
    .arrayHeader(3)
    .str(m.from)
    .int(m.id)
    .str(m.node)
    .finish();
}

export function encodeTell(m: TellMessage): Uint8Array {
  return header(new MsgpackWriter(64), StateKind.tell)
    .arrayHeader(5)
    .str(m.from)
    .int(m.id)
    .str(m.node)
    .int(m.gen)
    .int(m.max)
    .finish();
}

/** Bytes of a delta message around its node deltas. */
export function deltaOverhead(from: string): number {
  return 2 + 1 + rawSize(utf8Length(from)) + 1 + 5;
}

export function encodeDelta(m: DeltaMessage): Uint8Array {
  const w = header(new MsgpackWriter(1024), StateKind.delta);
  w.arrayHeader(3).str(m.from).bool(m.more).arrayHeader(m.nodes.length);
  for (const d of m.nodes) {
    w.arrayHeader(8).str(d.node).int(d.gen).int(d.gc).int(d.from).int(d.to).int(d.max).bool(d.reset);
    w.arrayHeader(d.changes.length * 5);
    for (const c of d.changes) writeChange(w, c);
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

function count(r: MsgpackReader, what: string, max: number): number {
  const n = r.arrayHeader();
  if (n > max) throw new DecodeAbort('too-large', `${what}: ${n} elements, over the limit of ${max}`);
  return n;
}

function exactArray(r: MsgpackReader, what: string, n: number): void {
  const got = r.arrayHeader();
  if (got !== n) throw new DecodeAbort('bad-value', `${what}: expected ${n} fields, got ${got}`);
}

function uint(r: MsgpackReader, what: string): number {
  const v = r.integer();
  if (v < 0 || !Number.isSafeInteger(v))
    throw new DecodeAbort('bad-value', `${what}: ${v} is not a count or version`);
  return v;
}

function uint32(r: MsgpackReader, what: string): number {
  const v = uint(r, what);
  if (v >= 2 ** 32) throw new DecodeAbort('bad-value', `${what}: ${v} is over 32 bits`);
  return v;
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes. */
function boundedString(r: MsgpackReader, what: string, maxBytes: number): string {
  const n = r.rawLength();
  if (n > maxBytes) throw new DecodeAbort('too-large', `${what}: ${n} bytes, over ${maxBytes}`);
  if (n === 0) throw new DecodeAbort('bad-value', `${what}: empty`);
  const s = fromUtf8Range(r.buf, r.pos, r.pos + n);
  r.pos += n;
  return s;
}

function name(r: MsgpackReader, what: string): string {
  return boundedString(r, what, NODE_NAME_MAX_BYTES);
}

function key(r: MsgpackReader): string {
  return boundedString(r, 'key', KEY_BYTES_HARD_LIMIT);
}

function value(r: MsgpackReader): Uint8Array | null {
  if (r.tryNil()) return null;
  const n = r.rawLength();
  if (n > VALUE_BYTES_HARD_LIMIT)
    throw new DecodeAbort('too-large', `value of ${n} bytes, over ${VALUE_BYTES_HARD_LIMIT}`);
  const out = r.buf.slice(r.pos, r.pos + n); // a copy: never pin the packet or stream buffer
  r.pos += n;
  return out;
}

function change(r: MsgpackReader): Change {
  const k = key(r);
  const version = uint(r, 'version');
  if (version === 0) throw new DecodeAbort('bad-value', 'version 0 (versions start at 1)');
  const v = value(r);
  const flags = uint32(r, 'flags');
  const ttlMs = uint(r, 'ttlMs');
  return { key: k, version, value: v, flags, ttlMs };
}

/** Decodes one state message (type byte included). Never throws. */
export function decodeStateMessage(buf: Uint8Array): DecodeResult<StateMessage> {
  if (buf.length < 2) return fail('truncated', 'a state message needs a type and a kind byte');
  if (buf[0] !== STATE_MESSAGE_TYPE) return fail('unknown-type', `type byte ${buf[0]} is not the state's`);
  const kind = buf[1]!;
  return catchDecode((): StateMessage => {
    const r = new MsgpackReader(buf, 2);
    const m = body(r, kind);
    if (r.remaining !== 0)
      throw new DecodeAbort('trailing-bytes', `${r.remaining} bytes after a state message`);
    return m;
  });
}

function body(r: MsgpackReader, kind: number): StateMessage {
  switch (kind) {
    case StateKind.ask: {
      exactArray(r, 'ask', 3);
      return { kind: 'ask', body: { from: name(r, 'from'), id: uint32(r, 'id'), node: name(r, 'node') } };
    }
    case StateKind.tell: {
      exactArray(r, 'tell', 5);
      const body = { from: name(r, 'from'), id: uint32(r, 'id'), node: name(r, 'node') };
      return { kind: 'tell', body: { ...body, gen: uint(r, 'generation'), max: uint(r, 'max') } };
    }
    case StateKind.update: {
      exactArray(r, 'update', 7);
      const node = name(r, 'node');
      const gen = uint(r, 'generation');
      const version = uint(r, 'version');
      if (version === 0) throw new DecodeAbort('bad-value', 'version 0 (versions start at 1)');
      const k = key(r);
      const v = value(r);
      const flags = uint32(r, 'flags');
      const ttlMs = uint(r, 'ttlMs');
      return { kind: 'update', body: { node, gen, change: { key: k, version, value: v, flags, ttlMs } } };
    }
    case StateKind.notice: {
      exactArray(r, 'notice', 3);
      return {
        kind: 'notice',
        body: { node: name(r, 'node'), gen: uint(r, 'generation'), version: uint(r, 'version') },
      };
    }
    case StateKind.sync: {
      exactArray(r, 'sync', 2);
      const from = name(r, 'from');
      const n = count(r, 'sync items', MAX_SYNC_ITEMS);
      const items: SyncItem[] = [];
      for (let i = 0; i < n; i++) items.push(syncItem(r));
      return { kind: 'sync', body: { from, items } };
    }
    case StateKind.delta: {
      exactArray(r, 'delta', 3);
      const from = name(r, 'from');
      const more = r.bool();
      const n = count(r, 'node deltas', MAX_NODE_DELTAS);
      const nodes: NodeDelta[] = [];
      for (let i = 0; i < n; i++) {
        exactArray(r, 'node delta', 8);
        const node = name(r, 'node');
        const gen = uint(r, 'generation');
        const gc = uint(r, 'gc');
        const fromV = uint(r, 'from');
        const to = uint(r, 'to');
        const max = uint(r, 'max');
        const reset = r.bool();
        const fields = r.arrayHeader();
        if (fields % 5 !== 0)
          throw new DecodeAbort('bad-value', `node delta changes: ${fields} fields, not a multiple of 5`);
        const changes: Change[] = [];
        let last = fromV;
        for (let j = 0; j < fields / 5; j++) {
          const c = change(r);
          if (c.version <= last || c.version > to) {
            throw new DecodeAbort(
              'bad-value',
              `node delta of ${node}: version ${c.version} out of order in (${fromV}, ${to}]`,
            );
          }
          last = c.version;
          changes.push(c);
        }
        if (to < fromV || max < to) {
          throw new DecodeAbort(
            'bad-value',
            `node delta of ${node}: from ${fromV}, to ${to}, max ${max} out of order`,
          );
        }
        if (reset && fromV !== 0)
          throw new DecodeAbort('bad-value', `node delta of ${node}: a reset from ${fromV}`);
        nodes.push({ node, gen, gc, from: fromV, to, max, reset, changes });
      }
      return { kind: 'delta', body: { from, more, nodes } };
    }
  }
  throw new DecodeAbort('unknown-type', `unknown state message kind ${kind}`);
}

function summary(r: MsgpackReader): NodeSummary {
  return { node: name(r, 'node'), gen: uint(r, 'generation'), max: uint(r, 'max'), floor: uint(r, 'floor') };
}

function syncItem(r: MsgpackReader): SyncItem {
  const n = r.arrayHeader();
  const t = uint(r, 'item type');
  switch (t) {
    case 0: {
      if (n !== 6) throw new DecodeAbort('bad-value', `range item: ${n} fields`);
      const depth = uint(r, 'depth');
      const index = uint32(r, 'index');
      const hashHi = uint32(r, 'hash');
      const hashLo = uint32(r, 'hash');
      const c = uint32(r, 'count');
      return { type: 'range', depth, index, hashHi, hashLo, count: c };
    }
    case 1: {
      if (n !== 4) throw new DecodeAbort('bad-value', `leaf item: ${n} fields`);
      const depth = uint(r, 'depth');
      const index = uint32(r, 'index');
      const fields = count(r, 'leaf', MAX_LEAF_NODES * 4);
      if (fields % 4 !== 0) throw new DecodeAbort('bad-value', `leaf: ${fields} fields, not a multiple of 4`);
      const nodes: NodeSummary[] = [];
      for (let i = 0; i < fields / 4; i++) nodes.push(summary(r));
      return { type: 'leaf', depth, index, nodes };
    }
    case 2: {
      if (n !== 5) throw new DecodeAbort('bad-value', `want item: ${n} fields`);
      return { type: 'want', ...summary(r) };
    }
  }
  throw new DecodeAbort('unknown-type', `unknown sync item type ${t}`);
}
