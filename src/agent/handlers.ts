/**
 * Event handlers, as `serf agent -event-handler` runs them, so existing serf handler scripts work
 * unchanged: `[TYPE[:NAME]=]COMMAND`, where TYPE is member-join, member-leave, member-failed,
 * member-update, member-reap, user, query or `*` (several comma-separated), and NAME narrows
 * user events and queries. The command runs under `/bin/sh -c` with Serf's environment:
 * SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE, SERF_TAG_<KEY> for each of our tags, and
 * SERF_USER_EVENT/SERF_USER_LTIME or SERF_QUERY_NAME/SERF_QUERY_LTIME. Stdin carries the
 * payload (a newline added if missing), or for member events one line per member:
 * `name<TAB>ip<TAB>role<TAB>k=v,k=v`. A query handler's output (stdout and stderr, last 8 KiB)
 * is its response.
 *
 * Events are handled one at a time, in order, each by every matching handler in turn — as serf
 * does — and the queue in front of them is bounded.
 */
import { spawn } from 'node:child_process';
import type { Query, SerfEvent, SerfMember } from '../cluster/index.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** Output kept per run (serf's `maxBufSize`); the tail is kept when there is more. */
export const HANDLER_OUTPUT_MAX_BYTES = 8 * 1024;
/** A run slower than this is logged as slow (serf's `warnSlow`). */
export const HANDLER_SLOW_MS = 1000;
/** A run is killed after this long, so one stuck script cannot stall every later event. */
export const HANDLER_TIMEOUT_MS = 5 * 60_000;
/** Events waiting for handlers; beyond it the oldest are dropped and logged. */
export const HANDLER_QUEUE_MAX = 2048;

const EVENT_TYPES = [
  'member-join',
  'member-leave',
  'member-failed',
  'member-update',
  'member-reap',
  'user',
  'query',
  '*',
];

export interface HandlerSpec {
  event: string;
  name: string;
  command: string;
}

/** Parses one `-event-handler` value into one spec per listed type (serf `ParseEventScript`). */
export function parseHandlerSpec(value: string): HandlerSpec[] {
  const eq = value.indexOf('=');
  const filter = eq < 0 ? '' : value.slice(0, eq);
  const command = eq < 0 ? value : value.slice(eq + 1);
  if (command.trim() === '') throw new ConfigError('event-handler', `"${value}" has no command to run`);
  return (filter === '' ? '*' : filter).split(',').map((part) => {
    let event = part;
    let name = '';
    if (part.startsWith('user:')) {
      event = 'user';
      name = part.slice(5);
    } else if (part.startsWith('query:')) {
      event = 'query';
      name = part.slice(6);
    }
    if (!EVENT_TYPES.includes(event)) {
      throw new ConfigError(
        'event-handler',
        `unknown event type "${event}" in "${value}"; use one of ${EVENT_TYPES.join(', ')}, e.g. user:deploy=./deploy.sh`,
      );
    }
    return { event, name, command };
  });
}

function eventType(e: SerfEvent): string {
  return e.type === 'user' ? 'user' : e.type === 'query' ? 'query' : e.type;
}

/** Whether `spec` handles `e` (serf `EventFilter.Invoke`). */
export function matches(spec: HandlerSpec, e: SerfEvent): boolean {
  if (spec.event === '*') return true;
  if (eventType(e) !== spec.event) return false;
  if (spec.name === '') return true;
  if (e.type === 'user' || e.type === 'query') return e.name === spec.name;
  return true;
}

const clean = (v: string) => v.replaceAll('\t', '\\t').replaceAll('\n', '\\n');

/** The stdin lines of a member event. */
export function memberLines(members: readonly SerfMember[]): string {
  return members
    .map((m) => {
      const tags = Object.entries(m.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return `${clean(m.name)}\t${m.addr}\t${clean(m.tags.role ?? '')}\t${clean(tags)}\n`;
    })
    .join('');
}

/** The environment of a handler run. */
export function handlerEnv(self: SerfMember, e: SerfEvent): Record<string, string> {
  const env: Record<string, string> = {
    SERF_EVENT: eventType(e),
    SERF_SELF_NAME: self.name,
    SERF_SELF_ROLE: self.tags.role ?? '',
  };
  for (const [k, v] of Object.entries(self.tags))
    env[`SERF_TAG_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
  if (e.type === 'user') {
    env.SERF_USER_EVENT = e.name;
    env.SERF_USER_LTIME = String(e.lTime);
  } else if (e.type === 'query') {
    env.SERF_QUERY_NAME = e.name;
    env.SERF_QUERY_LTIME = String(e.lTime);
  }
  return env;
}

function stdinFor(e: SerfEvent): Buffer {
  if (e.type === 'user' || e.type === 'query') {
    const p = Buffer.from(e.payload);
    return p.length > 0 && p[p.length - 1] !== 0x0a ? Buffer.concat([p, Buffer.from('\n')]) : p;
  }
  return Buffer.from(memberLines(e.members));
}

/** Runs one command for one event; resolves to its exit code and the last 8 KiB of output. */
export function runHandler(
  command: string,
  env: Record<string, string>,
  stdin: Buffer,
  log: Logger,
): Promise<{ code: number | null; output: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = Buffer.alloc(0);
    let total = 0;
    const collect = (d: Buffer) => {
      total += d.length;
      out = Buffer.concat([out, d]);
      if (out.length > HANDLER_OUTPUT_MAX_BYTES) out = out.subarray(out.length - HANDLER_OUTPUT_MAX_BYTES);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.stdin.on('error', () => {}); // a script that does not read stdin
    child.stdin.end(stdin);
    const slow = setTimeout(
      () => log.warn(`event handler slow, running over ${HANDLER_SLOW_MS} ms`, { command }),
      HANDLER_SLOW_MS,
    );
    const kill = setTimeout(() => {
      log.error(`event handler killed after ${HANDLER_TIMEOUT_MS / 1000} s`, { command });
      child.kill('SIGKILL');
    }, HANDLER_TIMEOUT_MS);
    const finish = (code: number | null) => {
      clearTimeout(slow);
      clearTimeout(kill);
      if (total > HANDLER_OUTPUT_MAX_BYTES) {
        log.warn(`event handler wrote ${total} bytes of output, truncated to ${HANDLER_OUTPUT_MAX_BYTES}`, {
          command,
        });
      }
      resolve({ code, output: out });
    };
    child.on('error', (e) => {
      log.error('cannot start event handler', { command, error: e.message });
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

/** Runs the configured handlers for each event, one event at a time, in order. */
export class HandlerRunner {
  readonly #specs: HandlerSpec[];
  readonly #self: () => SerfMember;
  readonly #log: Logger;
  readonly #queue: SerfEvent[] = [];
  #running = false;
  #idle: (() => void)[] = [];
  /** Runs completed, for tests and metrics. */
  runs = 0;
  dropped = 0;

  constructor(specs: HandlerSpec[], self: () => SerfMember, log: Logger) {
    this.#specs = specs;
    this.#self = self;
    this.#log = log;
  }

  get size(): number {
    return this.#specs.length;
  }

  /** Queues an event for the handlers that match it. */
  handle(e: SerfEvent): void {
    if (!this.#specs.some((s) => matches(s, e))) return;
    this.#queue.push(e);
    if (this.#queue.length > HANDLER_QUEUE_MAX) {
      this.#queue.shift();
      this.dropped++;
      this.#log.warn(`event handler queue full (${HANDLER_QUEUE_MAX}); dropped the oldest event`);
    }
    if (!this.#running) void this.#drain();
  }

  /** Resolves when every queued event has been handled. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#queue.length > 0) {
      const e = this.#queue.shift()!;
      const self = this.#self();
      for (const spec of this.#specs) {
        if (!matches(spec, e)) continue;
        const { code, output } = await runHandler(spec.command, handlerEnv(self, e), stdinFor(e), this.#log);
        this.runs++;
        this.#log.debug('event handler ran', {
          event: eventType(e),
          command: spec.command,
          code,
          output: output.toString(),
        });
        if (code !== 0)
          this.#log.error('event handler failed', { event: eventType(e), command: spec.command, code });
        if (e.type === 'query' && code === 0 && output.length > 0) respond(e, output, this.#log);
      }
    }
    this.#running = false;
    for (const r of this.#idle.splice(0)) r();
  }
}

function respond(q: Query, output: Buffer, log: Logger): void {
  try {
    q.respond(new Uint8Array(output));
  } catch (e) {
    log.warn(`failed to respond to query '${q.name}': ${(e as Error).message}`);
  }
}
