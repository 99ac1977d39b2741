/**
 * `<gd-state>`: the replicated state (`gossip kv`) as this agent holds it — one row per node
 * with its key count and version, its keys on a click — and a form that writes a key here and
 * then shows it spreading: which nodes hold it yet, and how long each took.
 */
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ago, duration } from '../format.ts';
import type { KvModel, KvSpread } from '../kv.ts';
import { shared } from '../theme.ts';

/** Keys listed per opened node (the API is the tool for more). */
const KEYS_SHOWN = 100;

export interface KvWriteRequest {
  key: string;
  value: string;
}

export class StateView extends LitElement {
  static override properties = {
    model: { attribute: false },
    revision: { attribute: false },
    selfName: { attribute: false },
    spread: { attribute: false },
    canSend: { attribute: false },
    now: { attribute: false },
    key: { state: true },
    value: { state: true },
    open: { state: true },
  };

  declare model: KvModel | undefined;
  /** The model's revision: a new one re-renders (the model itself is changed in place). */
  declare revision: number;
  declare selfName: string | undefined;
  declare spread: KvSpread | undefined;
  declare canSend: boolean;
  declare now: number;
  declare key: string;
  declare value: string;
  /** Opened nodes (their keys listed); the local node starts open. */
  declare open: ReadonlySet<string>;
  #closed = new Set<string>();

  constructor() {
    super();
    this.model = undefined;
    this.revision = 0;
    this.selfName = undefined;
    this.spread = undefined;
    this.canSend = false;
    this.now = Date.now();
    this.key = 'service/port';
    this.value = '';
    this.open = new Set();
  }

  #isOpen(node: string): boolean {
    return this.open.has(node) || (node === this.selfName && !this.#closed.has(node));
  }

  #toggle(node: string) {
    const open = new Set(this.open);
    if (this.#isOpen(node)) {
      open.delete(node);
      this.#closed.add(node);
    } else {
      open.add(node);
      this.#closed.delete(node);
    }
    this.open = open;
  }

  #submit(e: Event) {
    e.preventDefault();
    const key = this.key.trim();
    if (!key) return;
    this.dispatchEvent(
      new CustomEvent<KvWriteRequest>('kv-write-request', {
        detail: { key, value: this.value },
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render() {
    const m = this.model;
    const nodes = m?.sortedNodes(this.selfName) ?? [];
    return html`<section class="panel">
      <header>
        <h2>Replicated state</h2>
        <span class="hint"
          >${m?.ready ? `${m.keyCount} keys on ${nodes.length} nodes, as this agent holds them` : 'loading'}${
            m && m.dropped > 0 ? ` · ${m.dropped} more not shown` : ''
          }</span
        >
      </header>
      <form data-testid="kv-form" @submit=${this.#submit}>
        <input
          type="text"
          class="key"
          data-testid="kv-key-input"
          aria-label="key"
          placeholder="key"
          spellcheck="false"
          .value=${this.key}
          @input=${(e: Event) => {
            this.key = (e.target as HTMLInputElement).value;
          }}
        />
        <input
          type="text"
          class="value"
          data-testid="kv-value-input"
          aria-label="value"
          placeholder="value"
          spellcheck="false"
          .value=${this.value}
          @input=${(e: Event) => {
            this.value = (e.target as HTMLInputElement).value;
          }}
        />
        <button class="primary" type="submit" data-testid="kv-write" ?disabled=${!this.canSend || !this.key.trim()}>
          Write here
        </button>
      </form>
      ${this.#spread()}
      <ul class="nodes">
        ${repeat(
          nodes,
          (n) => n.name,
          (n) => {
            const open = this.#isOpen(n.name);
            const keys = [...n.keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
            return html`<li data-testid="kv-node" data-node=${n.name} data-keys=${n.keys.size}>
              <button class="row" aria-expanded=${open} @click=${() => this.#toggle(n.name)}>
                <span class="caret">${open ? '▾' : '▸'}</span>
                <span class="nname">${n.name}${n.name === this.selfName ? html` <small>this node</small>` : nothing}</span>
                <span class="meta num">${n.keys.size} ${n.keys.size === 1 ? 'key' : 'keys'} · v${n.version}</span>
                <span class="meta">${n.changedAt > 0 ? ago(n.changedAt, this.now) : ''}</span>
              </button>
              ${
                open
                  ? html`<table>
                      ${keys.slice(0, KEYS_SHOWN).map(
                        ([k, item]) => html`<tr
                          data-testid="kv-entry"
                          data-node=${n.name}
                          data-key=${k}
                          data-value=${item.value}
                          class=${item.changedAt > 0 && this.now - item.changedAt < 3000 ? 'fresh' : ''}
                        >
                          <td class="k">${k}</td>
                          <td class="v" title=${item.value}>${item.value}</td>
                          <td class="ver num">v${item.version}</td>
                        </tr>`,
                      )}
                    </table>
                    ${keys.length > KEYS_SHOWN ? html`<div class="more">${keys.length - KEYS_SHOWN} more keys</div>` : nothing}`
                  : nothing
              }
            </li>`;
          },
        )}
      </ul>
      ${m?.ready && nodes.length === 0 ? html`<div class="empty">no node holds a key yet</div>` : nothing}
    </section>`;
  }

  #spread() {
    const s = this.spread;
    if (!s) return nothing;
    if (s.error) return html`<div class="result bad">${s.error}</div>`;
    const total = s.reached.size;
    const have = [...s.reached.values()].filter((v) => v !== undefined).length;
    const last = Math.max(0, ...[...s.reached.values()].map((v) => v ?? 0));
    return html`<div class="spread" data-testid="kv-spread" data-key=${s.key} data-done=${s.done}>
      <div class="line">
        <b>${s.key}</b> = ${s.value || html`<i>empty</i>`} · v${s.version}:
        <span class="num">${have} of ${total || '…'}</span> nodes hold it${
          s.done ? html` · everywhere in <span class="num">${duration(last)}</span>` : ''
        }
      </div>
      <div class="bar"><i style="width: ${total ? (100 * have) / total : 0}%"></i></div>
      <div class="chips">
        ${[...s.reached.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(
            ([node, ms]) => html`<span
              class="chip ${ms !== undefined ? 's-alive' : 'plain'}"
              data-testid="kv-spread-node"
              data-node=${node}
              data-has=${ms !== undefined}
              >${node}${ms !== undefined ? html` <span class="num">${duration(ms)}</span>` : ' …'}</span
            >`,
          )}
      </div>
    </div>`;
  }

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        gap: 8px;
        padding: 0 18px 10px;
        flex-wrap: wrap;
      }
      .key {
        flex: 0 1 150px;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      .value {
        flex: 1 1 160px;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      .result.bad {
        color: var(--failed);
        font-size: 12px;
        margin: -2px 18px 8px;
      }
      .spread {
        margin: 0 18px 10px;
        padding: 8px 10px;
        border-radius: 8px;
        background: var(--panel-2);
        font-size: 12.5px;
        display: flex;
        flex-direction: column;
        gap: 6px;
      }
      .spread b {
        font-family: var(--mono);
        font-weight: 600;
      }
      .bar {
        height: 5px;
        border-radius: 3px;
        background: var(--border);
        overflow: hidden;
      }
      .bar i {
        display: block;
        height: 100%;
        background: var(--spread);
        transition: width 0.25s;
      }
      .chips {
        display: flex;
        gap: 5px;
        flex-wrap: wrap;
      }
      ul.nodes {
        list-style: none;
        margin: 0;
        padding: 0 8px 10px;
        max-height: 360px;
        overflow: auto;
      }
      button.row {
        all: unset;
        box-sizing: border-box;
        cursor: pointer;
        width: 100%;
        display: grid;
        grid-template-columns: 14px 1fr auto minmax(60px, auto);
        gap: 10px;
        align-items: baseline;
        padding: 6px 10px;
        border-radius: 8px;
        font-size: 13px;
      }
      button.row:hover {
        background: var(--panel-2);
      }
      .caret {
        color: var(--faint);
      }
      .nname {
        font-weight: 600;
      }
      .nname small {
        color: var(--faint);
        font-weight: 400;
      }
      .meta {
        color: var(--muted);
        font-size: 12px;
        text-align: right;
      }
      table {
        width: calc(100% - 34px);
        margin: 0 0 6px 34px;
        border-collapse: collapse;
        font-size: 12.5px;
        table-layout: fixed;
      }
      td {
        padding: 3px 6px;
        border-top: 1px solid var(--border);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      td.k {
        font-family: var(--mono);
        width: 40%;
      }
      td.v {
        font-family: var(--mono);
        color: var(--muted);
      }
      td.ver {
        width: 70px;
        text-align: right;
        color: var(--faint);
      }
      tr.fresh {
        animation: arrive 1.5s ease-out;
      }
      @keyframes arrive {
        from {
          background: color-mix(in srgb, var(--spread) 25%, transparent);
        }
      }
      .more {
        color: var(--faint);
        font-size: 12px;
        padding: 0 0 6px 40px;
      }
    `,
  ];
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-state': StateView;
  }
}
