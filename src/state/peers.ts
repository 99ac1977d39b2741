/**
 * Which members are ours, and how their owners stand: fed by the Serf's member events.
 *
 * A member is ours when its metadata advertises the state capability at our version (see
 * `src/cluster/extension.ts`); only those are sent state messages, get state broadcasts, or
 * have maps here. Every Serf agent in a mixed cluster advertises nothing and is left alone.
 *
 * An owner that fails or leaves keeps its map here, readable and marked (`ownerStatus`), its
 * ephemeral keys hidden (published as deletes) until it comes back; its map is forgotten when
 * Serf reaps the member.
 */
import type { SerfMember } from '../cluster/types.ts';
import { joinHostPort } from '../wire/ip.ts';
import { forget } from './apply.ts';
import { EntryFlag, STATE_CAPABILITY, STATE_CAPABILITY_VERSION } from './codec.ts';
import type { StateCore } from './core.ts';
import type { NodeCopy } from './store.ts';
import { antiEntropyRound } from './sync.ts';
import type { OwnerStatus, StateChange } from './types.ts';

/** Whether `member` advertises our state capability. */
export function isOurs(core: StateCore, member: string): boolean {
  return core.ctx.capabilities(member)?.[STATE_CAPABILITY] === STATE_CAPABILITY_VERSION;
}

/** A member was seen (joined, updated, failed or left): keep our peer table in step. */
export function onMember(core: StateCore, m: SerfMember): void {
  if (m.name === core.name) return;
  const existing = core.peers.get(m.name);
  if (!isOurs(core, m.name)) {
    if (existing !== undefined) {
      core.peers.delete(m.name);
      core.peerByAddr.delete(existing.addr);
    }
    return;
  }
  const addr = joinHostPort(m.addr, m.port);
  let hadLivePeer = false;
  for (const p of core.peers.values()) {
    if (p.status === 'alive') {
      hadLivePeer = true;
      break;
    }
  }
  if (existing === undefined) {
    core.peers.set(m.name, { name: m.name, addr, status: m.status });
  } else {
    if (existing.addr !== addr) core.peerByAddr.delete(existing.addr);
    existing.addr = addr;
    existing.status = m.status;
  }
  core.peerByAddr.set(addr, m.name);
  const copy = core.copies.get(m.name);
  if (copy !== undefined) setOwnerStatus(core, copy, m.status);
  // Our first live peer: exchange at once rather than at the next round (a joiner's catch-up).
  if (!hadLivePeer && m.status === 'alive' && core.isRunning) antiEntropyRound(core, core.peers.get(m.name));
}

/** A member was reaped: forget it and its map. */
export function onReap(core: StateCore, m: SerfMember): void {
  const existing = core.peers.get(m.name);
  if (existing !== undefined) {
    core.peers.delete(m.name);
    if (core.peerByAddr.get(existing.addr) === m.name) core.peerByAddr.delete(existing.addr);
  }
  forget(core, m.name);
}

/** Records an owner's new status, publishing what its ephemeral keys did. */
export function setOwnerStatus(core: StateCore, copy: NodeCopy, status: OwnerStatus): void {
  if (copy.ownerStatus === status) return;
  const entries = [...copy.live.entries.values()].filter((c) => (c.flags & EntryFlag.ephemeral) !== 0);
  const before = entries.map((c) => copy.isVisible(c));
  copy.ownerStatus = status;
  const events: StateChange[] = [];
  entries.forEach((c, i) => {
    const now = copy.isVisible(c);
    if (now === before[i]) return;
    if (now) {
      events.push({
        type: 'set',
        node: copy.node,
        key: c.key,
        value: c.value!,
        version: c.version,
        generation: copy.live.gen,
      });
    } else {
      events.push({
        type: 'delete',
        node: copy.node,
        key: c.key,
        version: c.version,
        generation: copy.live.gen,
        cause: copy.awayCause,
      });
    }
  });
  core.emit(events);
}
