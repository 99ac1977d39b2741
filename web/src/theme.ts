/**
 * Styles shared by the dashboard's components. Colours are CSS custom properties defined once in
 * `index.html` (light and dark, following the system), so they cross shadow-DOM boundaries.
 */
import { css } from 'lit';
import type { DisplayStatus } from './state.ts';

export const shared = css`
  :host {
    box-sizing: border-box;
    color: var(--text);
    font-family: var(--font);
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .panel {
    background: var(--panel);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    box-shadow: var(--shadow);
    min-width: 0;
  }
  .panel > header {
    display: flex;
    align-items: baseline;
    gap: 12px;
    padding: 14px 18px 10px;
    flex-wrap: wrap;
  }
  h2 {
    font-size: 13px;
    font-weight: 600;
    letter-spacing: 0.04em;
    text-transform: uppercase;
    color: var(--muted);
    margin: 0;
  }
  .hint {
    color: var(--faint);
    font-size: 12px;
  }
  .num {
    font-family: var(--mono);
    font-variant-numeric: tabular-nums;
  }
  .chip {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    padding: 2px 9px 2px 8px;
    border-radius: 999px;
    font-size: 12px;
    font-weight: 500;
    line-height: 18px;
    white-space: nowrap;
    background: color-mix(in srgb, var(--c, var(--muted)) 14%, transparent);
    color: color-mix(in srgb, var(--c, var(--muted)) 85%, var(--text));
  }
  .chip::before {
    content: '';
    width: 7px;
    height: 7px;
    border-radius: 50%;
    background: var(--c, var(--muted));
  }
  .chip.plain::before {
    display: none;
  }
  .s-alive {
    --c: var(--alive);
  }
  .s-suspect {
    --c: var(--suspect);
  }
  .s-leaving {
    --c: var(--leaving);
  }
  .s-left {
    --c: var(--left);
  }
  .s-failed {
    --c: var(--failed);
  }
  .s-suspect.chip::before {
    animation: blink 1.2s ease-in-out infinite;
  }
  @keyframes blink {
    50% {
      opacity: 0.25;
    }
  }
  button,
  input {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--border);
    background: var(--panel-2);
    border-radius: 8px;
    padding: 6px 12px;
    font-size: 13px;
    font-weight: 500;
    transition:
      background 0.15s,
      border-color 0.15s;
  }
  button:hover:not(:disabled) {
    border-color: var(--accent);
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--on-accent);
  }
  button.primary:hover:not(:disabled) {
    filter: brightness(1.08);
  }
  input[type='text'],
  input[type='search'] {
    background: var(--panel-2);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 6px 10px;
    font-size: 13px;
    min-width: 0;
  }
  input:focus-visible,
  button:focus-visible {
    outline: 2px solid var(--accent);
    outline-offset: 1px;
  }
  .empty {
    color: var(--faint);
    font-size: 13px;
    padding: 18px;
    text-align: center;
  }
`;

/** The CSS class that colours a status. */
export function statusClass(s: DisplayStatus): string {
  return `s-${s}`;
}
