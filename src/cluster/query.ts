/**
 * Queries (Serf `query.go`, `Query`, `handleQuery`, `handleQueryResponse`, `relayResponse`;
 * spec §9.7): a request gossiped to every member, answered directly.
 *
 * - The querier gossips `messageQuery` with its own address, an ID (random 31 bits) and its
 *   query-clock time (not incremented on send: its own handling of the query witnesses it),
 *   and collects answers until the deadline (`timeout`, default
 *   `gossipInterval × queryTimeoutMult × ceil(log10(n + 1))`).
 * - Every receiver witnesses the time, drops what it has already seen (by `(lTime, ID)` in a
 *   ring of `queryBuffer` slots), re-gossips the query unless it is flagged no-broadcast, and
 *   stops there unless every filter matches (node names; tag value against a Go regexp).
 * - A matching receiver acks at once if asked (`Flags & 1`), and the application (or, for
 *   `_serf_*` names, Serf itself) may answer once with `respond()` before the deadline. Acks
 *   and responses go straight to the querier by UDP, including the querier's to itself.
 * - With `relayFactor` k > 0, each ack and response is also sent to k random alive members
 *   wrapped in a relay message (`0x09 | relayHeader | inner`), and they forward the inner bytes
 *   to the querier: a path around a broken link. The querier keeps the first copy per sender.
 *
 * Collectors are keyed by `(lTime, ID)` (Serf keys them by `lTime` alone and then checks the
 * ID; the result is the same, without the collision of two queries at one time).
 */
import { ConfigError, SizeLimitError, StateError, TimeoutError } from '../errors.ts';
import type { Timer } from '../runtime/clock.ts';
import { type Listener, TypedEmitter } from '../runtime/emitter.ts';
import { ipFromString, ipToString, joinHostPort } from '../wire/ip.ts';
import {
  decodeFilter,
  encodeFilter,
  encodeSerfMessage,
  type MessageQuery,
  type MessageQueryResponse,
  QueryFlag,
  type RelayHeader,
} from '../wire/serf.ts';
import {
  MAX_PENDING_QUERIES,
  MAX_QUERY_IDS_PER_LTIME,
  MAX_QUERY_REPLIES,
  type MemberState,
  type SerfCore,
} from './core.ts';
import { compileGoRegexp, goRegexpMatch } from './go-regexp.ts';
import type { LamportTime } from './lamport.ts';

/** The prefix of Serf's own queries; these are never handed to the application. */
export const INTERNAL_QUERY_PREFIX = '_serf_';

/** Nanoseconds per millisecond (the wire carries Go `time.Duration`). */
const NS_PER_MS = 1_000_000;

/** The smallest protocol version that has queries. */
const QUERY_MIN_PROTOCOL = 4;
/** memberlist protocol a member needs to relay responses. */
const RELAY_MIN_PROTOCOL_MAX = 5;

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** What `query()` accepts. */
export interface QueryParams {
  /** Only these nodes answer (and ack). */
  filterNodes?: readonly string[];
  /**
   * Only nodes whose tag matches answer: tag name → Go regular expression, matched anywhere in
   * the tag's value (a missing tag is ""), in linear time (`go-regexp.ts`).
   */
  filterTags?: Readonly<Record<string, string>>;
  /** Ask every matching node for an ack as soon as it sees the query. @default false */
  requestAck?: boolean;
  /** Also relay each answer through this many random members (0..255). @default 0 */
  relayFactor?: number;
  /** How long to collect answers. @default gossipInterval × queryTimeoutMult × ceil(log10(n + 1)) */
  timeoutMs?: number;
  /** Aborting stops collecting at once; `done` then rejects with the reason. */
  signal?: AbortSignal;
}

/** One node's answer. */
export interface NodeResponse {
  readonly from: string;
  readonly payload: Uint8Array;
}

/** An ack or a response, in arrival order. */
export type QueryReply =
  | { readonly type: 'ack'; readonly from: string }
  | { readonly type: 'response'; readonly from: string; readonly payload: Uint8Array };

/** Everything a query collected. */
export interface QueryResult {
  readonly acks: readonly string[];
  readonly responses: readonly NodeResponse[];
}

/** Events of a {@link QueryResponse}. */
export interface QueryResponseEvents {
  ack: { from: string };
  response: NodeResponse;
  /** Collection ended (deadline, `close()`, abort or shutdown). */
  done: QueryResult;
}

/**
 * A query this node issued: acks and responses as they arrive, until the deadline.
 *
 * @example
 * const q = serf.query('uptime', new Uint8Array(), { requestAck: true });
 * for await (const reply of q) console.log(reply.type, reply.from);
 * const { acks, responses } = await q.done;
 */
export class QueryResponse implements AsyncIterable<QueryReply> {
  /** The query's name. */
  readonly name: string;
  /** The query-clock time it was sent at. */
  readonly lTime: LamportTime;
  /** Its random ID. */
  readonly id: number;
  /** Clock time (ms) after which answers are ignored. */
  readonly deadline: number;
  /** Whether acks were requested (unrequested acks are ignored, as in Serf). */
  readonly requestAck: boolean;
  /** Resolves with everything collected when collection ends; rejects with the abort reason. */
  readonly done: Promise<QueryResult>;

  readonly #events = new TypedEmitter<QueryResponseEvents>();
  readonly #acks: string[] = [];
  readonly #ackFrom = new Set<string>();
  readonly #responses: NodeResponse[] = [];
  readonly #responseFrom = new Set<string>();
  readonly #replies: QueryReply[] = [];
  #waiters: (() => void)[] = [];
  #finished = false;
  #abortReason: unknown;
  #hasAbortReason = false;
  #resolve!: (r: QueryResult) => void;
  #reject!: (e: unknown) => void;
  #onFinish: (() => void) | undefined;
  /** Replies dropped because the query hit {@link MAX_QUERY_REPLIES}. */
  droppedReplies = 0;

  /** @internal Created by `Serf.query()`. */
  constructor(init: {
    name: string;
    lTime: LamportTime;
    id: number;
    deadline: number;
    requestAck: boolean;
    onFinish?: () => void;
  }) {
    this.name = init.name;
    this.lTime = init.lTime;
    this.id = init.id;
    this.deadline = init.deadline;
    this.requestAck = init.requestAck;
    this.#onFinish = init.onFinish;
    this.done = new Promise<QueryResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Nobody may be waiting on `done`; an abort must not become an unhandled rejection.
    this.done.catch(() => {});
  }

  /** Acks so far. */
  get acks(): readonly string[] {
    return this.#acks;
  }

  /** Responses so far. */
  get responses(): readonly NodeResponse[] {
    return this.#responses;
  }

  /** Whether collection has ended. */
  get isFinished(): boolean {
    return this.#finished;
  }

  /** Subscribes to `ack`, `response` or `done`; returns the unsubscribe function. */
  on<K extends keyof QueryResponseEvents>(event: K, listener: Listener<QueryResponseEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Every ack and response, in arrival order (the ones before the iteration started too),
   * ending when collection ends; throws the abort reason if the query was aborted.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<QueryReply> {
    let next = 0;
    for (;;) {
      while (next < this.#replies.length) yield this.#replies[next++]!;
      if (this.#finished) {
        if (this.#hasAbortReason) throw this.#abortReason;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops collecting now; `done` resolves with what arrived. */
  close(): void {
    this.#finish(undefined, false);
  }

  /** @internal Stops collecting with an error. */
  abort(reason: unknown): void {
    this.#finish(reason, true);
  }

  #finish(reason: unknown, isAbort: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#onFinish?.();
    const result: QueryResult = { acks: [...this.#acks], responses: [...this.#responses] };
    if (isAbort) {
      this.#abortReason = reason;
      this.#hasAbortReason = true;
      this.#reject(reason);
    } else {
      this.#resolve(result);
    }
    this.#events.emit('done', result);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #room(): boolean {
    if (this.#replies.length < MAX_QUERY_REPLIES) return true;
    this.droppedReplies++;
    return false;
  }

  /** @internal Returns false for a duplicate (or an ack nobody asked for). */
  addAck(from: string): 'ok' | 'duplicate' | 'dropped' {
    if (this.#finished || !this.requestAck) return 'dropped';
    if (this.#ackFrom.has(from)) return 'duplicate';
    if (!this.#room()) return 'dropped';
    this.#ackFrom.add(from);
    this.#acks.push(from);
    this.#replies.push({ type: 'ack', from });
    this.#events.emit('ack', { from });
    this.#wake();
    return 'ok';
  }

  /** @internal */
  addResponse(from: string, payload: Uint8Array): 'ok' | 'duplicate' | 'dropped' {
    if (this.#finished) return 'dropped';
    if (this.#responseFrom.has(from)) return 'duplicate';
    if (!this.#room()) return 'dropped';
    this.#responseFrom.add(from);
    const r = { from, payload };
    this.#responses.push(r);
    this.#replies.push({ type: 'response', from, payload });
    this.#events.emit('response', r);
    this.#wake();
    return 'ok';
  }
}

/**
 * A query delivered to this node (Serf `Query`). Answer it once with {@link Query.respond}
 * before {@link Query.deadline}; an ack, if requested, has already gone out.
 */
export class Query {
  /** Discriminates a query in the {@link SerfEvent} union. */
  readonly type = 'query' as const;
  /** The query-clock time it was sent at. */
  readonly lTime: LamportTime;
  readonly name: string;
  readonly payload: Uint8Array;
  /** The querier's name. */
  readonly sourceNode: string;
  /** The query's ID (with `lTime`, it identifies the query; an agent's RPC answers by it). */
  readonly id: number;
  /** Clock time (ms) after which `respond()` refuses. */
  readonly deadline: number;
  readonly #core: SerfCore;
  readonly #addr: Uint8Array;
  readonly #port: number;
  readonly #relayFactor: number;
  #responded = false;

  /** @internal Created by the Serf layer when a query arrives. */
  constructor(core: SerfCore, msg: MessageQuery) {
    this.#core = core;
    this.lTime = msg.lTime;
    this.name = msg.name;
    this.payload = msg.payload ?? EMPTY;
    this.sourceNode = msg.sourceNode;
    this.id = msg.id;
    this.deadline = core.clock.now() + msg.timeout / NS_PER_MS;
    this.#addr = msg.addr;
    this.#port = msg.port;
    this.#relayFactor = msg.relayFactor;
  }

  /** Whether `respond()` has been called successfully. */
  get hasResponded(): boolean {
    return this.#responded;
  }

  /**
   * Sends our answer to the querier (and through `relayFactor` relays). Once per query.
   * @throws SizeLimitError over `queryResponseSizeLimit`; StateError when already answered;
   *   TimeoutError past the deadline.
   */
  respond(payload: Uint8Array | string): void {
    const bytes = typeof payload === 'string' ? utf8.encode(payload) : payload;
    const resp = this.#response(bytes);
    this.respondRaw(encodeSerfMessage({ type: 'queryResponse', body: resp }), resp);
  }

  /** @internal The response message for `payload`. */
  response(payload: Uint8Array): MessageQueryResponse {
    return this.#response(payload);
  }

  #response(payload: Uint8Array): MessageQueryResponse {
    return { lTime: this.lTime, id: this.id, from: this.#core.name, flags: 0, payload };
  }

  /** @internal Sends an already encoded response (Serf `respondWithMessageAndResponse`). */
  respondRaw(raw: Uint8Array, resp: MessageQueryResponse): void {
    const core = this.#core;
    const limit = core.opts.queryResponseSizeLimit;
    if (raw.length > limit) {
      throw new SizeLimitError(
        'query response',
        raw.length,
        limit,
        'raise queryResponseSizeLimit or answer less',
      );
    }
    if (this.#responded) throw new StateError(`the query "${this.name}" was already answered`);
    if (core.clock.now() > this.deadline) {
      throw new TimeoutError(`the query "${this.name}" is past its deadline; the querier no longer listens`);
    }
    if (!core.isRunning) throw new StateError('cannot answer a query: this node is shut down');
    sendTo(core, this.#addr, this.#port, raw);
    relayResponse(core, this.#relayFactor, this.#addr, this.#port, this.sourceNode, resp);
    this.#responded = true;
  }
}

function sendTo(core: SerfCore, addr: Uint8Array, port: number, raw: Uint8Array): void {
  try {
    core.ml.sendBestEffort(joinHostPort(ipToString(addr), port), raw);
  } catch (e) {
    core.log.error('serf: could not send', { error: String(e) });
  }
}

/** The default query timeout (Serf `DefaultQueryTimeout`). */
export function defaultQueryTimeoutMs(core: SerfCore): number {
  const n = core.ml.members().length;
  return core.ml.options.gossipIntervalMs * core.opts.queryTimeoutMult * Math.ceil(Math.log10(n + 1));
}

/** Encodes the filters of a query (Serf `encodeFilters`): nodes first, then one per tag. */
function encodeFilters(params: QueryParams): Uint8Array[] | null {
  const filters: Uint8Array[] = [];
  if (params.filterNodes && params.filterNodes.length > 0) {
    filters.push(encodeFilter({ type: 'node', nodes: [...params.filterNodes] }));
  }
  for (const [tag, expr] of Object.entries(params.filterTags ?? {})) {
    filters.push(encodeFilter({ type: 'tag', tag, expr }));
  }
  return filters.length > 0 ? filters : null;
}

/**
 * Issues a query (Serf `Query`): size check, a collector registered until the deadline, local
 * handling (we may be a target), then gossip.
 */
export function startQuery(
  core: SerfCore,
  name: string,
  payload: Uint8Array,
  params: QueryParams = {},
): QueryResponse {
  if (core.opts.protocolVersion < QUERY_MIN_PROTOCOL) {
    throw new ConfigError(
      'protocolVersion',
      `queries need Serf protocol ${QUERY_MIN_PROTOCOL} or newer; this node speaks ${core.opts.protocolVersion}`,
    );
  }
  const relayFactor = params.relayFactor ?? 0;
  if (!Number.isInteger(relayFactor) || relayFactor < 0 || relayFactor > 255) {
    throw new ConfigError('relayFactor', `expected a whole number from 0 to 255; got ${relayFactor}`);
  }
  const timeoutMs = params.timeoutMs ?? defaultQueryTimeoutMs(core);
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new ConfigError('timeoutMs', `expected a positive number of milliseconds; got ${timeoutMs}`);
  }
  for (const [tag, expr] of Object.entries(params.filterTags ?? {})) {
    const r = compileGoRegexp(expr);
    if (!r.ok) {
      throw new ConfigError(`filterTags.${tag}`, `not a valid Go regular expression (${r.detail}): ${expr}`);
    }
  }
  params.signal?.throwIfAborted();
  if (core.pendingQueries.size >= MAX_PENDING_QUERIES) {
    throw new StateError(
      `${MAX_PENDING_QUERIES} queries are already collecting answers; wait for one to end`,
    );
  }
  const local = core.ml.localNode;
  const msg: MessageQuery = {
    lTime: core.queryClock.time(),
    id: core.random.int(2 ** 31),
    addr: ipFromString(local.ip) ?? new Uint8Array(4),
    port: local.port,
    sourceNode: local.name,
    filters: encodeFilters(params),
    flags: params.requestAck ? QueryFlag.ack : 0,
    relayFactor,
    timeout: Math.round(timeoutMs * NS_PER_MS),
    name,
    payload,
  };
  const raw = encodeSerfMessage({ type: 'query', body: msg });
  if (raw.length > core.opts.querySizeLimit) {
    throw new SizeLimitError(
      'encoded query',
      raw.length,
      core.opts.querySizeLimit,
      'raise querySizeLimit or send less',
    );
  }
  const key = `${msg.lTime}:${msg.id}`;
  let timer: Timer | undefined;
  const signal = params.signal;
  const onAbort = () => resp.abort(signal?.reason);
  const resp = new QueryResponse({
    name,
    lTime: msg.lTime,
    id: msg.id,
    deadline: core.clock.now() + timeoutMs,
    requestAck: params.requestAck === true,
    onFinish: () => {
      core.pendingQueries.delete(key);
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
    },
  });
  core.pendingQueries.set(key, resp);
  timer = core.clock.setTimer(timeoutMs, () => resp.close());
  signal?.addEventListener('abort', onAbort, { once: true });
  handleQuery(core, msg);
  core.queryQueue.queue(raw);
  return resp;
}

/** A query arrived (or is our own). Returns whether to re-gossip it. */
export function handleQuery(core: SerfCore, msg: MessageQuery): boolean {
  core.queryClock.witness(msg.lTime);
  if (msg.lTime < core.queryMinTime) return false;
  const ring = core.queryRing;
  const now = core.queryClock.time();
  if (now > ring.length && msg.lTime < now - ring.length) {
    core.log.warn('serf: received an old query', { name: msg.name, lTime: msg.lTime, current: now });
    return false;
  }
  const idx = msg.lTime % ring.length;
  let slot = ring[idx];
  if (slot?.lTime === msg.lTime) {
    if (slot.ids.includes(msg.id)) return false;
    if (slot.ids.length >= MAX_QUERY_IDS_PER_LTIME) {
      core.drop('query-slot-full', `over ${MAX_QUERY_IDS_PER_LTIME} queries at time ${msg.lTime}`);
      return false;
    }
  } else {
    slot = { lTime: msg.lTime, ids: [] };
    ring[idx] = slot;
  }
  slot.ids.push(msg.id);

  const rebroadcast = (msg.flags & QueryFlag.noBroadcast) === 0;
  // Even a query that is not for us is passed on: it is the first time we see it.
  if (!shouldProcessQuery(core, msg.filters)) return rebroadcast;

  if ((msg.flags & QueryFlag.ack) !== 0) {
    const ack: MessageQueryResponse = {
      lTime: msg.lTime,
      id: msg.id,
      from: core.name,
      flags: QueryFlag.ack,
      payload: null,
    };
    sendTo(core, msg.addr, msg.port, encodeSerfMessage({ type: 'queryResponse', body: ack }));
    relayResponse(core, msg.relayFactor, msg.addr, msg.port, msg.sourceNode, ack);
  }
  core.stats.queries++;
  const query = new Query(core, msg);
  if (msg.name.startsWith(INTERNAL_QUERY_PREFIX)) {
    core.events.emit('internal-query', { name: msg.name, lTime: msg.lTime, sourceNode: msg.sourceNode });
    core.internalQueryHandler?.(query);
  } else {
    core.emitEvent(query);
  }
  return rebroadcast;
}

/** Whether every filter of a query matches this node (Serf `shouldProcessQuery`). */
export function shouldProcessQuery(core: SerfCore, filters: readonly Uint8Array[] | null): boolean {
  for (const raw of filters ?? []) {
    const f = decodeFilter(raw);
    if (!f.ok) {
      core.log.warn('serf: could not decode a query filter', { reason: f.detail });
      return false;
    }
    const filter = f.value;
    if (filter.type === 'node') {
      if (!filter.nodes.includes(core.name)) return false;
      continue;
    }
    const r = goRegexpMatch(filter.expr, core.tags[filter.tag] ?? '');
    if (!r.ok) {
      core.log.warn('serf: could not compile a tag filter', {
        expr: filter.expr,
        reason: r.reason,
        detail: r.detail,
      });
      return false;
    }
    if (!r.matched) return false;
  }
  return true;
}

/** An ack or response for one of our queries (Serf `handleQueryResponse`). */
export function handleQueryResponse(core: SerfCore, resp: MessageQueryResponse): void {
  const query = core.pendingQueries.get(`${resp.lTime}:${resp.id}`);
  if (query === undefined) {
    core.log.debug('serf: reply for a query that is not running', {
      lTime: resp.lTime,
      id: resp.id,
      from: resp.from,
    });
    return;
  }
  if (query.isFinished || core.clock.now() > query.deadline) return;
  if ((resp.flags & QueryFlag.ack) !== 0) {
    const r = query.addAck(resp.from);
    if (r === 'ok') core.stats.queryAcks++;
    else if (r === 'duplicate') core.stats.duplicateAcks++;
  } else {
    const r = query.addResponse(resp.from, resp.payload ?? EMPTY);
    if (r === 'ok') core.stats.queryResponses++;
    else if (r === 'duplicate') core.stats.duplicateResponses++;
  }
}

/** Up to `k` distinct random members that `exclude` does not reject (at most 3n draws, as Serf). */
function kRandomMembers(
  core: SerfCore,
  k: number,
  members: readonly MemberState[],
  exclude: (m: MemberState) => boolean,
): MemberState[] {
  const out: MemberState[] = [];
  const n = members.length;
  for (let i = 0; i < 3 * n && out.length < k; i++) {
    const m = members[core.random.int(n)]!;
    if (exclude(m) || out.includes(m)) continue;
    out.push(m);
  }
  return out;
}

/**
 * Sends an ack or response through `relayFactor` random alive members as well (Serf
 * `relayResponse`). Skipped when the cluster is smaller than `relayFactor + 1`.
 */
export function relayResponse(
  core: SerfCore,
  relayFactor: number,
  addr: Uint8Array,
  port: number,
  sourceNode: string,
  resp: MessageQueryResponse,
): void {
  if (relayFactor === 0) return;
  const members = [...core.members.values()];
  if (members.length < relayFactor + 1) return;
  const header: RelayHeader = { destAddr: { ip: addr, port, zone: '' }, destName: sourceNode };
  const raw = encodeSerfMessage({
    type: 'relay',
    header,
    inner: encodeSerfMessage({ type: 'queryResponse', body: resp }),
  });
  if (raw.length > core.opts.queryResponseSizeLimit) {
    core.log.error('serf: relayed response over the size limit; not relayed', {
      size: raw.length,
      limit: core.opts.queryResponseSizeLimit,
    });
    return;
  }
  const relays = kRandomMembers(
    core,
    relayFactor,
    members,
    (m) => m.status !== 'alive' || (m.vsn[1] ?? 0) < RELAY_MIN_PROTOCOL_MAX || m.name === core.name,
  );
  for (const m of relays) sendTo(core, m.addr, m.port, raw);
}

/** A relay message arrived: forward its inner message to the querier (Serf `messageRelayType`). */
export function forwardRelay(core: SerfCore, header: RelayHeader, inner: Uint8Array): void {
  core.stats.relaysForwarded++;
  sendTo(core, header.destAddr.ip, header.destAddr.port, inner);
}
