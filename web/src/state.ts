/**
 * The dashboard's view state and the reducer that builds it from what the agent says.
 *
 * Inputs, all turned into {@link Action}s by `api.ts` and fed to {@link reduce}:
 * - `GET /v1/agent` (polled): the local node;
 * - `GET /v1/members/detail` (polled, and refreshed after every `member-*` event): the member
 *   list. Polls are diffed against the current view, because some transitions have no event of
 *   their own (a remote node refuting a suspicion, a node announcing that it is leaving);
 * - `GET /v1/events` (server-sent events): member events, user events, queries, the local health
 *   score, probe results and the once-a-second `stats`;
 * - `POST /v1/query` with `requestAck` (the spread trace): one ack line per node that received the
 *   query by gossip, then `done`.
 *
 * The reducer is pure (no DOM, no clock: every action carries its time `at`, in ms since the
 * epoch) and returns a new state object whenever something changed, so lit re-renders by
 * reference. Every list is bounded by a named constant below.
 */
import {
  type AgentInfo,
  type Api,
  isObj,
  type Loose,
  type MemberDetail,
  num,
  parseMember,
  parseStats,
  parseTime,
  payloadText,
  type QueryLine,
  type StatsSample,
  str,
} from './api-types.ts';

/** Timeline entries kept (newest first). */
export const TIMELINE_MAX = 300;
/** Seconds of `stats` kept for the charts. */
export const SERIES_MAX = 300;
/** User events kept in the "received here" list. */
export const USER_EVENTS_MAX = 50;
/** Finished traces kept as summaries. */
export const TRACE_HISTORY_MAX = 10;
/** An event replaces an inferred timeline entry of the same node and kind this close in time. */
export const INFERRED_MERGE_MS = 30_000;
/** Probe round-trip times kept per member. */
export const RTT_HISTORY_MAX = 20;
/** Members shown at most (a bigger cluster is summarised; the API is the tool for it). */
export const MEMBERS_MAX = 2000;

/** The status an operator reads: Serf's status, with memberlist's suspicion folded in. */
export type DisplayStatus = 'alive' | 'suspect' | 'leaving' | 'left' | 'failed';

export const DISPLAY_STATUSES: readonly DisplayStatus[] = ['alive', 'suspect', 'leaving', 'left', 'failed'];

/** What this agent's probes say about a member (Lifeguard health as seen from here). */
export interface ProbeHealth {
  ok: boolean;
  /** Last successful round-trip time. */
  rttMs: number | undefined;
  indirect: boolean;
  /** Consecutive failed probes. */
  failures: number;
  at: number;
  /** Recent successful round-trip times, oldest first. */
  rtts: readonly number[];
}

export interface MemberView extends MemberDetail {
  display: DisplayStatus;
  isLocal: boolean;
  probe: ProbeHealth | undefined;
  /** Who accused it, while it is suspect. */
  suspectedBy: string | undefined;
  /** When the dashboard last saw its state change. */
  changedAt: number;
}

export type TimelineKind =
  | 'join'
  | 'suspect'
  | 'refute'
  | 'failed'
  | 'leave'
  | 'leaving'
  | 'update'
  | 'reap'
  | 'user'
  | 'query'
  | 'health'
  | 'agent';

export interface TimelineEntry {
  id: number;
  at: number;
  kind: TimelineKind;
  node: string | undefined;
  title: string;
  detail: string;
  /** Inferred by diffing two member-list polls, not reported by an event. */
  inferred: boolean;
}

export interface UserEventEntry {
  id: number;
  at: number;
  name: string;
  payload: string;
  lTime: number | undefined;
  coalesce: boolean;
}

export interface HealthView {
  score: number;
  max: number;
  reason: string | undefined;
  at: number;
}

/** The charts' columns (uPlot's layout: one array per series, `t` in seconds). */
export interface StatsSeries {
  t: readonly number[];
  msgsIn: readonly number[];
  msgsOut: readonly number[];
  bytesIn: readonly number[];
  bytesOut: readonly number[];
  queueDepth: readonly number[];
}

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'down';

export interface ConnectionView {
  status: ConnectionStatus;
  detail: string | undefined;
  since: number;
}

/** A spread trace: a query sent with `requestAck`, lit node by node as acks come back. */
export interface TraceState {
  id: number;
  name: string;
  startedAt: number;
  /** Members expected to ack: those alive or suspect when the trace started. */
  expected: readonly string[];
  /** ms after the query left until each node's ack arrived, by node name. */
  acks: Readonly<Record<string, number>>;
  /** Node names in ack order. */
  order: readonly string[];
  responses: number;
  done: boolean;
  endedAt: number | undefined;
  error: string | undefined;
}

export interface TraceSummary {
  id: number;
  name: string;
  at: number;
  acked: number;
  expected: number;
  p50Ms: number | undefined;
  maxMs: number | undefined;
  error: string | undefined;
}

export interface ViewState {
  connection: ConnectionView;
  agent: AgentInfo | undefined;
  members: ReadonlyMap<string, MemberView>;
  /** True once a member list has been loaded. */
  membersLoaded: boolean;
  health: HealthView | undefined;
  stats: StatsSample | undefined;
  series: StatsSeries;
  timeline: readonly TimelineEntry[];
  userEvents: readonly UserEventEntry[];
  trace: TraceState | undefined;
  traceHistory: readonly TraceSummary[];
  /** Next id for timeline and user-event entries. */
  nextId: number;
}

export type Action =
  | { type: 'connection'; status: ConnectionStatus; detail?: string; at: number }
  | { type: 'agent'; agent: AgentInfo; at: number }
  | { type: 'members'; members: readonly MemberDetail[]; at: number }
  | { type: 'event'; event: string; data: unknown; at: number }
  | { type: 'trace-start'; id: number; name: string; at: number }
  | { type: 'trace-line'; id: number; line: QueryLine; at: number }
  | { type: 'trace-error'; id: number; error: string; at: number };

export function initialState(at = 0): ViewState {
  return {
    connection: { status: 'connecting', detail: undefined, since: at },
    agent: undefined,
    members: new Map(),
    membersLoaded: false,
    health: undefined,
    stats: undefined,
    series: { t: [], msgsIn: [], msgsOut: [], bytesIn: [], bytesOut: [], queueDepth: [] },
    timeline: [],
    userEvents: [],
    trace: undefined,
    traceHistory: [],
    nextId: 1,
  };
}

/** Serf's status with memberlist's suspicion folded in. */
export function displayStatus(m: Pick<MemberDetail, 'status' | 'swimStatus'>): DisplayStatus {
  if (m.status === 'leaving') return 'leaving';
  if (m.status === 'left' || m.swimStatus === 'left') return 'left';
  if (m.status === 'failed' || m.swimStatus === 'dead') return 'failed';
  if (m.swimStatus === 'suspect') return 'suspect';
  if (m.status === 'none') return m.swimStatus === 'alive' ? 'alive' : 'failed';
  return 'alive';
}

/** Whether a member in this status is expected to answer a query. */
export function isReachable(s: DisplayStatus): boolean {
  return s === 'alive' || s === 'suspect' || s === 'leaving';
}

export function reduce(state: ViewState, action: Action): ViewState {
  switch (action.type) {
    case 'connection':
      return reduceConnection(state, action);
    case 'agent':
      return reduceAgent(state, action.agent, action.at);
    case 'members':
      return reduceMembers(state, action.members, action.at);
    case 'event':
      return reduceEvent(state, action.event, action.data, action.at);
    case 'trace-start':
      return startTrace(state, action.id, action.name, action.at);
    case 'trace-line':
      return traceLine(state, action.id, action.line, action.at);
    case 'trace-error':
      return traceError(state, action.id, action.error, action.at);
  }
}

// ---- connection and agent ----

function reduceConnection(state: ViewState, a: Extract<Action, { type: 'connection' }>): ViewState {
  const prev = state.connection;
  if (prev.status === a.status && prev.detail === a.detail) return state;
  let next: ViewState = { ...state, connection: { status: a.status, detail: a.detail, since: a.at } };
  // Losing and regaining the agent is part of the story an operator reads.
  if (prev.status === 'live' && a.status !== 'live') {
    next = addEntry(next, a.at, 'agent', undefined, 'lost the agent’s event stream', a.detail ?? '');
  } else if (a.status === 'live' && (prev.status === 'reconnecting' || prev.status === 'down')) {
    next = addEntry(
      next,
      a.at,
      'agent',
      undefined,
      'event stream reconnected',
      'events in the gap are missed',
    );
  }
  return next;
}

function reduceAgent(state: ViewState, agent: AgentInfo, at: number): ViewState {
  let members = state.members;
  const self = members.get(agent.name);
  if (self && !self.isLocal) {
    const copy = new Map(members);
    copy.set(agent.name, { ...self, isLocal: true });
    members = copy;
  }
  let health = state.health;
  if (agent.healthScore !== undefined && (!health || health.score !== agent.healthScore)) {
    health = { score: agent.healthScore, max: agent.healthScoreMax, reason: health?.reason, at };
  } else if (health && health.max !== agent.healthScoreMax) {
    health = { ...health, max: agent.healthScoreMax };
  }
  return { ...state, agent, members, health };
}

// ---- members ----

function reduceMembers(state: ViewState, list: readonly MemberDetail[], at: number): ViewState {
  let next: ViewState = state;
  const members = new Map<string, MemberView>();
  for (const m of list.slice(0, MEMBERS_MAX)) {
    const prev = state.members.get(m.name);
    const r = mergeMember(next, prev, m, at, 'poll');
    next = r.state;
    members.set(m.name, r.view);
  }
  return { ...next, members, membersLoaded: true };
}

/**
 * Builds a member's view from a fresh detail record. A poll may reveal transitions that have no
 * event: a suspect seen alive again at a higher incarnation refuted the suspicion, and a node
 * announcing its leave shows as `leaving`. Those become timeline entries here, marked inferred;
 * so do transitions whose event this page missed (an event arriving later replaces them).
 * Events add their own entries.
 */
function mergeMember(
  state: ViewState,
  prev: MemberView | undefined,
  m: MemberDetail,
  at: number,
  source: 'poll' | 'event',
): { state: ViewState; view: MemberView } {
  const display = displayStatus(m);
  const isLocal = state.agent?.name === m.name;
  const changed = !prev || prev.display !== display || prev.incarnation !== m.incarnation;
  const view: MemberView = {
    ...m,
    incarnation: m.incarnation ?? prev?.incarnation,
    swimStatus: m.swimStatus ?? prev?.swimStatus,
    display,
    isLocal,
    probe: prev?.probe,
    suspectedBy: display === 'suspect' ? prev?.suspectedBy : undefined,
    changedAt: changed ? (m.lastChangeAt ?? at) : (prev?.changedAt ?? at),
  };
  let next = state;
  if (source === 'poll' && prev && prev.display !== display) {
    if (prev.display === 'suspect' && display === 'alive') {
      const inc = view.incarnation !== undefined ? `alive again at incarnation ${view.incarnation}` : '';
      next = addEntry(next, at, 'refute', m.name, `${m.name} refuted the suspicion`, inc, true);
    } else if (display === 'leaving') {
      const detail = 'announced its intent to leave';
      next = addEntry(next, at, 'leaving', m.name, `${m.name} is leaving`, detail, true);
    } else {
      next = addEntry(next, at, kindFor(display), m.name, titleFor(m.name, display), '', true);
    }
  }
  return { state: next, view };
}

function kindFor(d: DisplayStatus): TimelineKind {
  switch (d) {
    case 'alive':
      return 'join';
    case 'suspect':
      return 'suspect';
    case 'leaving':
      return 'leaving';
    case 'left':
      return 'leave';
    case 'failed':
      return 'failed';
  }
}

function titleFor(name: string, d: DisplayStatus): string {
  switch (d) {
    case 'alive':
      return `${name} is alive`;
    case 'suspect':
      return `${name} is suspect`;
    case 'leaving':
      return `${name} is leaving`;
    case 'left':
      return `${name} left`;
    case 'failed':
      return `${name} failed`;
  }
}

function upsertMember(state: ViewState, m: MemberDetail, at: number, patch: Partial<MemberView> = {}) {
  const prev = state.members.get(m.name);
  const r = mergeMember(state, prev, m, at, 'event');
  const members = new Map(r.state.members);
  members.set(m.name, { ...r.view, ...patch });
  return { ...r.state, members };
}

// ---- events ----

/** An event's data as it arrived: the shared type's field names, values unchecked. */
type EventData<E extends Api.AgentEventType> = Loose<Api.AgentEventMap[E]>;

function reduceEvent(state: ViewState, event: string, raw: unknown, at: number): ViewState {
  if (!isObj(raw)) return state;
  const when = parseTime((raw as Loose<{ at: string }>).at) ?? at;
  switch (event) {
    case 'member-join':
    case 'member-leave':
    case 'member-failed':
    case 'member-update':
    case 'member-reap':
    case 'member-suspect':
    case 'member-refute':
      return memberEvent(state, event, raw as EventData<typeof event>, when);
    case 'refute': {
      const data = raw as EventData<'refute'>;
      const inc = num(data.incarnation);
      const name = state.agent?.name;
      let next = addEntry(
        state,
        when,
        'refute',
        name,
        `${name ?? 'this node'} refuted a suspicion of itself`,
        inc !== undefined ? `raised its incarnation to ${inc}` : '',
      );
      if (name !== undefined && inc !== undefined) {
        const self = next.members.get(name);
        if (self) {
          const members = new Map(next.members);
          members.set(name, { ...self, incarnation: inc, changedAt: when });
          next = { ...next, members };
        }
        if (next.agent) next = { ...next, agent: { ...next.agent, incarnation: inc } };
      }
      return next;
    }
    case 'user': {
      const data = raw as EventData<'user'>;
      const name = str(data.name) ?? '(unnamed)';
      const payload = payloadText(data);
      const lTime = num(data.lTime);
      const entry: UserEventEntry = {
        id: state.nextId,
        at: when,
        name,
        payload,
        lTime,
        coalesce: data.coalesce === true,
      };
      const next = {
        ...state,
        nextId: state.nextId + 1,
        userEvents: cap([entry, ...state.userEvents], USER_EVENTS_MAX),
      };
      const detail = [lTime !== undefined ? `lTime ${lTime}` : '', preview(payload)]
        .filter(Boolean)
        .join(' · ');
      return addEntry(next, when, 'user', undefined, `user event “${name}”`, detail);
    }
    case 'query': {
      const data = raw as EventData<'query'>;
      const name = str(data.name) ?? '(unnamed)';
      const from = str(data.from);
      const detail = preview(payloadText(data));
      return addEntry(state, when, 'query', from, `query “${name}”${from ? ` from ${from}` : ''}`, detail);
    }
    case 'health': {
      const data = raw as EventData<'health'>;
      const score = num(data.score);
      if (score === undefined) return state;
      const reason = str(data.reason);
      const max = state.health?.max ?? state.agent?.healthScoreMax ?? 8;
      const prev = state.health?.score;
      const next = { ...state, health: { score, max, reason, at: when } };
      // The agent sends this event on a change only; \`stats\` may have shown the new score first.
      const title =
        prev === undefined || prev === score
          ? `health score now ${score}`
          : `health score ${prev} → ${score}`;
      return addEntry(next, when, 'health', state.agent?.name, title, reason ?? '');
    }
    case 'probe':
      return probeEvent(state, raw as EventData<'probe'>, when);
    case 'stats':
      return statsEvent(state, raw, at);
    default:
      return state;
  }
}

type MemberEventType =
  | 'member-join'
  | 'member-leave'
  | 'member-failed'
  | 'member-update'
  | 'member-reap'
  | 'member-suspect'
  | 'member-refute';

function memberEvent(
  state: ViewState,
  event: MemberEventType,
  data: EventData<MemberEventType> & Loose<{ from: string }>,
  at: number,
): ViewState {
  const m = parseMember(data.member);
  if (!m) return state;
  const name = m.name;
  switch (event) {
    case 'member-join': {
      const next = upsertMember(state, m, at);
      return addEntry(next, at, 'join', name, `${name} joined`, joinDetail(m));
    }
    case 'member-leave': {
      // Serf sends member-leave for a graceful leave; a node that left shows `left`.
      const next = upsertMember(state, m, at);
      return addEntry(next, at, 'leave', name, `${name} left`, 'left the cluster gracefully');
    }
    case 'member-failed': {
      const next = upsertMember(state, { ...m, status: m.status === 'alive' ? 'failed' : m.status }, at);
      return addEntry(
        next,
        at,
        'failed',
        name,
        `${name} failed`,
        'declared dead after a suspicion timed out',
      );
    }
    case 'member-update': {
      const next = upsertMember(state, m, at);
      return addEntry(next, at, 'update', name, `${name} updated`, tagsText(m.tags));
    }
    case 'member-reap': {
      if (!state.members.has(name)) return addEntry(state, at, 'reap', name, `${name} was reaped`, '');
      const members = new Map(state.members);
      members.delete(name);
      return addEntry({ ...state, members }, at, 'reap', name, `${name} was reaped`, 'removed from the list');
    }
    case 'member-refute': {
      const next = upsertMember(state, { ...m, swimStatus: 'alive' }, at);
      const inc = m.incarnation !== undefined ? `alive again at incarnation ${m.incarnation}` : '';
      return addEntry(next, at, 'refute', name, `${name} refuted the suspicion`, inc);
    }
    case 'member-suspect': {
      const from = str(data.from);
      const next = upsertMember(state, { ...m, swimStatus: 'suspect' }, at, { suspectedBy: from });
      return addEntry(next, at, 'suspect', name, `${name} is suspect`, from ? `accused by ${from}` : '');
    }
    default:
      return state;
  }
}

function probeEvent(state: ViewState, data: EventData<'probe'>, at: number): ViewState {
  const target = str(data.target);
  if (target === undefined) return state;
  const m = state.members.get(target);
  if (!m) return state;
  const ok = data.ok === true;
  // An inconclusive probe (we could not tell) changes nothing.
  if (data.inconclusive === true) return state;
  const rttMs = num(data.rttMs);
  const prev = m.probe;
  const rtts =
    ok && rttMs !== undefined
      ? cap([...(prev?.rtts ?? []), rttMs], RTT_HISTORY_MAX, true)
      : (prev?.rtts ?? []);
  const probe: ProbeHealth = {
    ok,
    rttMs: ok ? rttMs : prev?.rttMs,
    indirect: data.indirect === true,
    failures: ok ? 0 : (prev?.failures ?? 0) + 1,
    at,
    rtts,
  };
  const members = new Map(state.members);
  members.set(target, { ...m, probe });
  return { ...state, members };
}

function statsEvent(state: ViewState, data: unknown, at: number): ViewState {
  const s = parseStats(data, at);
  if (!s) return state;
  const t = s.at / 1000;
  const series = state.series;
  // Samples must go forward in time for uPlot; a reconnect may replay one.
  const last = series.t[series.t.length - 1];
  const append = last === undefined || t > last;
  const next: StatsSeries = append
    ? {
        t: cap([...series.t, t], SERIES_MAX, true),
        msgsIn: cap([...series.msgsIn, s.msgsInPerSec], SERIES_MAX, true),
        msgsOut: cap([...series.msgsOut, s.msgsOutPerSec], SERIES_MAX, true),
        bytesIn: cap([...series.bytesIn, s.bytesInPerSec], SERIES_MAX, true),
        bytesOut: cap([...series.bytesOut, s.bytesOutPerSec], SERIES_MAX, true),
        queueDepth: cap([...series.queueDepth, s.queueDepth], SERIES_MAX, true),
      }
    : series;
  let health = state.health;
  if (s.healthScore !== undefined && health?.score !== s.healthScore) {
    health = {
      score: s.healthScore,
      max: health?.max ?? state.agent?.healthScoreMax ?? 8,
      reason: health?.reason,
      at,
    };
  }
  return { ...state, stats: s, series: next, health };
}

// ---- spread trace ----

function startTrace(state: ViewState, id: number, name: string, at: number): ViewState {
  const expected = [...state.members.values()].filter((m) => isReachable(m.display)).map((m) => m.name);
  const history = state.trace ? archive(state) : state.traceHistory;
  return {
    ...state,
    traceHistory: history,
    trace: {
      id,
      name,
      startedAt: at,
      expected,
      acks: {},
      order: [],
      responses: 0,
      done: false,
      endedAt: undefined,
      error: undefined,
    },
  };
}

function traceLine(state: ViewState, id: number, line: QueryLine, at: number): ViewState {
  const tr = state.trace;
  if (!tr || tr.id !== id || tr.done) return state;
  switch (line.type) {
    case 'ack': {
      if (tr.acks[line.from] !== undefined) return state;
      // The agent's own measure when it gives one; else when this page saw the line.
      const elapsed = Math.max(0, line.elapsedMs ?? at - tr.startedAt);
      return {
        ...state,
        trace: { ...tr, acks: { ...tr.acks, [line.from]: elapsed }, order: [...tr.order, line.from] },
      };
    }
    case 'response':
      return { ...state, trace: { ...tr, responses: tr.responses + 1 } };
    case 'done': {
      const done = { ...state, trace: { ...tr, done: true, endedAt: at } };
      return { ...done, traceHistory: archive(done) };
    }
  }
}

function traceError(state: ViewState, id: number, error: string, at: number): ViewState {
  const tr = state.trace;
  if (!tr || tr.id !== id || tr.done) return state;
  const failed = { ...state, trace: { ...tr, done: true, endedAt: at, error } };
  return { ...failed, traceHistory: archive(failed) };
}

function archive(state: ViewState): readonly TraceSummary[] {
  const tr = state.trace;
  if (!tr) return state.traceHistory;
  const summary = summarizeTrace(tr);
  const rest = state.traceHistory.filter((s) => s.id !== tr.id);
  return cap([summary, ...rest], TRACE_HISTORY_MAX);
}

export function summarizeTrace(tr: TraceState): TraceSummary {
  const times = tr.order.map((n) => tr.acks[n] ?? 0).sort((a, b) => a - b);
  const expected = new Set([...tr.expected, ...tr.order]).size;
  return {
    id: tr.id,
    name: tr.name,
    at: tr.startedAt,
    acked: times.length,
    expected,
    p50Ms: times.length > 0 ? times[Math.floor((times.length - 1) / 2)] : undefined,
    maxMs: times.length > 0 ? times[times.length - 1] : undefined,
    error: tr.error,
  };
}

/** The nodes whose ack had arrived `tMs` after the query left (for the replay). */
export function litAt(tr: TraceState, tMs: number): Set<string> {
  const out = new Set<string>();
  for (const n of tr.order) if ((tr.acks[n] ?? Number.POSITIVE_INFINITY) <= tMs) out.add(n);
  return out;
}

/** The epidemic curve: `[ms, nodes reached]` steps, starting at `[0, 0]`. */
export function ackCurve(tr: TraceState): Array<[number, number]> {
  const times = tr.order.map((n) => tr.acks[n] ?? 0).sort((a, b) => a - b);
  const out: Array<[number, number]> = [[0, 0]];
  times.forEach((t, i) => {
    out.push([t, i + 1]);
  });
  return out;
}

// ---- derived views ----

const SEVERITY: Record<DisplayStatus, number> = { failed: 0, suspect: 1, leaving: 2, alive: 3, left: 4 };

/** Members for the table: the local node first, then trouble first, then by name. */
export function sortedMembers(state: ViewState): MemberView[] {
  return [...state.members.values()].sort((a, b) => {
    if (a.isLocal !== b.isLocal) return a.isLocal ? -1 : 1;
    const s = SEVERITY[a.display] - SEVERITY[b.display];
    return s !== 0 ? s : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

export function statusCounts(state: ViewState): Record<DisplayStatus, number> {
  const out: Record<DisplayStatus, number> = { alive: 0, suspect: 0, leaving: 0, left: 0, failed: 0 };
  for (const m of state.members.values()) out[m.display]++;
  return out;
}

/** The local node's broadcast queue depth: the latest `stats`, else `/v1/agent`'s queues. */
export function queueDepth(state: ViewState): number | undefined {
  if (state.stats) return state.stats.queueDepth;
  const q = state.agent?.queues;
  if (!q || Object.keys(q).length === 0) return undefined;
  return Object.values(q).reduce((a, b) => a + b, 0);
}

// ---- helpers ----

function addEntry(
  state: ViewState,
  at: number,
  kind: TimelineKind,
  node: string | undefined,
  title: string,
  detail: string,
  inferred = false,
): ViewState {
  const entry: TimelineEntry = { id: state.nextId, at, kind, node, title, detail, inferred };
  const same = (e: TimelineEntry) =>
    node !== undefined && e.node === node && e.kind === kind && Math.abs(e.at - at) <= INFERRED_MERGE_MS;
  let tl = state.timeline;
  if (inferred) {
    // The event already told this story.
    if (tl.some((e) => !e.inferred && same(e))) return state;
  } else if (tl.some((e) => e.inferred && same(e))) {
    // The event tells it better than the poll that got there first.
    tl = tl.filter((e) => !(e.inferred && same(e)));
  }
  // Keep the timeline newest first even when an event's own time is a little older.
  let i = 0;
  while (i < tl.length && tl[i]!.at > at) i++;
  const timeline = [...tl.slice(0, i), entry, ...tl.slice(i)];
  return { ...state, nextId: state.nextId + 1, timeline: cap(timeline, TIMELINE_MAX) };
}

/** Keeps the first `max` items, or the last `max` with `keepTail`. */
function cap<T>(list: T[], max: number, keepTail = false): T[] {
  if (list.length <= max) return list;
  return keepTail ? list.slice(list.length - max) : list.slice(0, max);
}

function joinDetail(m: MemberDetail): string {
  const parts = [m.addr];
  if (m.incarnation !== undefined) parts.push(`incarnation ${m.incarnation}`);
  const tags = tagsText(m.tags);
  if (tags) parts.push(tags);
  return parts.filter(Boolean).join(' · ');
}

function tagsText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** A payload shortened for one line. */
export function preview(s: string, max = 80): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
