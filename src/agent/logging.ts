/**
 * The agent's logs: structured records written as JSON lines (pino) or as readable lines, and
 * copied into a bounded in-memory hub that `gossip monitor` and the dashboard stream from.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
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
  const json =
    options.format === 'json'
      ? pino(
          { level: 'debug', base: options.fields ?? null, timestamp: pino.stdTimeFunctions.isoTime },
          new Writable({
            write(chunk, _enc, cb) {
              out.write(chunk);
              cb();
            },
          }),
        )
      : undefined;
  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}) => {
    const record: LogRecord = { time: new Date().toISOString(), level: lvl, msg, fields };
    hub.publish(record);
    if (LEVELS[lvl] < LEVELS[level]) return;
    if (json) json[lvl](fields, msg);
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
