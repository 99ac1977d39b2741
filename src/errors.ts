/**
 * Every error class the library throws, one per failure kind. Each sets `name` and a stable
 * `code` (for programs to branch on) and accepts `{ cause }`. Hot-path decoding never throws:
 * it returns a `DecodeFailure` (see `wire/result.ts`).
 */

export interface GossipErrorOptions {
  cause?: unknown;
}

/** Base class: `code` is stable across versions; `message` is for humans. */
export class GossipError extends Error {
  override name = 'GossipError';
  readonly code: string;

  constructor(code: string, message: string, options?: GossipErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** An option has a bad value. The message names the option, what was expected and what was given. */
export class ConfigError extends GossipError {
  override name = 'ConfigError';
  readonly field: string;

  constructor(field: string, message: string, options?: GossipErrorOptions) {
    super('config-invalid', `${field}: ${message}`, options);
    this.field = field;
  }
}

/** A join reached none of the given addresses. `causes` holds why each attempt failed. */
export class JoinError extends GossipError {
  override name = 'JoinError';
  readonly causes: readonly { addr: string; error: Error }[];

  constructor(message: string, causes: readonly { addr: string; error: Error }[]) {
    super('join-failed', message);
    this.causes = causes;
  }
}

/** A peer answered a stream exchange with an error, or the exchange failed. */
export class RemoteError extends GossipError {
  override name = 'RemoteError';
  constructor(message: string, options?: GossipErrorOptions) {
    super('remote-error', message, options);
  }
}

/** An operation did not finish in time. */
export class TimeoutError extends GossipError {
  override name = 'TimeoutError';
  constructor(message: string) {
    super('timeout', message);
  }
}

/** A payload is over a size limit. The message names the limit. */
export class SizeLimitError extends GossipError {
  override name = 'SizeLimitError';
  readonly limit: number;
  readonly size: number;

  constructor(what: string, size: number, limit: number, hint = '') {
    super(
      'size-limit',
      `${what} is ${size} bytes, over the limit of ${limit} bytes${hint ? `; ${hint}` : ''}`,
    );
    this.limit = limit;
    this.size = size;
  }
}

/**
 * A write to the replicated state would cross one of its limits (`limit` names the option:
 * `maxValueBytes`, `maxKeyBytes`, `maxKeysPerNode`, `maxBytesPerNode`). Nothing was written or sent.
 */
export class StateLimitError extends GossipError {
  override name = 'StateLimitError';
  readonly limit: string;
  /** What the write would have made it. */
  readonly value: number;
  /** The limit's value. */
  readonly max: number;

  constructor(limit: string, what: string, value: number, max: number) {
    super('state-limit', `${what} would be ${value}, over ${limit} (${max}); nothing was written`);
    this.limit = limit;
    this.value = value;
    this.max = max;
  }
}

/** The component is not in a state that allows the call (not started, shut down, left). */
export class StateError extends GossipError {
  override name = 'StateError';
  constructor(message: string) {
    super('bad-state', message);
  }
}

/** Peers disagree on protocol versions (memberlist `verifyProtocol`). */
export class ProtocolVersionError extends GossipError {
  override name = 'ProtocolVersionError';
  constructor(message: string) {
    super('protocol-incompatible', message);
  }
}

/**
 * A call to an agent's HTTP API failed: the agent answered with an error (`status` is the HTTP
 * status and the message the agent's), or it could not be reached (`status` 0).
 */
export class AgentApiError extends GossipError {
  override name = 'AgentApiError';
  readonly status: number;
  constructor(message: string, status: number, options?: GossipErrorOptions) {
    super('agent-api', message, options);
    this.status = status;
  }
}
