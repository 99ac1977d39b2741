/**
 * The HTTP routing the agent's API needs, on `node:http` alone: routes by method and path
 * pattern (`:name` is one decoded segment, a final `:name+` the decoded rest of the path, one
 * segment or more, slashes included; `*` the rest), middleware, JSON and byte answers,
 * and NDJSON and server-sent-event streams with back-pressure and disconnect detection.
 *
 * Why not a web framework: the agent's whole HTTP surface is about twenty routes, and every
 * framework built on WHATWG `Request`/`Response` (hono's Node adapter, for one) makes Node load
 * its `fetch` implementation (undici) into every agent: measured on Node 20, about 11 MiB of
 * resident memory and a fifth of the agent's start-up CPU, for nothing the API uses
 * (`npm run bench -- cli-start` prints the agent's start time). The context keeps the names of
 * the subset of hono's that `http.ts` was written against (`c.req.param`, `c.json`, ...).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Status codes the API answers with. */
export type Status = 200 | 400 | 401 | 404 | 409 | 413 | 500 | 503;

/** A finished answer: status, headers and the whole body. */
interface BodyReply {
  readonly kind: 'body';
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** A streamed answer: headers go out at once, then `run` writes until it returns or the client leaves. */
interface StreamReply {
  readonly kind: 'stream';
  status: number;
  headers: Record<string, string>;
  run: (out: StreamWriter) => Promise<void>;
}

/** What a handler returns. */
export type Reply = BodyReply | StreamReply;

/** The request side of a {@link Context}. */
export interface RequestView {
  readonly method: string;
  /** The path, without the query string (not decoded). */
  readonly path: string;
  /** The whole URL (`http://host/path?query`), for `new URL(c.req.url).searchParams`. */
  readonly url: string;
  /** A `:name` segment of the route, decoded. */
  param(name: string): string | undefined;
  /** A request header (case-insensitive); the first one when repeated. */
  header(name: string): string | undefined;
  /**
   * The body as text, read once. Rejects with a {@link BodyTooLargeError} past `maxBytes`
   * without reading the rest.
   */
  text(maxBytes: number): Promise<string>;
  /** The body as bytes, read once; the same bound as {@link text}. */
  bytes(maxBytes: number): Promise<Uint8Array>;
}

export interface Context {
  readonly req: RequestView;
  /** Sets a header of the answer this handler will return. */
  header(name: string, value: string): void;
  json(body: unknown, status?: number): Reply;
  body(body: string | Uint8Array, status: number, headers: Record<string, string>): Reply;
  /** A 200 whose body `run` writes (see {@link stream} and {@link streamSSE}). */
  stream(run: (out: StreamWriter) => Promise<void>, headers?: Record<string, string>): Reply;
}

/** The body is over the limit given to `text()`. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the request body is over ${maxBytes} bytes`);
  }
}

export type Handler = (c: Context) => Reply | Promise<Reply>;
export type Middleware = (c: Context, next: () => Promise<void>) => Promise<Reply | undefined>;

interface Route {
  method: string;
  path: string;
  /** Literal segments, `:name` params, or a final `:name+` or `*`. */
  segments: string[];
  handler: Handler;
}

/** A route as listed by {@link Router.routes}. */
export interface RouteInfo {
  method: string;
  path: string;
}

/** A path's segments (`/a/b` → `a`, `b`); the pattern `*` alone is every path. */
function splitPath(path: string): string[] {
  return path === '*' ? ['*'] : path.split('/').slice(1);
}

/** A path part, percent-decoded (left as it is when it is not valid percent-encoding). */
function decodeSegment(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function match(route: Route, parts: string[]): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const segs = route.segments;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === '*') return params;
    const p = parts[i];
    if (p === undefined) return undefined;
    if (s.startsWith(':') && s.endsWith('+') && i === segs.length - 1) {
      const rest = parts.slice(i).join('/');
      if (rest === '') return undefined;
      params.set(s.slice(1, -1), decodeSegment(rest));
      return params;
    }
    if (s.startsWith(':')) {
      if (p === '') return undefined;
      params.set(s.slice(1), decodeSegment(p));
    } else if (s !== p) return undefined;
  }
  return parts.length === segs.length ? params : undefined;
}

export class Router {
  readonly #routes: Route[] = [];
  readonly #middleware: Middleware[] = [];
  #onError: (err: unknown, c: Context) => Reply = (err, c) =>
    c.json({ error: `internal error: ${(err as Error).message}` }, 500);
  #notFound: (c: Context) => Reply = (c) => c.json({ error: 'not found' }, 404);

  /** Every route, in registration order (the first that matches answers). */
  get routes(): RouteInfo[] {
    return this.#routes.map(({ method, path }) => ({ method, path }));
  }

  on(method: string, path: string, handler: Handler): void {
    this.#routes.push({ method: method.toUpperCase(), path, segments: splitPath(path), handler });
  }

  get(path: string, handler: Handler): void {
    this.on('GET', path, handler);
  }

  /** Middleware that runs before every route, in the order added. */
  use(mw: Middleware): void {
    this.#middleware.push(mw);
  }

  onError(fn: (err: unknown, c: Context) => Reply): void {
    this.#onError = fn;
  }

  notFound(fn: (c: Context) => Reply): void {
    this.#notFound = fn;
  }

  /** Answers one request (what `http.createServer` calls). */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.#handle(req, res);
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = (req.method ?? 'GET').toUpperCase();
    // HEAD is GET without the body, as HTTP says.
    const lookup = method === 'HEAD' ? 'GET' : method;
    const parts = splitPath(path);
    let route: Route | undefined;
    let params: Map<string, string> | undefined;
    for (const r of this.#routes) {
      if (r.method !== lookup) continue;
      params = match(r, parts);
      if (params) {
        route = r;
        break;
      }
    }
    const extra: Record<string, string> = {};
    let bodyRead = false;
    const c: Context = {
      req: {
        method,
        path,
        url: `http://${req.headers.host ?? 'localhost'}${rawUrl}`,
        param: (name) => params?.get(name),
        header: (name) => {
          const v = req.headers[name.toLowerCase()];
          return Array.isArray(v) ? v[0] : v;
        },
        text: async (maxBytes) => {
          if (bodyRead) throw new Error('the request body was read already');
          bodyRead = true;
          return (await readBody(req, maxBytes)).toString('utf8');
        },
        bytes: async (maxBytes) => {
          if (bodyRead) throw new Error('the request body was read already');
          bodyRead = true;
          const b = await readBody(req, maxBytes);
          return new Uint8Array(b.buffer, b.byteOffset, b.length);
        },
      },
      header: (name, value) => {
        extra[name.toLowerCase()] = value;
      },
      json: (body, status = 200) => ({
        kind: 'body',
        status,
        headers: { ...extra, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
      body: (body, status, headers) => ({ kind: 'body', status, headers: { ...extra, ...headers }, body }),
      stream: (run, headers = {}) => ({
        kind: 'stream',
        status: 200,
        headers: { ...extra, ...headers },
        run,
      }),
    };
    let reply: Reply;
    try {
      reply = await this.#run(c, route);
    } catch (e) {
      reply = this.#onError(e, c);
    }
    await send(req, res, reply, method === 'HEAD');
  }

  async #run(c: Context, route: Route | undefined): Promise<Reply> {
    let reply: Reply | undefined;
    const step = async (i: number): Promise<void> => {
      const mw = this.#middleware[i];
      if (mw) {
        const r = await mw(c, () => step(i + 1));
        if (r !== undefined) reply = r;
        return;
      }
      reply = route ? await route.handler(c) : this.#notFound(c);
    };
    await step(0);
    return reply ?? this.#notFound(c);
  }
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (d: Buffer) => {
      size += d.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume(); // drain and drop the rest
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(d);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= maxBytes) resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
  });
}

/** Writes of a streamed answer. */
export interface StreamWriter {
  /** Writes `text`; resolves once the socket took it (waits while its buffer is full). */
  write(text: string): Promise<void>;
  /** Called once, when the client goes away before the stream ends. */
  onAbort(fn: () => void): void;
  /** The client went away. */
  readonly aborted: boolean;
}

async function send(req: IncomingMessage, res: ServerResponse, reply: Reply, head: boolean): Promise<void> {
  if (reply.kind === 'body') {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(body.length) });
    res.end(head ? undefined : body);
    return;
  }
  res.writeHead(reply.status, reply.headers);
  if (head) {
    res.end();
    return;
  }
  res.flushHeaders();
  let aborted = false;
  const aborters: (() => void)[] = [];
  const abort = () => {
    if (aborted) return;
    aborted = true;
    for (const fn of aborters.splice(0)) fn();
  };
  // The client closed the connection before the answer ended.
  res.once('close', () => {
    if (!res.writableFinished) abort();
  });
  req.socket.once('close', abort);
  const out: StreamWriter = {
    get aborted() {
      return aborted;
    },
    onAbort(fn) {
      if (aborted) fn();
      else aborters.push(fn);
    },
    write(text) {
      if (aborted) return Promise.resolve();
      if (res.write(text)) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    },
  };
  try {
    await reply.run(out);
  } catch {
    // A stream that fails mid-way ends; its status line is long gone.
  } finally {
    if (!res.writableEnded) res.end();
  }
}

/** A streamed text answer (NDJSON, for one). The content type comes from `c.header` or `headers`. */
export function stream(c: Context, run: (out: StreamWriter) => Promise<void>): Reply {
  return c.stream(run);
}

/** Writes of a server-sent event stream. */
export interface SseWriter extends StreamWriter {
  /** Writes one event; `id`, when given, is its event id (a client's `Last-Event-ID` on reconnect). */
  writeSSE(e: { event: string; data: string; id?: string }): Promise<void>;
}

/** A `text/event-stream` answer. */
export function streamSSE(c: Context, run: (out: SseWriter) => Promise<void>): Reply {
  return c.stream(
    (out) =>
      run(
        Object.assign(out, {
          writeSSE: (e: { event: string; data: string; id?: string }) =>
            out.write(
              `event: ${e.event}\n${e.id !== undefined ? `id: ${e.id.replace(/[\r\n]/g, '')}\n` : ''}${e.data.replace(/^/gm, 'data: ')}\n\n`,
            ),
        }),
      ),
    { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' },
  );
}

/** Serves `router` on `host:port`; resolves to the server once listening, rejects on a listen error. */
export function serve(router: Router, host: string, port: number): Promise<Server> {
  const server = createServer(router.handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
