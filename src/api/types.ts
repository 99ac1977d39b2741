/**
 * The agent's HTTP API (`docs/http-api.md`) as TypeScript types: one set, used by the server
 * (`src/agent/http.ts`), the CLI and {@link GossipClient} (`src/api/client.ts`), and the
 * dashboard (`web/src/api-types.ts`), so a field renamed on one side fails to compile on the
 * others.
 *
 * {@link Endpoints} lists every endpoint under `/v1/` with its query, body and answer. To add one:
 * 1. add its request and answer types here and an entry to {@link Endpoints} (and its name to
 *    {@link ENDPOINTS}; a type check fails until both agree);
 * 2. register it in `src/agent/http.ts` with `on('METHOD /v1/path', handler)`, which types the
 *    handler's answer by this entry (`test/api/client.test.ts` checks every entry is served);
 * 3. add a method to {@link GossipClient} and a row to `docs/http-api.md`.
 *
 * This module is types and constants only: no imports, no Node or DOM types, so the browser
 * build of the dashboard can use it as it is.
 */

// ---------------------------------------------------------------------------------------------
// Members

/** Serf's view of a member, as `serf members` prints it. */
export type SerfMemberStatus = 'alive' | 'leaving' | 'left' | 'failed';
/** memberlist's view of a member: the SWIM state machine. */
export type SwimMemberStatus = 'alive' | 'suspect' | 'dead' | 'left';

/** A protocol version range a member speaks. */
export interface ProtocolRangeJson {
  min: number;
  max: number;
  /** The version it speaks now. */
  version: number;
}

/** One member in the shape of `serf members -format=json` (`GET /v1/members`). */
export interface MemberJson {
  name: string;
  /** `ip:port` (`[ip6]:port` for IPv6). */
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: SerfMemberStatus;
  /** The Serf ("delegate") protocol range. */
  protocol: ProtocolRangeJson;
}

/** One member with memberlist's view added (`GET /v1/members/detail`, member events). */
export interface MemberDetail extends MemberJson {
  swimStatus: SwimMemberStatus;
  /** The member's SWIM incarnation number. */
  incarnation: number;
  /** ISO time of the last SWIM state change; absent for a member memberlist no longer holds. */
  lastChange?: string;
  /** The memberlist protocol range. */
  memberlistProtocol: ProtocolRangeJson;
  /** True for the agent's own node. */
  isLocal: boolean;
}

/** Filters of `GET /v1/members` and `/v1/members/detail` (all must match). */
export interface MemberFilterQuery {
  status?: SerfMemberStatus;
  /** A regular expression the whole name must match. */
  name?: string;
  /** Tag filters, `KEY=REGEX` each; the whole value must match. */
  tag?: string[];
}

/** `GET /v1/members`. */
export interface MembersResponse {
  members: MemberJson[];
}

/** `GET /v1/members/detail`. */
export interface MembersDetailResponse {
  members: MemberDetail[];
}

// ---------------------------------------------------------------------------------------------
// The agent

/** `GET /v1/agent`: the local node, with its health and counters. */
export interface AgentResponse extends MemberDetail {
  /** Lifeguard's awareness score: 0 is healthy, up to `healthScoreMax - 1`. */
  healthScore: number;
  /** The score's exclusive upper bound (memberlist's `awarenessMaxMultiplier`). */
  healthScoreMax: number;
  /** Broadcast queue depths by queue. */
  queues: { memberlist: number; intents: number; events: number; queries: number };
  /** Lamport clocks. */
  clocks: { member: number; event: number; query: number };
  /** Gossip encryption is on. */
  encrypted: boolean;
  /** ms since the agent started. */
  uptimeMs: number;
  /** The package version. */
  version: string;
  /** The HTTP API's address, `ip:port`. */
  http: string;
  /** The timing profile (`lan`, `wan` or `local`). */
  profile: string;
  /** The event-loop lag last measured (ms), an input of the health score. */
  eventLoopLagMs: number;
}

/**
 * `GET /v1/health/live` and `/v1/health/ready`: the same report from both, with status 200
 * when that check passes and 503 when it does not (for a platform's probes; no token needed).
 */
export interface HealthResponse {
  /** The process runs its node (false only once it has shut down). */
  live: boolean;
  /** Joined (or alone by choice) and not leaving. */
  ready: boolean;
  /** Where the node is in its life, as readiness sees it. */
  state: 'starting' | 'joining' | 'ready' | 'leaving' | 'stopped';
  /** Why it is (not) ready, in words for an operator. */
  reason: string;
  /** Members this node sees alive, itself included. */
  aliveMembers: number;
}

/** `GET /v1/info`: like `serf info` (its key names). */
export interface InfoResponse {
  agent: { name: string; version: string };
  runtime: { os: string; arch: string; node: string; pid: number };
  serf: {
    members: number;
    failed: number;
    left: number;
    health_score: number;
    member_time: number;
    event_time: number;
    query_time: number;
    intent_queue: number;
    event_queue: number;
    query_queue: number;
    encrypted: boolean;
  };
  tags: Record<string, string>;
}

/** `GET /v1/rtt/:a[/:b]`: estimated round-trip time from network coordinates. */
export interface RttResponse {
  a: string;
  /** The second node (the agent's own when not given). */
  b: string;
  rttMs: number;
}

// ---------------------------------------------------------------------------------------------
// Cluster operations

/** `POST /v1/join`. */
export interface JoinRequest {
  /** `host[:port]` addresses (port 7946 by default); one answering is enough. */
  addrs: string[];
  /** Also deliver user events sent before the join. @default false */
  replay?: boolean;
}

/** Answer of `POST /v1/join`. */
export interface JoinResponse {
  /** How many addresses answered. */
  joined: number;
}

/** Answer of `POST /v1/leave` (the agent shuts down after answering). */
export interface LeaveResponse {
  left: true;
}

/**
 * A payload in a request: UTF-8 text as `payload`, or any bytes as `payloadBase64` (which wins
 * when both are given). Neither is an empty payload.
 */
export interface PayloadRequest {
  payload?: string;
  payloadBase64?: string;
}

/** A payload in an answer or event: `payload` when it is valid UTF-8, else `payloadBase64`. */
export type PayloadJson =
  | { payload: string; payloadBase64?: never }
  | { payloadBase64: string; payload?: never };

/** `POST /v1/event`: a user event to every member. */
export interface EventRequest extends PayloadRequest {
  name: string;
  /** Let Serf coalesce events of the same name. @default true */
  coalesce?: boolean;
}

/** Answer of `POST /v1/event`. */
export interface EventResponse {
  /** The event's Lamport time. */
  lTime: number;
}

/** `POST /v1/query`. */
export interface QueryRequest extends PayloadRequest {
  name: string;
  /** How long to collect answers; Serf's default (from the cluster size) when absent. At most an hour. */
  timeoutMs?: number;
  /** Only these nodes answer. */
  filterNodes?: string[];
  /** Only nodes whose tag matches the regular expression answer. */
  filterTags?: Record<string, string>;
  /** Ask every node that gets the query to acknowledge it. @default false */
  requestAck?: boolean;
  /** Also relay each answer through this many other members (0-5). @default 0 */
  relayFactor?: number;
}

/** One line of the NDJSON answer of `POST /v1/query`: acks and responses as they come, then `done`. */
export type QueryLine =
  | { type: 'ack'; from: string; elapsedMs: number; at: string }
  | { type: 'response'; from: string; payload: string; elapsedMs: number; at: string }
  | { type: 'done'; acks: number; responses: number };

/** `POST /v1/keys`. */
export interface KeyOpRequest {
  op: 'install' | 'use' | 'remove';
  /** A base64 AES key (16, 24 or 32 bytes). */
  key: string;
}

/** Answer of `GET /v1/keys` and `POST /v1/keys`: the cluster's tally (Serf's `KeyResponse`). */
export interface KeysResponse {
  /** Members counted when the query went out. */
  numNodes: number;
  numResp: number;
  numErr: number;
  /** Node → message, for nodes that failed or answered with a note. */
  messages: Record<string, string>;
  /** Base64 key → how many nodes hold it (listing). */
  keys: Record<string, number>;
  /** Base64 primary key → how many nodes use it (listing). */
  primaryKeys: Record<string, number>;
  /** Serf's verdict when not every node succeeded; absent when all did. */
  error?: string;
}

/** `POST /v1/tags`. */
export interface TagsRequest {
  /** Tags to set. */
  set?: Record<string, string>;
  /** Tags to delete. */
  delete?: string[];
}

/** Answer of `POST /v1/tags`: the agent's tags now. */
export interface TagsResponse {
  tags: Record<string, string>;
}

/** Every error answer (4xx, 5xx). */
export interface ErrorResponse {
  /** What went wrong and what to do. */
  error: string;
}

// ---------------------------------------------------------------------------------------------
// The replicated state (`gossip kv`)

/** A value in an answer: `value` when it is valid UTF-8 text, else `valueBase64`. */
export type ValueJson = { value: string; valueBase64?: never } | { valueBase64: string; value?: never };

/** One key in `GET /v1/kv`: its value and the version its owner wrote it at. */
export type KvItemJson = ValueJson & { version: number };

/** Filters of `GET /v1/kv` (list and watch). */
export interface KvQuery {
  /** Only this node's map. */
  node?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** `1` (or `true`): a watch, as server-sent events ({@link KvWatchEvent}), instead of the list. */
  watch?: string;
  /** Watch only: resume after this token (else the `Last-Event-ID` header's). */
  since?: string;
}

/** `GET /v1/kv`: every visible key, by node, then key (`gossip kv list --format json`). */
export interface KvListResponse {
  nodes: Record<string, Record<string, KvItemJson>>;
}

/** How a map's owner stands: Serf's status from this agent's point of view. */
export type KvOwnerStatus = 'alive' | 'leaving' | 'left' | 'failed';

/** `GET /v1/kv/:key`: one key of one node's map (the agent's own unless `?node=`). */
export type KvEntryJson = ValueJson & {
  node: string;
  key: string;
  version: number;
  /** The owner's generation (grows across its restarts). */
  generation: number;
  /** It disappears when its owner leaves or fails. */
  ephemeral: boolean;
  /** Milliseconds it has left to live, for a key with a TTL. */
  ttlRemainingMs?: number;
  ownerStatus: KvOwnerStatus;
};

/** `PUT /v1/kv/:key` (the body is the raw value, any bytes): its options. */
export interface KvPutQuery {
  /** Time to live, a Go duration (`30s`, `5m`). */
  ttl?: string;
  /** `true`: the key disappears when this agent leaves or fails, and does not survive a restart. */
  ephemeral?: string;
}

/** Answer of `PUT` and `DELETE /v1/kv/:key`: the version the write took. */
export interface KvWriteResponse {
  version: number;
  generation: number;
}

/** Why a key stopped being visible. */
export type KvDeleteCause =
  | 'deleted'
  | 'expired'
  | 'owner-failed'
  | 'owner-left'
  | 'generation'
  | 'forgotten';

/**
 * The events of a watch (`GET /v1/kv?watch=1`, server-sent events): first every visible key
 * the filter selects as a `set` with `snapshot: true`, then `ready` (whose id is the first
 * resume token), then every `set` and `delete` as this agent applies it, each with its token as
 * the event id (send it back as `Last-Event-ID` or `?since=` to resume without a snapshot).
 */
export interface KvWatchEventMap {
  set: ValueJson & { node: string; key: string; version: number; generation: number; snapshot?: true };
  delete: { node: string; key: string; version: number; generation: number; cause: KvDeleteCause };
  ready: { token: string };
}

/** One watch event, typed by its `event`; `id` is its resume token (absent on snapshot entries). */
export type KvWatchEvent = {
  [E in keyof KvWatchEventMap]: { event: E; id?: string; data: KvWatchEventMap[E] };
}[keyof KvWatchEventMap];

/** One node's copy of a map, in `GET /v1/replicas/:node` (generation 0: it holds none). */
export interface ReplicaJson {
  node: string;
  generation: number;
  version: number;
}

/**
 * `GET /v1/replicas/:node`: where every live node of ours stands on `node`'s map (the agent's
 * own copy first), as they answered within a second: how far a write has spread.
 */
export interface ReplicasResponse {
  node: string;
  replicas: ReplicaJson[];
}

// ---------------------------------------------------------------------------------------------
// Streams

/** Every event of `GET /v1/events` (server-sent events): event type → data. */
export interface AgentEventMap {
  'member-join': { member: MemberDetail; at: string };
  'member-leave': { member: MemberDetail; at: string };
  'member-failed': { member: MemberDetail; at: string };
  'member-update': { member: MemberDetail; at: string };
  'member-reap': { member: MemberDetail; at: string };
  /** This agent holds `member` suspect, on `from`'s word. */
  'member-suspect': {
    member: MemberDetail | { name: string; swimStatus: SwimMemberStatus };
    from: string;
    at: string;
  };
  /** A member this agent held suspect was seen alive at a higher incarnation. */
  'member-refute': { member: MemberDetail | { name: string; swimStatus: SwimMemberStatus }; at: string };
  /** This agent refuted a suspicion of itself. */
  refute: { incarnation: number; reason: string; at: string };
  user: PayloadJson & { name: string; lTime: number; coalesce: boolean; at: string };
  query: PayloadJson & { name: string; lTime: number; from: string; at: string };
  /** The local health score changed. */
  health: { score: number; reason: string; at: string };
  /** One probe of this agent's (memberlist's `probe` event). */
  probe: {
    target: string;
    ok: boolean;
    rttMs?: number;
    indirect: boolean;
    inconclusive?: boolean;
    at: string;
  };
  /**
   * Seed discovery (`--join`) put this agent in a cluster: it `joined` one through `through`,
   * another node joined it (`joined-by-peer`), or it formed one as the lowest name found.
   */
  discovery: { formed: 'joined' | 'joined-by-peer' | 'lowest-name'; through?: string; at: string };
  /**
   * `--keyring-dir`: the key files were `read` (or were `invalid`: the last good ones stay), the
   * rotation did a step (`install`, `use`, `remove` of `key`, a short SHA-256 id, never the key),
   * `wait`s (`detail` says for what), `failed` a step (retried), or is `done`.
   */
  'keyring-dir': {
    action: 'read' | 'invalid' | 'install' | 'use' | 'remove' | 'wait' | 'failed' | 'done';
    key?: string;
    detail: string;
    at: string;
  };
  /** Once a second. */
  stats: {
    at: string;
    healthScore: number;
    /** All broadcast queues together. */
    queueDepth: number;
    msgsInPerSec: number;
    msgsOutPerSec: number;
    bytesInPerSec: number;
    bytesOutPerSec: number;
    /** Members by Serf status. */
    members: Record<string, number>;
  };
}

/** An event type of `GET /v1/events`. */
export type AgentEventType = keyof AgentEventMap;

/** Every event type, in a stable order. */
export const AGENT_EVENT_TYPES = [
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
  'discovery',
  'keyring-dir',
  'stats',
] as const satisfies readonly AgentEventType[];

// Fails to compile, naming the event, when AGENT_EVENT_TYPES misses an entry of AgentEventMap.
type UnlistedEvent = Exclude<AgentEventType, (typeof AGENT_EVENT_TYPES)[number]>;
const everyEventListed: [UnlistedEvent] extends [never] ? true : UnlistedEvent = true;
void everyEventListed;

/** One event off the stream, typed by its `event`. */
export type AgentEvent = { [E in AgentEventType]: { event: E; data: AgentEventMap[E] } }[AgentEventType];

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One record of `GET /v1/monitor` (server-sent events of type `log`). */
export interface LogRecord {
  /** ISO time. */
  time: string;
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// The endpoint table

/**
 * Every endpoint under `/v1/`, keyed `METHOD /path` (`:param` is one path segment): `query` (URL
 * parameters), `body` (JSON request body), and either `response` (one JSON answer), `ndjson`
 * (an NDJSON stream of such lines) or `sse` (a server-sent event stream of such items).
 * `GET /v1/kv` has both: the list, or with `watch=1` the watch stream. `:key+` takes the rest
 * of the path, slashes included (URL-encoded or not).
 */
export interface Endpoints {
  'GET /v1/health/live': { response: HealthResponse };
  'GET /v1/health/ready': { response: HealthResponse };
  'GET /v1/members': { query: MemberFilterQuery; response: MembersResponse };
  'GET /v1/members/detail': { query: MemberFilterQuery; response: MembersDetailResponse };
  'GET /v1/members/:name': { response: MemberDetail };
  'GET /v1/agent': { response: AgentResponse };
  'GET /v1/info': { response: InfoResponse };
  'GET /v1/rtt/:a': { response: RttResponse };
  'GET /v1/rtt/:a/:b': { response: RttResponse };
  'POST /v1/join': { body: JoinRequest; response: JoinResponse };
  'POST /v1/leave': { response: LeaveResponse };
  'POST /v1/event': { body: EventRequest; response: EventResponse };
  'POST /v1/query': { body: QueryRequest; ndjson: QueryLine };
  'GET /v1/keys': { response: KeysResponse };
  'POST /v1/keys': { body: KeyOpRequest; response: KeysResponse };
  'POST /v1/tags': { body: TagsRequest; response: TagsResponse };
  'GET /v1/events': { query: { types?: string }; sse: AgentEvent };
  'GET /v1/monitor': { query: { level?: LogLevel }; sse: LogRecord };
  'GET /v1/kv': { query: KvQuery; response: KvListResponse; sse: KvWatchEvent };
  'GET /v1/kv/:key+': { query: { node?: string }; response: KvEntryJson };
  'PUT /v1/kv/:key+': { query: KvPutQuery; response: KvWriteResponse };
  'DELETE /v1/kv/:key+': { response: KvWriteResponse };
  'GET /v1/replicas/:node': { response: ReplicasResponse };
}

/** An endpoint's name, `METHOD /path`. */
export type Endpoint = keyof Endpoints;

/** Endpoints that answer with one JSON document. */
export type JsonEndpoint = {
  [E in Endpoint]: Endpoints[E] extends { response: unknown } ? E : never;
}[Endpoint];

/** The JSON answer of endpoint `E`. */
export type ResponseOf<E extends JsonEndpoint> = Endpoints[E] extends { response: infer R } ? R : never;

/** The JSON body endpoint `E` takes (`undefined` when it takes none). */
export type BodyOf<E extends Endpoint> = Endpoints[E] extends { body: infer B } ? B : undefined;

/** Every endpoint's name, in `docs/http-api.md`'s order (pinned equal to {@link Endpoint}). */
export const ENDPOINTS = [
  'GET /v1/health/live',
  'GET /v1/health/ready',
  'GET /v1/members',
  'GET /v1/members/detail',
  'GET /v1/members/:name',
  'GET /v1/agent',
  'GET /v1/info',
  'GET /v1/rtt/:a',
  'GET /v1/rtt/:a/:b',
  'POST /v1/join',
  'POST /v1/leave',
  'POST /v1/event',
  'POST /v1/query',
  'GET /v1/keys',
  'POST /v1/keys',
  'POST /v1/tags',
  'GET /v1/events',
  'GET /v1/monitor',
  'GET /v1/kv',
  'GET /v1/kv/:key+',
  'PUT /v1/kv/:key+',
  'DELETE /v1/kv/:key+',
  'GET /v1/replicas/:node',
] as const satisfies readonly Endpoint[];

// Fails to compile, naming the endpoint, when ENDPOINTS misses an entry of Endpoints.
type Unlisted = Exclude<Endpoint, (typeof ENDPOINTS)[number]>;
const everyEndpointListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyEndpointListed;
