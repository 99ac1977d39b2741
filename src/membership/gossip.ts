/**
 * Infection-style dissemination (memberlist `gossip`): every gossip interval, queued broadcasts
 * go to `gossipNodes` random members — alive, suspect, or dead for less than
 * `gossipToTheDeadTimeMs` (so a member declared dead by mistake hears of it and refutes).
 * Broadcasts also ride on every probe, ack and nack (see `Core.sendMsg`).
 */
import { encryptionOverhead } from '../wire/crypto.ts';
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD } from '../wire/limits.ts';
import type { Core } from './core.ts';
import type { NodeState } from './node-state.ts';

/** One gossip round. */
export function gossip(core: Core): void {
  // Nothing queued here, and no delegate queue to ask or nothing in it: nothing can be sent this
  // round, so no targets are drawn either. (memberlist draws them first regardless; skipping
  // the draw only changes which later random choices this node makes, and it was an eighth of
  // the protocol simulator's time at 1 000 nodes: five draws of three members a second a node.)
  if (core.queue.length === 0 && !core.delegateMayBroadcast()) return;
  const now = core.clock.now();
  const targets = core.nodes.randomNodes(core.opts.gossipNodes, core.random, (n, changedAt) =>
    isNotGossipTarget(core, n, changedAt, now),
  );
  let bytesAvail = core.opts.udpBufferBytes - COMPOUND_HEADER_OVERHEAD - core.labelOverhead;
  if (core.encrypting) bytesAvail -= encryptionOverhead(core.encryptionVersion);
  for (const node of targets) {
    // What is handed out may depend on the target (a delegate can keep some broadcasts for
    // members that understand them), so an empty hand-out ends nothing: the next target is asked.
    const msgs = core.getBroadcasts(COMPOUND_PART_OVERHEAD, bytesAvail, node.address);
    if (msgs.length === 0) continue;
    core.sendToNode(node.address, msgs);
  }
}

function isNotGossipTarget(core: Core, n: NodeState, stateChangeAt: number, now: number): boolean {
  switch (n.status) {
    case 'alive':
    case 'suspect':
      return n.name === core.opts.name;
    case 'dead':
      return n.name === core.opts.name || now - stateChangeAt > core.opts.gossipToTheDeadTimeMs;
    default:
      return true;
  }
}
