/**
 * Infection-style dissemination (memberlist `gossip`): every gossip interval, queued broadcasts
 * go to `gossipNodes` random members — alive, suspect, or dead for less than
 * `gossipToTheDeadTimeMs` (so a member declared dead by mistake hears of it and refutes).
 * Broadcasts also ride on every probe, ack and nack (see `Core.sendMsg`).
 */
import { encryptionOverhead } from '../wire/crypto.ts';
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD } from '../wire/limits.ts';
import type { Core } from './core.ts';

/** One gossip round. */
export function gossip(core: Core): void {
  const now = core.clock.now();
  const targets = core.nodes.randomNodes(core.opts.gossipNodes, core.random, (n) => {
    if (n.name === core.opts.name) return true;
    switch (n.status) {
      case 'alive':
      case 'suspect':
        return false;
      case 'dead':
        return now - n.stateChangeAt > core.opts.gossipToTheDeadTimeMs;
      default:
        return true;
    }
  });
  let bytesAvail = core.opts.udpBufferBytes - COMPOUND_HEADER_OVERHEAD;
  if (core.encrypting) bytesAvail -= encryptionOverhead(core.encryptionVersion);
  for (const node of targets) {
    const msgs = core.getBroadcasts(COMPOUND_PART_OVERHEAD, bytesAvail);
    if (msgs.length === 0) return;
    core.sendToNode(node.address, msgs);
  }
}
