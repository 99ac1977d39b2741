/**
 * The agent's HTTP API (docs/http-api.md): JSON under `/v1/`, server-sent event streams for
 * the dashboard and `gossip monitor`, Prometheus metrics at `/metrics`, the dashboard at `/`.
 * Every `/v1/` answer is typed by `src/api/types.ts` (`Endpoints`), the types the CLI,
 * `GossipClient` and the dashboard read it with: a JSON endpoint is registered with
 * `on('METHOD /v1/path', handler)`, whose handler must return that endpoint's answer type.
 *
 * Security: optional bearer token (mandatory off loopback, enforced at config validation);
 * bodies are capped at {@link MAX_BODY_BYTES}; every error is JSON with a message that says what
 * to do. The CLI uses exactly this API.
 */
import { timingSafeEqual } from 'node:crypto';
import type {
  AgentEvent,
  AgentResponse,
  Endpoint,
  InfoResponse,
  JsonEndpoint,
  KeysResponse,
  KvEntryJson,
  KvListResponse,
  KvWatchEvent,
  KvWriteResponse,
  LogRecord,
  MemberDetail,
  MemberJson,
  QueryLine,
  ReplicasResponse,
  ResponseOf,
  RttResponse,
} from '../api/types.ts';
import { compileGoRegexp, type GoRegexp } from '../cluster/go-regexp.ts';
import { GossipError, SizeLimitError, StateLimitError } from '../errors.ts';
import { type HealthReport, healthResponse } from '../health/health.ts';
import { KeyringError } from '../wire/crypto.ts';
import { parseDurationMs } from './duration.ts';
import { BodyTooLargeError, type Context, type Reply, Router, stream, streamSSE } from './router.ts';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Watches of the replicated state open at once (`GET /v1/kv?watch=1`); more are refused with 503. */
export const MAX_KV_WATCHES = 256;

/** What the HTTP layer needs from the agent. */
export interface AgentApi {
  membersJson(filter: MemberFilter): MemberJson[];
  membersDetail(filter: MemberFilter): MemberDetail[];
  member(name: string): MemberDetail | undefined;
  self(): AgentResponse;
  info(): InfoResponse;
  join(addrs: string[], replay: boolean): Promise<number>;
  leave(): Promise<void>;
  userEvent(name: string, payload: Uint8Array, coalesce: boolean): number;
  query(q: QueryOrder, signal: AbortSignal): AsyncIterable<QueryLine>;
  /** Estimated RTT between two members from their network coordinates (ms), or an error message. */
  rtt(a: string, b: string | undefined): RttResponse | string;
  listKeys(): Promise<KeysResponse>;
  keyOp(op: 'install' | 'use' | 'remove', key: string): Promise<KeysResponse>;
  setTags(set: Record<string, string>, del: string[]): Promise<Record<string, string>>;
  subscribeEvents(signal: AbortSignal): AsyncIterable<AgentEvent>;
  subscribeLogs(level: string, signal: AbortSignal): AsyncIterable<LogRecord>;
  renderMetrics(): Promise<{ contentType: string; body: string }>;
  dashboardAsset(path: string): Promise<DashboardResponse | undefined>;
  /** Called after `/v1/leave` has answered. */
  afterLeave(): void;
  /** Liveness and readiness (`/v1/health/live`, `/v1/health/ready`). */
  health(): HealthReport;
  /** The replicated state (`/v1/kv`). */
  kvList(filter: { node?: string | undefined; prefix?: string | undefined }): KvListResponse;
  kvGet(key: string, node: string | undefined): KvEntryJson | undefined;
  kvSet(
    key: string,
    value: Uint8Array,
    options: { ttlMs?: number | undefined; ephemeral: boolean },
  ): KvWriteResponse;
  kvDelete(key: string): KvWriteResponse | undefined;
  kvWatch(
    options: { node?: string | undefined; prefix?: string | undefined; since?: string | undefined },
    signal: AbortSignal,
  ): AsyncIterable<KvWatchEvent>;
  /** Watches of the state open now (HTTP streams and any other). */
  kvWatchCount(): number;
  /** The largest value a write may carry (the request body bound of `PUT /v1/kv`). */
  kvMaxValueBytes(): number;
  replicas(node: string): Promise<ReplicasResponse>;
}

/** A static dashboard file, as the agent hands it to the HTTP layer. */
export interface DashboardResponse {
  body: Uint8Array;
  /** The body gzip-compressed, when that is smaller. */
  gzip: Uint8Array | undefined;
  /** A strong ETag (quoted). */
  etag: string;
  contentType: string;
  cacheControl: string;
  headers: Readonly<Record<string, string>>;
}

export interface MemberFilter {
  status?: string | undefined;
  name?: GoRegexp | undefined;
  tags: [string, GoRegexp][];
}

/** A checked `POST /v1/query` body, with the payload as bytes. */
export interface QueryOrder {
  name: string;
  payload: Uint8Array;
  timeoutMs?: number | undefined;
  filterNodes: string[];
  filterTags: Record<string, string>;
  requestAck: boolean;
  relayFactor: number;
}

/** A 4xx/5xx with a JSON message. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 500 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** A filter as `serf members` takes it: a Go regexp (linear-time engine), anchored at both ends. */
function regex(value: string, what: string): GoRegexp {
  const r = compileGoRegexp(value);
  if (!r.ok) throw new HttpError(400, `${what}: "${value}" is not a valid regular expression (${r.detail})`);
  return r.regexp;
}

/** Parses the member filters shared by the members endpoints (and the CLI's flags). */
export function parseMemberFilter(url: URL): MemberFilter {
  const status = url.searchParams.get('status') ?? undefined;
  if (status !== undefined && !['alive', 'leaving', 'left', 'failed'].includes(status)) {
    throw new HttpError(400, `status must be alive, leaving, left or failed; got "${status}"`);
  }
  const nameParam = url.searchParams.get('name');
  const tags: [string, GoRegexp][] = [];
  for (const t of url.searchParams.getAll('tag')) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new HttpError(400, `tag filters are KEY=REGEX; got "${t}"`);
    tags.push([t.slice(0, eq), regex(`^(?:${t.slice(eq + 1)})$`, `tag ${t.slice(0, eq)}`)]);
  }
  return { status, name: nameParam ? regex(`^(?:${nameParam})$`, 'name') : undefined, tags };
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > MAX_BODY_BYTES) throw new HttpError(413, `the request body is over ${MAX_BODY_BYTES} bytes`);
  const text = await c.req.text(MAX_BODY_BYTES);
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function str(body: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || (required && v.length === 0)) {
    throw new HttpError(400, `"${key}" must be a ${required ? 'non-empty ' : ''}string`);
  }
  return v;
}

function payloadOf(body: Record<string, unknown>): Uint8Array {
  if (body.payloadBase64 !== undefined) {
    if (typeof body.payloadBase64 !== 'string') throw new HttpError(400, '"payloadBase64" must be a string');
    return new Uint8Array(Buffer.from(body.payloadBase64, 'base64'));
  }
  const p = body.payload;
  if (p === undefined || p === null) return new Uint8Array(0);
  if (typeof p !== 'string') throw new HttpError(400, '"payload" must be a string (or use "payloadBase64")');
  return new TextEncoder().encode(p);
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Builds the router of the API (src/agent/router.ts). `token`, when set, is required on every request. */
export function createHttpApp(api: AgentApi, token: string | undefined): Router {
  const app = new Router();

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    if (err instanceof BodyTooLargeError) return c.json({ error: err.message }, 413);
    if (err instanceof SizeLimitError || err instanceof StateLimitError)
      return c.json({ error: err.message }, 413);
    if (err instanceof KeyringError) return c.json({ error: err.message }, 400);
    if (err instanceof GossipError) {
      const status = err.code === 'bad-state' ? 409 : err.code === 'config-invalid' ? 400 : 500;
      return c.json({ error: err.message }, status);
    }
    return c.json({ error: `internal error: ${(err as Error).message}` }, 500);
  });
  app.notFound((c) =>
    c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path} (see docs/http-api.md)` }, 404),
  );

  if (token !== undefined) {
    app.use(async (c, next) => {
      // The dashboard's static files carry no cluster data, and a browser cannot add a header
      // to the page's own <script> requests; every /v1/ call and /metrics still needs the token.
      // So do the health checks not: a platform's probes (a kubelet) send no secret, and the
      // answer is a state word and a member count.
      const isHealth = c.req.path === '/v1/health/live' || c.req.path === '/v1/health/ready';
      if (
        c.req.method === 'GET' &&
        (isHealth || (!c.req.path.startsWith('/v1/') && c.req.path !== '/metrics'))
      ) {
        await next();
        return undefined;
      }
      const header = c.req.header('authorization');
      const given = header?.startsWith('Bearer ')
        ? header.slice(7)
        : (new URL(c.req.url).searchParams.get('token') ?? undefined);
      if (!tokenMatches(given, token)) {
        return c.json(
          { error: 'missing or wrong token: send "Authorization: Bearer TOKEN" (the agent\'s --http-token)' },
          401,
        );
      }
      await next();
      return undefined;
    });
  }

  /** Registers JSON endpoint `E`; the handler's answer must be `E`'s type in src/api/types.ts. */
  const on = <E extends JsonEndpoint>(
    endpoint: E,
    handler: (c: Context) => ResponseOf<E> | Promise<ResponseOf<E>>,
  ) => {
    const [method, path] = endpoint.split(' ') as [string, string];
    app.on(method, path, async (c) => c.json(await handler(c)));
  };
  /** Registers a streaming endpoint (NDJSON or server-sent events) of src/api/types.ts. */
  const stream_ = (
    endpoint: Exclude<Endpoint, JsonEndpoint>,
    handler: (c: Context) => Reply | Promise<Reply>,
  ) => {
    const [method, path] = endpoint.split(' ') as [string, string];
    app.on(method, path, handler);
  };

  for (const check of ['live', 'ready'] as const) {
    app.get(`/v1/health/${check}`, (c) => {
      const { status, body } = healthResponse(api, check);
      c.header('cache-control', 'no-store');
      return c.json(body satisfies ResponseOf<`GET /v1/health/${typeof check}`>, status);
    });
  }
  on('GET /v1/members', (c) => ({ members: api.membersJson(parseMemberFilter(new URL(c.req.url))) }));
  on('GET /v1/members/detail', (c) => ({
    members: api.membersDetail(parseMemberFilter(new URL(c.req.url))),
  }));
  on('GET /v1/members/:name', (c) => {
    const name = c.req.param('name')!;
    const m = api.member(name);
    if (m === undefined) throw new HttpError(404, `no member named "${name}"`);
    return m;
  });
  on('GET /v1/agent', () => api.self());
  const rtt = (a: string, b: string | undefined) => {
    const r = api.rtt(a, b);
    if (typeof r === 'string') throw new HttpError(404, r);
    return r;
  };
  on('GET /v1/rtt/:a', (c) => rtt(c.req.param('a')!, undefined));
  on('GET /v1/rtt/:a/:b', (c) => rtt(c.req.param('a')!, c.req.param('b')!));
  on('GET /v1/info', () => api.info());

  on('POST /v1/join', async (c) => {
    const body = await jsonBody(c);
    const addrs = body.addrs;
    if (!Array.isArray(addrs) || addrs.length === 0 || !addrs.every((a) => typeof a === 'string')) {
      throw new HttpError(400, '"addrs" must be a non-empty list of "ip:port" strings');
    }
    const joined = await api.join(addrs as string[], body.replay === true);
    return { joined };
  });

  on('POST /v1/leave', async () => {
    await api.leave();
    setImmediate(() => api.afterLeave());
    return { left: true as const };
  });

  on('POST /v1/event', async (c) => {
    const body = await jsonBody(c);
    const name = str(body, 'name')!;
    if (body.coalesce !== undefined && typeof body.coalesce !== 'boolean')
      throw new HttpError(400, '"coalesce" must be true or false');
    const lTime = api.userEvent(name, payloadOf(body), body.coalesce !== false);
    return { lTime };
  });

  stream_('POST /v1/query', async (c) => {
    const body = await jsonBody(c);
    const filterNodes = body.filterNodes ?? [];
    if (!Array.isArray(filterNodes) || !filterNodes.every((n) => typeof n === 'string')) {
      throw new HttpError(400, '"filterNodes" must be a list of node names');
    }
    const filterTags = body.filterTags ?? {};
    if (
      typeof filterTags !== 'object' ||
      filterTags === null ||
      !Object.values(filterTags).every((v) => typeof v === 'string')
    ) {
      throw new HttpError(400, '"filterTags" must be an object of tag → regular expression');
    }
    const timeoutMs = body.timeoutMs;
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 3_600_000)
    ) {
      throw new HttpError(400, '"timeoutMs" must be a positive number of milliseconds (at most an hour)');
    }
    const relayFactor = body.relayFactor ?? 0;
    if (
      typeof relayFactor !== 'number' ||
      !Number.isInteger(relayFactor) ||
      relayFactor < 0 ||
      relayFactor > 5
    ) {
      throw new HttpError(400, '"relayFactor" must be a whole number from 0 to 5');
    }
    const q: QueryOrder = {
      name: str(body, 'name')!,
      payload: payloadOf(body),
      timeoutMs: timeoutMs as number | undefined,
      filterNodes: filterNodes as string[],
      filterTags: filterTags as Record<string, string>,
      requestAck: body.requestAck === true,
      relayFactor,
    };
    const abort = new AbortController();
    const records = api.query(q, abort.signal);
    c.header('content-type', 'application/x-ndjson');
    return stream(c, async (s) => {
      s.onAbort(() => abort.abort());
      for await (const r of records) await s.write(`${JSON.stringify(r)}\n`);
    });
  });

  on('GET /v1/keys', () => api.listKeys());
  on('POST /v1/keys', async (c) => {
    const body = await jsonBody(c);
    const op = body.op;
    if (op !== 'install' && op !== 'use' && op !== 'remove') {
      throw new HttpError(400, '"op" must be "install", "use" or "remove" (GET /v1/keys lists them)');
    }
    return api.keyOp(op, str(body, 'key')!);
  });

  on('POST /v1/tags', async (c) => {
    const body = await jsonBody(c);
    const set = body.set ?? {};
    const del = body.delete ?? [];
    if (
      typeof set !== 'object' ||
      set === null ||
      Array.isArray(set) ||
      !Object.values(set).every((v) => typeof v === 'string')
    ) {
      throw new HttpError(400, '"set" must be an object of tag → string value');
    }
    if (!Array.isArray(del) || !del.every((k) => typeof k === 'string')) {
      throw new HttpError(400, '"delete" must be a list of tag names');
    }
    return { tags: await api.setTags(set as Record<string, string>, del as string[]) };
  });

  stream_('GET /v1/events', (c) =>
    streamSSE(c, async (s) => {
      const abort = new AbortController();
      s.onAbort(() => abort.abort());
      const wanted = new URL(c.req.url).searchParams.get('types')?.split(',');
      for await (const e of api.subscribeEvents(abort.signal)) {
        if (wanted && !wanted.some((w) => e.event.startsWith(w))) continue;
        await s.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
      }
    }),
  );

  stream_('GET /v1/monitor', (c) => {
    const level = new URL(c.req.url).searchParams.get('level') ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) {
      throw new HttpError(400, `level must be debug, info, warn or error; got "${level}"`);
    }
    return streamSSE(c, async (s) => {
      const abort = new AbortController();
      s.onAbort(() => abort.abort());
      for await (const r of api.subscribeLogs(level, abort.signal)) {
        await s.writeSSE({ event: 'log', data: JSON.stringify(r) });
      }
    });
  });

  // The replicated state. GET /v1/kv is the list, or with watch=1 the watch stream.
  app.get('/v1/kv', (c) => {
    const url = new URL(c.req.url);
    const node = url.searchParams.get('node') ?? undefined;
    const prefix = url.searchParams.get('prefix') ?? undefined;
    const watch = url.searchParams.get('watch');
    if (watch !== null && watch !== '1' && watch !== 'true' && watch !== '0' && watch !== 'false') {
      throw new HttpError(400, `watch must be 1 or true (or absent); got "${watch}"`);
    }
    if (watch !== '1' && watch !== 'true') {
      return c.json(api.kvList({ node, prefix }) satisfies ResponseOf<'GET /v1/kv'>);
    }
    if (api.kvWatchCount() >= MAX_KV_WATCHES)
      throw new HttpError(503, `too many watches open (limit ${MAX_KV_WATCHES}); close one or retry later`);
    const since = url.searchParams.get('since') ?? c.req.header('last-event-id') ?? undefined;
    return streamSSE(c, async (s) => {
      const abort = new AbortController();
      s.onAbort(() => abort.abort());
      for await (const e of api.kvWatch({ node, prefix, since }, abort.signal)) {
        await s.writeSSE({
          event: e.event,
          data: JSON.stringify(e.data),
          ...(e.id !== undefined ? { id: e.id } : {}),
        });
      }
    });
  });
  on('GET /v1/kv/:key+', (c) => {
    const key = c.req.param('key')!;
    const node = new URL(c.req.url).searchParams.get('node') ?? undefined;
    const e = api.kvGet(key, node);
    if (e === undefined)
      throw new HttpError(404, `no key "${key}" in ${node === undefined ? 'this node’s' : `${node}'s`} map`);
    return e;
  });
  on('PUT /v1/kv/:key+', async (c) => {
    const key = c.req.param('key')!;
    const url = new URL(c.req.url);
    const max = api.kvMaxValueBytes();
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > max) throw new HttpError(413, `the value is ${length} bytes, over maxValueBytes (${max})`);
    let value: Uint8Array;
    try {
      value = await c.req.bytes(max);
    } catch (e) {
      if (e instanceof BodyTooLargeError)
        throw new HttpError(413, `the value is over maxValueBytes (${max} bytes)`);
      throw e;
    }
    const ttl = url.searchParams.get('ttl');
    let ttlMs: number | undefined;
    if (ttl !== null) {
      ttlMs = parseDurationMs(ttl);
      if (ttlMs === undefined || ttlMs <= 0)
        throw new HttpError(400, `ttl must be a duration like 30s or 5m; got "${ttl}"`);
    }
    const ephemeral = url.searchParams.get('ephemeral');
    if (ephemeral !== null && ephemeral !== 'true' && ephemeral !== 'false') {
      throw new HttpError(400, `ephemeral must be true or false; got "${ephemeral}"`);
    }
    return api.kvSet(key, value, { ttlMs, ephemeral: ephemeral === 'true' });
  });
  on('DELETE /v1/kv/:key+', (c) => {
    const key = c.req.param('key')!;
    const r = api.kvDelete(key);
    if (r === undefined) throw new HttpError(404, `no key "${key}" in this node’s map`);
    return r;
  });
  on('GET /v1/replicas/:node', async (c) => {
    try {
      return await api.replicas(c.req.param('node')!);
    } catch (e) {
      // MAX_PENDING_ASKS questions are in flight (each waits up to a second for its answers).
      if (e instanceof RangeError) throw new HttpError(503, `${e.message}; retry in a second`);
      throw e;
    }
  });

  app.get('/metrics', async (c) => {
    const m = await api.renderMetrics();
    return c.body(m.body, 200, { 'content-type': m.contentType });
  });

  app.get('*', async (c) => {
    const path = c.req.path === '/' ? '/index.html' : c.req.path;
    const asset = await api.dashboardAsset(path);
    if (asset === undefined) {
      throw new HttpError(404, `no such page: ${c.req.path}`);
    }
    const headers: Record<string, string> = {
      ...asset.headers,
      'content-type': asset.contentType,
      'cache-control': asset.cacheControl,
      etag: asset.etag,
    };
    if (asset.gzip) headers.vary = 'Accept-Encoding';
    const known = c.req.header('if-none-match');
    if (known?.split(',').some((t) => t.trim() === asset.etag)) {
      return c.body('', 304, headers);
    }
    if (asset.gzip && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      return c.body(asset.gzip, 200, { ...headers, 'content-encoding': 'gzip' });
    }
    return c.body(asset.body, 200, headers);
  });

  return app;
}
