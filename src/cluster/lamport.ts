/**
 * Lamport clocks (Serf `lamport.go`). Serf keeps three, each ordering one kind of message across
 * the cluster: the member clock (join and leave intents), the event clock (user events) and the
 * query clock (queries).
 *
 * Rules (spec §9.4): a clock starts at 0 and Serf increments it once at creation, so it reads 1.
 * `witness(t)` moves the clock to `t + 1` when `t >= time()`, and otherwise does nothing, so a
 * clock is always ahead of every time it has seen. A sender reads `time()` for its message and
 * then, depending on the message, increments (leave intents, user events), witnesses its own
 * time (join intents), or neither (queries: the querier's own handling witnesses it).
 *
 * Values stay JavaScript numbers: the wire decoder refuses times above 2^53 − 1, and a clock
 * saturates at `Number.MAX_SAFE_INTEGER` instead of losing precision.
 */

/** A Lamport time. */
export type LamportTime = number;

/** One Lamport clock. Single-threaded, so no compare-and-swap is needed. */
export class LamportClock {
  #counter: LamportTime = 0;
  /** Called with the new value whenever the clock moves (a snapshotter records it). */
  onChange: ((time: LamportTime) => void) | undefined;

  /** The current value. */
  time(): LamportTime {
    return this.#counter;
  }

  /** Advances the clock by one and returns the new value. */
  increment(): LamportTime {
    this.#set(this.#counter + 1);
    return this.#counter;
  }

  /** Moves the clock past `t` if `t` is not older than it (Serf `Witness`). */
  witness(t: LamportTime): void {
    if (t < this.#counter) return;
    this.#set(t + 1);
  }

  #set(v: LamportTime): void {
    const next = Math.min(v, Number.MAX_SAFE_INTEGER);
    if (next === this.#counter) return;
    this.#counter = next;
    this.onChange?.(next);
  }
}
