/**
 * Plays a scenario's fault schedule on the simulated cluster, and heals everything for the
 * liveness phase.
 *
 * Each fault (and each user event or query of the traffic) is a timer on the simulator's
 * virtual clock at `safetyStart + atMs`; the ones that last (partitions, isolations, slow and
 * lossy nodes) end with a second timer at `untilMs`. Network faults are set on the `MemoryNetwork`: its `heal()` removes every cut at
 * once, so ending one partition heals all and re-applies those still active. Slow nodes stall
 * through their `StallableClock`, with stall and gap lengths drawn from the fault stream as
 * the run goes.
 *
 * {@link FaultInjector.healAll} ends the safety phase: partitions, isolations, lossy links,
 * loss, reordering and duplication go; stall loops stop (a stall under way runs out); crashed
 * or departed nodes meant to come back do so now; nodes crashed for good stay down. Traffic not
 * yet sent is not sent.
 */
import type { Timer } from '../runtime/clock.ts';
import type { Random } from '../runtime/random.ts';
import type { VirtualClock } from '../runtime/virtual-clock.ts';
import type { MemoryNetwork } from '../transport/memory.ts';
import type { Fault, ProtocolSimParams, Traffic } from './scenario.ts';
import type { SimCluster } from './sim-cluster.ts';

type CutFault = Extract<Fault, { kind: 'partition' } | { kind: 'isolate' }>;

/** What the injector tells the simulator. */
export interface FaultHooks {
  /** `slot` is about to crash (it still runs): the detection tracker starts here. */
  beforeCrash(slot: number): void;
  /**
   * Something changed at `atMs` (a fault began or ended): convergence is measured from the
   * last one. `isHeal` is true when the views should settle after it (a cut or a lossy link
   * ended, a stall ends, a node crashed, left, started or came back), false when a fault just
   * began.
   */
  changed(atMs: number, isHeal: boolean): void;
}

export class FaultInjector {
  readonly #cluster: SimCluster;
  readonly #params: ProtocolSimParams;
  readonly #random: Random;
  readonly #clock: VirtualClock;
  readonly #network: MemoryNetwork;
  readonly #hooks: FaultHooks;
  readonly #timers: Timer[] = [];
  readonly #cuts: CutFault[] = [];
  /** Lossy-node faults in effect. */
  readonly #lossy = new Set<Extract<Fault, { kind: 'lossy-node' }>>();
  /** Restarts and rejoins scheduled but not yet done: slot → timer. */
  readonly #comebacks = new Map<number, Timer>();
  /** Per slot: when its latest stall ends (ms), for attributing accusations. */
  readonly stallEndsMs: Float64Array;
  #isHealed = false;
  #safetyStartMs = 0;

  constructor(
    cluster: SimCluster,
    params: ProtocolSimParams,
    random: Random,
    clock: VirtualClock,
    network: MemoryNetwork,
    hooks: FaultHooks,
  ) {
    this.#cluster = cluster;
    this.#params = params;
    this.#random = random;
    this.#clock = clock;
    this.#network = network;
    this.#hooks = hooks;
    this.stallEndsMs = new Float64Array(params.slots).fill(Number.NEGATIVE_INFINITY);
  }

  /** Whether a background network fault (loss, reordering, duplication) is on for the safety phase. */
  get hasNetworkFaults(): boolean {
    const n = this.#params.network;
    return n.lossRate > 0 || n.reorderRate > 0 || n.duplicateRate > 0;
  }

  /** Turns the safety phase's network faults on and schedules every fault from `safetyStartMs`. */
  begin(safetyStartMs: number): void {
    this.#safetyStartMs = safetyStartMs;
    const n = this.#params.network;
    this.#network.setLoss(n.lossRate);
    this.#network.setReordering(n.reorderRate, n.reorderDelayMs);
    this.#network.setDuplication(n.duplicateRate);
    if (this.hasNetworkFaults) this.#hooks.changed(safetyStartMs, false);
    for (const f of this.#params.faults) this.#at(f.atMs, () => this.#apply(f));
    for (const x of this.#params.traffic) this.#at(x.atMs, () => this.#send(x));
  }

  #send(x: Traffic): void {
    if (x.kind === 'user-event') this.#cluster.userEvent(x.node, x.name);
    else this.#cluster.query(x.node, x.name);
  }

  #at(relativeMs: number, fn: () => void): Timer {
    const t = this.#clock.setTimer(this.#safetyStartMs + relativeMs - this.#clock.now(), () => {
      if (!this.#isHealed) fn();
    });
    this.#timers.push(t);
    return t;
  }

  #apply(f: Fault): void {
    const cluster = this.#cluster;
    const now = this.#clock.now();
    switch (f.kind) {
      case 'crash': {
        const node = cluster.nodes[f.node]!;
        if (node.status !== 'running' && node.status !== 'leaving') return;
        this.#hooks.beforeCrash(f.node);
        cluster.crash(f.node);
        this.#hooks.changed(now, true);
        if (f.restartAtMs !== null) this.#comeBack(f.node, f.restartAtMs);
        return;
      }
      case 'leave': {
        if (cluster.nodes[f.node]!.status !== 'running') return;
        cluster.leave(f.node);
        this.#hooks.changed(now, true);
        if (f.rejoinAtMs !== null) this.#comeBack(f.node, f.rejoinAtMs);
        return;
      }
      case 'join':
        this.#startAndJoin(f.node, f.seeds);
        return;
      case 'partition':
      case 'isolate':
        this.#cuts.push(f);
        this.#applyCuts();
        this.#hooks.changed(now, false);
        this.#at(f.untilMs, () => {
          const i = this.#cuts.indexOf(f);
          if (i >= 0) this.#cuts.splice(i, 1);
          this.#applyCuts();
          this.#hooks.changed(this.#clock.now(), true);
        });
        return;
      case 'lossy-node':
        this.#lossy.add(f);
        this.#setLinkLoss(f.node, f.lossRate);
        this.#hooks.changed(now, false);
        this.#at(f.untilMs, () => {
          this.#lossy.delete(f);
          this.#setLinkLoss(f.node, undefined);
          this.#hooks.changed(this.#clock.now(), true);
        });
        return;
      case 'slow':
        this.#stallLoop(f);
        return;
      case 'force-leave':
        if (cluster.nodes[f.node]!.status !== 'down') return;
        if (cluster.forceLeave(f.by, f.node)) this.#hooks.changed(now, true);
        return;
    }
  }

  #startAndJoin(slot: number, via: readonly number[]): void {
    const cluster = this.#cluster;
    const node = cluster.nodes[slot]!;
    if (node.status === 'running' || node.status === 'leaving') return;
    cluster.start(slot);
    cluster.join(slot, via.length > 0 ? via : cluster.running().map((n) => n.slot));
    this.#hooks.changed(this.#clock.now(), true);
  }

  /** A crashed or departed node comes back at `atMs` (or when everything heals, if sooner). */
  #comeBack(slot: number, atMs: number): void {
    const t = this.#at(atMs, () => {
      this.#comebacks.delete(slot);
      this.#restart(slot);
    });
    this.#comebacks.set(slot, t);
  }

  #restart(slot: number): void {
    const cluster = this.#cluster;
    const node = cluster.nodes[slot]!;
    if (node.status === 'leaving') {
      // Still leaving: come back once it has stopped.
      const t = this.#clock.setTimer(100, () => this.#restart(slot));
      this.#timers.push(t);
      return;
    }
    this.#startAndJoin(
      slot,
      cluster.running().map((n) => n.slot),
    );
  }

  /** Puts the network's cuts back to exactly the active partitions and isolations. */
  #applyCuts(): void {
    const net = this.#network;
    net.heal();
    for (const c of this.#cuts) {
      if (c.kind === 'isolate') {
        net.isolate(this.#cluster.nodes[c.node]!.addr);
        continue;
      }
      const a = c.groupA.map((s) => this.#cluster.nodes[s]!.addr);
      const b = c.groupB.map((s) => this.#cluster.nodes[s]!.addr);
      if (c.shape === 'symmetric') {
        net.partition(a, b);
      } else {
        for (const from of a) for (const to of b) net.block(from, to);
      }
    }
  }

  #setLinkLoss(slot: number, rate: number | undefined): void {
    const nodes = this.#cluster.nodes;
    const addr = nodes[slot]!.addr;
    for (const other of nodes) {
      if (other.slot === slot) continue;
      this.#network.setLinkLoss(addr, other.addr, rate);
      this.#network.setLinkLoss(other.addr, addr, rate);
    }
  }

  #stallLoop(f: Extract<Fault, { kind: 'slow' }>): void {
    const node = this.#cluster.nodes[f.node]!;
    const stall = node.stall;
    if (stall === undefined) return;
    const r = this.#random;
    const step = () => {
      const now = this.#clock.now();
      if (this.#isHealed || now >= this.#safetyStartMs + f.untilMs) return;
      const ms = f.stallMsMin + r.float() * (f.stallMsMax - f.stallMsMin);
      const gap = f.gapMsMin + r.float() * (f.gapMsMax - f.gapMsMin);
      if (node.status === 'running' || node.status === 'leaving') {
        stall.stall(ms);
        this.stallEndsMs[f.node] = now + ms;
        this.#hooks.changed(now + ms, true);
      }
      this.#timers.push(this.#clock.setTimer(ms + gap, step));
    };
    step();
  }

  /** Ends the safety phase: every fault heals; nodes meant to come back come back now. */
  healAll(): void {
    if (this.#isHealed) return;
    const now = this.#clock.now();
    const hadFaults = this.#cuts.length > 0 || this.#lossy.size > 0 || this.hasNetworkFaults;
    this.#isHealed = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.length = 0;
    this.#cuts.length = 0;
    this.#network.heal();
    for (const f of this.#lossy) this.#setLinkLoss(f.node, undefined);
    this.#lossy.clear();
    this.#network.setLoss(0);
    this.#network.setReordering(0);
    this.#network.setDuplication(0);
    if (hadFaults) this.#hooks.changed(now, true);
    const comebacks = [...this.#comebacks.keys()].sort((a, b) => a - b);
    this.#comebacks.clear();
    this.#isHealed = false;
    for (const slot of comebacks) this.#restart(slot);
    this.#isHealed = true;
  }

  /** Whether `a` and `b` are cut apart (either way) right now. */
  isCut(a: string, b: string): boolean {
    return this.#network.isBlocked(a, b) || this.#network.isBlocked(b, a);
  }
}
