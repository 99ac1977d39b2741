/**
 * What the dashboard reads from the agent's HTTP API (docs/http-api.md), typed by the API's own
 * types (`src/api/types.ts`, shared with the server, the CLI and `GossipClient`). Everything that
 * comes off the wire is `unknown` until one of the `parse*` functions here has checked it: a
 * newer or older agent may add, drop or rename a field, and the page must degrade (show "—"),
 * never crash. The parsers read fields through {@link Loose} views of the shared types, so a
 * field renamed there fails to compile here. These functions are pure and DOM-free so node:test
 * can run them.
 */
import type * as Api from '../../src/api/types.ts';
import { AGENT_EVENT_TYPES } from '../../src/api/types.ts';

export type { Api };

/**
 * A value that arrived where a `T` was expected: it has `T`'s field names (checked by the
 * compiler), but any field may be missing or of another type (checked at run time).
 */
export type Loose<T> = { [K in keyof T]?: unknown };

/** `v` as a {@link Loose} `T` when it is an object, else undefined. */
export function loose<T>(v: unknown): Loose<T> | undefined {
  return isObj(v) ? (v as Loose<T>) : undefined;
}

/** Serf's member status, as `serf members` prints it (`none` when the agent sent none we know). */
export type SerfStatus = Api.SerfMemberStatus | 'none';
/** memberlist's own view of the member (the SWIM state machine). */
export type SwimStatus = Api.SwimMemberStatus;

/** One member in the `/v1/members/detail` shape (also the `member` of `member-*` events). */
export interface MemberDetail {
  name: string;
  /** `ip:port` */
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: SerfStatus;
  swimStatus: SwimStatus | undefined;
  incarnation: number | undefined;
  protocol: { min: number; max: number; version: number } | undefined;
  /** ms since the epoch, when the member's state last changed (from `lastChange`). */
  lastChangeAt: number | undefined;
}

/** `/v1/agent`: the local node. Every field but `name` may be missing on an older agent. */
export interface AgentInfo {
  name: string;
  addr: string | undefined;
  tags: Record<string, string>;
  incarnation: number | undefined;
  healthScore: number | undefined;
  /** The score's exclusive upper bound (memberlist's awarenessMaxMultiplier). @default 8 */
  healthScoreMax: number;
  /** Broadcast queue depths by queue name (memberlist, events, queries...). */
  queues: Record<string, number>;
  /** Lamport clocks by name (member, event, query). */
  clocks: Record<string, number>;
  encrypted: boolean | undefined;
  uptimeMs: number | undefined;
  version: string | undefined;
}

/** The `stats` event, once a second. */
export interface StatsSample {
  /** ms since the epoch */
  at: number;
  queueDepth: number;
  healthScore: number | undefined;
  msgsInPerSec: number;
  msgsOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  members: Record<string, number>;
}

/** One line of the NDJSON stream `POST /v1/query` answers with. */
export type QueryLine =
  | { type: 'ack'; from: string; elapsedMs: number | undefined; at: number | undefined }
  | { type: 'response'; from: string; payload: string; elapsedMs: number | undefined; at: number | undefined }
  | { type: 'done'; acks: number | undefined; responses: number | undefined };

/** The event types of `GET /v1/events` the dashboard listens for: all of them. */
export const EVENT_TYPES = AGENT_EVENT_TYPES;
export type EventType = Api.AgentEventType;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function numberRecord(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isObj(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    const n = num(x);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** An ISO time (or ms number) as ms since the epoch; undefined if absent or unparsable. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

const SERF_STATUSES: readonly string[] = ['alive', 'leaving', 'left', 'failed', 'none'];
const SWIM_STATUSES: readonly string[] = ['alive', 'suspect', 'dead', 'left'];

export function parseMember(v: unknown): MemberDetail | undefined {
  const m = loose<Api.MemberDetail>(v);
  if (!m) return undefined;
  const name = str(m.name);
  if (name === undefined) return undefined;
  const status = str(m.status) ?? 'none';
  const swim = str(m.swimStatus);
  const p = loose<Api.ProtocolRangeJson>(m.protocol);
  const protocol =
    p && num(p.min) !== undefined
      ? { min: num(p.min) ?? 0, max: num(p.max) ?? 0, version: num(p.version) ?? 0 }
      : undefined;
  return {
    name,
    addr: str(m.addr) ?? '',
    port: num(m.port) ?? 0,
    tags: stringRecord(m.tags),
    status: (SERF_STATUSES.includes(status) ? status : 'none') as SerfStatus,
    swimStatus: swim !== undefined && SWIM_STATUSES.includes(swim) ? (swim as SwimStatus) : undefined,
    incarnation: num(m.incarnation),
    protocol,
    lastChangeAt: parseTime(m.lastChange),
  };
}

/** `{"members": [...]}` → the members that parse; malformed entries are skipped. */
export function parseMembers(v: unknown): MemberDetail[] {
  const list = loose<Api.MembersDetailResponse>(v)?.members;
  if (!Array.isArray(list)) return [];
  const out: MemberDetail[] = [];
  for (const m of list) {
    const p = parseMember(m);
    if (p) out.push(p);
  }
  return out;
}

export function parseAgent(v: unknown): AgentInfo | undefined {
  const a = loose<Api.AgentResponse>(v);
  if (!a) return undefined;
  const name = str(a.name);
  if (name === undefined) return undefined;
  const max = num(a.healthScoreMax);
  return {
    name,
    addr: str(a.addr),
    tags: stringRecord(a.tags),
    incarnation: num(a.incarnation),
    healthScore: num(a.healthScore),
    healthScoreMax: max !== undefined && max >= 1 ? max : 8,
    queues: numberRecord(a.queues),
    clocks: numberRecord(a.clocks),
    encrypted: typeof a.encrypted === 'boolean' ? a.encrypted : undefined,
    uptimeMs: num(a.uptimeMs),
    version: str(a.version),
  };
}

export function parseStats(v: unknown, receivedAt: number): StatsSample | undefined {
  const s = loose<Api.AgentEventMap['stats']>(v);
  if (!s) return undefined;
  return {
    at: parseTime(s.at) ?? receivedAt,
    queueDepth: num(s.queueDepth) ?? 0,
    healthScore: num(s.healthScore),
    msgsInPerSec: num(s.msgsInPerSec) ?? 0,
    msgsOutPerSec: num(s.msgsOutPerSec) ?? 0,
    bytesInPerSec: num(s.bytesInPerSec) ?? 0,
    bytesOutPerSec: num(s.bytesOutPerSec) ?? 0,
    members: numberRecord(s.members),
  };
}

/** Every field of every kind of query line, for reading one whose kind is not known yet. */
type AnyQueryLine = { type: Api.QueryLine['type'] } & Omit<Extract<Api.QueryLine, { type: 'ack' }>, 'type'> &
  Omit<Extract<Api.QueryLine, { type: 'response' }>, 'type'> &
  Omit<Extract<Api.QueryLine, { type: 'done' }>, 'type'>;

export function parseQueryLine(v: unknown): QueryLine | undefined {
  const l = loose<AnyQueryLine>(v);
  if (!l) return undefined;
  const type = l.type;
  if (type === 'done') return { type, acks: num(l.acks), responses: num(l.responses) };
  const from = str(l.from);
  if (from === undefined) return undefined;
  const elapsedMs = num(l.elapsedMs);
  const at = parseTime(l.at);
  if (type === 'ack') return { type, from, elapsedMs, at };
  if (type === 'response') return { type, from, payload: payloadText(l), elapsedMs, at };
  return undefined;
}

/** A payload for display: the UTF-8 `payload`, or `payloadBase64` decoded when it is text. */
export function payloadText(v: Loose<Api.PayloadRequest>): string {
  const s = str(v.payload);
  if (s !== undefined) return s;
  const b = str(v.payloadBase64);
  if (b === undefined) return '';
  try {
    const bytes = Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `(${Math.floor((b.length * 3) / 4)} bytes, binary)`;
  }
}

export { isObj, num, str };
