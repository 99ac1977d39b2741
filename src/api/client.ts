/**
 * `GossipClient`: a small typed client for a running agent's HTTP API (`docs/http-api.md`),
 * for programs that manage agents; the `gossip` CLI uses it for every command but `agent`.
 * Every answer is typed by `src/api/types.ts`, the types the server is written against.
 *
 * It needs only `fetch`, `AbortSignal` and `TextDecoder` (Node 20, Deno, Bun, browsers), and
 * loads none of the protocol: `import { GossipClient } from 'gossip/client'`.
 *
 * ```ts
 * import { GossipClient } from 'gossip/client';
 * const agent = new GossipClient({ http: '127.0.0.1:7373' });
 * const { members } = await agent.members({ status: 'alive' });
 * await agent.event('deploy', 'v2');
 * for await (const e of agent.events({ signal: AbortSignal.timeout(10_000) })) {
 *   if (e.event === 'member-failed') console.log('failed:', e.data.member.name);
 * }
 * ```
 */
import { AgentApiError } from '../errors.ts';
import type {
  AgentEvent,
  AgentEventType,
  AgentResponse,
  BodyOf,
  EventResponse,
  HealthResponse,
  InfoResponse,
  JoinResponse,
  JsonEndpoint,
  KeysResponse,
  KvEntryJson,
  KvListResponse,
  KvWatchEvent,
  KvWriteResponse,
  LeaveResponse,
  LogLevel,
  LogRecord,
  MemberDetail,
  MemberFilterQuery,
  MembersDetailResponse,
  MembersResponse,
  QueryLine,
  QueryRequest,
  ReplicasResponse,
  ResponseOf,
  RttResponse,
  TagsRequest,
  TagsResponse,
} from './types.ts';

/** Options of a {@link GossipClient}. */
export interface GossipClientOptions {
  /**
   * The agent's HTTP API: `ip:port`, `host:port` or a URL (`https://...` behind a proxy).
   * @default '127.0.0.1:7373'
   */
  http?: string;
  /** The agent's `--http-token`, sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Longest wait for a JSON answer, in ms (streams are bounded by their `signal` only). @default 30000 */
  timeoutMs?: number;
  /**
   * How requests are made: the global `fetch` by default. The `gossip` CLI passes one on
   * `node:http` (src/cli/http-fetch.ts), since loading Node's `fetch` cost a short command more
   * start-up time than all of its own code.
   */
  fetch?: FetchLike;
}

/** The part of `fetch` that {@link GossipClient} uses; the global `fetch` is one. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal },
) => Promise<ResponseLike>;

/** The part of a fetch `Response` that {@link GossipClient} reads. */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  json(): Promise<unknown>;
  text(): Promise<string>;
  readonly body: {
    getReader(): {
      read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
      cancel(): Promise<void>;
    };
  } | null;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call; it rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link GossipClient.query}, beside the name and payload. */
export type QueryOptions = Omit<QueryRequest, 'name' | 'payload' | 'payloadBase64'> & CallOptions;

/** The default address of an agent's HTTP API. */
export const DEFAULT_HTTP_ADDR = '127.0.0.1:7373';
/** Longest line (or server-sent event) accepted from a stream, in characters. */
export const STREAM_LINE_MAX = 1024 * 1024;

/** A payload for the API: text as `payload`, bytes as `payloadBase64`. */
function payloadFields(payload: string | Uint8Array | undefined): {
  payload?: string;
  payloadBase64?: string;
} {
  if (payload === undefined) return {};
  if (typeof payload === 'string') return { payload };
  let binary = '';
  for (let i = 0; i < payload.length; i += 0x8000) {
    binary += String.fromCharCode(...payload.subarray(i, i + 0x8000));
  }
  return { payloadBase64: btoa(binary) };
}

/** A client for one agent's HTTP API. Construction does no I/O. */
export class GossipClient {
  /** The API's base URL, without a trailing slash. */
  readonly base: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetchImpl: FetchLike;

  constructor(options: GossipClientOptions = {}) {
    const http = options.http ?? DEFAULT_HTTP_ADDR;
    this.base = /^https?:\/\//.test(http) ? http.replace(/\/+$/, '') : `http://${http}`;
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
  }

  // -------------------------------------------------------------------------------------------
  // Members and the agent

  /** `GET /v1/members`: the members, as `serf members -format=json` prints them. */
  members(filter: MemberFilterQuery = {}, options?: CallOptions): Promise<MembersResponse> {
    return this.#json('GET /v1/members', {}, filterQuery(filter), undefined, options);
  }

  /** `GET /v1/members/detail`: the members with memberlist's view (SWIM status, incarnation). */
  membersDetail(filter: MemberFilterQuery = {}, options?: CallOptions): Promise<MembersDetailResponse> {
    return this.#json('GET /v1/members/detail', {}, filterQuery(filter), undefined, options);
  }

  /** `GET /v1/members/:name`: one member; rejects with status 404 when unknown. */
  member(name: string, options?: CallOptions): Promise<MemberDetail> {
    return this.#json('GET /v1/members/:name', { name }, undefined, undefined, options);
  }

  /**
   * `GET /v1/health/live` or `/v1/health/ready`: the agent's health report. A failing check
   * (HTTP 503) resolves too; `live` or `ready` in the report says whether it passed.
   */
  async health(check: 'live' | 'ready', options?: CallOptions): Promise<HealthResponse> {
    const res = await this.#fetch('GET', `/v1/health/${check}`, undefined, options?.signal, true, [503]);
    return (await res.json()) as HealthResponse;
  }

  /** `GET /v1/agent`: the local node, its health score, queues and clocks. */
  agent(options?: CallOptions): Promise<AgentResponse> {
    return this.#json('GET /v1/agent', {}, undefined, undefined, options);
  }

  /** `GET /v1/info`: `serf info`'s counters. */
  info(options?: CallOptions): Promise<InfoResponse> {
    return this.#json('GET /v1/info', {}, undefined, undefined, options);
  }

  /** `GET /v1/rtt/:a[/:b]`: the estimated RTT between `a` and `b` (default: the agent's node). */
  rtt(a: string, b?: string, options?: CallOptions): Promise<RttResponse> {
    return b === undefined
      ? this.#json('GET /v1/rtt/:a', { a }, undefined, undefined, options)
      : this.#json('GET /v1/rtt/:a/:b', { a, b }, undefined, undefined, options);
  }

  // -------------------------------------------------------------------------------------------
  // Cluster operations

  /** `POST /v1/join`: joins through `addrs` (`host[:port]`); resolves to how many answered. */
  join(addrs: string[], options: { replay?: boolean } & CallOptions = {}): Promise<JoinResponse> {
    const body: BodyOf<'POST /v1/join'> = { addrs, replay: options.replay ?? false };
    return this.#json('POST /v1/join', {}, undefined, body, options);
  }

  /** `POST /v1/leave`: leaves the cluster gracefully; the agent then shuts down. */
  leave(options?: CallOptions): Promise<LeaveResponse> {
    return this.#json('POST /v1/leave', {}, undefined, {}, options);
  }

  /** `POST /v1/event`: a user event to every member; resolves to its Lamport time. */
  event(
    name: string,
    payload?: string | Uint8Array,
    options: { coalesce?: boolean } & CallOptions = {},
  ): Promise<EventResponse> {
    const body: BodyOf<'POST /v1/event'> = { name, ...payloadFields(payload) };
    if (options.coalesce !== undefined) body.coalesce = options.coalesce;
    return this.#json('POST /v1/event', {}, undefined, body, options);
  }

  /**
   * `POST /v1/query`: asks the cluster; yields acks and responses as they arrive, then `done`.
   * Breaking out of the loop (or `signal`) cancels the query.
   */
  async *query(
    name: string,
    payload?: string | Uint8Array,
    options: QueryOptions = {},
  ): AsyncGenerator<QueryLine> {
    const { signal, ...rest } = options;
    const body: BodyOf<'POST /v1/query'> = { name, ...payloadFields(payload), ...rest };
    const res = await this.#fetch('POST', '/v1/query', body, signal, false);
    for await (const line of readLines(res, signal)) {
      if (line.trim() !== '') yield JSON.parse(line) as QueryLine;
    }
  }

  /** `GET /v1/keys`: every installed key and how many nodes hold it. */
  keys(options?: CallOptions): Promise<KeysResponse> {
    return this.#json('GET /v1/keys', {}, undefined, undefined, options);
  }

  /** `POST /v1/keys`: installs, makes primary, or removes `key` (base64) on every member. */
  keyOp(op: 'install' | 'use' | 'remove', key: string, options?: CallOptions): Promise<KeysResponse> {
    return this.#json('POST /v1/keys', {}, undefined, { op, key }, options);
  }

  /** `POST /v1/tags`: sets and deletes the agent's tags; resolves to its tags now. */
  setTags(change: TagsRequest, options?: CallOptions): Promise<TagsResponse> {
    return this.#json('POST /v1/tags', {}, undefined, change, options);
  }

  // -------------------------------------------------------------------------------------------
  // Streams

  /**
   * `GET /v1/events`: the agent's events (member changes, user events, queries, probes, health,
   * stats) as they happen, the recent past first, until `signal` aborts or the loop breaks.
   */
  async *events(
    options: {
      /** Event types, or prefixes of them (`member` for every `member-*`); all when absent. */
      types?: (AgentEventType | 'member')[];
    } & CallOptions = {},
  ): AsyncGenerator<AgentEvent> {
    const query = options.types ? `?types=${encodeURIComponent(options.types.join(','))}` : '';
    const res = await this.#fetch('GET', `/v1/events${query}`, undefined, options.signal, false);
    for await (const e of readServerSentEvents(res, options.signal)) {
      yield { event: e.event, data: JSON.parse(e.data) } as AgentEvent;
    }
  }

  /** `GET /v1/monitor`: the agent's log records at `level` and above, the recent past first. */
  async *monitor(options: { level?: LogLevel } & CallOptions = {}): AsyncGenerator<LogRecord> {
    const res = await this.#fetch(
      'GET',
      `/v1/monitor?level=${options.level ?? 'info'}`,
      undefined,
      options.signal,
      false,
    );
    for await (const e of readServerSentEvents(res, options.signal)) {
      if (e.event === 'log') yield JSON.parse(e.data) as LogRecord;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The replicated state

  /** `GET /v1/kv`: every visible key by node (one node's with `node`, under `prefix`). */
  kvList(filter: { node?: string; prefix?: string } = {}, options?: CallOptions): Promise<KvListResponse> {
    const q = new URLSearchParams();
    if (filter.node !== undefined) q.set('node', filter.node);
    if (filter.prefix !== undefined) q.set('prefix', filter.prefix);
    return this.#json('GET /v1/kv', {}, q, undefined, options);
  }

  /** `GET /v1/kv/:key`: one key of `node`'s map (the agent's own by default); undefined when absent. */
  async kvGet(key: string, options: { node?: string } & CallOptions = {}): Promise<KvEntryJson | undefined> {
    const q = options.node !== undefined ? `?node=${encodeURIComponent(options.node)}` : '';
    const res = await this.#fetch(
      'GET',
      `/v1/kv/${encodeURIComponent(key)}${q}`,
      undefined,
      options.signal,
      true,
      [404],
    );
    return res.status === 404 ? undefined : ((await res.json()) as KvEntryJson);
  }

  /** `PUT /v1/kv/:key`: writes `key` in the agent's own map (text as UTF-8). */
  kvSet(
    key: string,
    value: string | Uint8Array,
    options: { ttl?: string; ephemeral?: boolean } & CallOptions = {},
  ): Promise<KvWriteResponse> {
    const q = new URLSearchParams();
    if (options.ttl !== undefined) q.set('ttl', options.ttl);
    if (options.ephemeral) q.set('ephemeral', 'true');
    const qs = q.toString();
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    return this.#fetch(
      'PUT',
      `/v1/kv/${encodeURIComponent(key)}${qs ? `?${qs}` : ''}`,
      bytes,
      options.signal,
      true,
    ).then((res) => res.json() as Promise<KvWriteResponse>);
  }

  /** `DELETE /v1/kv/:key`: deletes `key` from the agent's own map; undefined when it held none. */
  async kvDelete(key: string, options?: CallOptions): Promise<KvWriteResponse | undefined> {
    const res = await this.#fetch(
      'DELETE',
      `/v1/kv/${encodeURIComponent(key)}`,
      undefined,
      options?.signal,
      true,
      [404],
    );
    return res.status === 404 ? undefined : ((await res.json()) as KvWriteResponse);
  }

  /**
   * `GET /v1/kv?watch=1`: a snapshot (`set` events with `snapshot: true`, then `ready`), then
   * every change, until `signal` aborts or the loop breaks. Pass the last `id` seen as `since`
   * to resume after a disconnect.
   */
  async *kvWatch(
    options: { node?: string; prefix?: string; since?: string } & CallOptions = {},
  ): AsyncGenerator<KvWatchEvent> {
    const q = new URLSearchParams({ watch: '1' });
    if (options.node !== undefined) q.set('node', options.node);
    if (options.prefix !== undefined) q.set('prefix', options.prefix);
    if (options.since !== undefined) q.set('since', options.since);
    const res = await this.#fetch('GET', `/v1/kv?${q}`, undefined, options.signal, false);
    for await (const e of readServerSentEvents(res, options.signal)) {
      yield {
        event: e.event,
        data: JSON.parse(e.data),
        ...(e.id !== undefined ? { id: e.id } : {}),
      } as KvWatchEvent;
    }
  }

  /** `GET /v1/replicas/:node`: where every live node stands on `node`'s map (a write's spread). */
  replicas(node: string, options?: CallOptions): Promise<ReplicasResponse> {
    return this.#json('GET /v1/replicas/:node', { node }, undefined, undefined, options);
  }

  /** `GET /metrics`: the Prometheus text. */
  async metrics(options?: CallOptions): Promise<string> {
    return (await this.#fetch('GET', '/metrics', undefined, options?.signal, true)).text();
  }

  // -------------------------------------------------------------------------------------------

  async #json<E extends JsonEndpoint>(
    endpoint: E,
    params: Record<string, string>,
    query: URLSearchParams | undefined,
    body: BodyOf<E> | Record<string, never> | undefined,
    options: CallOptions | undefined,
  ): Promise<ResponseOf<E>> {
    const [method, template] = endpoint.split(' ') as [string, string];
    let path = template.replace(/:(\w+)(\{[^}]*\})?/g, (_, p: string) => encodeURIComponent(params[p] ?? ''));
    const qs = query?.toString();
    if (qs) path += `?${qs}`;
    const res = await this.#fetch(method, path, body, options?.signal, true);
    return (await res.json()) as ResponseOf<E>;
  }

  async #fetch(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    timed: boolean,
    answers: readonly number[] = [],
  ): Promise<ResponseLike> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const isRaw = body instanceof Uint8Array;
    if (body !== undefined) headers['content-type'] = isRaw ? 'application/octet-stream' : 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const signals = [signal, timed ? AbortSignal.timeout(this.#timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    let res: ResponseLike;
    try {
      res = await this.#fetchImpl(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: isRaw ? (body as Uint8Array) : JSON.stringify(body) } : {}),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new AgentApiError(
        `cannot reach the gossip agent at ${this.base} (${cause}). Is it running? Start one with \`gossip agent\`, or point --http at it.`,
        0,
        { cause: e },
      );
    }
    if (!res.ok && !answers.includes(res.status)) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const answer = (await res.json()) as { error?: unknown };
        if (typeof answer.error === 'string') message = answer.error;
      } catch {
        // not JSON: keep the status line
      }
      throw new AgentApiError(message, res.status);
    }
    return res;
  }
}

function filterQuery(filter: MemberFilterQuery): URLSearchParams {
  const q = new URLSearchParams();
  if (filter.status) q.set('status', filter.status);
  if (filter.name) q.set('name', filter.name);
  for (const t of filter.tag ?? []) q.append('tag', t);
  return q;
}

/** The body's lines (without `\n`), each at most {@link STREAM_LINE_MAX} characters. */
async function* readLines(res: ResponseLike, signal: AbortSignal | undefined): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        yield buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (buf.length > STREAM_LINE_MAX) {
        throw new AgentApiError(
          `a line of the agent's answer is over ${STREAM_LINE_MAX} characters`,
          res.status,
        );
      }
    }
    buf += decoder.decode();
    if (buf) yield buf;
  } catch (e) {
    if (signal?.aborted) return;
    throw e;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Server-sent events of the body: `{event, data, id?}` (data lines joined by `\n`). */
async function* readServerSentEvents(
  res: ResponseLike,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ event: string; data: string; id?: string }> {
  let event = 'message';
  let data: string[] = [];
  let id: string | undefined;
  for await (const line of readLines(res, signal)) {
    if (line === '') {
      if (data.length > 0) yield { event, data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
      event = 'message';
      data = [];
      id = undefined;
    } else if (line.startsWith('id:')) id = line.slice(line.startsWith('id: ') ? 4 : 3);
    else if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.reduce((n, d) => n + d.length, 0) > STREAM_LINE_MAX) {
        throw new AgentApiError(`an event from the agent is over ${STREAM_LINE_MAX} characters`, res.status);
      }
    }
  }
}
