/**
 * Member status in the Serf layer (Serf `serf.go`: `handleNodeJoin`, `handleNodeLeave`,
 * `handleNodeUpdate`, `handleNodeJoinIntent`, `handleNodeLeaveIntent`, `handleReap`,
 * `reconnect`; spec §9.5).
 *
 * memberlist says whether a node is reachable; Serf adds *why* it went away. A member that
 * announced a leave intent before memberlist saw it go is `left`; one that just vanished is
 * `failed`. Intents carry member-clock times, so a member's `statusLTime` orders them: an
 * intent not newer than the member's last one is old news and ignored (and not re-gossiped,
 * which is what stops intents from circulating forever).
 *
 * Intents can overtake memberlist's news of a member (they travel in different packets), so
 * an intent for a member we do not know yet is kept for `recentIntentTimeoutMs` and applied
 * when memberlist announces it.
 *
 * Failed members are remembered for `reconnectTimeoutMs` and push-pulled now and then (so a
 * partition heals by itself); members that left stay as tombstones for `tombstoneTimeoutMs`.
 *
 * A difference from Serf: a member held `leaving` for longer than any leave can take
 * ({@link leaveCompletionBoundMs}) while memberlist still holds it alive goes back to `alive`
 * at the next reap. Its leave intent was stale, typically about an earlier life of a member
 * that has restarted since: a node that did not know the member learns the old leave from a
 * push-pull's left members, buffers it, and applies it when the new life appears; the member's
 * own join intent is then not newer (push-pulls pass leaves on one Lamport tick past their
 * status time), and the member never hears that it is held leaving, so it never refutes. Serf
 * keeps such a member `leaving` for good (found by the simulator's member-status check).
 */
import { internBytes, internVsn } from '../membership/intern.ts';
import { suspicionTimeoutMs } from '../membership/math.ts';
import type { Member as MlMember } from '../membership/node-state.ts';
import { ipFromString } from '../wire/ip.ts';
import {
  decodeCapabilities,
  decodeTags,
  encodeSerfMessage,
  type MessageJoin,
  type MessageLeave,
} from '../wire/serf.ts';
import {
  MAX_MEMBERS,
  MAX_RECENT_INTENTS,
  type MemberState,
  type NodeIntent,
  type SerfCore,
  toSerfMember,
} from './core.ts';
import type { LamportTime } from './lamport.ts';
import type { MemberEventType } from './types.ts';

function emitMember(core: SerfCore, type: MemberEventType, m: MemberState): void {
  core.emitEvent({ type, members: [toSerfMember(m)] });
}

/** Sets a member's status, keeping the record of when leaving members started to leave. */
function setStatus(core: SerfCore, member: MemberState, status: MemberState['status']): void {
  if (status === 'leaving') {
    if (member.status !== 'leaving') core.leavingSince.set(member.name, core.clock.now());
  } else {
    core.leavingSince.delete(member.name);
  }
  member.status = status;
}

/**
 * What a member's metadata says: its tags (or why they do not decode) and its capabilities,
 * frozen, and shared by every member entry whose metadata has the same bytes.
 */
interface MetaView {
  readonly tags: Readonly<Record<string, string>>;
  /** Why the tags did not decode (then `tags` is empty). */
  readonly tagsError: string | undefined;
  readonly capabilities: Readonly<Record<string, number>>;
}

/**
 * Decoded metadata by the shared copy of its bytes (`internBytes`, memberlist's intern.ts): a
 * Serf node holds the tags of every member, and in the simulator, where n nodes share one
 * process, n² entries hold the same n maps. Bounded by that cache: an entry lives as long as
 * its key array, which the byte cache (or a member entry) holds.
 */
const metaViews = new WeakMap<Uint8Array, MetaView>();

function metaViewOf(meta: Uint8Array): MetaView {
  const key = internBytes(meta);
  let view = metaViews.get(key);
  if (view === undefined) {
    const r = decodeTags(key);
    view = {
      tags: Object.freeze(r.ok ? r.value : {}),
      tagsError: r.ok ? undefined : r.detail,
      capabilities: Object.freeze(decodeCapabilities(key)),
    };
    metaViews.set(key, view);
  }
  return view;
}

/** Sets a member's address, tags, capabilities and versions from memberlist's view of it. */
function describe(core: SerfCore, member: MemberState, n: MlMember): void {
  const view = metaViewOf(n.meta);
  if (view.tagsError !== undefined) {
    core.log.error("serf: could not decode a member's tags", { node: n.name, reason: view.tagsError });
  }
  member.addr = internBytes(ipFromString(n.ip) ?? new Uint8Array(4));
  member.port = n.port;
  member.tags = view.tags;
  member.capabilities = view.capabilities;
  member.vsn = internVsn([
    n.protocol.min,
    n.protocol.max,
    n.protocol.current,
    n.delegate.min,
    n.delegate.max,
    n.delegate.current,
  ]);
}

const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});
const NO_CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({});
const NO_ADDR = new Uint8Array(0);
const NO_VSN: readonly number[] = Object.freeze([]);

/** Makes room for one more member: forgets the oldest tombstone, else the oldest failure. */
function makeRoom(core: SerfCore): boolean {
  if (core.members.size < MAX_MEMBERS) return true;
  const victim = core.leftMembers.values().next().value ?? core.failedMembers.values().next().value;
  if (victim === undefined) return false;
  core.log.warn('serf: member table full; reaping the oldest departed member early', {
    limit: MAX_MEMBERS,
    node: victim.name,
  });
  eraseNode(core, victim);
  return true;
}

/** memberlist says a node is alive: new, or back from dead or left (Serf `handleNodeJoin`). */
export function handleNodeJoin(core: SerfCore, n: MlMember): void {
  if (core.messageFilter?.('join')) return;
  let member = core.members.get(n.name);
  let oldStatus: MemberState['status'] | 'none' = 'none';
  if (member === undefined) {
    if (!makeRoom(core)) {
      core.drop('member-table-full', `no room for ${n.name}`);
      return;
    }
    member = {
      name: n.name,
      addr: NO_ADDR,
      port: 0,
      tags: NO_TAGS,
      capabilities: NO_CAPABILITIES,
      status: 'alive',
      statusLTime: 0,
      leaveTime: 0,
      vsn: NO_VSN,
    };
    // Only the newest intent is buffered per node, so at most one of these applies.
    const intent = core.recentIntents.get(n.name);
    if (intent?.type === 'join') member.statusLTime = intent.lTime;
    core.members.set(n.name, member);
    if (intent?.type === 'leave') {
      setStatus(core, member, 'leaving');
      member.statusLTime = intent.lTime;
    }
  } else {
    oldStatus = member.status;
    if (oldStatus === 'failed' && core.clock.now() - member.leaveTime < core.opts.flapTimeoutMs) {
      core.stats.flaps++;
    }
    setStatus(core, member, 'alive');
    member.leaveTime = 0;
  }
  describe(core, member, n);
  if (oldStatus === 'failed' || oldStatus === 'left') {
    core.failedMembers.delete(n.name);
    core.leftMembers.delete(n.name);
  }
  core.log.info('serf: member joined', { node: member.name, addr: n.address });
  emitMember(core, 'member-join', member);
}

/** memberlist says a node is dead or left (Serf `handleNodeLeave`). */
export function handleNodeLeave(core: SerfCore, n: MlMember): void {
  const member = core.members.get(n.name);
  if (member === undefined) return;
  switch (member.status) {
    case 'leaving':
      setStatus(core, member, 'left');
      member.leaveTime = core.clock.now();
      core.leftMembers.set(member.name, member);
      break;
    case 'alive':
      // memberlist's "left" is the node's own dead message (From == Node): it announced its
      // departure, so it left, even when its leave intent lost a race to a push-pull's join
      // intent at the same Lamport time (Serf 0.9.4 reports such a node failed for a while;
      // later Serf uses memberlist's state the same way).
      if (n.status === 'left') {
        member.status = 'left';
        member.leaveTime = core.clock.now();
        core.leftMembers.set(member.name, member);
      } else {
        member.status = 'failed';
        member.leaveTime = core.clock.now();
        core.failedMembers.set(member.name, member);
      }
      break;
    case 'failed':
      // Its own leave, after we had found it failed (memberlist takes a leave newer than its
      // dead verdict, transitions.ts `newerDeath`): it left.
      if (n.status === 'left') {
        member.status = 'left';
        core.failedMembers.delete(member.name);
        core.leftMembers.set(member.name, member);
        break;
      }
      core.log.warn('serf: leave for a member that is already gone', { node: n.name, status: member.status });
      return;
    default:
      core.log.warn('serf: leave for a member that is already gone', { node: n.name, status: member.status });
      return;
  }
  const type = member.status === 'left' ? 'member-leave' : 'member-failed';
  core.log.info(`serf: ${type}`, { node: member.name, addr: n.address });
  emitMember(core, type, member);
}

/** memberlist says an alive node's metadata changed (Serf `handleNodeUpdate`). */
export function handleNodeUpdate(core: SerfCore, n: MlMember): void {
  const member = core.members.get(n.name);
  if (member === undefined) return;
  describe(core, member, n);
  core.log.info('serf: member updated', { node: member.name });
  emitMember(core, 'member-update', member);
}

/**
 * Buffers an intent for a node we do not know yet, if it is newer than the one held. Returns
 * whether it was stored (and so should be re-gossiped).
 */
function upsertIntent(core: SerfCore, node: string, type: NodeIntent['type'], lTime: LamportTime): boolean {
  const held = core.recentIntents.get(node);
  if (held !== undefined && lTime <= held.lTime) return false;
  if (held === undefined && core.recentIntents.size >= MAX_RECENT_INTENTS) {
    const oldest = core.recentIntents.keys().next().value;
    if (oldest !== undefined) core.recentIntents.delete(oldest);
    core.drop('recent-intents-full', `over ${MAX_RECENT_INTENTS} buffered intents; dropped the oldest`);
  }
  // Re-insert so that the map's order stays oldest-first.
  core.recentIntents.delete(node);
  core.recentIntents.set(node, { type, lTime, seenAt: core.clock.now() });
  return true;
}

/** A join intent: the member-clock time of a node's join. Returns whether to re-gossip it. */
export function handleNodeJoinIntent(core: SerfCore, msg: MessageJoin): boolean {
  core.memberClock.witness(msg.lTime);
  const member = core.members.get(msg.node);
  if (member === undefined) return upsertIntent(core, msg.node, 'join', msg.lTime);
  if (msg.lTime <= member.statusLTime) return false;
  member.statusLTime = msg.lTime;
  // A join newer than the leave we saw means the leave is over.
  if (member.status === 'leaving') setStatus(core, member, 'alive');
  return true;
}

/** A leave intent (or a force-leave). Returns whether to re-gossip it. */
export function handleNodeLeaveIntent(core: SerfCore, msg: MessageLeave): boolean {
  core.memberClock.witness(msg.lTime);
  const member = core.members.get(msg.node);
  if (member === undefined) return upsertIntent(core, msg.node, 'leave', msg.lTime);
  if (msg.node === core.name && core.state === 'alive') {
    // Someone says we are leaving and we are not: refute with a newer join — also when the
    // intent is not newer than our own status time. Serf 0.9.4 ignores such an intent here,
    // but a member whose view of us is older accepted it and would hold us "leaving" forever
    // (found by the seeded cluster tests). Once per leave time, so copies do not echo.
    if (msg.lTime > core.lastRefutedLeave) {
      core.lastRefutedLeave = msg.lTime;
      core.log.debug('serf: refuting a leave intent about ourselves');
      broadcastJoin(core, core.memberClock.time());
    }
    return false;
  }
  if (msg.lTime <= member.statusLTime) return false;
  // Record the time even when the status stays, so the same leave is not re-gossiped forever
  // (hashicorp/consul#8179).
  member.statusLTime = msg.lTime;
  switch (member.status) {
    case 'alive':
      setStatus(core, member, 'leaving');
      if (msg.prune) prune(core, member);
      return true;
    case 'failed':
      member.status = 'left';
      core.failedMembers.delete(member.name);
      core.leftMembers.set(member.name, member);
      core.log.info('serf: member-leave (forced)', { node: member.name });
      emitMember(core, 'member-leave', member);
      if (msg.prune) prune(core, member);
      return true;
    case 'leaving':
    case 'left':
      if (msg.prune) prune(core, member);
      return true;
  }
}

/**
 * Erases a member at once (force-leave with prune). A member still leaving is given time to
 * finish (Serf sleeps `broadcastTimeout + leavePropagateDelay` while holding its member lock;
 * here a timer does it).
 */
function prune(core: SerfCore, member: MemberState): void {
  const erase = () => {
    if (core.members.get(member.name) !== member) return;
    core.log.info('serf: member-reap (forced)', { node: member.name });
    eraseNode(core, member);
  };
  if (member.status === 'leaving') {
    core.after(core.opts.broadcastTimeoutMs + core.opts.leavePropagateDelayMs, erase);
  } else {
    erase();
  }
}

/** Forgets a member entirely and emits member-reap. */
export function eraseNode(core: SerfCore, member: MemberState): void {
  core.members.delete(member.name);
  core.coordClient?.forgetNode(member.name);
  core.coordCache.delete(member.name);
  core.failedMembers.delete(member.name);
  core.leftMembers.delete(member.name);
  core.leavingSince.delete(member.name);
  emitMember(core, 'member-reap', member);
}

/** Gossips a join intent at `lTime` and applies it here first (Serf `broadcastJoin`). */
export function broadcastJoin(core: SerfCore, lTime: LamportTime): void {
  const msg: MessageJoin = { lTime, node: core.name };
  core.memberClock.witness(lTime);
  handleNodeJoinIntent(core, msg);
  core.stats.joinIntentsSent++;
  core.intentQueue.queue(encodeSerfMessage({ type: 'join', body: msg }));
}

/** Whether any member other than us is alive (Serf `hasAliveMembers`). */
export function hasAliveMembers(core: SerfCore): boolean {
  for (const m of core.members.values()) if (m.name !== core.name && m.status === 'alive') return true;
  return false;
}

/**
 * The longest a leave can take to complete as others see it (ms): the leaver waits up to
 * `broadcastTimeoutMs` for its intent and again for memberlist's leave message, then stays up
 * `leavePropagateDelayMs`; should its leave message not reach us (it crashed meanwhile, or a
 * partition), memberlist declares it dead within its longest suspicion (Lifeguard's
 * `suspicionMaxTimeoutMult` × the suspicion timeout at this cluster size). Either way the
 * member is then left. A member still `leaving`, and alive in memberlist, after this long was
 * never leaving.
 */
export function leaveCompletionBoundMs(core: SerfCore): number {
  const o = core.opts;
  const ml = core.ml.options;
  const suspicionMaxMs =
    ml.suspicionMaxTimeoutMult * suspicionTimeoutMs(ml.suspicionMult, core.numNodes(), ml.probeIntervalMs);
  return 2 * o.broadcastTimeoutMs + o.leavePropagateDelayMs + suspicionMaxMs;
}

/**
 * One reaper round (Serf `handleReap`): expired failures, tombstones and buffered intents; and
 * (our addition, see the file comment) members stuck `leaving` go back to alive.
 */
export function reap(core: SerfCore): void {
  const now = core.clock.now();
  if (core.leavingSince.size > 0) {
    const bound = leaveCompletionBoundMs(core);
    for (const [name, since] of core.leavingSince) {
      if (now - since <= bound) break; // oldest first
      const m = core.members.get(name);
      if (m === undefined || m.status !== 'leaving') {
        core.leavingSince.delete(name);
        continue;
      }
      if (core.ml.member(name)?.status !== 'alive') continue;
      core.log.info('serf: a leave that never completed; the member is alive', {
        node: name,
        sinceMs: since,
      });
      setStatus(core, m, 'alive');
    }
  }
  for (const m of [...core.failedMembers.values()]) {
    if (now - m.leaveTime > core.opts.reconnectTimeoutMs) {
      core.log.info('serf: member-reap', { node: m.name, status: m.status });
      eraseNode(core, m);
    }
  }
  for (const m of [...core.leftMembers.values()]) {
    if (now - m.leaveTime > core.opts.tombstoneTimeoutMs) {
      core.log.info('serf: member-reap', { node: m.name, status: m.status });
      eraseNode(core, m);
    }
  }
  for (const [node, intent] of core.recentIntents) {
    if (now - intent.seenAt > core.opts.recentIntentTimeoutMs) core.recentIntents.delete(node);
  }
}

/**
 * The member to reconnect to this round, if any (Serf `reconnect`): with probability
 * `failed / alive`, one failed member at random, so that across the cluster each failed member
 * is tried about once per interval.
 */
export function pickReconnectTarget(core: SerfCore): MemberState | undefined {
  const failed = [...core.failedMembers.values()];
  if (failed.length === 0) return undefined;
  let alive = core.members.size - core.failedMembers.size - core.leftMembers.size;
  if (alive <= 0) alive = 1;
  if (core.random.float() > failed.length / alive) {
    core.log.debug('serf: forgoing reconnect for random throttling');
    return undefined;
  }
  return core.random.pick(failed);
}
