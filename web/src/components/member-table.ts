/**
 * `<gd-members>`: the member list. Status is Serf's, with memberlist's suspicion folded in;
 * health is what this agent knows: its own Lifeguard score for the local node, and for the
 * others the result of its last probe (round-trip time, or failed probes in a row).
 */
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ago, rtt } from '../format.ts';
import { DISPLAY_STATUSES, type DisplayStatus, type HealthView, type MemberView } from '../state.ts';
import { shared, statusClass } from '../theme.ts';

/** Tags shown inline per member; the rest are counted. */
const TAGS_SHOWN = 4;

export class MemberTable extends LitElement {
  static override properties = {
    members: { attribute: false },
    health: { attribute: false },
    loaded: { attribute: false },
    now: { attribute: false },
    filter: { state: true },
    statusFilter: { state: true },
  };

  declare members: readonly MemberView[];
  declare health: HealthView | undefined;
  declare loaded: boolean;
  declare now: number;
  declare filter: string;
  declare statusFilter: DisplayStatus | undefined;

  constructor() {
    super();
    this.members = [];
    this.health = undefined;
    this.loaded = false;
    this.now = Date.now();
    this.filter = '';
    this.statusFilter = undefined;
  }

  #matches(m: MemberView): boolean {
    if (this.statusFilter && m.display !== this.statusFilter) return false;
    const f = this.filter.trim().toLowerCase();
    if (!f) return true;
    if (m.name.toLowerCase().includes(f) || m.addr.includes(f)) return true;
    return Object.entries(m.tags).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(f));
  }

  override render() {
    const counts = new Map<DisplayStatus, number>();
    for (const m of this.members) counts.set(m.display, (counts.get(m.display) ?? 0) + 1);
    const shown = this.members.filter((m) => this.#matches(m));
    return html`<section class="panel">
      <header>
        <h2>Members</h2>
        <span class="hint">${this.members.length} known</span>
        <div class="filters">
          ${DISPLAY_STATUSES.filter((s) => (counts.get(s) ?? 0) > 0).map(
            (s) =>
              html`<button
                class="chip ${statusClass(s)} ${this.statusFilter === s ? 'on' : ''}"
                aria-pressed=${this.statusFilter === s}
                @click=${() => {
                  this.statusFilter = this.statusFilter === s ? undefined : s;
                }}
              >
                ${s} <span class="num">${counts.get(s)}</span>
              </button>`,
          )}
          <input
            type="search"
            placeholder="filter by name, address, tag"
            aria-label="filter members"
            .value=${this.filter}
            @input=${(e: Event) => {
              this.filter = (e.target as HTMLInputElement).value;
            }}
          />
        </div>
      </header>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>node</th>
              <th>status</th>
              <th class="r" title="incarnation: raised by the node itself to refute a suspicion">inc.</th>
              <th>health</th>
              <th>tags</th>
              <th class="r">since</th>
            </tr>
          </thead>
          <tbody>
            ${repeat(
              shown,
              (m) => m.name,
              (m) => html`<tr
                class=${m.isLocal ? 'local' : ''}
                data-testid="member-row"
                data-member=${m.name}
                data-status=${m.display}
              >
                <td>
                  <div class="name">
                    ${m.name}${m.isLocal ? html`<span class="you" title="the agent serving this page">this agent</span>` : nothing}
                  </div>
                  <div class="addr num">${m.addr}</div>
                </td>
                <td>
                  <span class="chip ${statusClass(m.display)}">${m.display}</span>
                  ${
                    m.display === 'suspect' && m.suspectedBy
                      ? html`<div class="sub">by ${m.suspectedBy}</div>`
                      : nothing
                  }
                </td>
                <td class="r num">${m.incarnation ?? '—'}</td>
                <td>${this.#health(m)}</td>
                <td class="tags">${this.#tags(m.tags)}</td>
                <td class="r sub" title=${new Date(m.changedAt).toLocaleString()}>${ago(m.changedAt, this.now)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${
          !this.loaded
            ? html`<div class="empty">loading members…</div>`
            : shown.length === 0
              ? html`<div class="empty">no member matches</div>`
              : nothing
        }
      </div>
    </section>`;
  }

  #health(m: MemberView) {
    if (m.isLocal) {
      const h = this.health;
      if (!h) return html`<span class="sub">—</span>`;
      const worst = Math.max(1, h.max - 1);
      const level = h.score === 0 ? 'good' : h.score / worst < 0.5 ? 'warn' : 'bad';
      return html`<div class="health ${level}" title="Lifeguard awareness score: 0 is healthy; timeouts scale by score + 1">
        <span class="meter"><span style="width:${Math.max(6, (1 - h.score / worst) * 100)}%"></span></span>
        <span class="num">${h.score}/${worst}</span>
      </div>`;
    }
    const p = m.probe;
    if (m.display === 'left' || m.display === 'failed') return html`<span class="sub">—</span>`;
    if (!p)
      return html`<span class="sub" title="this agent has not probed it since the page opened">not probed yet</span>`;
    if (!p.ok) {
      return html`<span class="probe bad" title="consecutive failed probes from this agent">
        ✕ ${p.failures} failed probe${p.failures === 1 ? '' : 's'}
      </span>`;
    }
    return html`<div class="probe ok" title="last probe by this agent${p.indirect ? ' (indirect)' : ''}">
      ${sparkline(p.rtts)}<span class="num">${rtt(p.rttMs)}</span>${p.indirect ? html`<span class="sub"> via peers</span>` : nothing}
    </div>`;
  }

  #tags(tags: Record<string, string>) {
    const entries = Object.entries(tags);
    if (entries.length === 0) return html`<span class="sub">—</span>`;
    return html`${entries.slice(0, TAGS_SHOWN).map(([k, v]) => html`<span class="tag"><b>${k}</b>${v}</span>`)}
    ${entries.length > TAGS_SHOWN ? html`<span class="sub" title=${entries.map(([k, v]) => `${k}=${v}`).join('\n')}>+${entries.length - TAGS_SHOWN}</span>` : nothing}`;
  }

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .filters {
        display: flex;
        gap: 6px;
        align-items: center;
        flex-wrap: wrap;
        margin-left: auto;
      }
      .filters .chip {
        border: 1px solid transparent;
        cursor: pointer;
        padding: 2px 9px 2px 8px;
        border-radius: 999px;
      }
      .filters .chip.on {
        border-color: var(--c);
      }
      .filters input {
        width: 210px;
      }
      .scroll {
        overflow: auto;
        max-height: 560px;
        padding: 0 6px 8px;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 13px;
      }
      th {
        position: sticky;
        top: 0;
        background: var(--panel);
        text-align: left;
        font-weight: 500;
        font-size: 11px;
        text-transform: uppercase;
        letter-spacing: 0.05em;
        color: var(--faint);
        padding: 8px 10px;
        border-bottom: 1px solid var(--border);
        z-index: 1;
      }
      td {
        white-space: nowrap;
        padding: 9px 10px;
        border-bottom: 1px solid var(--border);
        vertical-align: middle;
      }
      tr:last-child td {
        border-bottom: none;
      }
      tbody tr:hover td {
        background: var(--panel-2);
      }
      tr.local td:first-child {
        box-shadow: inset 3px 0 0 var(--accent);
      }
      .r {
        text-align: right;
      }
      .name {
        font-weight: 600;
        display: flex;
        align-items: center;
        gap: 8px;
      }
      .you {
        font-size: 10.5px;
        font-weight: 600;
        color: var(--accent);
        background: color-mix(in srgb, var(--accent) 12%, transparent);
        padding: 1px 6px;
        border-radius: 4px;
        letter-spacing: 0.02em;
      }
      .addr {
        color: var(--muted);
        font-size: 12px;
        margin-top: 1px;
      }
      .sub {
        color: var(--faint);
        font-size: 12px;
      }
      td.tags {
        white-space: normal;
        min-width: 150px;
      }
      .tag {
        display: inline-block;
        font-family: var(--mono);
        font-size: 11.5px;
        border: 1px solid var(--border);
        border-radius: 5px;
        padding: 0 6px;
        margin: 1px 4px 1px 0;
        color: var(--muted);
        white-space: nowrap;
      }
      .tag b {
        font-weight: 500;
        color: var(--text);
      }
      .tag b::after {
        content: '=';
        color: var(--faint);
      }
      .health {
        display: flex;
        align-items: center;
        gap: 8px;
      }
      .meter {
        width: 64px;
        height: 6px;
        border-radius: 3px;
        background: var(--panel-2);
        overflow: hidden;
        display: inline-block;
      }
      .meter span {
        display: block;
        height: 100%;
        background: var(--alive);
        border-radius: 3px;
      }
      .health.warn .meter span {
        background: var(--suspect);
      }
      .health.bad .meter span {
        background: var(--failed);
      }
      .probe {
        display: flex;
        align-items: center;
        gap: 8px;
        font-size: 12.5px;
      }
      .probe.bad {
        color: var(--failed);
      }
      .probe svg {
        width: 54px;
        height: 16px;
      }
      .probe svg path {
        fill: none;
        stroke: var(--alive);
        stroke-width: 1.25;
      }
    `,
  ];
}

/** Recent round-trip times as a tiny line. */
function sparkline(values: readonly number[]) {
  if (values.length < 2) return nothing;
  const max = Math.max(...values) || 1;
  const step = 54 / (values.length - 1);
  const d = values.map(
    (v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(15 - (v / max) * 13).toFixed(1)}`,
  );
  return html`<svg viewBox="0 0 54 16" aria-hidden="true"><path d=${d.join(' ')}></path></svg>`;
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-members': MemberTable;
  }
}
