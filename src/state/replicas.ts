/**
 * Where each peer's copy of one node's map stands: we `ask` every live peer of ours, each
 * `tell`s us the (generation, version) it holds, and the answers are collected until all came
 * or the time is up. What the dashboard lights a write's spread with, and an estimate of how
 * many nodes hold a write ("replicated to at least k nodes").
 */
import { type AskMessage, encodeAsk, encodeTell, type TellMessage } from './codec.ts';
import type { StateCore } from './core.ts';

/** Most questions in flight at once; one more fails at once. */
export const MAX_PENDING_ASKS = 64;

/** One node's copy of a map: generation 0 when it holds none. */
export interface ReplicaVersion {
  readonly node: string;
  readonly generation: number;
  readonly version: number;
}

/** A question in flight. */
export interface PendingAsk {
  readonly node: string;
  readonly answers: Map<string, ReplicaVersion>;
  readonly expected: number;
  settle(): void;
}

/** Asks every live peer where its copy of `node`'s map stands; ours is included. */
export function askReplicas(core: StateCore, node: string, timeoutMs: number): Promise<ReplicaVersion[]> {
  const mine = core.copies.get(node);
  const own: ReplicaVersion = {
    node: core.name,
    generation: mine?.live.gen ?? 0,
    version: mine?.live.max ?? 0,
  };
  const peers = [...core.peers.values()].filter((p) => p.status === 'alive' || p.status === 'leaving');
  if (peers.length === 0 || !core.isRunning) return Promise.resolve([own]);
  if (core.asks.size >= MAX_PENDING_ASKS) {
    return Promise.reject(new RangeError(`${MAX_PENDING_ASKS} questions are already in flight`));
  }
  const id = core.nextAskId();
  return new Promise((resolve) => {
    const answers = new Map<string, ReplicaVersion>();
    const settle = () => {
      if (core.asks.get(id) !== pending) return;
      core.asks.delete(id);
      timer.cancel();
      resolve([own, ...[...answers.values()].sort((a, b) => (a.node < b.node ? -1 : 1))]);
    };
    const pending: PendingAsk = { node, answers, expected: peers.length, settle };
    core.asks.set(id, pending);
    const timer = core.clock.setTimer(timeoutMs, settle);
    const msg = encodeAsk({ from: core.name, id, node });
    for (const p of peers) core.sendPacket(p, msg);
  });
}

export function handleAsk(core: StateCore, m: AskMessage): void {
  const peer = core.peers.get(m.from);
  if (peer === undefined) {
    core.drop('unknown-peer', `a question from ${m.from}, not a member of ours`);
    return;
  }
  const copy = core.copies.get(m.node);
  core.sendPacket(
    peer,
    encodeTell({
      from: core.name,
      id: m.id,
      node: m.node,
      gen: copy?.live.gen ?? 0,
      max: copy?.live.max ?? 0,
    }),
  );
}

export function handleTell(core: StateCore, m: TellMessage): void {
  const pending = core.asks.get(m.id);
  if (pending === undefined || pending.node !== m.node || !core.peers.has(m.from)) return;
  pending.answers.set(m.from, { node: m.from, generation: m.gen, version: m.max });
  if (pending.answers.size >= pending.expected) pending.settle();
}
