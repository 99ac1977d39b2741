/**
 * The agent's HTTP API, endpoint by endpoint, against real agents on loopback sockets: the
 * answers, the bad input (unknown member, malformed JSON, wrong types, oversized bodies and
 * payloads, bad regexes) with clear JSON errors, and the token rules.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';

const sink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

async function startAgent(name: string, extra: Record<string, unknown> = {}): Promise<Agent> {
  const config = resolveConfig({
    nodeName: name,
    bindAddr: '127.0.0.1:0',
    httpAddr: '127.0.0.1:0',
    profile: 'local',
    tags: { role: name },
    ...extra,
  });
  const agent = await Agent.create(config, { out: sink() });
  await agent.start();
  return agent;
}

async function call(
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`http://${agent.httpAddr}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown>, text, headers: res.headers };
}

function assertError(r: { status: number; json: Record<string, unknown> }, status: number, pattern: RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(typeof r.json?.error, 'string', 'errors are JSON {"error": ...}');
  assert.match(r.json.error as string, pattern);
}

describe('HTTP API', () => {
  let a: Agent;
  let b: Agent;
  before(async () => {
    a = await startAgent('api-a');
    b = await startAgent('api-b');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('POST /v1/join joins, and rejects bad bodies', async () => {
    const r = await call(a, 'POST', '/v1/join', { addrs: [b.gossipAddr] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { joined: 1 });
    assertError(await call(a, 'POST', '/v1/join', '{"addrs": ['), 400, /not valid JSON/);
    assertError(await call(a, 'POST', '/v1/join', { addrs: [] }), 400, /non-empty list/);
    assertError(await call(a, 'POST', '/v1/join', [1, 2]), 400, /JSON object/);
    const bad = await call(a, 'POST', '/v1/join', { addrs: ['127.0.0.1:1'] });
    assert.equal(bad.status, 500);
    assert.match(bad.json.error as string, /could not join through 127\.0\.0\.1:1/);
  });

  it('GET /v1/members: serf shape and filters', async () => {
    for (let i = 0; i < 50; i++) {
      const r = await call(a, 'GET', '/v1/members');
      if ((r.json.members as unknown[]).length === 2) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const r = await call(a, 'GET', '/v1/members');
    assert.equal(r.status, 200);
    const members = r.json.members as {
      name: string;
      addr: string;
      port: number;
      tags: Record<string, string>;
      status: string;
      protocol: object;
    }[];
    assert.deepEqual(members.map((m) => m.name).sort(), ['api-a', 'api-b']);
    const me = members.find((m) => m.name === 'api-a')!;
    assert.deepEqual(Object.keys(me), ['name', 'addr', 'port', 'tags', 'status', 'protocol']);
    assert.equal(me.addr, a.gossipAddr);
    assert.deepEqual(me.protocol, { max: 5, min: 2, version: 5 });
    const byTag = await call(a, 'GET', '/v1/members?tag=role=api-a');
    assert.deepEqual(
      (byTag.json.members as { name: string }[]).map((m) => m.name),
      ['api-a'],
    );
    const byName = await call(a, 'GET', '/v1/members?name=api-b');
    assert.deepEqual(
      (byName.json.members as { name: string }[]).map((m) => m.name),
      ['api-b'],
    );
    const byStatus = await call(a, 'GET', '/v1/members?status=failed');
    assert.deepEqual(byStatus.json.members, []);
    assertError(await call(a, 'GET', '/v1/members?status=zombie'), 400, /alive, leaving, left or failed/);
    assertError(await call(a, 'GET', '/v1/members?name=('), 400, /not a valid regular expression/);
    assertError(await call(a, 'GET', '/v1/members?tag=role'), 400, /KEY=REGEX/);
  });

  it('GET /v1/members/detail and /v1/members/:name (404 for an unknown member)', async () => {
    const d = await call(a, 'GET', '/v1/members/detail');
    const m = (d.json.members as { name: string; incarnation: number; swimStatus: string }[]).find(
      (x) => x.name === 'api-b',
    )!;
    assert.equal(m.swimStatus, 'alive');
    assert.ok(m.incarnation >= 1);
    const one = await call(a, 'GET', '/v1/members/api-b');
    assert.equal(one.json.name, 'api-b');
    assertError(await call(a, 'GET', '/v1/members/nobody'), 404, /no member named "nobody"/);
  });

  it('GET /v1/agent and /v1/info', async () => {
    const r = await call(a, 'GET', '/v1/agent');
    assert.equal(r.json.name, 'api-a');
    // 0 on an idle machine; a loaded one adds event-loop lag to Lifeguard's score (by design).
    const score = r.json.healthScore as number;
    assert.ok(Number.isInteger(score) && score >= 0 && score < (r.json.healthScoreMax as number), `${score}`);
    assert.equal(typeof r.json.uptimeMs, 'number');
    assert.equal(typeof (r.json.clocks as { member: number }).member, 'number');
    const info = await call(a, 'GET', '/v1/info');
    assert.equal((info.json.agent as { name: string }).name, 'api-a');
    assert.equal((info.json.serf as { members: number }).members, 2);
  });

  it('POST /v1/event: delivered to the other node; limits and bad input', async () => {
    const got: string[] = [];
    b.serf.on('user', (e) => got.push(`${e.name}:${new TextDecoder().decode(e.payload)}`));
    const r = await call(a, 'POST', '/v1/event', { name: 'deploy', payload: 'v1' });
    assert.equal(r.status, 200);
    assert.equal(typeof r.json.lTime, 'number');
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(got, ['deploy:v1']);
    assertError(
      await call(a, 'POST', '/v1/event', { payload: 'x' }),
      400,
      /"name" must be a non-empty string/,
    );
    assertError(
      await call(a, 'POST', '/v1/event', { name: 'x', coalesce: 'yes' }),
      400,
      /"coalesce" must be true or false/,
    );
    assertError(
      await call(a, 'POST', '/v1/event', { name: 'big', payload: 'x'.repeat(600) }),
      413,
      /512 bytes/,
    );
    assertError(
      await call(a, 'POST', '/v1/event', { name: 'x', payload: 'y'.repeat(70 * 1024) }),
      413,
      /over 65536 bytes/,
    );
  });

  it('POST /v1/query streams acks and responses as NDJSON', async () => {
    b.serf.on('query', (q) => {
      if (q.name === 'ping-me') q.respond('pong-from-b');
    });
    const res = await fetch(`http://${a.httpAddr}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ping-me', requestAck: true, timeoutMs: 1500 }),
    });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; from?: string; payload?: string });
    assert.ok(lines.some((l) => l.type === 'ack' && l.from === 'api-b'));
    assert.ok(lines.some((l) => l.type === 'response' && l.from === 'api-b' && l.payload === 'pong-from-b'));
    assert.equal(lines.at(-1)?.type, 'done');
    assertError(await call(a, 'POST', '/v1/query', { name: 'q', relayFactor: 9 }), 400, /relayFactor/);
    assertError(await call(a, 'POST', '/v1/query', { name: 'q', timeoutMs: -1 }), 400, /timeoutMs/);
    assertError(await call(a, 'POST', '/v1/query', { name: 'q', filterNodes: 'b' }), 400, /filterNodes/);
    assertError(
      await call(a, 'POST', '/v1/query', { name: 'q', payload: 'z'.repeat(1100) }),
      413,
      /1024 bytes/,
    );
  });

  it('POST /v1/tags changes tags, visible on the other node', async () => {
    const r = await call(a, 'POST', '/v1/tags', { set: { version: '2' }, delete: ['role'] });
    assert.deepEqual(r.json.tags, { version: '2' });
    for (let i = 0; i < 200; i++) {
      if (b.serf.member('api-a')?.tags.version === '2') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(b.serf.member('api-a')?.tags, { version: '2' });
    assertError(await call(a, 'POST', '/v1/tags', { set: { k: 1 } }), 400, /"set" must be an object/);
    assertError(await call(a, 'POST', '/v1/tags', { set: { big: 'x'.repeat(600) } }), 413, /512/);
  });

  it('keys without encryption answer as serf does; bad ops and keys are 400', async () => {
    const list = await call(a, 'GET', '/v1/keys');
    assert.equal(list.status, 200);
    assert.ok((list.json.numErr as number) > 0 || Object.keys(list.json.keys as object).length === 0);
    assertError(await call(a, 'POST', '/v1/keys', { op: 'rotate', key: 'x' }), 400, /"op" must be/);
    assertError(
      await call(a, 'POST', '/v1/keys', { op: 'install', key: 'not-base64!' }),
      400,
      /base64|bytes/,
    );
  });

  it('GET /v1/events streams server-sent events', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`http://${a.httpAddr}/v1/events?types=user`, { signal: ctrl.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    await call(b, 'POST', '/v1/event', { name: 'streamed', payload: 'hi' });
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('streamed') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ctrl.abort();
    assert.match(text, /event: user\ndata: \{"name":"streamed","payload":"hi"/);
  });

  it('GET /v1/monitor streams logs; GET /metrics is Prometheus text', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`http://${a.httpAddr}/v1/monitor?level=debug`, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    ctrl.abort();
    assert.match(new TextDecoder().decode(value), /event: log\ndata: \{/);
    assertError(await call(a, 'GET', '/v1/monitor?level=loud'), 400, /level must be/);
    const m = await call(a, 'GET', '/metrics');
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    for (const name of [
      'gossip_members{status="alive"} 2',
      'gossip_probes_total',
      'gossip_health_score ',
      'gossip_messages_sent_total{type="ping"}',
      'gossip_broadcast_queue_depth{queue="memberlist"}',
      'gossip_event_loop_lag_seconds',
      'gossip_push_pull_duration_seconds_bucket',
    ]) {
      assert.ok(m.text.includes(name), `metrics include ${name}`);
    }
  });

  it('unknown routes are JSON 404s', async () => {
    assertError(await call(a, 'GET', '/v1/nope'), 404, /no such endpoint|no such page/);
    assertError(await call(a, 'DELETE', '/v1/members'), 404, /no such endpoint/);
  });

  it('POST /v1/leave leaves gracefully; the other node sees it left', async () => {
    let exited = -1;
    b.onExit((code) => {
      exited = code;
    });
    const r = await call(b, 'POST', '/v1/leave');
    assert.deepEqual(r.json, { left: true });
    for (let i = 0; i < 100 && a.serf.member('api-b')?.status !== 'left'; i++)
      await new Promise((res) => setTimeout(res, 50));
    assert.equal(a.serf.member('api-b')?.status, 'left');
    for (let i = 0; i < 100 && exited < 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(exited, 0);
  });
});

describe('HTTP API token rules', () => {
  const TOKEN = 'a-long-enough-secret-token';
  let t: Agent;
  before(async () => {
    t = await startAgent('tok', { httpToken: TOKEN });
  });
  after(async () => {
    await t?.stop();
  });

  it('every /v1 call and /metrics need the bearer token', async () => {
    assertError(await call(t, 'GET', '/v1/members'), 401, /Authorization: Bearer/);
    assertError(
      await call(t, 'GET', '/v1/members', undefined, { authorization: 'Bearer wrong' }),
      401,
      /wrong token/,
    );
    assertError(await call(t, 'GET', '/metrics'), 401, /token/);
    assert.equal(
      (await call(t, 'GET', '/v1/members', undefined, { authorization: `Bearer ${TOKEN}` })).status,
      200,
    );
    assert.equal(
      (await call(t, 'GET', `/v1/members?token=${TOKEN}`)).status,
      200,
      'the query form, for EventSource',
    );
  });

  it('the static dashboard files do not (they carry no cluster data)', async () => {
    const r = await call(t, 'GET', '/');
    assert.notEqual(r.status, 401);
  });

  it('a non-loopback API without a token is refused at start, with the fix', () => {
    assert.throws(
      () => resolveConfig({ nodeName: 'x', httpAddr: '0.0.0.0:7373' }),
      /refusing to serve the HTTP API on 0\.0\.0\.0:7373 without a token.*--http-token/,
    );
    assert.doesNotThrow(() => resolveConfig({ nodeName: 'x', httpAddr: '0.0.0.0:7373', httpToken: TOKEN }));
  });
});
