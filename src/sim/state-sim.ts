/**
 * The replicated state under the deterministic simulator: real `Serf` + `ReplicatedState`
 * nodes on a `VirtualClock` and a `MemoryNetwork`, writes and faults drawn from one seed.
 *
 * A run:
 * 1. **parameters** from the seed: node count, which slots persist their map (a data dir),
 *    and the state options (short tombstone grace periods, so that collection and
 *    from-scratch resets happen during the run);
 * 2. **bootstrap**: every node starts and joins through the first;
 * 3. **fault phase**: writes, updates, deletes (some ephemeral, some with a TTL) on random
 *    live nodes, while loss comes and goes, partitions split the cluster, nodes crash
 *    (`kill -9`: the transport dies at once) and restart — with their persisted map, or
 *    without one — and nodes leave gracefully and come back. A checker polls that no
 *    replica's (generation, version) of any map ever goes backwards;
 * 4. **quiescence**: every fault heals, crashed nodes stay down or come back as drawn, and
 *    the run waits until **every live node's copy of every live node's map equals that
 *    node's own** (key, value, version and generation), and each live node's own map equals
 *    the model of what the driver wrote to it (no write lost, no delete undone); else the
 *    run fails with a reason naming who disagrees about whom.
 *
 * Determinism: one `SeededRandom` forks the network's, the nodes' and the driver's streams
 * in a fixed order; promises (joins, leaves) are drained at the virtual instant they settle.
 * The same options give the same result.
 */
import { Serf } from '../cluster/serf.ts';
import type { Timer } from '../runtime/clock.ts';
import { SeededRandom } from '../runtime/random.ts';
import { VirtualClock } from '../runtime/virtual-clock.ts';
import type { StateOptions } from '../state/options.ts';
import { ReplicatedState } from '../state/state.ts';
import { ChangeCache } from '../state/store.ts';
import type { PersistedChange, PersistedState, StatePersistence } from '../state/types.ts';
import { MemoryNetwork } from '../transport/memory.ts';

/** Options of one run. */
export interface StateSimOptions {
  seed: number;
  /** Node count (else 4–7, drawn). */
  nodes?: number;
  /** Length of the fault phase, ms of virtual time. @default 60000 */
  faultPhaseMs?: number;
  /** Longest wait for convergence after faults stop, ms of virtual time. @default 240000 */
  convergenceBoundMs?: number;
  /** Which faults play. @default all */
  faults?: Partial<Record<StateFault, boolean>>;
  /** State options over the run's drawn ones. */
  state?: Partial<StateOptions>;
}

export type StateFault = 'loss' | 'partition' | 'crash' | 'leave';

/** What a run found. */
export interface StateSimResult {
  seed: number;
  nodes: number;
  /** Whether the run converged and every check held. */
  ok: boolean;
  /** Why not, naming the nodes involved. */
  reason?: string;
  /** Virtual ms from the end of the faults to convergence. */
  convergenceMs?: number;
  /** What happened. */
  writes: number;
  deletes: number;
  crashes: number;
  restartsWithData: number;
  restartsWithoutData: number;
  /** Lives started at a generation below the slot's previous one. */
  olderGenerations: number;
  leaves: number;
  partitions: number;
  /** Summed over every node and life. */
  resets: number;
  generationBumps: number;
  tombstonesCollected: number;
}

/** A data dir in memory: what a `StatePersistence` hook writes, kept across a slot's lives. */
export class MemoryPersistence implements StatePersistence {
  #saved: PersistedState | undefined;

  load(): PersistedState | undefined {
    const s = this.#saved;
    return s === undefined ? undefined : { ...s, entries: s.entries.map((e) => ({ ...e })) };
  }

  rewrite(state: PersistedState): void {
    this.#saved = { ...state, entries: state.entries.map((e) => ({ ...e })) };
  }

  append(c: PersistedChange): void {
    const s = this.#saved ?? { generation: c.generation, version: 0, entries: [] };
    const entries = s.entries.filter((e) => e.key !== c.key);
    if (c.value !== null) {
      entries.push({
        key: c.key,
        value: c.value,
        version: c.version,
        ...(c.ttlMs ? { ttlRemainingMs: c.ttlMs } : {}),
      });
    }
    this.#saved = { generation: c.generation, version: Math.max(s.version, c.version), entries };
  }
}

interface Slot {
  name: string;
  addr: string;
  serf: Serf | undefined;
  state: ReplicatedState | undefined;
  status: 'up' | 'leaving' | 'down';
  /** Its data dir, when the slot persists. */
  disk: MemoryPersistence | undefined;
  /** What the driver wrote and the node must hold: key → value (non-TTL keys only). */
  model: Map<string, { value: string; ephemeral: boolean }>;
  /** Each map's (gen, max) as this node last held it, to check they never go backwards. */
  seen: Map<string, { gen: number; max: number }>;
  /** Generations its lives used (a generation is never reused: see ReplicatedStateInit). */
  generations: Set<number>;
}

/** How often a node alone in its view retries its join, ms (an agent's retry-join). */
export const JOIN_RETRY_MS = 2000;

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));
const text = new TextDecoder();

/** `key=value@version` of `owner`'s map as `reader` holds it (visible entries), with the generation. */
function mapLine(reader: ReplicatedState, owner: string): string {
  const es = reader.entries({ node: owner });
  const gen = es[0]?.generation ?? '-';
  return `${gen}|${es.map((e) => `${e.key}=${text.decode(e.value)}@${e.version}`).join(',')}`;
}

/** Runs one simulation. */
export async function runStateSim(options: StateSimOptions): Promise<StateSimResult> {
  const root = new SeededRandom(options.seed);
  const paramRandom = root.fork();
  const netRandom = root.fork();
  const nodeRandom = root.fork();
  const driver = root.fork();
  const nodeChoice = root.fork();
  const n = options.nodes ?? 4 + paramRandom.int(4);
  const faultPhaseMs = options.faultPhaseMs ?? 60_000;
  const boundMs = options.convergenceBoundMs ?? 240_000;
  const faults: Record<StateFault, boolean> = {
    loss: true,
    partition: true,
    crash: true,
    leave: true,
    ...options.faults,
  };
  const stateOptions: Partial<StateOptions> = {
    tombstoneGraceMs: 2000 + paramRandom.int(20_000),
    antiEntropyIntervalMs: 1000 + paramRandom.int(2000),
    // Small budgets: a map with large values then takes several exchanges (partial deltas, a
    // replacement built aside), and large deltas go over streams.
    ...(paramRandom.chance(0.4)
      ? { maxValueBytes: 32_768, maxDeltaBytes: 34_304 + paramRandom.int(20_000) }
      : {}),
    ...options.state,
  };
  const clock = new VirtualClock();
  // One cache of changes for every node, as an embedding of many nodes would share (it is
  // content-checked, so it cannot hand one node another's value).
  const changeCache = new ChangeCache();
  const network = new MemoryNetwork({ clock, random: netRandom, latencyMs: 2, jitterMs: 3 });
  const result: StateSimResult = {
    seed: options.seed,
    nodes: n,
    ok: false,
    writes: 0,
    deletes: 0,
    crashes: 0,
    restartsWithData: 0,
    restartsWithoutData: 0,
    olderGenerations: 0,
    leaves: 0,
    partitions: 0,
    resets: 0,
    generationBumps: 0,
    tombstonesCollected: 0,
  };
  const slots: Slot[] = [];
  for (let i = 0; i < n; i++) {
    slots.push({
      name: `n${i}`,
      addr: `10.0.0.${i + 1}:7946`,
      serf: undefined,
      state: undefined,
      status: 'down',
      disk: paramRandom.chance(0.6) ? new MemoryPersistence() : undefined,
      model: new Map(),
      seen: new Map(),
      generations: new Set(),
    });
  }
  let pendingOps = 0;
  const violations: string[] = [];

  const collect = (s: Slot) => {
    const info = s.state?.info();
    if (info === undefined) return;
    result.resets += info.resetsReceived;
    result.generationBumps += info.generationBumps;
    result.tombstonesCollected += info.tombstonesCollected;
  };

  const startSlot = (s: Slot) => {
    const transport = network.createTransport(s.addr);
    const serf = new Serf({
      name: s.name,
      transport,
      clock,
      random: nodeRandom.fork(),
      // Failed members are reconnected to often, so a healed partition merges within the bound.
      reconnectIntervalMs: 5000,
    });
    // Generations grow with time, as the agent's (wall clock) do; with a disk, also past the
    // saved one. Some lives without a disk start *below* the last one (a clock set back): the
    // node must notice the cluster holds a newer generation of its map and raise its own.
    let generation = Math.floor(clock.now()) + 1;
    const last = Math.max(0, ...s.generations);
    if (s.disk === undefined && last > 1 && nodeChoice.chance(0.3)) {
      do generation = 1 + nodeChoice.int(last - 1);
      while (s.generations.has(generation));
      result.olderGenerations++;
    }
    const state = new ReplicatedState({
      serf,
      generation,
      changeCache,
      ...(s.disk ? { persistence: s.disk } : {}),
      ...stateOptions,
    });
    serf.start();
    s.generations.add(state.generation);
    s.serf = serf;
    s.state = state;
    s.status = 'up';
    s.seen.clear();
    // What the node holds after a restart: its persisted non-ephemeral keys, or nothing.
    for (const [k, v] of [...s.model]) if (v.ephemeral || s.disk === undefined) s.model.delete(k);
  };

  const stopSlot = async (s: Slot, how: 'crash' | 'leave') => {
    const serf = s.serf;
    if (serf === undefined) return;
    if (how === 'crash') {
      network.crash(s.addr);
    } else {
      s.status = 'leaving';
      pendingOps++;
      try {
        await serf.leave();
      } catch {
        // A leave that cannot finish (partitioned) still shuts down.
      } finally {
        pendingOps--;
      }
    }
    collect(s);
    await serf.shutdown();
    if (s.serf !== serf) return;
    s.serf = undefined;
    s.state = undefined;
    s.status = 'down';
  };

  const up = () => slots.filter((s) => s.status === 'up');

  const join = (s: Slot) => {
    const others = up().filter((o) => o !== s);
    const target = driver.pick(others);
    if (target === undefined || s.serf === undefined) return;
    pendingOps++;
    s.serf
      .join([target.addr])
      .catch(() => {})
      .finally(() => pendingOps--);
  };

  // A node left alone (its join failed, say across a partition) retries, as an agent's
  // retry-join does.
  let nextRetryAt = 0;
  const retryJoins = () => {
    if (clock.now() < nextRetryAt) return;
    nextRetryAt = clock.now() + JOIN_RETRY_MS;
    for (const s of up()) if (s.serf!.members().length === 1) join(s);
  };

  let nextDebugAt = 0;
  /** Lets virtual time pass, draining promise continuations at the instant they settle. */
  const run = async (ms: number, each?: () => void) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      retryJoins();
      if (process.env.STATE_SIM_DEBUG && clock.now() >= nextDebugAt) {
        nextDebugAt = clock.now() + 5000;
        const infos = up().map((x) => {
          const i = x.state!.info();
          return `${x.name}:q${i.queueDepth}/p${i.pendingUpdates}/s${i.syncsSent}/d${i.deltasSent}/st${i.streamDeltasSent}/b${i.bytesSent}/r${i.resetsReceived}/${JSON.stringify(i.dropped)}`;
        });
        console.log(Math.round(clock.now()), infos.join(' '), JSON.stringify(network.stats));
      }
      clock.runUntil(Math.min(end, clock.now() + 50));
      await drain();
      while (pendingOps > 0 && clock.now() < end) {
        await drain();
        if (pendingOps > 0) {
          clock.runUntil(Math.min(end, clock.now() + 10));
          await drain();
        }
      }
      each?.();
    }
  };

  const checkMonotonic = () => {
    for (const s of up()) {
      const st = s.state!;
      for (const owner of st.nodes()) {
        const v = st.mapVersion(owner)!;
        const prev = s.seen.get(owner);
        if (
          prev !== undefined &&
          (v.generation < prev.gen || (v.generation === prev.gen && v.version < prev.max))
        ) {
          violations.push(
            `${s.name}'s copy of ${owner}'s map went back from (${prev.gen}, ${prev.max}) to (${v.generation}, ${v.version})`,
          );
        }
        s.seen.set(owner, { gen: v.generation, max: v.version });
      }
    }
  };

  // Bootstrap.
  for (const s of slots) startSlot(s);
  for (const s of slots.slice(1)) {
    pendingOps++;
    s.serf!.join([slots[0]!.addr])
      .catch(() => {})
      .finally(() => pendingOps--);
  }
  await run(5000);

  // Fault phase.
  const keys = 12;
  const faultEnd = clock.now() + faultPhaseMs;
  let partitioned = false;
  let lossy = false;
  const timers: Timer[] = [];
  while (clock.now() < faultEnd) {
    const roll = driver.int(100);
    const live = up();
    const s = driver.pick(live);
    if (roll < 55 && s !== undefined) {
      // A write or a delete.
      const k = `k${driver.int(keys)}`;
      if (driver.chance(0.25) && s.state!.get(k) !== undefined) {
        s.state!.delete(k);
        s.model.delete(k);
        result.deletes++;
      } else {
        // Now and then a value too large for a packet (notices, pulls over streams).
        const big = driver.chance(0.08) ? `:${'x'.repeat(1000 + driver.int(28_000))}` : '';
        const value = `${s.name}:${result.writes}${big}`;
        const ephemeral = driver.chance(0.15);
        s.state!.set(k, value, { ephemeral });
        s.model.set(k, { value, ephemeral });
        result.writes++;
      }
    } else if (roll < 60 && s !== undefined) {
      // A key with a TTL (outside the model: it expires on its own).
      s.state!.set(`t${driver.int(4)}`, `ttl:${result.writes++}`, { ttlMs: 1000 + driver.int(10_000) });
    } else if (roll < 66 && faults.loss) {
      lossy = !lossy;
      network.setLoss(lossy ? 0.05 + driver.float() * 0.25 : 0);
    } else if (roll < 72 && faults.partition) {
      if (partitioned) {
        network.heal();
        partitioned = false;
      } else if (n >= 3) {
        const addrs = driver.shuffle(slots.map((x) => x.addr));
        const cut = 1 + driver.int(addrs.length - 1);
        network.partition(addrs.slice(0, cut), addrs.slice(cut));
        partitioned = true;
        result.partitions++;
      }
    } else if (roll < 78 && faults.crash && s !== undefined && live.length > 2) {
      result.crashes++;
      await stopSlot(s, 'crash');
    } else if (roll < 81 && faults.leave && s !== undefined && live.length > 2) {
      result.leaves++;
      pendingOps++;
      void stopSlot(s, 'leave').finally(() => pendingOps--);
    } else if (roll < 90) {
      const down = driver.pick(slots.filter((x) => x.status === 'down' && x.serf === undefined));
      if (down !== undefined) {
        if (down.disk !== undefined) result.restartsWithData++;
        else result.restartsWithoutData++;
        startSlot(down);
        join(down);
      }
    }
    await run(200 + driver.int(1500), checkMonotonic);
  }
  for (const t of timers) t.cancel();

  // Quiescence: faults stop; down nodes come back or stay down as drawn.
  network.heal();
  network.setLoss(0);
  for (const s of slots) {
    if (s.status === 'down' && s.serf === undefined && driver.chance(0.5)) {
      if (s.disk !== undefined) result.restartsWithData++;
      else result.restartsWithoutData++;
      startSlot(s);
      join(s);
    }
  }
  const quietStart = clock.now();
  let reason = 'not converged';
  const isConverged = (): boolean => {
    const live = up();
    for (const owner of live) {
      const own = mapLine(owner.state!, owner.name);
      for (const r of live) {
        const copy = mapLine(r.state!, owner.name);
        if (copy !== own) {
          reason = `${r.name} holds ${owner.name}'s map as [${copy}], ${owner.name} as [${own}]`;
          return false;
        }
      }
    }
    return true;
  };
  while (!isConverged() && clock.now() - quietStart < boundMs) await run(500);
  if (violations.length > 0) {
    result.reason = violations.slice(0, 5).join('; ');
  } else if (!isConverged()) {
    result.reason = `not converged within ${boundMs} ms after the faults: ${reason}`;
    if (process.env.STATE_SIM_DEBUG) {
      for (const s of up()) {
        console.log(
          s.name,
          s
            .serf!.members()
            .map((m) => `${m.name}:${m.status}`)
            .join(' '),
          JSON.stringify(s.state!.info().dropped),
          s
            .state!.nodes()
            .map((o) => `${o}=${JSON.stringify(s.state!.mapVersion(o))}`)
            .join(' '),
        );
      }
    }
  } else {
    result.convergenceMs = clock.now() - quietStart;
    // Each live node's own map holds what the driver wrote to it (TTL keys aside).
    for (const s of up()) {
      const own = new Map(
        s
          .state!.entries({ node: s.name })
          .filter((e) => e.key.startsWith('k'))
          .map((e) => [e.key, text.decode(e.value)]),
      );
      const want = new Map([...s.model].map(([k, v]) => [k, v.value]));
      const ownLine = JSON.stringify([...own].sort());
      const wantLine = JSON.stringify([...want].sort());
      if (ownLine !== wantLine) {
        result.reason = `${s.name}'s own map is ${ownLine}, but it was written ${wantLine}`;
        break;
      }
    }
    result.ok = result.reason === undefined;
  }
  for (const s of up()) collect(s);
  for (const s of up()) await s.serf!.shutdown();
  return result;
}
