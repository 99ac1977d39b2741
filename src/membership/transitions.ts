/**
 * SWIM state transitions (memberlist `state.go`: `aliveNode`, `suspectNode`, `deadNode`,
 * `refute`, `mergeState`), with the admission rules of `admission.ts`. Incarnation numbers order the claims about a member:
 * only the member itself raises its own, and a claim with a lower incarnation than known loses.
 *
 * Every accepted claim is re-gossiped (infection-style dissemination), and every accusation
 * against ourselves is refuted with a higher incarnation.
 */
import type { Addr } from '../transport/transport.ts';
import { sameBytes } from '../wire/bytes.ts';
import type { Alive, Dead, PushNodeState, Suspect } from '../wire/memberlist.ts';
import { sourceOf, versionIncompatibility } from './admission.ts';
import type { Core } from './core.ts';
import { internAddressOf, internBytes, internName, internState, internVsn } from './intern.ts';
import { suspicionTimeoutMs } from './math.ts';
import {
  addressOf,
  isDeadOrLeft,
  type NodeState,
  type NodeStatus,
  STATUS_BY_CODE,
  toMember,
} from './node-state.ts';
import { BroadcastPriority } from './queue.ts';
import { membershipSeams } from './seams.ts';
import { Suspicion } from './suspicion.ts';

/**
 * The shared entry with these values (intern.ts): every entry is built here, in one shape, and
 * replaces the one before it (entries are never modified).
 */
function entry(
  name: string,
  addr: Uint8Array,
  port: number,
  address: string,
  meta: Uint8Array,
  incarnation: number,
  status: NodeStatus,
  vsn: readonly number[],
): NodeState {
  return internState({ name, addr, port, address, meta, incarnation, status, vsn });
}

/** `state` with another incarnation and status. */
function withStatus(state: NodeState, incarnation: number, status: NodeStatus): NodeState {
  const s = state;
  return entry(s.name, s.addr, s.port, s.address, s.meta, incarnation, status, s.vsn);
}

/** Options of {@link aliveNode}. */
export interface AliveOptions {
  /** Our own initial (or updated) alive: applied to ourselves without refuting. */
  bootstrap?: boolean;
  /** Learns when the resulting broadcast has been fully transmitted. */
  finished?: (how: 'sent' | 'replaced' | 'dropped') => void;
  /**
   * Who sent a gossiped claim: a claim about a never-seen name spends one token of its source
   * IP's budget (`maxNewNamesPerSourcePerSecond`). Absent for push-pull entries and our own.
   */
  source?: Addr;
  /**
   * False: the accepted claim is not queued for re-gossip (`Memberlist.assumeMembers`, the
   * simulator's warm start, where every node already holds it and nobody is left to tell).
   * @default true
   */
  regossip?: boolean;
}

/**
 * Drops (and counts) a claim about another member whose version vector cannot work with ours
 * (admission.ts), logging each name once. Returns true when the claim may go on.
 */
export function admitVersions(core: Core, node: string, vsn: readonly number[]): boolean {
  const why = versionIncompatibility(core.versionVector, vsn);
  if (why === undefined) return true;
  core.count(core.stats.dropped, 'incompatible-version');
  if (core.incompatibleLogged.add(node)) {
    core.log.warn(`ignoring member "${node}": ${why} (logged once per name)`, { node, vsn: [...vsn] });
  }
  return false;
}

/** Applies an alive claim. */
export function aliveNode(core: Core, a: Alive, options: AliveOptions = {}): void {
  const selfName = core.opts.name;
  if (core.hasLeft && a.node === selfName) return;
  if (a.node !== selfName) {
    if (!admitVersions(core, a.node, a.vsn)) return;
  } else if (a.vsn.length >= 3) {
    // A claim about ourselves goes on to be refuted unless memberlist would ignore it.
    const [pMin, pMax] = a.vsn as [number, number, number];
    if (pMin === 0 || pMax === 0 || pMin > pMax) {
      core.log.warn('ignoring an alive about ourselves with invalid protocol versions', { vsn: a.vsn });
      return;
    }
  }
  if (core.delegate.notifyAlive) {
    if (a.vsn.length < 6) {
      core.log.warn('ignoring an alive without a version vector', { node: a.node });
      return;
    }
    const candidate = toMember(fromAlive(a), core.clock.now());
    const veto = core.callHook('notifyAlive', () => core.delegate.notifyAlive!(candidate));
    if (veto) {
      core.log.warn('alive vetoed by the delegate', { node: a.node, reason: veto.message });
      return;
    }
  }

  let state = core.nodes.get(a.node);
  let updatesNode = false;
  if (state === undefined) {
    if (core.nodes.size >= core.opts.maxMembers) {
      core.drop(
        'member-limit',
        options.source ?? '',
        `"${a.node}": the table holds ${core.opts.maxMembers} members`,
      );
      return;
    }
    if (
      options.source !== undefined &&
      !core.newNameLimiter.take(sourceOf(options.source), core.clock.now())
    ) {
      core.count(core.stats.dropped, 'new-name-rate');
      return;
    }
    // A new member starts "dead" with incarnation 0 so that accepting the alive below is a join.
    // What an entry keeps is shared with equal entries (intern.ts), never a decoded buffer.
    const addr = internBytes(a.addr);
    state = entry(
      internName(a.node),
      addr,
      a.port,
      internAddressOf(addr, a.port, () => addressOf(a.addr, a.port)),
      internBytes(a.meta),
      0,
      'dead',
      internVsn(a.vsn.length < 6 ? [] : a.vsn),
    );
    core.nodes.insert(state, core.clock.now(), core.random);
  } else if (!sameBytes(state.addr, a.addr) || state.port !== a.port) {
    const reclaim = core.opts.deadNodeReclaimTimeMs;
    const canReclaim = reclaim > 0 && core.clock.now() - core.nodes.stateChangeAt(a.node)! > reclaim;
    if (state.status === 'left' || (state.status === 'dead' && canReclaim)) {
      core.log.info('updating the address of a left or failed member', {
        node: a.node,
        from: state.address,
        to: addressOf(a.addr, a.port),
      });
      updatesNode = true;
    } else {
      const existing = core.nodes.member(a.node)!;
      const other = toMember(fromAlive(a), core.clock.now());
      core.log.error('conflicting address for a member name', {
        node: a.node,
        known: existing.address,
        claimed: other.address,
        knownStatus: existing.status,
      });
      core.callHook('notifyConflict', () => core.delegate.notifyConflict?.(existing, other));
      return;
    }
  }

  const isLocal = state.name === selfName;
  if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
  if (a.incarnation < state.incarnation && isLocal) return;

  cancelSuspicion(core, a.node);
  const oldStatus = state.status;
  const oldMeta = state.meta;

  if (!options.bootstrap && isLocal) {
    // Someone claims we are alive with different facts (a restart, or old news): refute unless identical.
    if (a.incarnation === state.incarnation && sameBytes(a.meta, state.meta) && sameBytes(a.vsn, state.vsn))
      return;
    membershipSeams.refute(core, state, a.incarnation, 'alive');
    return;
  }
  if (options.regossip !== false) {
    core.broadcast(
      a.node,
      { type: 'alive', body: a },
      isLocal ? BroadcastPriority.self : BroadcastPriority.normal,
      options.finished,
    );
  }
  let { addr, port, address } = state;
  if (!sameBytes(addr, a.addr) || port !== a.port) {
    addr = internBytes(a.addr);
    port = a.port;
    address = internAddressOf(addr, a.port, () => addressOf(a.addr, a.port));
  }
  state = entry(
    state.name,
    addr,
    port,
    address,
    internBytes(a.meta),
    a.incarnation,
    'alive',
    a.vsn.length >= 6 ? internVsn(a.vsn) : state.vsn,
  );
  core.nodes.update(state, oldStatus !== 'alive' ? core.clock.now() : undefined);
  if (oldStatus === 'suspect') core.events.emit('memberRefuted', { member: core.nodes.member(a.node)! });
  if (oldStatus === 'dead' || oldStatus === 'left') {
    core.events.emit('join', { member: core.nodes.member(a.node)! });
  } else if (!sameBytes(oldMeta, state.meta)) {
    core.events.emit('update', { member: core.nodes.member(a.node)! });
  }
}

/** An alive claim as an entry (not shared: for a delegate's look only). */
function fromAlive(a: Alive): NodeState {
  return {
    name: a.node,
    addr: a.addr,
    port: a.port,
    address: addressOf(a.addr, a.port),
    meta: a.meta,
    incarnation: a.incarnation,
    status: 'alive',
    vsn: internVsn(a.vsn),
  };
}

function cancelSuspicion(core: Core, node: string): void {
  const s = core.suspicions.get(node);
  if (s !== undefined) {
    s.cancel();
    core.suspicions.delete(node);
  }
}

/** Applies a suspicion. */
export function suspectNode(core: Core, s: Suspect): void {
  const state = core.nodes.get(s.node);
  if (state === undefined || s.incarnation < state.incarnation) return;
  const existing = core.suspicions.get(s.node);
  if (existing !== undefined) {
    // Lifeguard: an independent confirmation shortens the timer; re-gossip only new ones.
    if (existing.confirm(s.from)) core.broadcast(s.node, { type: 'suspect', body: s });
    return;
  }
  if (state.status !== 'alive') return;
  if (state.name === core.opts.name) {
    membershipSeams.refute(core, state, s.incarnation, 'suspect');
    core.log.warn('refuting a suspicion of ourselves', { from: s.from });
    return;
  }
  core.broadcast(s.node, { type: 'suspect', body: s });
  const changeTime = core.clock.now();
  core.nodes.update(withStatus(state, s.incarnation, 'suspect'), changeTime);

  const n = core.numNodes();
  let k = core.opts.suspicionMult - 2;
  if (n - 2 < k) k = 0;
  const min = suspicionTimeoutMs(core.opts.suspicionMult, n, core.opts.probeIntervalMs);
  const max = core.opts.suspicionMaxTimeoutMult * min;
  core.suspicions.set(
    s.node,
    new Suspicion(
      core.clock,
      s.from,
      k,
      min,
      max,
      (confirmations) => {
        const st = core.nodes.get(s.node);
        if (st === undefined || st.status !== 'suspect' || core.nodes.stateChangeAt(s.node) !== changeTime)
          return;
        core.log.info('marking a member as failed: suspicion timed out', { node: st.name, confirmations });
        core.stats.deadDeclared++;
        deadNode(core, { incarnation: st.incarnation, node: st.name, from: core.opts.name });
        core.events.emit('dead', { member: core.nodes.member(s.node)!, confirmations });
      },
      core.opts.eventLoopLagThresholdMs,
    ),
  );
  core.events.emit('suspect', { member: core.nodes.member(s.node)!, from: s.from });
}

/**
 * Applies a death (or, when `from === node`, a voluntary leave). `finished` learns when our own
 * leave broadcast has been fully transmitted.
 */
export function deadNode(
  core: Core,
  d: Dead,
  finished?: (how: 'sent' | 'replaced' | 'dropped') => void,
): void {
  const state = core.nodes.get(d.node);
  if (state === undefined || d.incarnation < state.incarnation) return;
  cancelSuspicion(core, d.node);
  if (isDeadOrLeft(state)) {
    if (state.name !== core.opts.name) newerDeath(core, state, d);
    return;
  }
  if (state.name === core.opts.name) {
    if (!core.hasLeft) {
      membershipSeams.refute(core, state, d.incarnation, 'dead');
      core.log.warn('refuting a death notice about ourselves', { from: d.from });
      return;
    }
    core.broadcast(d.node, { type: 'dead', body: d }, BroadcastPriority.leave, finished);
  } else {
    core.broadcast(d.node, { type: 'dead', body: d });
  }
  core.nodes.update(withStatus(state, d.incarnation, d.node === d.from ? 'left' : 'dead'), core.clock.now());
  core.events.emit('leave', { member: core.nodes.member(d.node)! });
}

/**
 * A death notice about a member we already hold dead or left, which memberlist ignores. When it
 * is newer (a higher incarnation, or the member's own leave at the incarnation of our dead
 * verdict), we take its incarnation and gossip it on, and a leave turns our `dead` into `left`.
 * Otherwise a member we declared dead at incarnation 1 that then refuted elsewhere (to 2, across
 * an asymmetric partition, say) and left at 2 comes back alive here on the first alive at 2
 * still in flight, though the news of its leave at 2 reached us first (found by the
 * simulator's resurrection check, seed 413 of `npm run test:sweep`). Only newer news is taken,
 * so nothing is gossiped twice.
 */
function newerDeath(core: Core, state: NodeState, d: Dead): void {
  const becomesLeft = d.node === d.from && state.status === 'dead';
  if (d.incarnation === state.incarnation && !becomesLeft) return;
  core.broadcast(d.node, { type: 'dead', body: d });
  core.nodes.update(withStatus(state, d.incarnation, becomesLeft ? 'left' : state.status));
  if (becomesLeft) core.events.emit('leave', { member: core.nodes.member(d.node)! });
}

/** What a refutation answers: a suspicion, a death notice, or an alive claim with other facts. */
export type RefuteReason = 'suspect' | 'dead' | 'alive';

/**
 * Refutes an accusation against ourselves: a higher incarnation, gossiped first. Called
 * through {@link membershipSeams} (seams.ts), where a test may swap it for a broken variant.
 */
export function refute(core: Core, me: NodeState, accusedIncarnation: number, reason: RefuteReason): void {
  let inc = core.nextIncarnation();
  if (accusedIncarnation >= inc) {
    core.incarnation = (accusedIncarnation + 1) >>> 0;
    inc = core.incarnation;
  }
  core.nodes.update(withStatus(me, inc, me.status));
  core.stats.refutes++;
  if (core.awareness.applyDelta(1))
    core.events.emit('health', { score: core.awareness.score, reason: 'refute' });
  core.broadcast(
    me.name,
    {
      type: 'alive',
      body: { incarnation: inc, node: me.name, addr: me.addr, port: me.port, meta: me.meta, vsn: me.vsn },
    },
    BroadcastPriority.self,
  );
  core.events.emit('refute', { incarnation: inc, accusedIncarnation, reason });
}

/**
 * Merges a push-pull's node states (memberlist `mergeState`): alive → alive claim; left → leave;
 * dead or suspect → only a *suspicion* locally (a remote "dead" never kills directly).
 */
export function mergeState(core: Core, remote: readonly PushNodeState[]): void {
  for (const r of remote) {
    switch (STATUS_BY_CODE[r.state]) {
      case 'alive':
        aliveNode(core, {
          incarnation: r.incarnation,
          node: r.name,
          addr: r.addr,
          port: r.port,
          meta: r.meta,
          vsn: r.vsn,
        });
        break;
      case 'left':
        deadNode(core, { incarnation: r.incarnation, node: r.name, from: r.name });
        break;
      case 'dead':
      case 'suspect':
        suspectNode(core, { incarnation: r.incarnation, node: r.name, from: core.opts.name });
        break;
    }
  }
}
