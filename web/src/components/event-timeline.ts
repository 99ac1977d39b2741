/**
 * `<gd-timeline>`: what happened, newest first: joins, suspicions, refutations, failures and
 * leaves, user events and queries, health changes. Entries inferred from the member list (no
 * event of their own) are marked so.
 */
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ago, clock } from '../format.ts';
import type { TimelineEntry, TimelineKind } from '../state.ts';
import { shared } from '../theme.ts';

type Group = 'all' | 'membership' | 'events' | 'health';

const GROUPS: Record<Exclude<Group, 'all'>, readonly TimelineKind[]> = {
  membership: ['join', 'suspect', 'refute', 'failed', 'leave', 'leaving', 'update', 'reap'],
  events: ['user', 'query'],
  health: ['health', 'agent'],
};

const ICON: Record<TimelineKind, string> = {
  join: '+',
  suspect: '?',
  refute: '↺',
  failed: '✕',
  leave: '←',
  leaving: '…',
  update: '✎',
  reap: '∅',
  user: '✦',
  query: '⇄',
  health: '♥',
  agent: '⚡',
};

/** Entries rendered at most (the reducer keeps more for filtering). */
const SHOWN_MAX = 150;

export class EventTimeline extends LitElement {
  static override properties = {
    entries: { attribute: false },
    now: { attribute: false },
    group: { state: true },
  };

  declare entries: readonly TimelineEntry[];
  declare now: number;
  declare group: Group;

  constructor() {
    super();
    this.entries = [];
    this.now = Date.now();
    this.group = 'all';
  }

  override render() {
    const kinds = this.group === 'all' ? undefined : GROUPS[this.group];
    const shown = (kinds ? this.entries.filter((e) => kinds.includes(e.kind)) : this.entries).slice(
      0,
      SHOWN_MAX,
    );
    return html`<section class="panel">
      <header>
        <h2>Timeline</h2>
        <div class="tabs" role="tablist">
          ${(['all', 'membership', 'events', 'health'] as const).map(
            (g) =>
              html`<button
                role="tab"
                aria-selected=${this.group === g}
                class=${this.group === g ? 'on' : ''}
                @click=${() => {
                  this.group = g;
                }}
              >
                ${g}
              </button>`,
          )}
        </div>
      </header>
      <ol>
        ${repeat(
          shown,
          (e) => e.id,
          (e) => html`<li class="k-${e.kind}">
            <span class="icon" aria-hidden="true">${ICON[e.kind]}</span>
            <div class="what">
              <div class="title">${e.title}</div>
              ${
                e.detail || e.inferred
                  ? html`<div class="detail">
                    ${e.detail}${e.inferred ? html`<span class="inferred" title="no event reported it: the member list changed between two polls">inferred</span>` : nothing}
                  </div>`
                  : nothing
              }
            </div>
            <time class="num" datetime=${new Date(e.at).toISOString()} title=${ago(e.at, this.now)}>${clock(e.at)}</time>
          </li>`,
        )}
      </ol>
      ${shown.length === 0 ? html`<div class="empty">nothing yet: events appear here as they happen</div>` : nothing}
    </section>`;
  }

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      section {
        display: flex;
        flex-direction: column;
        height: 100%;
      }
      .tabs {
        margin-left: auto;
        display: flex;
        gap: 2px;
        background: var(--panel-2);
        border-radius: 8px;
        padding: 2px;
      }
      .tabs button {
        border: none;
        background: none;
        padding: 3px 10px;
        font-size: 12px;
        color: var(--muted);
        border-radius: 6px;
      }
      .tabs button.on {
        background: var(--panel);
        color: var(--text);
        box-shadow: 0 1px 2px rgb(0 0 0 / 0.12);
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0 8px 8px;
        overflow: auto;
        max-height: 520px;
        flex: 1;
      }
      li {
        display: grid;
        grid-template-columns: 26px 1fr auto;
        gap: 10px;
        align-items: start;
        padding: 8px 10px;
        border-radius: 8px;
        animation: enter 0.5s ease-out;
      }
      li:hover {
        background: var(--panel-2);
      }
      @keyframes enter {
        from {
          background: color-mix(in srgb, var(--c, var(--accent)) 16%, transparent);
        }
      }
      .icon {
        width: 24px;
        height: 24px;
        border-radius: 50%;
        display: grid;
        place-items: center;
        font-size: 12px;
        font-weight: 700;
        color: var(--c, var(--muted));
        background: color-mix(in srgb, var(--c, var(--muted)) 15%, transparent);
      }
      .title {
        font-size: 13px;
        font-weight: 500;
        overflow-wrap: anywhere;
      }
      .detail {
        font-size: 12px;
        color: var(--muted);
        margin-top: 2px;
        overflow-wrap: anywhere;
      }
      .inferred {
        margin-left: 6px;
        font-size: 10.5px;
        color: var(--faint);
        border: 1px dashed var(--border);
        border-radius: 4px;
        padding: 0 4px;
      }
      time {
        font-size: 11.5px;
        color: var(--faint);
        padding-top: 3px;
      }
      .k-join {
        --c: var(--alive);
      }
      .k-suspect {
        --c: var(--suspect);
      }
      .k-refute {
        --c: var(--spread);
      }
      .k-failed {
        --c: var(--failed);
      }
      .k-leave,
      .k-leaving {
        --c: var(--leaving);
      }
      .k-reap {
        --c: var(--left);
      }
      .k-update {
        --c: var(--muted);
      }
      .k-user,
      .k-query {
        --c: var(--accent);
      }
      .k-health {
        --c: var(--suspect);
      }
      .k-agent {
        --c: var(--faint);
      }
    `,
  ];
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-timeline': EventTimeline;
  }
}
