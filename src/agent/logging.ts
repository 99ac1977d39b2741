/**
 * The agent's logs: structured records written as JSON lines (pino's shape: numeric `level`,
 * ISO `time`, the fields, `msg`) or as readable lines, and copied into a bounded in-memory hub
 * that `gossip monitor` and the dashboard stream from.
 *
 * The JSON lines are written here rather than by pino: an agent logs a few lines a minute, and
 * loading pino cost about 5 MiB of resident memory and a tenth of the agent's start-up CPU.
 */
import type { LogFields, Logger } from '../log.ts';
import type { LogFormat, LogLevel } from './config.ts';
import { Hub } from './hub.ts';
import { formatPretty, type LogRecord } from './log-format.ts';

export { formatPretty, type LogRecord };

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** Log records kept for late subscribers (`gossip monitor` shows the recent past first). */
export const LOG_HUB_HISTORY = 200;

export interface AgentLogger extends Logger {
  readonly hub: Hub<LogRecord>;
  /** Changes the level at run time. */
  setLevel(level: LogLevel): void;
}

/**
 * A logger writing to `out` (stdout by default) in `format`, at `level` and above; every
 * record (debug included) also goes to the hub, whose subscribers filter for themselves.
 */
export function createAgentLogger(options: {
  level: LogLevel;
  format: LogFormat;
  out?: NodeJS.WritableStream;
  fields?: LogFields;
}): AgentLogger {
  const out = options.out ?? process.stdout;
  const hub = new Hub<LogRecord>(LOG_HUB_HISTORY);
  let level = options.level;
  const json = options.format === 'json';
  const base = options.fields ?? {};
  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}) => {
    const record: LogRecord = { time: new Date().toISOString(), level: lvl, msg, fields };
    hub.publish(record);
    if (LEVELS[lvl] < LEVELS[level]) return;
    if (json) out.write(`${jsonLine(LEVELS[lvl], record.time, { ...base, ...fields }, msg)}\n`);
    else out.write(`${formatPretty(record)}\n`);
  };
  return {
    hub,
    setLevel(l) {
      level = l;
    },
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Keys of a JSON line that a field may not take over. */
const RESERVED = new Set(['level', 'time', 'msg']);

/**
 * One JSON log line, `{"level":30,"time":"...",...fields,"msg":"..."}`. Never throws: an Error
 * becomes `{type, message, stack}`, a bigint its decimal text, a cycle `"[Circular]"`.
 */
export function jsonLine(levelNumber: number, time: string, fields: LogFields, msg: string): string {
  // Objects on the path from the root to the value being written: one met again is a cycle
  // (an object merely referenced twice, side by side, is written twice).
  const ancestors: unknown[] = [];
  function replacer(this: unknown, _key: string, v: unknown): unknown {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return v;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(v)) return '[Circular]';
    const out = v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v;
    ancestors.push(out);
    return out;
  }
  let body = '';
  for (const [k, v] of Object.entries(fields)) {
    if (RESERVED.has(k) || v === undefined) continue;
    let text: string | undefined;
    try {
      ancestors.length = 0;
      text = JSON.stringify(v, replacer);
    } catch (e) {
      text = JSON.stringify(`[unserializable: ${(e as Error).message}]`);
    }
    if (text !== undefined) body += `,${JSON.stringify(k)}:${text}`;
  }
  return `{"level":${levelNumber},"time":${JSON.stringify(time)}${body},"msg":${JSON.stringify(msg)}}`;
}
