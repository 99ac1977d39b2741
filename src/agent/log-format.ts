/**
 * A log record as the agent keeps it (and `GET /v1/monitor` streams it), and its one-line
 * readable form. Apart from `logging.ts` so that `gossip monitor` can print
 * records without loading the agent's logger.
 */
import type { LogRecord } from '../api/types.ts';

export type { LogRecord };

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** `2026-11-25T12:00:00.000Z [INFO]  message key=value ...` */
export function formatPretty(r: LogRecord): string {
  const fields = Object.entries(r.fields)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return `${r.time} [${r.level.toUpperCase()}]${' '.repeat(6 - r.level.length)}${r.msg}${fields ? ` ${fields}` : ''}`;
}
