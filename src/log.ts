/**
 * The logging seam. The library logs through a {@link Logger} it is given (the agent passes
 * its own JSON or readable lines); by default it logs nothing. Logging never throws into the protocol.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Wraps a logger so that a throwing implementation cannot break the caller. */
export function safeLogger(logger: Logger): Logger {
  const wrap =
    (fn: (msg: string, fields?: LogFields) => void) =>
    (msg: string, fields?: LogFields): void => {
      try {
        fn.call(logger, msg, fields);
      } catch {
        // A logger failure must never reach protocol code.
      }
    };
  return {
    debug: wrap(logger.debug),
    info: wrap(logger.info),
    warn: wrap(logger.warn),
    error: wrap(logger.error),
  };
}
