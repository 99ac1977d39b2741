/**
 * The HTTP API's shared types (`src/api/types.ts`) against the running server, and
 * `GossipClient` end to end: two real agents on loopback, every client method called, and every
 * JSON answer checked to carry exactly the fields its type names (so a field the server adds or
 * drops without the types fails here). The endpoint table and the server's routes must agree.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';
import { type AgentApi, createHttpApp, MAX_KV_WATCHES } from '../../src/agent/http.ts';
import type { KeyRotationReport } from '../../src/agent/keyring-dir.ts';
import { serve } from '../../src/agent/router.ts';
import { GossipClient } from '../../src/api/client.ts';
import {
  type AgentEventMap,
  type AgentResponse,
  ENDPOINTS,
  type HealthResponse,
  type InfoResponse,
  type KeysResponse,
  type KvEntryJson,
  type KvWatchEvent,
  type MemberDetail,
  type MemberJson,
  type QueryLine,
} from '../../src/api/types.ts';
import type { MemberStatus } from '../../src/cluster/index.ts';
import type { FormedReason } from '../../src/discovery/seed-discovery.ts';
import { AgentApiError } from '../../src/errors.ts';
import type { HealthReport } from '../../src/health/health.ts';
import type { Member } from '../../src/membership/index.ts';
import { Keyring } from '../../src/wire/crypto.ts';
import { waitFor } from '../support/serf.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
// The API's unions are the library's (the API module imports nothing, so it restates them).
export type _serfStatus = Assert<Equals<MemberJson['status'], MemberStatus>>;
export type _swimStatus = Assert<Equals<MemberDetail['swimStatus'], Member['status']>>;
export type _formed = Assert<Equals<AgentEventMap['discovery']['formed'], FormedReason>>;
export type _keyringDir = Assert<Equals<AgentEventMap['keyring-dir']['action'], KeyRotationReport['action']>>;
export type _health = Assert<Equals<HealthResponse, HealthReport>>;

/** Field lists the compiler holds equal to each type's keys (`satisfies Record<keyof T, ...>`). */
const MEMBER_JSON = { name: 1, addr: 1, port: 1, tags: 1, status: 1, protocol: 1 } satisfies Record<
  keyof MemberJson,
  1
>;
const MEMBER_DETAIL = {
  ...MEMBER_JSON,
  swimStatus: 1,
  incarnation: 1,
  lastChange: 1,
  memberlistProtocol: 1,
  isLocal: 1,
} satisfies Record<keyof MemberDetail, 1>;
const AGENT = {
  ...MEMBER_DETAIL,
  healthScore: 1,
  healthScoreMax: 1,
  queues: 1,
  clocks: 1,
  encrypted: 1,
  uptimeMs: 1,
  version: 1,
  http: 1,
  profile: 1,
  eventLoopLagMs: 1,
} satisfies Record<keyof AgentResponse, 1>;
const INFO = { agent: 1, runtime: 1, serf: 1, tags: 1 } satisfies Record<keyof InfoResponse, 1>;
const KEYS = {
  numNodes: 1,
  numResp: 1,
  numErr: 1,
  messages: 1,
  keys: 1,
  primaryKeys: 1,
  error: 1,
} satisfies Record<keyof KeysResponse, 1>;
const HEALTH = { live: 1, ready: 1, state: 1, reason: 1, aliveMembers: 1 } satisfies Record<
  keyof HealthResponse,
  1
>;
const KV_ENTRY = {
  value: 1,
  valueBase64: 1,
  node: 1,
  key: 1,
  version: 1,
  generation: 1,
  ephemeral: 1,
  ttlRemainingMs: 1,
  ownerStatus: 1,
} satisfies Record<keyof KvEntryJson, 1>;
const OPTIONAL = new Set(['lastChange', 'error', 'value', 'valueBase64', 'ttlRemainingMs']);

/** `value` has every (non-optional) field of `fields` and no other. */
function assertFields(what: string, value: unknown, fields: Record<string, 1>): void {
  assert.equal(typeof value, 'object', what);
  const keys = Object.keys(value as object).sort();
  const extra = keys.filter((k) => !(k in fields));
  const missing = Object.keys(fields).filter((k) => !OPTIONAL.has(k) && !keys.includes(k));
  assert.deepEqual(
    { extra, missing },
    { extra: [], missing: [] },
    `${what}: fields differ from src/api/types.ts`,
  );
}

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
    ...extra,
  });
  const agent = await Agent.create(config, { out: sink() });
  await agent.start();
  return agent;
}

describe('HTTP API types', () => {
  it('every endpoint of src/api/types.ts is served, and every /v1/ route is in the table', () => {
    const app = createHttpApp({} as AgentApi, undefined);
    const served = new Set(
      app.routes
        .filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path}`),
    );
    assert.deepEqual([...served].sort(), [...ENDPOINTS].sort());
  });
});

describe('GossipClient against two agents', () => {
  const key1 = Buffer.from(Keyring.generateKey()).toString('base64');
  const key2 = Buffer.from(Keyring.generateKey()).toString('base64');
  let a: Agent;
  let b: Agent;
  let ca: GossipClient;
  let cb: GossipClient;
  before(async () => {
    a = await startAgent('client-a', { encryptKey: key1, tags: { role: 'web' } });
    b = await startAgent('client-b', { encryptKey: key1, httpToken: 'sesame-open-0123' });
    ca = new GossipClient({ http: a.httpAddr });
    cb = new GossipClient({ http: `http://${b.httpAddr}/`, token: 'sesame-open-0123' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('join, members, member, agent, info: typed answers with exactly the typed fields', async () => {
    assert.deepEqual(await ca.join([b.gossipAddr]), { joined: 1 });
    await waitFor(
      'both members alive',
      async () => (await cb.members({ status: 'alive' })).members.length === 2,
    );
    const { members } = await ca.members({ tag: ['role=web'] });
    assert.deepEqual(
      members.map((m) => m.name),
      ['client-a'],
    );
    for (const m of (await ca.members()).members) assertFields('GET /v1/members', m, MEMBER_JSON);
    for (const m of (await ca.membersDetail()).members)
      assertFields('GET /v1/members/detail', m, MEMBER_DETAIL);
    const detail = await ca.member('client-b');
    assertFields('GET /v1/members/:name', detail, MEMBER_DETAIL);
    assert.equal(detail.isLocal, false);
    const self = await ca.agent();
    assertFields('GET /v1/agent', self, AGENT);
    assert.equal(self.encrypted, true);
    assertFields('GET /v1/info', await ca.info(), INFO);
    for (const check of ['live', 'ready'] as const) {
      const h = await new GossipClient({ http: b.httpAddr }).health(check); // no token needed
      assertFields(`GET /v1/health/${check}`, h, HEALTH);
      assert.equal(h[check], true);
    }
  });

  it('errors: AgentApiError with the status and the agent’s message; 0 when unreachable; 401 without the token', async () => {
    await assert.rejects(ca.member('nobody'), (e) => {
      assert.ok(e instanceof AgentApiError);
      assert.equal(e.status, 404);
      assert.match(e.message, /no member named "nobody"/);
      return true;
    });
    await assert.rejects(new GossipClient({ http: '127.0.0.1:1' }).agent(), (e) => {
      assert.ok(e instanceof AgentApiError);
      assert.equal(e.status, 0);
      assert.match(e.message, /cannot reach the gossip agent at http:\/\/127\.0\.0\.1:1/);
      return true;
    });
    await assert.rejects(new GossipClient({ http: b.httpAddr }).agent(), (e) => {
      assert.ok(e instanceof AgentApiError);
      assert.equal(e.status, 401);
      return true;
    });
    const abort = new AbortController();
    abort.abort(new Error('stop'));
    await assert.rejects(ca.agent({ signal: abort.signal }), /stop/);
  });

  it('event and events(): a binary payload arrives as payloadBase64, typed by event name', async () => {
    const stop = new AbortController();
    const got = (async () => {
      for await (const e of cb.events({ types: ['user'], signal: stop.signal })) {
        if (e.event === 'user' && e.data.name === 'bin') return e.data;
      }
      return undefined;
    })();
    const { lTime } = await ca.event('bin', new Uint8Array([0xff, 0x00, 0x80]), { coalesce: false });
    assert.equal(typeof lTime, 'number');
    const data = (await waitFor('the user event on b', () => Promise.race([got, null]), 10_000)) as
      | AgentEventMap['user']
      | undefined;
    stop.abort();
    assert.equal(data?.payloadBase64, Buffer.from([0xff, 0x00, 0x80]).toString('base64'));
    assert.equal(data?.coalesce, false);
  });

  it('query(): acks from both nodes, then done', async () => {
    const lines: QueryLine[] = [];
    for await (const l of ca.query('ping', 'x', { requestAck: true, timeoutMs: 2000 })) lines.push(l);
    const acks = lines.filter((l) => l.type === 'ack').map((l) => (l.type === 'ack' ? l.from : ''));
    assert.deepEqual(acks.sort(), ['client-a', 'client-b']);
    assert.deepEqual(lines.at(-1), { type: 'done', acks: 2, responses: 0 });
  });

  it('keys, keyOp, setTags, rtt, monitor, metrics', async () => {
    const listed = await ca.keys();
    assertFields('GET /v1/keys', listed, KEYS);
    assert.deepEqual(listed.keys, { [key1]: 2 });
    for (const [op, key] of [
      ['install', key2],
      ['use', key2],
      ['remove', key1],
    ] as const) {
      const r = await ca.keyOp(op, key);
      assertFields(`POST /v1/keys ${op}`, r, KEYS);
      assert.equal(r.numErr, 0, JSON.stringify(r));
    }
    assert.deepEqual((await cb.keys()).keys, { [key2]: 2 });
    assert.deepEqual(await cb.setTags({ set: { zone: 'z1' } }), { tags: { zone: 'z1' } });
    const rtt = await waitFor(
      'coordinates for an RTT',
      () => ca.rtt('client-b').catch(() => undefined),
      15_000,
    );
    assert.equal(rtt.b, 'client-a');
    assert.ok(rtt.rttMs >= 0);
    const stop = new AbortController();
    for await (const r of ca.monitor({ level: 'debug', signal: stop.signal })) {
      assert.equal(typeof r.msg, 'string');
      stop.abort();
    }
    assert.match(await ca.metrics(), /^gossip_/m);
  });

  it('kv: set, get, list, delete, a watch resumed from its last id, replicas; keys with slashes, binary values', async () => {
    const w1 = await ca.kvSet('svc/http/addr', '10.0.0.7:80', { ttl: '1h' });
    assert.deepEqual(Object.keys(w1).sort(), ['generation', 'version']);
    const bin = await ca.kvSet('blob', new Uint8Array([0xff, 0x00]), { ephemeral: true });
    assert.equal(bin.version, w1.version + 1);
    const e = await ca.kvGet('svc/http/addr');
    assertFields('GET /v1/kv/:key+', e, KV_ENTRY);
    assert.equal(e?.value, '10.0.0.7:80');
    assert.equal(e?.ownerStatus, 'alive');
    assert.ok(e!.ttlRemainingMs! > 3_500_000 && e!.ttlRemainingMs! <= 3_600_000);
    assert.equal((await ca.kvGet('blob'))?.valueBase64, '/wA=');
    assert.equal(await ca.kvGet('nothing'), undefined);
    // On the other agent, once the state's gossip brought it.
    const remote = await waitFor(
      'the key on b',
      async () => (await cb.kvGet('svc/http/addr', { node: 'client-a' })) ?? false,
      15_000,
    );
    assert.equal(remote.ephemeral, false);
    assert.equal((await cb.kvGet('blob', { node: 'client-a' }))?.ephemeral, true);
    const list = await cb.kvList({ node: 'client-a', prefix: 'svc/' });
    assert.deepEqual(list, {
      nodes: { 'client-a': { 'svc/http/addr': { value: '10.0.0.7:80', version: w1.version } } },
    });

    // A watch: the snapshot, ready, then a change; resumed from its id, only what came after.
    const stop = new AbortController();
    const events: KvWatchEvent[] = [];
    const watch = ca.kvWatch({ node: 'client-a', prefix: 'svc/', signal: stop.signal });
    for await (const ev of watch) {
      events.push(ev);
      if (ev.event === 'ready') break;
    }
    assert.deepEqual(
      events.map((x) => [x.event, x.event === 'set' ? x.data.snapshot : undefined]),
      [
        ['set', true],
        ['ready', undefined],
      ],
    );
    const token = events.at(-1)!.id!;
    await ca.kvSet('svc/http/port', '80');
    // A key's slashes may also go unencoded: the rest of the path is the key.
    const raw = await fetch(`http://${a.httpAddr}/v1/kv/svc/http/port`);
    assert.equal(((await raw.json()) as KvEntryJson).value, '80');
    assert.deepEqual(await ca.kvDelete('svc/http/addr'), {
      version: w1.version + 3,
      generation: w1.generation,
    });
    assert.equal(await ca.kvDelete('svc/http/addr'), undefined);
    const resumed: KvWatchEvent[] = [];
    for await (const ev of ca.kvWatch({
      node: 'client-a',
      prefix: 'svc/',
      since: token,
      signal: stop.signal,
    })) {
      resumed.push(ev);
      if (ev.event === 'delete') break;
    }
    stop.abort();
    assert.deepEqual(
      resumed.map((x) => `${x.event}:${x.event === 'ready' ? x.data.token : x.data.key}`),
      [`ready:${token}`, 'set:svc/http/port', 'delete:svc/http/addr'],
    );
    assert.equal(resumed[2]!.event === 'delete' && resumed[2]!.data.cause, 'deleted');

    // Where b's copy of a's map stands: both hold a's latest version.
    const version = w1.version + 3;
    const r = await waitFor(
      'both replicas at the delete',
      async () => {
        const x = await ca.replicas('client-a');
        return x.replicas.length === 2 && x.replicas.every((y) => y.version >= version) ? x : false;
      },
      15_000,
    );
    assert.deepEqual(r.replicas.map((y) => y.node).sort(), ['client-a', 'client-b']);
  });

  it('kv errors: a bad ttl or ephemeral flag, a value over maxValueBytes, a watch over the limit', async () => {
    await assert.rejects(ca.kvSet('k', 'v', { ttl: 'soon' }), (e) => {
      assert.ok(e instanceof AgentApiError);
      assert.equal(e.status, 400);
      assert.match(e.message, /ttl must be a duration like 30s or 5m; got "soon"/);
      return true;
    });
    const res = await fetch(`http://${a.httpAddr}/v1/kv/k?ephemeral=yes`, { method: 'PUT', body: 'v' });
    assert.equal(res.status, 400);
    await assert.rejects(ca.kvSet('big', new Uint8Array(64 * 1024 + 1)), (e) => {
      assert.ok(e instanceof AgentApiError);
      assert.equal(e.status, 413);
      assert.match(e.message, /over maxValueBytes \(65536\)/);
      return true;
    });
    // The limit is checked on the bytes read too, not only on Content-Length.
    const chunked = await fetch(`http://${a.httpAddr}/v1/kv/big`, {
      method: 'PUT',
      body: new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(40_000));
          c.enqueue(new Uint8Array(40_000));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(await ca.kvGet('big'), undefined);
    // MAX_KV_WATCHES open: one more is refused before any stream starts.
    const full = await serve(
      createHttpApp({ kvWatchCount: () => MAX_KV_WATCHES } as AgentApi, undefined),
      '127.0.0.1',
      0,
    );
    try {
      const { port } = full.address() as { port: number };
      const over = await fetch(`http://127.0.0.1:${port}/v1/kv?watch=1`);
      assert.equal(over.status, 503);
      assert.match(((await over.json()) as { error: string }).error, /too many watches open \(limit 256\)/);
    } finally {
      full.close();
    }
  });

  it('leave(): the agent leaves and the other sees it left', async () => {
    assert.deepEqual(await cb.leave(), { left: true });
    await waitFor(
      'b left, as seen by a',
      async () => (await ca.member('client-b')).status === 'left',
      15_000,
    );
  });
});
