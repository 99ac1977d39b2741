/**
 * A binary min-heap keyed by (time, sequence), the timer queue of {@link VirtualClock}
 * and of the simulator. Equal times pop in insertion order, so a run is deterministic.
 *
 * The keys are kept apart from the entries, in two arrays of numbers in heap order, so that
 * sifting compares contiguous numbers instead of reading entries scattered over the heap (with
 * thousands of timers, those reads were cache misses); the hole is moved, not swapped.
 */
export interface HeapEntry {
  time: number;
  seq: number;
}

export class TimerHeap<T extends HeapEntry> {
  readonly #items: T[] = [];
  /** `#times[i]`, `#seqs[i]`: the key of `#items[i]`, read once when it was pushed. */
  readonly #times: number[] = [];
  readonly #seqs: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    const times = this.#times;
    const seqs = this.#seqs;
    const time = item.time;
    const seq = item.seq;
    let i = items.length;
    items.push(item);
    times.push(time);
    seqs.push(seq);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (!(time < pt || (time === pt && seq < seqs[parent]!))) break;
      items[i] = items[parent]!;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      i = parent;
    }
    items[i] = item;
    times[i] = time;
    seqs[i] = seq;
  }

  pop(): T | undefined {
    const items = this.#items;
    const times = this.#times;
    const seqs = this.#seqs;
    const top = items[0];
    const last = items.pop();
    const lastTime = times.pop()!;
    const lastSeq = seqs.pop()!;
    const n = items.length;
    if (n > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let mt = times[l]!;
        let ms = seqs[l]!;
        if (r < n) {
          const rt = times[r]!;
          if (rt < mt || (rt === mt && seqs[r]! < ms)) {
            m = r;
            mt = rt;
            ms = seqs[r]!;
          }
        }
        if (!(mt < lastTime || (mt === lastTime && ms < lastSeq))) break;
        items[i] = items[m]!;
        times[i] = mt;
        seqs[i] = ms;
        i = m;
      }
      items[i] = last;
      times[i] = lastTime;
      seqs[i] = lastSeq;
    }
    return top;
  }

  clear(): void {
    this.#items.length = 0;
    this.#times.length = 0;
    this.#seqs.length = 0;
  }
}
