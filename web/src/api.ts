/**
 * The dashboard's client for the agent's HTTP API (docs/http-api.md): JSON requests, the
 * server-sent event stream, and the NDJSON answer of `POST /v1/query`.
 *
 * Paths are relative (`v1/...`), so the page works wherever it is served from, behind a
 * reverse proxy's prefix included. When the page was opened with `?token=...`, the token goes
 * along: as `Authorization: Bearer` on fetches, and as `?token=` on the event stream, since
 * `EventSource` cannot set headers.
 */
import { type Api, EVENT_TYPES, parseQueryLine, type QueryLine } from './api-types.ts';

/** The event types of the state's watch. */
const KV_WATCH_EVENT_TYPES = [
  'set',
  'delete',
  'ready',
] as const satisfies readonly (keyof Api.KvWatchEventMap)[];

/** The JSON endpoints the page calls, by method (names as in src/api/types.ts `Endpoints`). */
type GetEndpoint = Extract<Api.JsonEndpoint, `GET ${string}`>;
type PostEndpoint = Extract<Api.JsonEndpoint, `POST ${string}`>;

/** `GET /v1/agent` → `v1/agent`: relative, so the page works behind a path prefix. */
function relativePath(endpoint: Api.Endpoint): string {
  return endpoint.slice(endpoint.indexOf(' /') + 2);
}

/** An answer that was not 2xx: the status and the agent's `{"error"}` message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** First and longest wait before reopening a failed event stream, doubling in between. */
export const RECONNECT_MIN_MS = 1000;
export const RECONNECT_MAX_MS = 15_000;
/** Longest NDJSON line accepted from `/v1/query` (a response payload is at most ~1 KiB). */
export const QUERY_LINE_MAX = 256 * 1024;

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'down';

export interface EventStreamHandlers {
  onEvent(type: string, data: unknown): void;
  onStatus(status: StreamStatus, detail?: string): void;
}

export class AgentClient {
  readonly #base: URL;
  readonly #token: string | null;

  constructor(base: string | URL, token: string | null) {
    this.#base = new URL(base);
    this.#token = token && token.length > 0 ? token : null;
  }

  get hasToken(): boolean {
    return this.#token !== null;
  }

  url(path: string, params: Record<string, string> = {}): URL {
    const u = new URL(path, this.#base);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u;
  }

  #headers(json: boolean): Headers {
    const h = new Headers({ Accept: 'application/json' });
    if (json) h.set('Content-Type', 'application/json');
    if (this.#token) h.set('Authorization', `Bearer ${this.#token}`);
    return h;
  }

  /** A GET of a JSON endpoint without path parameters. The answer is `unknown` until parsed. */
  async get(endpoint: GetEndpoint, signal?: AbortSignal): Promise<unknown> {
    const res = await fetch(this.url(relativePath(endpoint)), {
      headers: this.#headers(false),
      signal,
      cache: 'no-store',
    });
    return readJson(res);
  }

  /** A POST of `body` (typed as the endpoint takes it). The answer is `unknown` until parsed. */
  async post<E extends PostEndpoint>(
    endpoint: E,
    body: Api.BodyOf<E>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const res = await fetch(this.url(relativePath(endpoint)), {
      method: 'POST',
      headers: this.#headers(true),
      body: JSON.stringify(body),
      signal,
    });
    return readJson(res);
  }

  /**
   * Sends a query and calls `onLine` for each NDJSON line of the answer (acks, responses, then
   * `done`) as it arrives. Resolves when the stream ends.
   */
  async query(body: Api.QueryRequest, onLine: (line: QueryLine) => void, signal?: AbortSignal) {
    const res = await fetch(this.url(relativePath('POST /v1/query')), {
      method: 'POST',
      headers: this.#headers(true),
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok || !res.body) await readJson(res);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        emitLine(buf.slice(0, nl), onLine);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (buf.length > QUERY_LINE_MAX) throw new Error(`a query answer line is over ${QUERY_LINE_MAX} bytes`);
    }
    emitLine(buf, onLine);
  }

  /**
   * `PUT /v1/kv/:key`: writes `value` (as UTF-8) under `key` in the agent's own map. The
   * answer (`{version, generation}`) is `unknown` until parsed.
   */
  async kvPut(key: string, value: string, signal?: AbortSignal): Promise<unknown> {
    const res = await fetch(this.url(`v1/kv/${encodeURIComponent(key)}`), {
      method: 'PUT',
      headers: this.#headers(false),
      body: value,
      signal,
    });
    return readJson(res);
  }

  /** `GET /v1/replicas/:node`: where every live node stands on `node`'s map. */
  async replicas(node: string, signal?: AbortSignal): Promise<unknown> {
    const res = await fetch(this.url(`v1/replicas/${encodeURIComponent(node)}`), {
      headers: this.#headers(false),
      signal,
      cache: 'no-store',
    });
    return readJson(res);
  }

  /**
   * Subscribes to `GET /v1/events` and keeps it open: the browser retries a dropped stream by
   * itself; a refused one (401, 404, a dead agent) is reopened here with backoff, after asking
   * `/v1/agent` why, so a missing token shows as such. Returns a function that closes it.
   */
  events(h: EventStreamHandlers): () => void {
    return this.#sse('GET /v1/events', {}, EVENT_TYPES, h);
  }

  /**
   * Subscribes to the replicated state's watch (`GET /v1/kv?watch=1`), kept open like
   * {@link events}. Its events carry ids: a browser that reconnects by itself sends the last
   * one and the agent resumes from there (or sends a new snapshot when it cannot).
   */
  kvWatch(h: EventStreamHandlers): () => void {
    return this.#sse('GET /v1/kv', { watch: '1' }, KV_WATCH_EVENT_TYPES, h);
  }

  #sse(
    endpoint: Api.Endpoint,
    query: Record<string, string>,
    types: readonly string[],
    h: EventStreamHandlers,
  ): () => void {
    let es: EventSource | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = RECONNECT_MIN_MS;
    let closed = false;
    const params: Record<string, string> = { ...query };
    if (this.#token) params['token'] = this.#token;

    const open = () => {
      if (closed) return;
      const src = new EventSource(this.url(relativePath(endpoint), params));
      es = src;
      src.onopen = () => {
        delay = RECONNECT_MIN_MS;
        h.onStatus('live');
      };
      for (const type of types) {
        src.addEventListener(type, (e) => {
          const data = parseData((e as MessageEvent<string>).data);
          if (data !== undefined) h.onEvent(type, data);
        });
      }
      src.onerror = () => {
        if (closed) return;
        if (src.readyState === EventSource.CONNECTING) {
          h.onStatus('reconnecting', 'the connection dropped; the browser is retrying');
          return;
        }
        src.close();
        void this.#diagnose().then(({ status, detail }) => {
          if (closed) return;
          h.onStatus(status, detail);
          timer = setTimeout(open, delay);
          delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        });
      };
    };
    h.onStatus('connecting');
    open();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      es?.close();
    };
  }

  async #diagnose(): Promise<{ status: StreamStatus; detail: string }> {
    try {
      await this.get('GET /v1/agent');
      return { status: 'reconnecting', detail: 'the event stream was refused; retrying' };
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const detail = this.#token ? 'the token was refused' : 'this agent requires a token';
        return { status: 'unauthorized', detail };
      }
      return { status: 'down', detail: err instanceof Error ? err.message : String(err) };
    }
  }
}

function parseData(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function emitLine(line: string, onLine: (l: QueryLine) => void): void {
  const t = line.trim();
  if (!t) return;
  const parsed = parseQueryLine(parseData(t));
  if (parsed) onLine(parsed);
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg =
      typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, msg);
  }
  return body;
}
