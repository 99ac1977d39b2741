/**
 * Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007): eager push
 * along a spanning tree, lazy push (IHAVE) on every other link, GRAFT to repair and PRUNE
 * to trim, over a random overlay of degree ≈ log₁₀ n + c (HyParView's active view).
 *
 * Every link starts eager, so the first broadcast floods the overlay; each duplicate GOSSIP
 * makes the receiver PRUNE that link to lazy. What stays eager is the tree of first
 * deliveries (a BFS tree, in synchronous rounds). From then on a broadcast costs n-1
 * payload messages plus small IHAVEs: relative message redundancy m/(n-1) - 1 ≈ 0.
 *
 * Repair: a node that hears IHAVE(m) but not m within `graftTimeoutRounds` sends GRAFT to
 * the first announcer, which makes that link eager and sends m; the timer restarts for the
 * next announcer. The paper's "optimization" step (swapping a tree link for a lazy one that
 * is consistently faster) is left out.
 *
 * Round timing: sends of round t arrive at the end of round t (an arrivals queue), and the
 * reactions they trigger (PRUNE, GOSSIP answering GRAFT) go out in round t+1. Messages are
 * (directed link index, kind) pairs packed into one Uint32: link·4 + kind.
 *
 * The overlay is a random regular graph from the configuration model (stubs shuffled and
 * paired; self-loops and repeated pairs dropped, so a few nodes get one link less). It is
 * not repaired: a node the overlay cuts off stays uninformed, and the report shows it.
 */
import type { Random } from '../runtime/random.ts';
import type { BroadcastContext } from './context.ts';
import {
  type BroadcastStrategy,
  MessageKind,
  type Prediction,
  plumtreeDefaultDegree,
  type StrategyParams,
} from './strategy.ts';
import { meanFieldCurve, roundTo } from './theory.ts';

/** Default rounds a node waits after an IHAVE before it GRAFTs. */
export const PLUMTREE_DEFAULT_GRAFT_TIMEOUT_ROUNDS = 5;
/** IHAVE announcers a node remembers per missing message (later ones are dropped, and counted). */
export const PLUMTREE_MAX_ANNOUNCERS = 4;
/** Bound on each message queue, in entries per directed link (overflow is dropped, and counted). */
export const PLUMTREE_QUEUE_ENTRIES_PER_LINK = 4;
/** Largest overlay degree accepted. */
export const PLUMTREE_MAX_DEGREE = 64;

const GOSSIP = 0;
const IHAVE = 1;
const GRAFT = 2;
const PRUNE = 3;
const KIND_OF = [MessageKind.data, MessageKind.ihave, MessageKind.graft, MessageKind.prune] as const;

/** An undirected overlay as directed links in CSR form. */
export interface Overlay {
  /** Node count. */
  nodes: number;
  /** Links of node u are indices offsets[u] … offsets[u+1]-1. Length n+1. */
  offsets: Int32Array;
  /** Target of each directed link. */
  target: Int32Array;
  /** Source of each directed link. */
  source: Int32Array;
  /** Index of the opposite link (v→u for u→v). */
  reverse: Int32Array;
}

/**
 * A random overlay where every node has about `degree` neighbours (the complete graph if
 * degree ≥ n-1). O(n·degree²) time, O(n·degree) memory.
 */
export function buildOverlay(random: Random, nodes: number, degree: number): Overlay {
  const n = nodes;
  const d = Math.min(degree, n - 1);
  // Row u of `slots` holds u's neighbours; `partner` holds, for each filled slot, the slot
  // of the opposite direction, so the reverse links come out in O(links).
  const slots = new Int32Array(n * d);
  const partner = new Int32Array(n * d);
  const count = new Int32Array(n);
  const link = (u: number, v: number) => {
    const su = u * d + count[u]!++;
    const sv = v * d + count[v]!++;
    slots[su] = v;
    slots[sv] = u;
    partner[su] = sv;
    partner[sv] = su;
  };
  if (d === n - 1) {
    for (let u = 0; u < n; u++) for (let v = u + 1; v < n; v++) link(u, v);
  } else {
    const stubCount = (n * d) & ~1;
    const stubs = new Int32Array(stubCount);
    for (let i = 0; i < stubCount; i++) stubs[i] = Math.floor(i / d);
    for (let i = stubCount - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const t = stubs[i]!;
      stubs[i] = stubs[j]!;
      stubs[j] = t;
    }
    for (let i = 0; i < stubCount; i += 2) {
      const u = stubs[i]!;
      const v = stubs[i + 1]!;
      if (u === v) continue;
      let isRepeat = false;
      for (let k = u * d; k < u * d + count[u]!; k++) {
        if (slots[k] === v) {
          isRepeat = true;
          break;
        }
      }
      if (!isRepeat) link(u, v);
    }
  }
  const offsets = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) offsets[u + 1] = offsets[u]! + count[u]!;
  const links = offsets[n]!;
  const target = new Int32Array(links);
  const source = new Int32Array(links);
  const reverse = new Int32Array(links);
  const indexOfSlot = (slot: number) => offsets[Math.floor(slot / d)]! + (slot % d);
  for (let u = 0; u < n; u++) {
    for (let k = 0; k < count[u]!; k++) {
      const e = offsets[u]! + k;
      target[e] = slots[u * d + k]!;
      source[e] = u;
      reverse[e] = indexOfSlot(partner[u * d + k]!);
    }
  }
  return { nodes: n, offsets, target, source, reverse };
}

/** A FIFO of packed (link, kind) messages that grows by doubling up to a fixed bound. */
class LinkQueue {
  #items: Uint32Array;
  length = 0;
  drops = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
    this.#items = new Uint32Array(Math.min(max, 1 << 12));
  }

  push(link: number, kind: number): void {
    if (this.length === this.#items.length) {
      if (this.length >= this.#max) {
        this.drops++;
        return;
      }
      const grown = new Uint32Array(Math.min(this.#max, this.#items.length * 2));
      grown.set(this.#items);
      this.#items = grown;
    }
    this.#items[this.length++] = link * 4 + kind;
  }

  at(i: number): number {
    return this.#items[i]!;
  }
}

class PlumtreeRun {
  readonly stopsByItself = true;
  readonly effectiveFanout: number;
  readonly #ctx: BroadcastContext;
  readonly #overlay: Overlay;
  readonly #graftTimeoutRounds: number;
  /** Per directed link: 1 if eager (GOSSIP), 0 if lazy (IHAVE). Survives across broadcasts. */
  readonly #eager: Uint8Array;
  /** Per node: who it first got the message from in this broadcast, or -1. */
  readonly #parent: Int32Array;
  /** Nodes first informed last round: they forward this round. Bounded by n. */
  #frontier: Int32Array;
  #frontierLength = 0;
  #nextFrontier: Int32Array;
  #nextFrontierLength = 0;
  /** Messages sent this round, delivered at its end. */
  readonly #arrivals: LinkQueue;
  /** Reactions (PRUNE, GOSSIP for a GRAFT) decided at the end of the last round, sent this round. */
  #outbox: LinkQueue;
  #nextOutbox: LinkQueue;
  /** Per node: round of the first unanswered IHAVE (the GRAFT timer's start), or -1. */
  readonly #missingSince: Int32Array;
  /** Per node: up to PLUMTREE_MAX_ANNOUNCERS links (node → announcer) to GRAFT over, in order. */
  readonly #announcers: Int32Array;
  readonly #announcerHead: Uint8Array;
  readonly #announcerCount: Uint8Array;
  /** Nodes with a GRAFT timer or announcers; each appears once (isWaiting). Bounded by n. */
  readonly #waiting: Int32Array;
  #waitingLength = 0;
  readonly #isWaiting: Uint8Array;
  #announcerDrops = 0;

  constructor(ctx: BroadcastContext, params: StrategyParams) {
    const n = ctx.nodes;
    this.#ctx = ctx;
    this.effectiveFanout = Math.min(n - 1, params.overlayDegree ?? plumtreeDefaultDegree(n));
    this.#graftTimeoutRounds = params.graftTimeoutRounds ?? PLUMTREE_DEFAULT_GRAFT_TIMEOUT_ROUNDS;
    this.#overlay = buildOverlay(ctx.random, n, this.effectiveFanout);
    const links = this.#overlay.target.length;
    this.#eager = new Uint8Array(links).fill(1);
    this.#parent = new Int32Array(n);
    this.#frontier = new Int32Array(n);
    this.#nextFrontier = new Int32Array(n);
    const queueMax = Math.max(16, links * PLUMTREE_QUEUE_ENTRIES_PER_LINK);
    this.#arrivals = new LinkQueue(queueMax);
    this.#outbox = new LinkQueue(queueMax);
    this.#nextOutbox = new LinkQueue(queueMax);
    this.#missingSince = new Int32Array(n);
    this.#announcers = new Int32Array(n * PLUMTREE_MAX_ANNOUNCERS);
    this.#announcerHead = new Uint8Array(n);
    this.#announcerCount = new Uint8Array(n);
    this.#waiting = new Int32Array(n);
    this.#isWaiting = new Uint8Array(n);
  }

  begin(origin: number): void {
    this.#parent.fill(-1);
    this.#missingSince.fill(-1);
    this.#announcerHead.fill(0);
    this.#announcerCount.fill(0);
    this.#isWaiting.fill(0);
    this.#waitingLength = 0;
    this.#outbox.length = 0;
    this.#nextOutbox.length = 0;
    this.#frontierLength = 0;
    if (this.#ctx.alive[origin] === 1) this.#frontier[this.#frontierLength++] = origin;
  }

  round(): boolean {
    this.#sendReactions();
    this.#fireGraftTimers();
    this.#forward();
    this.#deliverArrivals();
    const f = this.#frontier;
    this.#frontier = this.#nextFrontier;
    this.#nextFrontier = f;
    this.#frontierLength = this.#nextFrontierLength;
    const o = this.#outbox;
    this.#outbox = this.#nextOutbox;
    this.#nextOutbox = o;
    this.#nextOutbox.length = 0;
    return this.#frontierLength > 0 || this.#outbox.length > 0 || this.#hasPendingTimers();
  }

  #send(link: number, kind: number): void {
    const from = this.#overlay.source[link]!;
    if (this.#ctx.send(from, this.#overlay.target[link]!, KIND_OF[kind]!)) this.#arrivals.push(link, kind);
  }

  #sendReactions(): void {
    const ctx = this.#ctx;
    const out = this.#outbox;
    for (let i = 0; i < out.length; i++) {
      const packed = out.at(i);
      const link = packed >>> 2;
      if (ctx.alive[this.#overlay.source[link]!] === 1) this.#send(link, packed & 3);
    }
    out.length = 0;
  }

  #fireGraftTimers(): void {
    const ctx = this.#ctx;
    let kept = 0;
    for (let i = 0; i < this.#waitingLength; i++) {
      const v = this.#waiting[i]!;
      if (ctx.alive[v] === 0 || ctx.informedAt[v]! >= 0) {
        this.#isWaiting[v] = 0;
        continue;
      }
      const since = this.#missingSince[v]!;
      if (since >= 0 && ctx.round - since >= this.#graftTimeoutRounds) {
        const count = this.#announcerCount[v]!;
        if (count === 0) {
          // Nobody left to ask; a later IHAVE restarts the timer.
          this.#missingSince[v] = -1;
          this.#isWaiting[v] = 0;
          continue;
        }
        const head = this.#announcerHead[v]!;
        const link = this.#announcers[v * PLUMTREE_MAX_ANNOUNCERS + head]!;
        this.#announcerHead[v] = (head + 1) % PLUMTREE_MAX_ANNOUNCERS;
        this.#announcerCount[v] = count - 1;
        this.#eager[link] = 1;
        this.#send(link, GRAFT);
        this.#missingSince[v] = ctx.round;
      }
      this.#waiting[kept++] = v;
    }
    this.#waitingLength = kept;
  }

  #forward(): void {
    const ctx = this.#ctx;
    const { offsets, target } = this.#overlay;
    for (let i = 0; i < this.#frontierLength; i++) {
      const v = this.#frontier[i]!;
      if (ctx.alive[v] === 0) continue;
      const parent = this.#parent[v]!;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
        if (target[e] !== parent) this.#send(e, this.#eager[e] === 1 ? GOSSIP : IHAVE);
      }
    }
  }

  #deliverArrivals(): void {
    const ctx = this.#ctx;
    const { source, target, reverse } = this.#overlay;
    const arrivals = this.#arrivals;
    this.#nextFrontierLength = 0;
    for (let i = 0; i < arrivals.length; i++) {
      const packed = arrivals.at(i);
      const link = packed >>> 2;
      const back = reverse[link]!;
      const u = source[link]!;
      const v = target[link]!;
      switch (packed & 3) {
        case GOSSIP:
          if (ctx.inform(v)) {
            this.#parent[v] = u;
            this.#eager[back] = 1;
            this.#nextFrontier[this.#nextFrontierLength++] = v;
          } else {
            this.#eager[back] = 0;
            this.#nextOutbox.push(back, PRUNE);
          }
          break;
        case IHAVE:
          if (ctx.informedAt[v]! < 0) this.#announce(v, back);
          break;
        case GRAFT:
          this.#eager[back] = 1;
          if (ctx.informedAt[v]! >= 0) this.#nextOutbox.push(back, GOSSIP);
          break;
        case PRUNE:
          this.#eager[back] = 0;
          break;
      }
    }
    arrivals.length = 0;
  }

  /** Node `v` heard IHAVE over `link` (v → announcer). */
  #announce(v: number, link: number): void {
    const count = this.#announcerCount[v]!;
    if (count === PLUMTREE_MAX_ANNOUNCERS) {
      this.#announcerDrops++;
    } else {
      const slot = (this.#announcerHead[v]! + count) % PLUMTREE_MAX_ANNOUNCERS;
      this.#announcers[v * PLUMTREE_MAX_ANNOUNCERS + slot] = link;
      this.#announcerCount[v] = count + 1;
    }
    if (this.#missingSince[v]! < 0) this.#missingSince[v] = this.#ctx.round;
    if (this.#isWaiting[v] === 0) {
      this.#isWaiting[v] = 1;
      this.#waiting[this.#waitingLength++] = v;
    }
  }

  #hasPendingTimers(): boolean {
    const ctx = this.#ctx;
    for (let i = 0; i < this.#waitingLength; i++) {
      const v = this.#waiting[i]!;
      if (ctx.alive[v] === 1 && ctx.informedAt[v]! < 0 && this.#missingSince[v]! >= 0) return true;
    }
    return false;
  }

  describe(): Record<string, number> {
    let eagerLinks = 0;
    for (let e = 0; e < this.#eager.length; e++) eagerLinks += this.#eager[e]!;
    return {
      overlayDegree: this.effectiveFanout,
      overlayLinks: this.#overlay.target.length / 2,
      eagerLinks: eagerLinks / 2,
      graftTimeoutRounds: this.#graftTimeoutRounds,
      queueDrops: this.#arrivals.drops + this.#outbox.drops + this.#nextOutbox.drops,
      announcerDrops: this.#announcerDrops,
    };
  }
}

/** Plumtree: eager push on a spanning tree, lazy IHAVE elsewhere, GRAFT/PRUNE to repair and trim. */
export const plumtree: BroadcastStrategy = {
  name: 'plumtree',
  summary: 'eager push on a spanning tree of a random overlay, lazy IHAVE on the other links',
  warmupBroadcasts: 1,
  init: (ctx: BroadcastContext, params: StrategyParams) => new PlumtreeRun(ctx, params),
  predict(params: StrategyParams): Prediction {
    const n = params.nodes;
    const d = Math.min(n - 1, params.overlayDegree ?? plumtreeDefaultDegree(n));
    const p = params.lossRate;
    // Breadth-first growth on a random d-regular graph: the origin reaches d nodes, every
    // later frontier node d-1 new ones, thinned by the fraction still uninformed.
    let frontier = 1;
    const curve = meanFieldCurve(1, n, (i, t) => {
      const fresh = Math.min(n - i, frontier * (t === 1 ? d : d - 1) * (1 - p) * (1 - i / n));
      frontier = fresh;
      return i + fresh;
    });
    return {
      rounds: curve.rounds,
      roundsFormula:
        'lower bound: breadth-first depth of a random d-regular overlay (mean field, ≈ log_{d-1} n), which the ' +
        'first broadcast achieves; a later one from another origin follows that tree, up to about twice as deep',
      messages: n * d - (n - 1),
      messagesFormula: 'steady state: n-1 GOSSIP on the tree + n·d - 2(n-1) IHAVE on the lazy links',
      coverage: 1,
      perRound: curve.perRound.map((x) => roundTo(x)),
    };
  },
};
