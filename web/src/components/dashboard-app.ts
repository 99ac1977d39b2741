/**
 * `<gossip-dashboard>`: the page. It owns the view state (see `state.ts`), the connection to the
 * agent (`api.ts`) and the polls, and hands slices of the state to the panels.
 */
import { css, html, LitElement, nothing } from 'lit';
import { AgentClient, ApiError } from '../api.ts';
import { type Api, loose, num, parseAgent, parseMembers } from '../api-types.ts';
import { bytes, compact, duration } from '../format.ts';
import { KvModel, type KvSpread, SPREAD_FOLLOW_MS, SPREAD_POLL_MS, spreadProgress } from '../kv.ts';
import {
  type Action,
  DISPLAY_STATUSES,
  initialState,
  queueDepth,
  reduce,
  sortedMembers,
  statusCounts,
  type ViewState,
} from '../state.ts';
import { shared, statusClass } from '../theme.ts';
import type { TraceRequest } from './spread-view.ts';
import type { KvWriteRequest } from './state-view.ts';
import type { SendResult, UserEventRequest } from './user-events.ts';

/** How often the member list is re-read; `member-*` events also trigger a read. */
export const MEMBERS_POLL_MS = 3000;
/** How often `/v1/agent` is re-read (the `stats` event carries the fast-moving numbers). */
export const AGENT_POLL_MS = 5000;
/** Seconds of `stats` the message and byte rate cards average. */
const RATE_WINDOW = 5;
/** Delay that gathers a burst of member events into one member-list read. */
const MEMBERS_DEBOUNCE_MS = 250;

export class GossipDashboard extends LitElement {
  static override properties = {
    state: { state: true },
    now: { state: true },
    sendResult: { state: true },
    pollError: { state: true },
    kvRevision: { state: true },
    kvSpread: { state: true },
  };

  declare state: ViewState;
  declare now: number;
  declare sendResult: SendResult | undefined;
  declare pollError: string | undefined;
  declare kvRevision: number;
  declare kvSpread: KvSpread | undefined;
  readonly #kv = new KvModel();
  #closeKv: (() => void) | undefined;
  #spreadAbort: AbortController | undefined;

  readonly #client: AgentClient;
  #closeEvents: (() => void) | undefined;
  #agentTimer: ReturnType<typeof setTimeout> | undefined;
  #membersTimer: ReturnType<typeof setTimeout> | undefined;
  #membersInFlight = false;
  #membersAgain = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #traceSeq = 0;
  #traceAbort: AbortController | undefined;
  #agentFetchedAt = 0;

  constructor() {
    super();
    this.#client = new AgentClient(new URL('./', location.href), takeToken());
    this.state = initialState(Date.now());
    this.now = Date.now();
    this.sendResult = undefined;
    this.pollError = undefined;
    this.kvRevision = 0;
    this.kvSpread = undefined;
  }

  #dispatch(action: Action) {
    this.state = reduce(this.state, action);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#closeEvents = this.#client.events({
      onEvent: (type, data) => {
        this.#dispatch({ type: 'event', event: type, data, at: Date.now() });
        if (type.startsWith('member-')) this.#scheduleMembers(MEMBERS_DEBOUNCE_MS);
      },
      onStatus: (status, detail) => {
        this.#dispatch({ type: 'connection', status, detail, at: Date.now() });
        // After (re)connecting, re-read everything: events in the gap are gone.
        if (status === 'live') {
          void this.#pollAgent();
          this.#scheduleMembers(0);
        }
      },
    });
    this.#closeKv = this.#client.kvWatch({
      onEvent: (type, data) => {
        this.#kv.apply(type, data, Date.now());
        this.kvRevision = this.#kv.revision;
      },
      // The member event stream's status is the one shown; this one only feeds the panel.
      onStatus: () => {},
    });
    void this.#pollAgent();
    this.#scheduleMembers(0);
    this.#ticker = setInterval(() => {
      this.now = Date.now();
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#closeEvents?.();
    this.#closeKv?.();
    this.#spreadAbort?.abort();
    if (this.#agentTimer) clearTimeout(this.#agentTimer);
    if (this.#membersTimer) clearTimeout(this.#membersTimer);
    if (this.#ticker) clearInterval(this.#ticker);
    this.#traceAbort?.abort();
  }

  async #pollAgent() {
    try {
      const agent = parseAgent(await this.#client.get('GET /v1/agent'));
      if (agent) {
        this.#agentFetchedAt = Date.now();
        this.#dispatch({ type: 'agent', agent, at: this.#agentFetchedAt });
      }
      this.pollError = undefined;
    } catch (err) {
      this.#pollFailed(err);
    } finally {
      if (this.#agentTimer) clearTimeout(this.#agentTimer);
      if (this.isConnected) this.#agentTimer = setTimeout(() => void this.#pollAgent(), AGENT_POLL_MS);
    }
  }

  /** Reads the member list after `delayMs`; one read at a time, a request during one queues one more. */
  #scheduleMembers(delayMs: number) {
    if (this.#membersTimer) clearTimeout(this.#membersTimer);
    this.#membersTimer = setTimeout(() => void this.#pollMembers(), delayMs);
  }

  async #pollMembers() {
    if (this.#membersInFlight) {
      this.#membersAgain = true;
      return;
    }
    this.#membersInFlight = true;
    try {
      const members = parseMembers(await this.#client.get('GET /v1/members/detail'));
      this.#dispatch({ type: 'members', members, at: Date.now() });
      this.pollError = undefined;
    } catch (err) {
      this.#pollFailed(err);
    } finally {
      this.#membersInFlight = false;
      const again = this.#membersAgain;
      this.#membersAgain = false;
      if (this.isConnected) this.#scheduleMembers(again ? 0 : MEMBERS_POLL_MS);
    }
  }

  #pollFailed(err: unknown) {
    if (err instanceof ApiError && err.status === 401) {
      const detail = this.#client.hasToken ? 'the token was refused' : 'this agent requires a token';
      this.#dispatch({ type: 'connection', status: 'unauthorized', detail, at: Date.now() });
      return;
    }
    this.pollError = err instanceof Error ? err.message : String(err);
  }

  async #onTrace(e: CustomEvent<TraceRequest>) {
    this.#traceAbort?.abort();
    const abort = new AbortController();
    this.#traceAbort = abort;
    const id = ++this.#traceSeq;
    this.#dispatch({ type: 'trace-start', id, name: e.detail.name, at: Date.now() });
    try {
      await this.#client.query(
        { name: e.detail.name, payload: e.detail.payload, requestAck: true },
        (line) => this.#dispatch({ type: 'trace-line', id, line, at: Date.now() }),
        abort.signal,
      );
      // A stream that ends without `done` still ends the trace.
      this.#dispatch({
        type: 'trace-line',
        id,
        line: { type: 'done', acks: undefined, responses: undefined },
        at: Date.now(),
      });
    } catch (err) {
      if (abort.signal.aborted) return;
      this.#dispatch({ type: 'trace-error', id, error: errorText(err), at: Date.now() });
    }
  }

  /** Writes a key here, then follows its spread until every node holds it (or for a while). */
  async #onKvWrite(e: CustomEvent<KvWriteRequest>) {
    this.#spreadAbort?.abort();
    const abort = new AbortController();
    this.#spreadAbort = abort;
    const { key, value } = e.detail;
    const node = this.state.agent?.name;
    try {
      const r = loose<Api.KvWriteResponse>(await this.#client.kvPut(key, value, abort.signal));
      const version = num(r?.version);
      if (node === undefined || version === undefined)
        throw new Error('the agent did not say the version it wrote');
      const at = Date.now();
      let spread: KvSpread = {
        key,
        value,
        node,
        version,
        generation: num(r?.generation) ?? 0,
        at,
        reached: new Map(),
        done: false,
        error: undefined,
      };
      this.kvSpread = spread;
      while (!spread.done && !abort.signal.aborted && Date.now() - at < SPREAD_FOLLOW_MS) {
        spread = spreadProgress(spread, await this.#client.replicas(node, abort.signal), Date.now());
        if (abort.signal.aborted) return;
        this.kvSpread = spread;
        if (!spread.done) await new Promise((r) => setTimeout(r, SPREAD_POLL_MS));
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      this.kvSpread = {
        key,
        value,
        node: node ?? '',
        version: 0,
        generation: 0,
        at: Date.now(),
        reached: new Map(),
        done: false,
        error: `writing ${key} failed: ${errorText(err)}`,
      };
    }
  }

  async #onUserEvent(e: CustomEvent<UserEventRequest>) {
    try {
      const r = await this.#client.post('POST /v1/event', e.detail);
      const lTime = num(loose<Api.EventResponse>(r)?.lTime);
      this.sendResult = { ok: true, lTime, at: Date.now() };
    } catch (err) {
      this.sendResult = { ok: false, error: errorText(err), at: Date.now() };
    }
  }

  override render() {
    const s = this.state;
    const live = s.connection.status === 'live';
    const members = sortedMembers(s);
    const lastUser = s.userEvents[0];
    return html`
      ${this.#header()} ${this.#banner()}
      <main>
        ${this.#kpis()}
        <div class="grid">
          <div class="col">
            <gd-spread
              class="spread"
              .members=${members}
              .selfName=${s.agent?.name}
              .trace=${s.trace}
              .history=${s.traceHistory}
              .canSend=${live}
              .userEventId=${lastUser?.id}
              @trace-request=${this.#onTrace}
            ></gd-spread>
            <gd-state
              class="state"
              .model=${this.#kv}
              .revision=${this.kvRevision}
              .selfName=${s.agent?.name}
              .spread=${this.kvSpread}
              .canSend=${live}
              .now=${this.now}
              @kv-write-request=${this.#onKvWrite}
            ></gd-state>
            <gd-members
              class="members"
              .members=${members}
              .health=${s.health}
              .loaded=${s.membersLoaded}
              .now=${this.now}
            ></gd-members>
          </div>
          <div class="col">
            <section class="panel traffic">
              <header>
                <h2>Traffic</h2>
                <span class="hint">this agent, per second, last ${duration(300_000)}</span>
              </header>
              <div class="charts">
                <div>
                  <div class="chart-title">messages</div>
                  <gd-rate-chart
                    .t=${s.series.t}
                    .series=${[
                      { label: 'in', colorVar: '--in', values: s.series.msgsIn },
                      { label: 'out', colorVar: '--out', values: s.series.msgsOut },
                    ]}
                    .format=${(v: number) => compact(v)}
                  ></gd-rate-chart>
                </div>
                <div>
                  <div class="chart-title">bytes</div>
                  <gd-rate-chart
                    binary
                    .t=${s.series.t}
                    .series=${[
                      { label: 'in', colorVar: '--in', values: s.series.bytesIn },
                      { label: 'out', colorVar: '--out', values: s.series.bytesOut },
                    ]}
                    .format=${(v: number) => bytes(v)}
                  ></gd-rate-chart>
                </div>
              </div>
            </section>
            <gd-timeline class="timeline" .entries=${s.timeline} .now=${this.now}></gd-timeline>
            <gd-user-events
              class="events"
              .events=${s.userEvents}
              .canSend=${live}
              .result=${this.sendResult}
              .now=${this.now}
              @user-event-request=${this.#onUserEvent}
            ></gd-user-events>
          </div>
        </div>
      </main>
      <footer>
        gossip · SWIM/Lifeguard membership, wire-compatible with memberlist and Serf · data from this agent’s
        <code>/v1</code> API
      </footer>
    `;
  }

  #header() {
    const s = this.state;
    const a = s.agent;
    const c = s.connection;
    const uptime = a?.uptimeMs !== undefined ? a.uptimeMs + (this.now - this.#agentFetchedAt) : undefined;
    const label: Record<typeof c.status, string> = {
      connecting: 'connecting',
      live: 'live',
      reconnecting: 'reconnecting',
      unauthorized: 'token needed',
      down: 'agent unreachable',
    };
    return html`<header class="top">
      <div class="brand">
        <svg viewBox="0 0 32 32" aria-hidden="true">
          <circle cx="16" cy="16" r="11" class="ring"></circle>
          <circle cx="16" cy="5" r="3.2" class="n lit"></circle>
          <circle cx="26.5" cy="19.5" r="3.2" class="n lit"></circle>
          <circle cx="5.5" cy="19.5" r="3.2" class="n"></circle>
        </svg>
        <span class="word">gossip</span>
      </div>
      <div class="node">
        <span class="nname">${a?.name ?? '…'}</span>
        ${a?.addr ? html`<span class="naddr num">${a.addr}</span>` : nothing}
        ${
          a?.encrypted !== undefined
            ? html`<span class="badge ${a.encrypted ? 'enc' : 'plain'}" title=${a.encrypted ? 'gossip is encrypted' : 'gossip is not encrypted'}
                >${a.encrypted ? 'encrypted' : 'unencrypted'}</span
              >`
            : nothing
        }
      </div>
      <div class="right">
        ${uptime !== undefined ? html`<span class="meta">up <span class="num">${duration(uptime)}</span></span>` : nothing}
        ${a?.version ? html`<span class="meta">v${a.version}</span>` : nothing}
        <span class="conn c-${c.status}" data-testid="connection" data-status=${c.status} title=${c.detail ?? ''}
          ><i></i>${label[c.status]}</span
        >
      </div>
    </header>`;
  }

  #banner() {
    const c = this.state.connection;
    if (c.status === 'unauthorized') {
      return html`<div class="banner warn">
        <strong>${c.detail ?? 'this agent requires a token'}.</strong>
        Open the dashboard as <code>/?token=…</code>, or enter it here:
        <form
          @submit=${(e: Event) => {
            e.preventDefault();
            const v = (e.currentTarget as HTMLFormElement).querySelector('input')!.value.trim();
            if (v) location.search = `?token=${encodeURIComponent(v)}`;
          }}
        >
          <input type="text" aria-label="token" autocomplete="off" spellcheck="false" />
          <button class="primary" type="submit">Use token</button>
        </form>
      </div>`;
    }
    if (c.status === 'down') {
      return html`<div class="banner bad">
        <strong>Cannot reach the agent.</strong> ${c.detail ?? ''} Retrying; the page updates by itself when it is back.
      </div>`;
    }
    if (this.pollError && c.status === 'live') {
      return html`<div class="banner warn">Reading the agent failed: ${this.pollError}</div>`;
    }
    return nothing;
  }

  #kpis() {
    const s = this.state;
    const counts = statusCounts(s);
    const h = s.health;
    const worst = h ? Math.max(1, h.max - 1) : 7;
    const q = queueDepth(s);
    // A mean over a few seconds: a small cluster's per-second counts jump between 0 and a few.
    const rate = (values: readonly number[]) => (s.stats ? mean(values.slice(-RATE_WINDOW)) : undefined);
    const a = s.agent;
    return html`<section class="kpis">
      <div class="kpi panel">
        <div class="k">members</div>
        <div class="v"><span class="num">${s.membersLoaded ? counts.alive : '—'}</span><small>alive</small></div>
        <div class="chips">
          ${DISPLAY_STATUSES.filter((x) => x !== 'alive' && counts[x] > 0).map(
            (x) => html`<span class="chip ${statusClass(x)}">${counts[x]} ${x}</span>`,
          )}
          ${s.membersLoaded && DISPLAY_STATUSES.every((x) => x === 'alive' || counts[x] === 0) ? html`<span class="chip s-alive">all healthy</span>` : nothing}
        </div>
      </div>
      <div class="kpi panel" title="Lifeguard local health (awareness): 0 is healthy; probe timeouts and intervals are multiplied by score + 1">
        <div class="k">health score</div>
        <div class="v">
          <span class="num">${h ? h.score : '—'}</span><small>/ ${worst}</small>
        </div>
        <div class="segments" aria-hidden="true">
          ${Array.from({ length: worst }, (_, i) => html`<i class=${h && i < h.score ? (h.score / worst < 0.5 ? 'warn' : 'bad') : ''}></i>`)}
        </div>
        <div class="sub">${!h ? 'waiting' : h.score === 0 ? 'healthy' : `timeouts ×${h.score + 1}${h.reason ? ` · ${h.reason}` : ''}`}</div>
      </div>
      <div class="kpi panel">
        <div class="k">broadcast queue</div>
        <div class="v"><span class="num">${q ?? '—'}</span><small>pending</small></div>
        ${spark(s.series.queueDepth)}
      </div>
      <div class="kpi panel" title="mean of the last ${RATE_WINDOW} s">
        <div class="k">messages / s</div>
        <div class="io">
          <span class="in"><i>in</i><b class="num">${compact(rate(s.series.msgsIn))}</b></span>
          <span class="out"><i>out</i><b class="num">${compact(rate(s.series.msgsOut))}</b></span>
        </div>
      </div>
      <div class="kpi panel" title="mean of the last ${RATE_WINDOW} s">
        <div class="k">bytes / s</div>
        <div class="io">
          <span class="in"><i>in</i><b class="num">${bytes(rate(s.series.bytesIn))}</b></span>
          <span class="out"><i>out</i><b class="num">${bytes(rate(s.series.bytesOut))}</b></span>
        </div>
      </div>
      <div class="kpi panel">
        <div class="k">this node</div>
        <div class="v"><span class="num">${a?.incarnation ?? '—'}</span><small>incarnation</small></div>
        <div class="sub num">
          ${
            a && Object.keys(a.clocks).length > 0
              ? Object.entries(a.clocks)
                  .map(([k, v]) => `${k} L${v}`)
                  .join(' · ')
              : ''
          }
        </div>
      </div>
    </section>`;
  }

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      .top {
        display: flex;
        align-items: center;
        gap: 20px;
        padding: 12px 28px;
        border-bottom: 1px solid var(--border);
        background: color-mix(in srgb, var(--panel) 85%, transparent);
        backdrop-filter: blur(8px);
        position: sticky;
        top: 0;
        z-index: 10;
        flex-wrap: wrap;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 9px;
      }
      .brand svg {
        width: 26px;
        height: 26px;
      }
      .brand .ring {
        fill: none;
        stroke: var(--border);
        stroke-width: 1.5;
      }
      .brand .n {
        fill: var(--panel-2);
        stroke: var(--spread);
        stroke-width: 1.6;
      }
      .brand .n.lit {
        fill: var(--spread);
      }
      .word {
        font-weight: 700;
        font-size: 17px;
        letter-spacing: -0.01em;
      }
      .node {
        display: flex;
        align-items: center;
        gap: 10px;
        padding-left: 20px;
        border-left: 1px solid var(--border);
        min-width: 0;
      }
      .nname {
        font-weight: 600;
        font-size: 15px;
      }
      .naddr {
        color: var(--muted);
        font-size: 12.5px;
      }
      .badge {
        font-size: 11px;
        padding: 1px 7px;
        border-radius: 4px;
        font-weight: 500;
      }
      .badge.enc {
        color: var(--alive);
        background: color-mix(in srgb, var(--alive) 12%, transparent);
      }
      .badge.plain {
        color: var(--muted);
        background: var(--panel-2);
      }
      .right {
        margin-left: auto;
        display: flex;
        align-items: center;
        gap: 16px;
      }
      .meta {
        color: var(--muted);
        font-size: 12.5px;
      }
      .conn {
        display: inline-flex;
        align-items: center;
        gap: 7px;
        font-size: 12.5px;
        font-weight: 500;
        padding: 4px 11px;
        border-radius: 999px;
        background: var(--panel-2);
        border: 1px solid var(--border);
      }
      .conn i {
        width: 8px;
        height: 8px;
        border-radius: 50%;
        background: var(--faint);
      }
      .c-live i {
        background: var(--alive);
        box-shadow: 0 0 0 0 color-mix(in srgb, var(--alive) 60%, transparent);
        animation: live 2s infinite;
      }
      .c-reconnecting i,
      .c-connecting i {
        background: var(--suspect);
      }
      .c-down i,
      .c-unauthorized i {
        background: var(--failed);
      }
      @keyframes live {
        70% {
          box-shadow: 0 0 0 6px transparent;
        }
        100% {
          box-shadow: 0 0 0 0 transparent;
        }
      }
      .banner {
        margin: 16px 28px 0;
        padding: 10px 16px;
        border-radius: var(--radius);
        font-size: 13px;
        display: flex;
        gap: 10px;
        align-items: center;
        flex-wrap: wrap;
        border: 1px solid;
      }
      .banner.warn {
        border-color: color-mix(in srgb, var(--suspect) 45%, transparent);
        background: color-mix(in srgb, var(--suspect) 9%, transparent);
      }
      .banner.bad {
        border-color: color-mix(in srgb, var(--failed) 45%, transparent);
        background: color-mix(in srgb, var(--failed) 9%, transparent);
      }
      .banner form {
        display: flex;
        gap: 6px;
      }
      code {
        font-family: var(--mono);
        font-size: 12px;
        background: var(--panel-2);
        padding: 1px 5px;
        border-radius: 4px;
      }
      main {
        padding: 20px 28px 8px;
        max-width: 1680px;
        margin: 0 auto;
      }
      .kpis {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
        gap: 14px;
        margin-bottom: 18px;
      }
      .kpi {
        padding: 14px 16px 14px;
        display: flex;
        flex-direction: column;
        gap: 6px;
      }
      .k {
        font-size: 11.5px;
        font-weight: 600;
        letter-spacing: 0.05em;
        text-transform: uppercase;
        color: var(--muted);
      }
      .v {
        display: flex;
        align-items: baseline;
        gap: 6px;
      }
      .v .num {
        font-size: 28px;
        font-weight: 650;
        font-family: var(--font);
        letter-spacing: -0.02em;
      }
      .v small {
        color: var(--muted);
        font-size: 13px;
      }
      .kpi .sub {
        color: var(--faint);
        font-size: 12px;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .chips {
        display: flex;
        gap: 5px;
        flex-wrap: wrap;
      }
      .segments {
        display: flex;
        gap: 3px;
      }
      .segments i {
        flex: 1;
        height: 6px;
        border-radius: 2px;
        background: color-mix(in srgb, var(--alive) 55%, var(--panel-2));
      }
      .segments i.warn {
        background: var(--suspect);
      }
      .segments i.bad {
        background: var(--failed);
      }
      .kpi svg {
        width: 100%;
        height: 24px;
      }
      .kpi svg path {
        fill: color-mix(in srgb, var(--accent) 14%, transparent);
        stroke: var(--accent);
        stroke-width: 1.25;
      }
      .io {
        display: flex;
        flex-direction: column;
        gap: 2px;
        margin-top: 2px;
      }
      .io span {
        display: flex;
        align-items: baseline;
        justify-content: space-between;
        gap: 8px;
      }
      .io i {
        font-style: normal;
        font-size: 12px;
        color: var(--muted);
        display: flex;
        align-items: center;
        gap: 6px;
      }
      .io i::before {
        content: '';
        width: 8px;
        height: 8px;
        border-radius: 2px;
      }
      .io .in i::before {
        background: var(--in);
      }
      .io .out i::before {
        background: var(--out);
      }
      .io b {
        font-size: 18px;
        font-weight: 600;
      }
      /* Two independent columns: a tall panel in one never leaves a gap in the other. */
      .grid {
        display: grid;
        grid-template-columns: minmax(0, 7fr) minmax(0, 5fr);
        gap: 18px;
        align-items: start;
      }
      .col {
        display: flex;
        flex-direction: column;
        gap: 18px;
        min-width: 0;
      }
      .spread {
        order: 1;
      }
      .traffic {
        order: 2;
      }
      .members {
        order: 3;
      }
      .timeline {
        order: 4;
      }
      .events {
        order: 5;
      }
      .state {
        order: 6;
      }
      @media (max-width: 1100px) {
        /* One column, in reading order: spread, traffic, members, timeline, events, state. */
        .grid {
          display: flex;
          flex-direction: column;
        }
        .col {
          display: contents;
        }
        .top,
        main {
          padding-left: 16px;
          padding-right: 16px;
        }
        .banner {
          margin: 12px 16px 0;
        }
      }
      .charts {
        padding: 0 14px 12px;
        display: flex;
        flex-direction: column;
        gap: 10px;
      }
      .chart-title {
        font-size: 12px;
        color: var(--muted);
        padding-left: 4px;
        margin-bottom: -2px;
      }
      footer {
        color: var(--faint);
        font-size: 12px;
        text-align: center;
        padding: 18px 28px 28px;
      }
    `,
  ];
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

/** A small area sparkline of recent values. */
function spark(values: readonly number[]) {
  const v = values.slice(-60);
  if (v.length < 2) return html`<svg viewBox="0 0 100 24" aria-hidden="true"></svg>`;
  const max = Math.max(1, ...v);
  const step = 100 / (v.length - 1);
  const pts = v.map((x, i) => `${(i * step).toFixed(1)},${(23 - (x / max) * 21).toFixed(1)}`);
  return html`<svg viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
    <path d="M0,24 L${pts.join(' L')} L100,24 Z"></path>
  </svg>`;
}

/** Session storage key for the token, so a reload in the same tab keeps it. */
const TOKEN_KEY = 'gossip-dashboard-token';

/**
 * The API token: from `?token=` (then kept for this tab in sessionStorage and removed from the
 * address bar, so it does not linger in history, bookmarks or screenshots), else from an
 * earlier load in this tab.
 */
function takeToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  try {
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      url.searchParams.delete('token');
      history.replaceState(history.state, '', url);
      return fromUrl;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    // Storage can be disabled; the token in the URL still works.
    return fromUrl;
  }
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (HTTP ${err.status})`;
  return err instanceof Error ? err.message : String(err);
}

declare global {
  interface HTMLElementTagNameMap {
    'gossip-dashboard': GossipDashboard;
  }
}
