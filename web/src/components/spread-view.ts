/**
 * `<gd-spread>`: watch a broadcast spread through the cluster.
 *
 * How it knows, truthfully, when another node got the message: the "Trace" button sends a
 * Serf query with `requestAck` (`POST /v1/query`). A query travels by the same gossip as a user
 * event, and every node that receives it sends an ack straight back to the node that asked,
 * this dashboard's agent, which streams each ack to the page as it arrives. A node lights when
 * its ack has arrived; the time beside it is measured from sending. Nodes are never lit on a
 * guess: a node whose ack does not come back before the query times out stays dark.
 *
 * Acks from a local cluster come back within a few hundred milliseconds, so "Replay" plays the
 * recorded ack times again, stretched to a few seconds, and says so.
 */
import { css, html, LitElement, nothing, svg } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { duration } from '../format.ts';
import { labelPlacement, ringLayout } from '../layout.ts';
import {
  ackCurve,
  type DisplayStatus,
  litAt,
  type MemberView,
  type TraceState,
  type TraceSummary,
} from '../state.ts';
import { shared, statusClass } from '../theme.ts';

/** How long a replay lasts, whatever the real spread took. */
export const REPLAY_MS = 4000;
/** Traces shown in the history list. */
const HISTORY_SHOWN = 4;

export interface TraceRequest {
  name: string;
  payload: string;
}

export class SpreadView extends LitElement {
  static override properties = {
    members: { attribute: false },
    selfName: { attribute: false },
    trace: { attribute: false },
    history: { attribute: false },
    canSend: { attribute: false },
    userEventId: { attribute: false },
    replayT: { state: true },
    queryName: { state: true },
  };

  declare members: readonly MemberView[];
  declare selfName: string | undefined;
  declare trace: TraceState | undefined;
  declare history: readonly TraceSummary[];
  declare canSend: boolean;
  /** Id of the latest user event received here: the local node flashes when it changes. */
  declare userEventId: number | undefined;
  /** ms into the replay, while one runs. */
  declare replayT: number | undefined;
  declare queryName: string;

  #replayRun = 0;
  #raf = 0;

  constructor() {
    super();
    this.members = [];
    this.selfName = undefined;
    this.trace = undefined;
    this.history = [];
    this.canSend = false;
    this.userEventId = undefined;
    this.replayT = undefined;
    this.queryName = 'dashboard-trace';
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    cancelAnimationFrame(this.#raf);
  }

  #send(e: Event) {
    e.preventDefault();
    this.#stopReplay();
    const name = this.queryName.trim() || 'dashboard-trace';
    const payload = `traced from the dashboard of ${this.selfName ?? 'this agent'}`;
    this.dispatchEvent(
      new CustomEvent<TraceRequest>('trace-request', {
        detail: { name, payload },
        bubbles: true,
        composed: true,
      }),
    );
  }

  #replay() {
    const tr = this.trace;
    if (!tr || tr.order.length === 0) return;
    cancelAnimationFrame(this.#raf);
    this.#replayRun++;
    const total = this.#replayScale(tr);
    const start = performance.now();
    const tick = (now: number) => {
      const real = ((now - start) / REPLAY_MS) * total;
      this.replayT = Math.min(real, total);
      if (real < total + total * 0.15) this.#raf = requestAnimationFrame(tick);
      else this.replayT = undefined;
    };
    this.replayT = 0;
    this.#raf = requestAnimationFrame(tick);
  }

  #stopReplay() {
    cancelAnimationFrame(this.#raf);
    this.replayT = undefined;
  }

  /** The real span a replay covers: up to the last ack. */
  #replayScale(tr: TraceState): number {
    return Math.max(1, ...tr.order.map((n) => tr.acks[n] ?? 0));
  }

  override render() {
    const tr = this.trace;
    const replaying = this.replayT !== undefined && tr !== undefined;
    const running = tr !== undefined && !tr.done;
    return html`<section class="panel">
      <header>
        <h2>Gossip spread</h2>
        <span class="hint">a node lights when this agent hears its ack</span>
      </header>
      <form class="controls" data-testid="trace-form" @submit=${this.#send}>
        <input
          type="text"
          aria-label="query name"
          .value=${this.queryName}
          @input=${(e: Event) => {
            this.queryName = (e.target as HTMLInputElement).value;
          }}
          maxlength="64"
          spellcheck="false"
        />
        <button class="primary" type="submit" data-testid="trace-send" ?disabled=${!this.canSend || running}>
          ${running ? 'Spreading…' : 'Trace a broadcast'}
        </button>
        <button type="button" @click=${this.#replay} ?disabled=${!tr || tr.order.length === 0 || running}>
          ${replaying ? 'Replaying…' : 'Replay slowly'}
        </button>
      </form>
      <div class="body">
        <div
          class="ring"
          data-testid="ring"
          data-trace=${!tr ? 'none' : tr.error ? 'error' : tr.done ? 'done' : 'running'}
          data-trace-id=${tr?.id ?? 0}
        >
          ${this.#ring(tr, replaying)}
        </div>
        <aside>
          ${this.#summary(tr, replaying)} ${tr && tr.order.length > 0 ? this.#curve(tr) : nothing}
          ${this.#historyList()}
        </aside>
      </div>
      <p class="explain">
        <strong>How this is measured.</strong> “Trace” sends a Serf query with acks requested. It spreads by gossip,
        like a user event, and each node that receives it acks straight back to this agent. Times run from sending
        to the ack’s arrival here, so they include the ack’s own trip. Nodes that stay dark did not ack before the
        query timed out.
      </p>
    </section>`;
  }

  #ring(tr: TraceState | undefined, replaying: boolean) {
    const names = this.members.map((m) => m.name);
    if (tr) for (const n of tr.order) if (!names.includes(n)) names.push(n);
    if (names.length === 0) return html`<div class="empty">no members yet</div>`;
    const byName = new Map(this.members.map((m) => [m.name, m]));
    const L = ringLayout(names, this.selfName, 400);
    const lit = tr ? (replaying ? litAt(tr, this.replayT!) : new Set(tr.order)) : new Set<string>();
    const expected = new Set(tr?.expected ?? []);
    const runKey = replaying ? `r${this.#replayRun}` : `t${tr?.id ?? 0}`;
    const origin = L.nodes.find((p) => p.name === this.selfName);
    const litNodes = L.nodes.filter((p) => lit.has(p.name));
    const elapsed = tr ? (replaying ? this.replayT! : undefined) : undefined;

    return html`<svg viewBox="0 0 400 400" role="img" aria-label="cluster ring: ${lit.size} of ${names.length} lit">
      <circle class="track" cx=${L.cx} cy=${L.cy} r=${L.radius}></circle>
      ${
        origin
          ? repeat(
              litNodes.filter((p) => p.name !== origin.name),
              (p) => `${runKey}:${p.name}`,
              (p) =>
                svg`<line class="ack" x1=${p.x} y1=${p.y} x2=${origin.x} y2=${origin.y} pathLength="100"></line>`,
            )
          : nothing
      }
      ${L.nodes.map((p) => {
        const m = byName.get(p.name);
        const status: DisplayStatus = m?.display ?? 'alive';
        const isLit = lit.has(p.name);
        const waiting = tr !== undefined && !isLit && expected.has(p.name) && (!tr.done || replaying);
        const missed = tr?.done === true && !replaying && !isLit && expected.has(p.name);
        const isOrigin = p.name === this.selfName;
        const ack = tr?.acks[p.name];
        const cls = [
          'node',
          statusClass(status),
          isLit ? 'lit' : '',
          waiting ? 'waiting' : '',
          missed ? 'missed' : '',
          isOrigin ? 'origin' : '',
        ].join(' ');
        const label = L.showLabels ? labelPlacement(p, L, 8) : undefined;
        const title = `${p.name} · ${status}${ack !== undefined ? ` · ack after ${duration(ack)}` : ''}${missed ? ' · no ack' : ''}`;
        return svg`<g
          class=${cls}
          data-testid="ring-node"
          data-node=${p.name}
          data-status=${status}
          data-lit=${isLit ? 'true' : 'false'}
        >
          <title>${title}</title>
          <circle class="halo" cx=${p.x} cy=${p.y} r=${L.nodeRadius + 3}></circle>
          <circle class="dot" cx=${p.x} cy=${p.y} r=${L.nodeRadius}></circle>
          ${
            label
              ? svg`<text class="label" x=${label.x} y=${label.y} text-anchor=${label.anchor} dominant-baseline="middle">${short(p.name)}</text>
                ${isLit && ack !== undefined ? svg`<text class="ms" x=${label.x} y=${label.y + (Math.cos(p.angle) > 0.5 ? -13 : 13)} text-anchor=${label.anchor} dominant-baseline="middle">+${duration(ack)}</text>` : nothing}`
              : nothing
          }
        </g>`;
      })}
      ${repeat(
        litNodes,
        (p) => `${runKey}:${p.name}`,
        (p) => svg`<circle class="ripple" cx=${p.x} cy=${p.y} r=${L.nodeRadius}></circle>`,
      )}
      ${
        origin && this.userEventId !== undefined
          ? repeat(
              [this.userEventId],
              (id) => id,
              () => svg`<circle class="user-flash" cx=${origin.x} cy=${origin.y} r=${L.nodeRadius}></circle>`,
            )
          : nothing
      }
      ${this.#center(L.cx, L.cy, tr, lit.size, elapsed)}
    </svg>`;
  }

  #center(cx: number, cy: number, tr: TraceState | undefined, lit: number, replayAt: number | undefined) {
    if (!tr) {
      return svg`<text class="center-hint" x=${cx} y=${cy} text-anchor="middle" dominant-baseline="middle">Trace a broadcast to watch it spread</text>`;
    }
    const total = new Set([...tr.expected, ...tr.order]).size;
    const sub =
      replayAt !== undefined
        ? `replay · ${duration(replayAt)}`
        : tr.error
          ? 'failed'
          : tr.done
            ? `done · ${duration(Math.max(0, ...tr.order.map((n) => tr.acks[n] ?? 0)))}`
            : 'spreading…';
    return svg`<text class="center-big" x=${cx} y=${cy - 6} text-anchor="middle">${lit}<tspan class="of"> / ${total}</tspan></text>
      <text class="center-sub" x=${cx} y=${cy + 20} text-anchor="middle">${sub}</text>`;
  }

  #summary(tr: TraceState | undefined, replaying: boolean) {
    if (!tr) {
      return html`<div class="summary muted">
        Nothing traced yet. Every node that receives the query acks back; watch the S-curve of an epidemic fill in.
      </div>`;
    }
    const times = tr.order.map((n) => tr.acks[n] ?? 0).sort((a, b) => a - b);
    const total = new Set([...tr.expected, ...tr.order]).size;
    const half = times[Math.ceil(total / 2) - 1];
    const all = times.length >= total ? times[times.length - 1] : undefined;
    return html`<div class="summary">
      <div class="qname">“${tr.name}”${replaying ? html` <span class="chip plain">replay, slowed</span>` : nothing}</div>
      <dl>
        <div><dt>reached</dt><dd class="num">${times.length} / ${total}</dd></div>
        <div><dt>half</dt><dd class="num">${half !== undefined ? duration(half) : '—'}</dd></div>
        <div>
          <dt>all</dt>
          <dd class="num ${all === undefined && tr.done ? 'missing' : ''}">
            ${all !== undefined ? duration(all) : tr.done ? `${total - times.length} no ack` : '—'}
          </dd>
        </div>
      </dl>
      ${tr.error ? html`<div class="error">${tr.error}</div>` : nothing}
    </div>`;
  }

  /** The cumulative ack curve: the S-shape of an epidemic. */
  #curve(tr: TraceState) {
    const pts = ackCurve(tr);
    const total = Math.max(1, new Set([...tr.expected, ...tr.order]).size);
    const maxT = Math.max(1, pts[pts.length - 1]![0]) * 1.08;
    const W = 240;
    const H = 92;
    const x = (t: number) => 4 + (t / maxT) * (W - 8);
    const y = (n: number) => H - 14 - (n / total) * (H - 24);
    let d = `M${x(0)},${y(0)}`;
    for (let i = 1; i < pts.length; i++) d += ` H${x(pts[i]![0])} V${y(pts[i]![1])}`;
    d += ` H${x(maxT)}`;
    const cursor = this.replayT !== undefined ? x(Math.min(this.replayT, maxT)) : undefined;
    return html`<svg class="curve" viewBox="0 0 ${W} ${H}" role="img" aria-label="acks over time">
      <line class="full" x1="4" x2=${W - 4} y1=${y(total)} y2=${y(total)}></line>
      <line class="axis" x1="4" x2=${W - 4} y1=${y(0)} y2=${y(0)}></line>
      <path class="area" d="${d} V${y(0)} H${x(0)} Z"></path>
      <path class="step" d=${d}></path>
      ${cursor !== undefined ? svg`<line class="cursor" x1=${cursor} x2=${cursor} y1="6" y2=${y(0)}></line>` : nothing}
      <text class="tick" x="4" y=${H - 2}>0</text>
      <text class="tick" x=${W - 4} y=${H - 2} text-anchor="end">${duration(maxT / 1.08)}</text>
    </svg>`;
  }

  #historyList() {
    const past = this.history
      .filter((h) => h.id !== this.trace?.id || this.trace?.done)
      .slice(0, HISTORY_SHOWN);
    if (past.length === 0) return nothing;
    return html`<table class="history">
      <thead>
        <tr><th>recent traces</th><th>reached</th><th>half</th><th>all</th></tr>
      </thead>
      <tbody>
        ${past.map(
          (h) => html`<tr>
            <td class="hname" title=${h.name}>${h.name}</td>
            <td class="num">${h.acked}/${h.expected}</td>
            <td class="num">${h.p50Ms !== undefined ? duration(h.p50Ms) : '—'}</td>
            <td class="num">${h.acked >= h.expected && h.maxMs !== undefined ? duration(h.maxMs) : '—'}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
  }

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .controls {
        display: flex;
        gap: 8px;
        padding: 0 18px 4px;
        flex-wrap: wrap;
      }
      .controls input {
        flex: 1 1 160px;
        max-width: 240px;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      .body {
        display: grid;
        grid-template-columns: minmax(0, 1.35fr) minmax(220px, 1fr);
        gap: 8px 18px;
        align-items: center;
        padding: 0 18px;
      }
      @media (max-width: 720px) {
        .body {
          grid-template-columns: 1fr;
        }
      }
      .ring .empty {
        min-height: 280px;
        display: grid;
        place-items: center;
      }
      .ring svg {
        width: 100%;
        max-height: 420px;
        display: block;
        overflow: visible;
      }
      .track {
        fill: none;
        stroke: var(--border);
        stroke-dasharray: 2 5;
      }
      .node .dot {
        fill: var(--panel-2);
        stroke: var(--c);
        stroke-width: 2.5;
        transition:
          fill 0.25s,
          stroke 0.25s;
      }
      .node .halo {
        fill: none;
        stroke: transparent;
        stroke-width: 2;
      }
      .node.s-left .dot,
      .node.s-failed .dot {
        opacity: 0.55;
      }
      .node.waiting .dot {
        stroke-dasharray: 3 3;
        animation: wait 1.6s linear infinite;
      }
      .node.lit .dot {
        fill: var(--spread);
        stroke: var(--spread);
        animation: pop 0.45s ease-out;
        transform-box: fill-box;
        transform-origin: center;
      }
      .node.lit .halo {
        stroke: color-mix(in srgb, var(--spread) 40%, transparent);
      }
      .node.missed .dot {
        stroke: var(--failed);
        stroke-dasharray: 2 3;
      }
      .node.origin .halo {
        stroke: var(--accent);
        stroke-width: 1.5;
      }
      @keyframes pop {
        0% {
          transform: scale(0.6);
        }
        60% {
          transform: scale(1.35);
        }
        100% {
          transform: scale(1);
        }
      }
      @keyframes wait {
        to {
          stroke-dashoffset: -12;
        }
      }
      .ripple,
      .user-flash {
        fill: none;
        stroke: var(--spread);
        stroke-width: 2;
        transform-box: fill-box;
        transform-origin: center;
        animation: ripple 1.1s ease-out forwards;
        pointer-events: none;
      }
      .user-flash {
        stroke: var(--accent);
        stroke-width: 3;
      }
      @keyframes ripple {
        from {
          transform: scale(1);
          opacity: 0.9;
        }
        to {
          transform: scale(3.2);
          opacity: 0;
        }
      }
      .ack {
        stroke: var(--spread);
        stroke-width: 1.25;
        stroke-dasharray: 100;
        stroke-dashoffset: 100;
        opacity: 0;
        animation: ack 1.2s ease-out forwards;
      }
      @keyframes ack {
        0% {
          stroke-dashoffset: 100;
          opacity: 0.9;
        }
        60% {
          stroke-dashoffset: 0;
          opacity: 0.6;
        }
        100% {
          stroke-dashoffset: 0;
          opacity: 0.08;
        }
      }
      .label {
        font-size: 11.5px;
        fill: var(--text);
        font-weight: 500;
      }
      .node.s-left .label,
      .node.s-failed .label {
        fill: var(--faint);
      }
      .ms {
        font-size: 10.5px;
        fill: var(--spread-text);
        font-family: var(--mono);
      }
      .center-big {
        font-size: 40px;
        font-weight: 650;
        fill: var(--text);
        font-variant-numeric: tabular-nums;
      }
      .center-big .of {
        font-size: 20px;
        fill: var(--faint);
        font-weight: 500;
      }
      .center-sub {
        font-size: 12px;
        fill: var(--muted);
        letter-spacing: 0.02em;
      }
      .center-hint {
        font-size: 13px;
        fill: var(--faint);
      }
      aside {
        display: flex;
        flex-direction: column;
        gap: 14px;
        min-width: 0;
      }
      .summary.muted {
        color: var(--muted);
        font-size: 13px;
        line-height: 1.5;
      }
      .qname {
        font-family: var(--mono);
        font-size: 12.5px;
        color: var(--muted);
        margin-bottom: 8px;
      }
      dl {
        display: grid;
        grid-template-columns: repeat(3, 1fr);
        gap: 8px;
        margin: 0;
      }
      dt {
        font-size: 11px;
        text-transform: uppercase;
        letter-spacing: 0.05em;
        color: var(--faint);
      }
      dd {
        margin: 2px 0 0;
        font-size: 18px;
        font-weight: 600;
      }
      dd.missing {
        color: var(--failed);
        font-size: 15px;
      }
      .error {
        color: var(--failed);
        font-size: 13px;
        margin-top: 8px;
      }
      .curve {
        width: 100%;
        height: auto;
        display: block;
      }
      .curve .step {
        fill: none;
        stroke: var(--spread);
        stroke-width: 2;
      }
      .curve .area {
        fill: color-mix(in srgb, var(--spread) 14%, transparent);
      }
      .curve .axis {
        stroke: var(--border);
      }
      .curve .full {
        stroke: var(--faint);
        stroke-dasharray: 3 3;
        opacity: 0.6;
      }
      .curve .cursor {
        stroke: var(--accent);
      }
      .curve .tick {
        font-size: 9.5px;
        fill: var(--faint);
        font-family: var(--mono);
      }
      .history {
        width: 100%;
        border-collapse: collapse;
        font-size: 12px;
      }
      .history th {
        text-align: left;
        font-weight: 500;
        color: var(--faint);
        padding: 0 6px 4px 0;
        font-size: 11px;
        text-transform: uppercase;
        letter-spacing: 0.04em;
      }
      .history td {
        padding: 3px 6px 3px 0;
        border-top: 1px solid var(--border);
      }
      .hname {
        font-family: var(--mono);
        max-width: 110px;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .explain {
        margin: 6px 18px 16px;
        font-size: 12px;
        line-height: 1.55;
        color: var(--muted);
        border-top: 1px solid var(--border);
        padding-top: 10px;
      }
      .explain strong {
        color: var(--text);
        font-weight: 600;
      }
    `,
  ];
}

function short(name: string): string {
  return name.length > 16 ? `${name.slice(0, 15)}…` : name;
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-spread': SpreadView;
  }
}
