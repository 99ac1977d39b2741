/**
 * A publish/subscribe hub with bounded async-iterable subscriptions: the event stream of the
 * HTTP API, the dashboard and `gossip monitor` read from one. A slow subscriber never blocks
 * the publisher or grows memory: past {@link SUBSCRIBER_QUEUE_MAX} pending items its oldest
 * are dropped and counted (it sees a `dropped` count on its next read).
 */

/** Items a subscriber may have pending before the oldest are dropped. */
export const SUBSCRIBER_QUEUE_MAX = 1000;
/** Subscribers at once (HTTP streams); further subscriptions are refused. */
export const MAX_SUBSCRIBERS = 256;

export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Items dropped because this subscriber fell behind. */
  readonly dropped: number;
  close(): void;
}

export class Hub<T> {
  readonly #history: T[] = [];
  readonly #historyMax: number;
  readonly #subs = new Set<Sub<T>>();

  /** @param historyMax items replayed to a new subscriber that asks for history */
  constructor(historyMax = 0) {
    this.#historyMax = historyMax;
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  publish(item: T): void {
    if (this.#historyMax > 0) {
      this.#history.push(item);
      if (this.#history.length > this.#historyMax) this.#history.shift();
    }
    for (const s of this.#subs) s.push(item);
  }

  /** The kept history, oldest first. */
  history(): T[] {
    return [...this.#history];
  }

  /** Subscribes; with `replay`, the kept history comes first. Throws past {@link MAX_SUBSCRIBERS}. */
  subscribe(options: { replay?: boolean; signal?: AbortSignal } = {}): Subscription<T> {
    if (this.#subs.size >= MAX_SUBSCRIBERS) {
      throw new RangeError(`too many event stream subscribers (limit ${MAX_SUBSCRIBERS})`);
    }
    const sub = new Sub<T>(() => this.#subs.delete(sub));
    if (options.replay) for (const item of this.#history) sub.push(item);
    this.#subs.add(sub);
    options.signal?.addEventListener('abort', () => sub.close(), { once: true });
    return sub;
  }
}

class Sub<T> implements Subscription<T> {
  readonly #queue: T[] = [];
  readonly #onClose: () => void;
  #waiting: ((r: IteratorResult<T>) => void) | undefined;
  #closed = false;
  dropped = 0;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w({ value: item, done: false });
      return;
    }
    this.#queue.push(item);
    if (this.#queue.length > SUBSCRIBER_QUEUE_MAX) {
      this.#queue.shift();
      this.dropped++;
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#queue.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
