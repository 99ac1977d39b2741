/**
 * The agent's HTTP plumbing on real loopback sockets: the router (src/agent/router.ts: routes,
 * decoded params, the `*` catch-all, HEAD, middleware, body limit, NDJSON and SSE streams that
 * notice a client leaving), the Prometheus text (src/agent/prometheus.ts), the JSON log lines
 * (src/agent/logging.ts), and the dashboard's caching (gzip, ETag, 304) through the agent.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';
import { jsonLine } from '../../src/agent/logging.ts';
import { Histogram, Registry } from '../../src/agent/prometheus.ts';
import { BodyTooLargeError, Router, serve, stream, streamSSE } from '../../src/agent/router.ts';

describe('Router on a real socket', () => {
  let server: Server;
  let base: string;
  let aborted: () => void = () => {};
  const streamEnded = new Promise<void>((resolve) => {
    aborted = resolve;
  });
  before(async () => {
    const app = new Router();
    app.onError((err, c) =>
      err instanceof BodyTooLargeError
        ? c.json({ error: err.message }, 413)
        : c.json({ error: (err as Error).message }, 500),
    );
    app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
    app.use(async (c, next) => {
      if (c.req.header('x-deny') === 'yes') return c.json({ error: 'denied' }, 401);
      await next();
      return undefined;
    });
    app.get('/v1/members/:name', (c) => c.json({ name: c.req.param('name') }));
    app.get('/v1/rtt/:a/:b', (c) => c.json({ a: c.req.param('a'), b: c.req.param('b') }));
    app.on('POST', '/v1/echo', async (c) => c.json({ got: await c.req.text(16) }));
    app.get('/v1/fail', () => {
      throw new Error('boom');
    });
    app.on('POST', '/v1/lines', (c) => {
      c.header('content-type', 'application/x-ndjson');
      return stream(c, async (s) => {
        for (let i = 0; i < 3; i++) await s.write(`${JSON.stringify({ i })}\n`);
      });
    });
    app.get('/v1/events', (c) =>
      streamSSE(c, async (s) => {
        s.onAbort(aborted);
        await s.writeSSE({ event: 'hello', data: 'line 1\nline 2' });
        // Until the client leaves (bounded, so that a router that never notices fails the test
        // below instead of hanging it).
        for (let i = 0; i < 750 && !s.aborted; i++) await new Promise((r) => setTimeout(r, 20));
      }),
    );
    app.get('*', (c) => c.body(`page ${c.req.path}`, 200, { 'content-type': 'text/plain' }));
    server = await serve(app, '127.0.0.1', 0);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('matches routes in order, decodes params, and falls through to the catch-all', async () => {
    assert.deepEqual(await (await fetch(`${base}/v1/members/a%20b%2Fc`)).json(), { name: 'a b/c' });
    assert.deepEqual(await (await fetch(`${base}/v1/rtt/x/y`)).json(), { a: 'x', b: 'y' });
    const page = await fetch(`${base}/`);
    assert.equal(await page.text(), 'page /');
    assert.equal(await (await fetch(`${base}/assets/x.js?v=1`)).text(), 'page /assets/x.js');
    // A trailing or missing segment is another path (the catch-all answers GETs).
    assert.equal(await (await fetch(`${base}/v1/members/`)).text(), 'page /v1/members/');
    const post = await fetch(`${base}/v1/members/x`, { method: 'POST' });
    assert.equal(post.status, 404);
    assert.deepEqual(await post.json(), { error: 'no route for POST /v1/members/x' });
  });

  it('answers HEAD like GET without a body; middleware can answer first', async () => {
    const head = await fetch(`${base}/v1/members/n`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(JSON.stringify({ name: 'n' }).length));
    assert.equal(await head.text(), '');
    const denied = await fetch(`${base}/v1/members/n`, { headers: { 'x-deny': 'yes' } });
    assert.equal(denied.status, 401);
  });

  it('reads a body up to its limit; errors become the onError answer', async () => {
    const ok = await fetch(`${base}/v1/echo`, { method: 'POST', body: 'sixteen bytes!!!' });
    assert.deepEqual(await ok.json(), { got: 'sixteen bytes!!!' });
    const big = await fetch(`${base}/v1/echo`, { method: 'POST', body: 'seventeen bytes!!' });
    assert.equal(big.status, 413);
    const fail = await fetch(`${base}/v1/fail`);
    assert.equal(fail.status, 500);
    assert.deepEqual(await fail.json(), { error: 'boom' });
  });

  it('streams NDJSON with the handler’s content type', async () => {
    const res = await fetch(`${base}/v1/lines`, { method: 'POST' });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(await res.text(), '{"i":0}\n{"i":1}\n{"i":2}\n');
  });

  it('streams server-sent events, multi-line data as several data lines, and sees the client leave', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${base}/v1/events`, { signal: ctrl.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const { value } = await res.body!.getReader().read();
    assert.equal(new TextDecoder().decode(value), 'event: hello\ndata: line 1\ndata: line 2\n\n');
    ctrl.abort();
    await Promise.race([
      streamEnded,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the stream never saw the abort')), 10_000),
      ),
    ]);
  });
});

describe('Prometheus text', () => {
  it('writes HELP, TYPE, escaped labels and histogram buckets', () => {
    const r = new Registry();
    r.collected('t_total', 'A counter.', 'counter', () => [[{ reason: 'a"b\\c\nd' }, 3]]);
    r.collected('t_gauge', 'A gauge.', 'gauge', () => [[{}, 1.5]]);
    const h = new Histogram(r, 't_seconds', 'A histogram.', [0.1, 1]);
    h.observe({ kind: 'x' }, 0.05);
    h.observe({ kind: 'x' }, 0.5);
    h.observe({ kind: 'x' }, 5);
    assert.equal(
      r.render(),
      [
        '# HELP t_total A counter.',
        '# TYPE t_total counter',
        't_total{reason="a\\"b\\\\c\\nd"} 3',
        '# HELP t_gauge A gauge.',
        '# TYPE t_gauge gauge',
        't_gauge 1.5',
        '# HELP t_seconds A histogram.',
        '# TYPE t_seconds histogram',
        't_seconds_bucket{kind="x",le="0.1"} 1',
        't_seconds_bucket{kind="x",le="1"} 2',
        't_seconds_bucket{kind="x",le="+Inf"} 3',
        't_seconds_sum{kind="x"} 5.55',
        't_seconds_count{kind="x"} 3',
        '',
      ].join('\n'),
    );
    assert.throws(() => r.collected('t_total', 'again', 'counter', () => []), /registered twice/);
  });
});

describe('JSON log lines', () => {
  it('are pino-shaped and survive cycles, errors and bigints', () => {
    const cyclic: Record<string, unknown> = { x: 1 };
    cyclic.self = cyclic;
    const shared = { s: 1 };
    const line = jsonLine(
      40,
      '2026-01-01T00:00:00.000Z',
      { cyclic, pair: [shared, shared], n: 10n, msg: 'x' },
      'hi',
    );
    const o = JSON.parse(line);
    assert.deepEqual(Object.keys(o), ['level', 'time', 'cyclic', 'pair', 'n', 'msg']);
    assert.equal(o.level, 40);
    assert.equal(o.msg, 'hi', 'a field cannot replace the message');
    assert.deepEqual(o.cyclic, { x: 1, self: '[Circular]' });
    assert.deepEqual(o.pair, [{ s: 1 }, { s: 1 }], 'an object seen twice side by side is no cycle');
    assert.equal(o.n, '10');
    const err = JSON.parse(jsonLine(50, 't', { error: new RangeError('bad') }, 'm')).error;
    assert.equal(err.type, 'RangeError');
    assert.equal(err.message, 'bad');
  });
});

describe('the dashboard through the agent', () => {
  let a: Agent;
  before(async () => {
    const config = resolveConfig({ nodeName: 'dash', bindAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0' });
    a = await Agent.create(config, {
      out: new Writable({
        write(_c, _e, cb) {
          cb();
        },
      }),
    });
    await a.start();
  });
  after(() => a?.stop());

  it('serves gzip when asked, and 304 for a known ETag', async () => {
    const base = `http://${a.httpAddr}`;
    const html = await fetch(`${base}/`, { headers: { 'accept-encoding': 'identity' } });
    const body = Buffer.from(await html.arrayBuffer());
    assert.match(body.toString('utf8'), /<!doctype html>/i);
    const etag = html.headers.get('etag')!;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
    // fetch would decompress by itself: ask through node:http's raw bytes instead.
    const { request } = await import('node:http');
    const raw = await new Promise<{ status: number; enc: string | undefined; bytes: Buffer }>(
      (resolve, reject) => {
        const req = request(`${base}/`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              enc: res.headers['content-encoding'],
              bytes: Buffer.concat(chunks),
            }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
    assert.equal(raw.status, 200);
    assert.equal(raw.enc, 'gzip');
    assert.deepEqual(gunzipSync(raw.bytes), body);
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });
});
