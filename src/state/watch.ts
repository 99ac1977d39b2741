/**
 * Watches: every visible change of any map (sets and deletes, with node, key, value and
 * version) as an async iterator, after a first snapshot, filtered by prefix and node,
 * cancelled by an `AbortSignal`, resumable from a token.
 *
 * Every change gets a sequence number; a token is `epoch.seq`, where the epoch is drawn at
 * construction, so a token from another life of this node (or another node) is recognised as
 * foreign. The last `changeLogSize` changes are kept: a watch resumed from a token still in
 * that window replays what came after it (and no snapshot); an older or foreign token starts
 * over with a snapshot.
 *
 * Each watch buffers at most `maxWatchBacklog` live events for a consumer that does not keep
 * up (a replay, bounded by the log, comes on top); past that the watch ends with a
 * {@link WatchOverflowError} carrying the last token it delivered, so the consumer resumes
 * without losing anything (or gets a snapshot).
 *
 * Changes are delivered synchronously into each watch's buffer, in the order the state
 * applied them: per node, in version order.
 */
import { GossipError } from '../errors.ts';
import type { StateChange, StateEntry, WatchEvent, WatchOptions } from './types.ts';

/** A watch fell too far behind; resume from {@link WatchOverflowError.token}. */
export class WatchOverflowError extends GossipError {
  override name = 'WatchOverflowError';
  /** The token of the last event delivered before the overflow (resume from it). */
  readonly token: string;

  constructor(token: string, backlog: number) {
    super(
      'watch-overflow',
      `the watch fell ${backlog} events behind its consumer; resume from token ${token}`,
    );
    this.token = token;
  }
}

interface LogRecord {
  seq: number;
  change: StateChange;
}

/** Whether a change passes a watch's filter. */
function matches(
  change: { node: string; key: string },
  prefix: string | undefined,
  node: string | undefined,
): boolean {
  return (
    (node === undefined || change.node === node) && (prefix === undefined || change.key.startsWith(prefix))
  );
}

function withToken(change: StateChange, token: string): WatchEvent {
  return { ...change, token } as WatchEvent;
}

class Watch implements AsyncIterableIterator<WatchEvent> {
  readonly #hub: WatchHub;
  readonly prefix: string | undefined;
  readonly node: string | undefined;
  readonly #buffer: WatchEvent[] = [];
  #head = 0;
  #waiter: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void } | undefined;
  #error: unknown;
  #isDone = false;
  #lastToken: string;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#fail(this.#signal?.reason);

  constructor(hub: WatchHub, options: WatchOptions, startToken: string) {
    this.#hub = hub;
    this.prefix = options.prefix;
    this.node = options.node;
    this.#lastToken = startToken;
    this.#signal = options.signal;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get backlog(): number {
    return this.#buffer.length - this.#head;
  }

  /** Queues events without the backlog bound (a replay: bounded by the change log). */
  preload(events: WatchEvent[]): void {
    for (const e of events) this.#buffer.push(e);
  }

  push(event: WatchEvent): void {
    if (this.#isDone || this.#error !== undefined) return;
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      this.#lastToken = event.token;
      w.resolve({ value: event, done: false });
      return;
    }
    if (this.backlog >= this.#hub.maxBacklog) {
      this.#fail(new WatchOverflowError(this.#lastToken, this.backlog));
      return;
    }
    this.#buffer.push(event);
  }

  #fail(error: unknown): void {
    if (this.#isDone) return;
    this.#error = error;
    this.#buffer.length = 0;
    this.#head = 0;
    this.#detach();
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.reject(error);
    }
  }

  #detach(): void {
    this.#hub.detach(this);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#head < this.#buffer.length) {
      const event = this.#buffer[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer.splice(0, this.#head);
        this.#head = 0;
      }
      this.#lastToken = event.token;
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#isDone = true;
      return Promise.reject(e);
    }
    if (this.#isDone) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Ends the watch after what it buffered (no error). */
  end(): void {
    this.#isDone = true;
    this.#detach();
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.#isDone = true;
    this.#buffer.length = 0;
    this.#detach();
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }
}

/** The change log and the open watches of one state. */
export class WatchHub {
  readonly epoch: string;
  readonly maxBacklog: number;
  readonly #logSize: number;
  readonly #log: LogRecord[] = [];
  #logHead = 0;
  #seq = 0;
  readonly #watches = new Set<Watch>();

  constructor(epoch: string, logSize: number, maxBacklog: number) {
    this.epoch = epoch;
    this.#logSize = logSize;
    this.maxBacklog = maxBacklog;
  }

  /** The token of the newest change (what a snapshot taken now is consistent with). */
  get token(): string {
    return `${this.epoch}.${this.#seq}`;
  }

  /** Open watches. */
  get size(): number {
    return this.#watches.size;
  }

  /** Records one change and hands it to every watch whose filter it passes. */
  publish(change: StateChange): void {
    const seq = ++this.#seq;
    this.#log.push({ seq, change });
    if (this.#log.length - this.#logHead > this.#logSize) this.#logHead++;
    if (this.#logHead > 1024 && this.#logHead * 2 > this.#log.length) {
      this.#log.splice(0, this.#logHead);
      this.#logHead = 0;
    }
    if (this.#watches.size === 0) return;
    const event = withToken(change, `${this.epoch}.${seq}`);
    for (const w of this.#watches) if (matches(change, w.prefix, w.node)) w.push(event);
  }

  /**
   * Opens a watch. `snapshot` gives the visible entries the filter selects (called only when
   * the watch does not resume from `options.since`).
   */
  open(options: WatchOptions, snapshot: () => StateEntry[]): AsyncIterableIterator<WatchEvent> {
    options.signal?.throwIfAborted();
    const replay = this.#replayFrom(options.since);
    const w = new Watch(this, options, options.since ?? this.token);
    if (replay === undefined) {
      w.push({ type: 'snapshot', entries: snapshot(), token: this.token });
    } else {
      w.preload(
        replay
          .filter((r) => matches(r.change, options.prefix, options.node))
          .map((r) => withToken(r.change, `${this.epoch}.${r.seq}`)),
      );
    }
    this.#watches.add(w);
    return w;
  }

  /** Whether a watch from `token` would resume (replay what came after it) rather than start with a snapshot. */
  canResume(token: string): boolean {
    return this.#replayFrom(token) !== undefined;
  }

  /** Ends every watch (the node shut down): each finishes after what it buffered. */
  closeAll(): void {
    for (const w of [...this.#watches]) w.end();
  }

  detach(w: Watch): void {
    this.#watches.delete(w);
  }

  /** The log records after `token`, or undefined when it cannot be resumed from. */
  #replayFrom(token: string | undefined): LogRecord[] | undefined {
    if (token === undefined) return undefined;
    const dot = token.lastIndexOf('.');
    if (dot < 0 || token.slice(0, dot) !== this.epoch) return undefined;
    const seq = Number(token.slice(dot + 1));
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.#seq) return undefined;
    if (seq === this.#seq) return [];
    const oldest = this.#log[this.#logHead];
    // Resumable only when every record after `seq` is still in the log.
    if (oldest === undefined || oldest.seq > seq + 1) return undefined;
    const out: LogRecord[] = [];
    for (let i = this.#logHead; i < this.#log.length; i++)
      if (this.#log[i]!.seq > seq) out.push(this.#log[i]!);
    return out;
  }
}
