/**
 * A simulated Serf cluster for the cluster tests: every node on one `MemoryNetwork`, driven by
 * one `VirtualClock` (no sleeps; time moves when the test says so), seeded for reproducibility.
 */
import { Serf, type SerfInit } from '../../src/cluster/index.ts';
import { SeededRandom, VirtualClock } from '../../src/runtime/index.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));

export interface SimNode {
  name: string;
  serf: Serf;
  addr: string;
}

export class SerfSim {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly network: MemoryNetwork;
  readonly nodes: SimNode[] = [];

  constructor(seed = 1, latencyMs = 1) {
    this.random = new SeededRandom(seed);
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random.fork(), latencyMs });
  }

  /** A started node (at `addr`, e.g. to restart a crashed one, or at the next free address). */
  add(name: string, init: Partial<SerfInit> = {}, start = true, addr?: string): SimNode {
    const transport = this.network.createTransport(addr);
    const serf = new Serf({ name, transport, clock: this.clock, random: this.random.fork(), ...init });
    if (start) serf.start();
    const node = { name, serf, addr: transport.localAddr };
    this.nodes.push(node);
    return node;
  }

  /** `n` nodes `prefix0..`, all joined through the first. */
  async cluster(n: number, prefix = 'n', init: Partial<SerfInit> = {}): Promise<SimNode[]> {
    const nodes: SimNode[] = [];
    for (let i = 0; i < n; i++) nodes.push(this.add(`${prefix}${i}`, init));
    for (const node of nodes.slice(1)) await this.drive(node.serf.join([nodes[0]!.addr]));
    await this.waitFor('every node sees every other alive', () => allAlive(nodes, n), 30_000);
    return nodes;
  }

  /** Lets `ms` of virtual time pass, running promise continuations as it goes. */
  async run(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.runUntil(Math.min(end, this.clock.now() + 10));
      await flush();
    }
  }

  /** Awaits `p` while virtual time moves (at most `maxMs`). */
  async drive<T>(p: Promise<T>, maxMs = 120_000): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    const start = this.clock.now();
    await flush();
    while (!settled && this.clock.now() - start < maxMs) await this.run(10);
    return watched;
  }

  /** Runs until `cond()` holds; returns the virtual time it took, or throws after `maxMs`. */
  async waitFor(what: string, cond: () => boolean, maxMs: number): Promise<number> {
    const start = this.clock.now();
    while (!cond()) {
      if (this.clock.now() - start > maxMs)
        throw new Error(`not within ${maxMs} ms of virtual time: ${what}`);
      await this.run(10);
    }
    return this.clock.now() - start;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.serf.shutdown();
  }
}

/** Whether each node sees `n` members, all alive. */
export function allAlive(nodes: readonly SimNode[], n = nodes.length): boolean {
  return nodes.every((node) => {
    const ms = node.serf.members();
    return ms.length === n && ms.every((m) => m.status === 'alive');
  });
}

/** `name:status` pairs, sorted: a node's view, for comparing views. */
export function view(node: SimNode): string[] {
  return node.serf
    .members()
    .map((m) => `${m.name}:${m.status}`)
    .sort();
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);
