/**
 * `<gd-user-events>`: send a Serf user event (`POST /v1/event`) and see the user events this
 * agent has received, its own included once gossip brings them back to it.
 */
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ago, clock } from '../format.ts';
import { preview, type UserEventEntry } from '../state.ts';
import { shared } from '../theme.ts';

export interface UserEventRequest {
  name: string;
  payload: string;
  coalesce: boolean;
}

/** The outcome of the last send, shown under the form. */
export type SendResult =
  | { ok: true; lTime: number | undefined; at: number }
  | { ok: false; error: string; at: number };

export class UserEvents extends LitElement {
  static override properties = {
    events: { attribute: false },
    canSend: { attribute: false },
    result: { attribute: false },
    now: { attribute: false },
    name: { state: true },
    payload: { state: true },
    coalesce: { state: true },
  };

  declare events: readonly UserEventEntry[];
  declare canSend: boolean;
  declare result: SendResult | undefined;
  declare now: number;
  declare name: string;
  declare payload: string;
  declare coalesce: boolean;

  constructor() {
    super();
    this.events = [];
    this.canSend = false;
    this.result = undefined;
    this.now = Date.now();
    this.name = 'deploy';
    this.payload = '';
    this.coalesce = true;
  }

  #submit(e: Event) {
    e.preventDefault();
    const name = this.name.trim();
    if (!name) return;
    this.dispatchEvent(
      new CustomEvent<UserEventRequest>('user-event-request', {
        detail: { name, payload: this.payload, coalesce: this.coalesce },
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render() {
    const r = this.result;
    return html`<section class="panel">
      <header>
        <h2>User events</h2>
        <span class="hint">received by this agent</span>
      </header>
      <form data-testid="user-event-form" @submit=${this.#submit}>
        <input
          type="text"
          class="name"
          data-testid="user-event-name"
          aria-label="event name"
          placeholder="name"
          maxlength="128"
          spellcheck="false"
          .value=${this.name}
          @input=${(e: Event) => {
            this.name = (e.target as HTMLInputElement).value;
          }}
        />
        <input
          type="text"
          class="payload"
          data-testid="user-event-payload"
          aria-label="payload"
          placeholder="payload (optional)"
          spellcheck="false"
          .value=${this.payload}
          @input=${(e: Event) => {
            this.payload = (e.target as HTMLInputElement).value;
          }}
        />
        <label title="Serf may coalesce events of the same name that arrive close together">
          <input
            type="checkbox"
            .checked=${this.coalesce}
            @change=${(e: Event) => {
              this.coalesce = (e.target as HTMLInputElement).checked;
            }}
          />
          coalesce
        </label>
        <button
          class="primary"
          type="submit"
          data-testid="user-event-send"
          ?disabled=${!this.canSend || !this.name.trim()}
        >
          Send event
        </button>
      </form>
      ${
        r
          ? html`<div class="result ${r.ok ? 'ok' : 'bad'}">
            ${r.ok ? `sent${r.lTime !== undefined ? ` at lTime ${r.lTime}` : ''} · it appears below when gossip brings it back` : r.error}
          </div>`
          : nothing
      }
      <ul>
        ${repeat(
          this.events,
          (e) => e.id,
          (e) => html`<li data-testid="user-event" data-name=${e.name} data-payload=${e.payload}>
            <span class="ename">${e.name}</span>
            <span class="payload-text" title=${e.payload}>${e.payload ? preview(e.payload, 60) : html`<i>no payload</i>`}</span>
            <span class="meta num" title=${ago(e.at, this.now)}>${e.lTime !== undefined ? `L${e.lTime} · ` : ''}${clock(e.at)}</span>
          </li>`,
        )}
      </ul>
      ${this.events.length === 0 ? html`<div class="empty">no user event received since the page opened</div>` : nothing}
    </section>`;
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
        align-items: center;
      }
      .name {
        flex: 0 1 120px;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      .payload {
        flex: 1 1 160px;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      label {
        font-size: 12.5px;
        color: var(--muted);
        display: flex;
        gap: 5px;
        align-items: center;
      }
      .result {
        margin: -2px 18px 8px;
        font-size: 12px;
      }
      .result.ok {
        color: var(--muted);
      }
      .result.bad {
        color: var(--failed);
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0 8px 10px;
        max-height: 240px;
        overflow: auto;
      }
      li {
        display: grid;
        grid-template-columns: minmax(60px, auto) 1fr auto;
        gap: 12px;
        align-items: baseline;
        padding: 6px 10px;
        border-radius: 8px;
        font-size: 13px;
        animation: arrive 1.2s ease-out;
      }
      @keyframes arrive {
        from {
          background: color-mix(in srgb, var(--accent) 20%, transparent);
        }
      }
      .ename {
        font-weight: 600;
        font-family: var(--mono);
        font-size: 12.5px;
      }
      .payload-text {
        color: var(--muted);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        font-size: 12.5px;
      }
      .meta {
        color: var(--faint);
        font-size: 11.5px;
      }
    `,
  ];
}

declare global {
  interface HTMLElementTagNameMap {
    'gd-user-events': UserEvents;
  }
}
