/**
 * SWIM failure detection with the Lifeguard extensions (memberlist `probe`/`probeNode`).
 *
 * Every probe interval one member is probed, round-robin over a list reshuffled at each wrap:
 *  1. a direct `ping` (a suspect member also gets our `suspect` piggybacked — Lifeguard's "buddy
 *     system" — so it can refute at once);
 *  2. no ack within `probeTimeoutMs`: `indirectChecks` random members are asked to probe it
 *     (with nacks from peers that understand them), and a TCP ping is tried in parallel;
 *  3. still no ack when the awareness-scaled probe interval ends: the member is suspected.
 *
 * Local health (Lifeguard): a successful probe lowers our health score; a failed one raises it
 * by the nacks we expected but did not get. In Node.js we also watch our own event loop: if we
 * were stalled while the verdict was due, the missing ack may be sitting unread in our socket,
 * so the verdict is deferred one event-loop turn, and if the stall still covers the probe, the
 * failure counts against our own health instead of against the target.
 */
import type { Timer } from '../runtime/clock.ts';
import { encodeMessage } from '../wire/memberlist.ts';
import type { Core } from './core.ts';
import { isDeadOrLeft, type NodeState, toMember } from './node-state.ts';
import { membershipSeams } from './seams.ts';
import { tcpPing } from './streams.ts';

/** Runs the probe loop: one probe per tick; a tick that arrives mid-probe starts the next probe when it ends. */
export class ProbeLoop {
  readonly #core: Core;
  #busy = false;
  #pendingTick = false;
  #stopped = false;

  constructor(core: Core) {
    this.#core = core;
  }

  /** A probe-interval tick. */
  tick(): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#pendingTick = true;
      return;
    }
    this.#runOne();
  }

  stop(): void {
    this.#stopped = true;
  }

  #runOne(): void {
    const node = nextProbeTarget(this.#core);
    if (node === undefined) return;
    this.#busy = true;
    probeNode(this.#core, node, () => {
      this.#busy = false;
      if (this.#pendingTick && !this.#stopped) {
        this.#pendingTick = false;
        this.#runOne();
      }
    });
  }
}

/** The next member to probe, skipping ourselves and dead or left members (memberlist `probe`). */
export function nextProbeTarget(core: Core): NodeState | undefined {
  let checked = 0;
  for (;;) {
    const list = core.nodes.list;
    if (checked >= list.length) return undefined;
    if (core.probeIndex >= list.length) {
      const forgotten = core.nodes.resetAndShuffle(
        core.clock.now(),
        core.opts.gossipToTheDeadTimeMs,
        core.random,
        core.opts.name,
      );
      for (const name of forgotten) core.log.debug('forgot a dead member', { node: name });
      core.probeIndex = 0;
      checked++;
      continue;
    }
    const node = list[core.probeIndex++]!;
    if (node.name === core.opts.name || isDeadOrLeft(node)) {
      checked++;
      continue;
    }
    return node;
  }
}

/** Probes one member; `done` runs when the probe has reached its verdict. */
export function probeNode(core: Core, node: NodeState, done: () => void): void {
  const opts = core.opts;
  // The member's entry as it is now: entries are replaced, never modified, and what is read
  // after the probe started (its incarnation at the verdict, say) must be the latest.
  const latest = () => core.nodes.get(node.name) ?? node;
  const probeIntervalMs = core.awareness.scaleTimeout(opts.probeIntervalMs);
  const seqNo = core.nextSeqNo();
  const ping = {
    seqNo,
    node: node.name,
    sourceAddr: core.advertiseIp,
    sourcePort: core.advertisePort,
    sourceNode: opts.name,
  };
  const sent = core.clock.now();
  core.stats.probes++;
  let finished = false;
  let nacks = 0;
  let expectedNacks = 0;
  let indirect = false;
  let tcpOutcome: 'pending' | 'ok' | 'failed' | 'none' = 'none';
  let waitingForTcp = false;

  const health = (delta: number, reason: string) => {
    if (core.awareness.applyDelta(delta)) core.events.emit('health', { score: core.awareness.score, reason });
  };
  /** The indirect-probe timer, cancelled by the verdict: an acked probe (nearly every one) wakes nothing up. */
  let indirectTimer: Timer | undefined;
  const finish = () => {
    finished = true;
    indirectTimer?.cancel();
    done();
  };

  const succeed = (rttMs: number | undefined, payload: Uint8Array | null, how: string) => {
    if (finished) return;
    health(-1, how);
    const notify = core.delegate.notifyPingComplete;
    if (rttMs !== undefined && notify !== undefined) {
      const member = core.nodes.member(node.name) ?? toMember(node, sent);
      core.callHook('notifyPingComplete', () => notify.call(core.delegate, member, rttMs, payload));
    }
    core.events.emit('probe', { target: node.name, ok: true, rttMs, indirect });
    finish();
  };

  /** When the verdict was due: a verdict that runs much later is itself evidence of a stall. */
  let verdictDueAt = sent + probeIntervalMs;
  let stallSeen = 0;
  const verdict = (deferred: boolean) => {
    if (finished || core.hasShutdown) {
      if (!finished) finish();
      return;
    }
    if (tcpOutcome === 'pending') {
      // The TCP ping shares the deadline and is about to answer; wait for it.
      waitingForTcp = true;
      return;
    }
    if (tcpOutcome === 'ok') {
      core.stats.tcpFallbackSuccesses++;
      core.log.warn(
        `was able to reach ${node.name} over TCP but not over UDP; the network may be misconfigured (is UDP to ${latest().address} blocked?)`,
        { node: node.name },
      );
      succeed(undefined, null, 'tcp-fallback');
      return;
    }
    const threshold = opts.eventLoopLagThresholdMs;
    if (threshold > 0) {
      const now = core.clock.now();
      stallSeen = Math.max(stallSeen, core.lag.maxLagBetween(sent, now), now - verdictDueAt);
      const stalled = stallSeen;
      if (stalled > threshold) {
        if (!deferred) {
          // Read whatever arrived while we were stalled before judging anyone: keep listening
          // for the ack for one more event-loop turn.
          armAckHandler(0, true);
          return;
        }
        core.stats.probesInconclusive++;
        health(1, 'event-loop-stall');
        core.log.warn('probe inconclusive: our own event loop stalled; not suspecting the target', {
          node: node.name,
          stalledMs: Math.round(stalled),
        });
        core.events.emit('probe', { target: node.name, ok: false, indirect, inconclusive: true });
        finish();
        return;
      }
    }
    // Lifeguard: penalize ourselves by the nacks that should have come back but did not.
    let delta = 0;
    if (expectedNacks > 0) {
      if (nacks < expectedNacks) delta += expectedNacks - nacks;
    } else {
      delta += 1;
    }
    health(delta, 'probe-failed');
    core.stats.probeFailures++;
    core.log.info(`suspect ${node.name} has failed, no acks received`, { node: node.name });
    core.events.emit('probe', { target: node.name, ok: false, indirect });
    const current = core.nodes.get(node.name);
    if (current !== undefined && current.status === 'alive') core.stats.suspicionsStarted++;
    membershipSeams.probeFailed(core, latest());
    finish();
  };

  const armAckHandler = (timeoutMs: number, deferred: boolean) => {
    verdictDueAt = core.clock.now() + timeoutMs;
    core.setAckHandler(
      seqNo,
      timeoutMs,
      (payload, receivedAt) => succeed(Math.max(0, receivedAt - sent), payload, 'probe-ok'),
      () => {
        nacks++;
      },
      () => verdict(deferred),
    );
  };
  armAckHandler(probeIntervalMs, false);

  if (node.status === 'alive') {
    core.sendMsg(node.address, { type: 'ping', body: ping });
  } else {
    core.sendToNode(node.address, [
      encodeMessage({ type: 'ping', body: ping }),
      encodeMessage({
        type: 'suspect',
        body: { incarnation: node.incarnation, node: node.name, from: opts.name },
      }),
    ]);
  }

  indirectTimer = core.clock.setTimer(opts.probeTimeoutMs, () => {
    if (finished || core.hasShutdown) return;
    indirect = true;
    core.stats.indirectProbes++;
    const target = latest();
    const helpers = core.nodes.randomNodes(
      opts.indirectChecks,
      core.random,
      (n) => n.name === opts.name || n.name === node.name || n.status !== 'alive',
    );
    for (const peer of helpers) {
      const nack = (peer.vsn[1] ?? 0) >= 4;
      if (nack) expectedNacks++;
      core.sendMsg(peer.address, {
        type: 'indirectPing',
        body: {
          seqNo,
          target: target.addr,
          port: target.port,
          node: node.name,
          nack,
          sourceAddr: core.advertiseIp,
          sourcePort: core.advertisePort,
          sourceNode: opts.name,
        },
      });
    }
    if (!opts.disableTcpPings && (target.vsn[1] ?? 0) >= 3) {
      tcpOutcome = 'pending';
      core.stats.tcpFallbackProbes++;
      tcpPing(core, target.address, ping, sent + probeIntervalMs, (ok) => {
        tcpOutcome = ok ? 'ok' : 'failed';
        if (waitingForTcp) {
          waitingForTcp = false;
          verdict(false);
        }
      });
    }
  });
}
