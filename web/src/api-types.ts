/**
 * The shapes the dashboard reads from the agent's HTTP API (docs/http-api.md). Everything that
 * comes off the wire is `unknown` until one of the `parse*` functions here has checked it: a
 * newer or older agent may add, drop or rename a field, and the page must degrade (show "—"),
 * never crash. These functions are pure and DOM-free so node:test can run them.
 */

/** Serf's member status, as `serf members` prints it. */
export type SerfStatus = 'alive' | 'leaving' | 'left' | 'failed' | 'none';
/** memberlist's own view of the member (the SWIM state machine). */
export type SwimStatus = 'alive' | 'suspect' | 'dead' | 'left';

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

/** The event types of `GET /v1/events` the dashboard listens for. */
export const EVENT_TYPES = [
  'member-join',
  'member-leave',
  'member-failed',
  'member-update',
  'member-reap',
  'member-suspect',
  'member-refute',
  'refute',
  'user',
  'query',
  'health',
  'probe',
  'stats',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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
  if (!isObj(v)) return undefined;
  const name = str(v['name']);
  if (name === undefined) return undefined;
  const status = str(v['status']) ?? 'none';
  const swim = str(v['swimStatus']);
  const p = v['protocol'];
  const protocol =
    isObj(p) && num(p['min']) !== undefined
      ? { min: num(p['min']) ?? 0, max: num(p['max']) ?? 0, version: num(p['version']) ?? 0 }
      : undefined;
  return {
    name,
    addr: str(v['addr']) ?? '',
    port: num(v['port']) ?? 0,
    tags: stringRecord(v['tags']),
    status: (SERF_STATUSES.includes(status) ? status : 'none') as SerfStatus,
    swimStatus: swim !== undefined && SWIM_STATUSES.includes(swim) ? (swim as SwimStatus) : undefined,
    incarnation: num(v['incarnation']),
    protocol,
    lastChangeAt: parseTime(v['lastChange']),
  };
}

/** `{"members": [...]}` → the members that parse; malformed entries are skipped. */
export function parseMembers(v: unknown): MemberDetail[] {
  if (!isObj(v) || !Array.isArray(v['members'])) return [];
  const out: MemberDetail[] = [];
  for (const m of v['members']) {
    const p = parseMember(m);
    if (p) out.push(p);
  }
  return out;
}

export function parseAgent(v: unknown): AgentInfo | undefined {
  if (!isObj(v)) return undefined;
  const name = str(v['name']);
  if (name === undefined) return undefined;
  const max = num(v['healthScoreMax']);
  return {
    name,
    addr: str(v['addr']),
    tags: stringRecord(v['tags']),
    incarnation: num(v['incarnation']),
    healthScore: num(v['healthScore']),
    healthScoreMax: max !== undefined && max >= 1 ? max : 8,
    queues: numberRecord(v['queues']),
    clocks: numberRecord(v['clocks']),
    encrypted: typeof v['encrypted'] === 'boolean' ? v['encrypted'] : undefined,
    uptimeMs: num(v['uptimeMs']),
    version: str(v['version']),
  };
}

export function parseStats(v: unknown, receivedAt: number): StatsSample | undefined {
  if (!isObj(v)) return undefined;
  return {
    at: parseTime(v['at']) ?? receivedAt,
    queueDepth: num(v['queueDepth']) ?? 0,
    healthScore: num(v['healthScore']),
    msgsInPerSec: num(v['msgsInPerSec']) ?? 0,
    msgsOutPerSec: num(v['msgsOutPerSec']) ?? 0,
    bytesInPerSec: num(v['bytesInPerSec']) ?? 0,
    bytesOutPerSec: num(v['bytesOutPerSec']) ?? 0,
    members: numberRecord(v['members']),
  };
}

export function parseQueryLine(v: unknown): QueryLine | undefined {
  if (!isObj(v)) return undefined;
  const type = v['type'];
  if (type === 'done') return { type, acks: num(v['acks']), responses: num(v['responses']) };
  const from = str(v['from']);
  if (from === undefined) return undefined;
  const elapsedMs = num(v['elapsedMs']);
  const at = parseTime(v['at']);
  if (type === 'ack') return { type, from, elapsedMs, at };
  if (type === 'response') return { type, from, payload: payloadText(v), elapsedMs, at };
  return undefined;
}

/** A payload for display: the UTF-8 `payload`, or `payloadBase64` decoded when it is text. */
export function payloadText(v: Obj): string {
  const s = str(v['payload']);
  if (s !== undefined) return s;
  const b = str(v['payloadBase64']);
  if (b === undefined) return '';
  try {
    const bytes = Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `(${Math.floor((b.length * 3) / 4)} bytes, binary)`;
  }
}

export { isObj, num, str };
