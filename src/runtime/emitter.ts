/**
 * A small typed event emitter: one map from event name to payload type, synchronous dispatch
 * in registration order. Listeners run inside the emitting call, so the order in which the
 * protocol saw things is the order listeners see them. A throwing listener is reported to
 * `onListenerError` and does not stop the others, nor the protocol.
 */
export type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Listener<never>[]>();
  /** Called when a listener throws. @default rethrows asynchronously (queueMicrotask) */
  onListenerError: (error: unknown, event: keyof Events) => void = (error) => {
    queueMicrotask(() => {
      throw error;
    });
  };

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as Listener<never>);
    this.#listeners.set(event, list);
    return () => this.off(event, listener);
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    const i = list.indexOf(listener as Listener<never>);
    if (i >= 0) list.splice(i, 1);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const l of [...list]) {
      try {
        (l as Listener<Events[K]>)(payload);
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }
}
