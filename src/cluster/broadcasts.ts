/**
 * Serf's three gossip queues (Serf `broadcast.go`, `delegate.go` `GetBroadcasts`,
 * `checkQueueDepth`): join and leave intents, queries, and user events. Each is a
 * transmit-limited queue whose retransmit limit is `retransmitMult × ceil(log10(n + 1))`, with
 * `n` the number of members Serf knows (failed and left ones included, as Serf counts).
 *
 * Serf broadcasts never replace each other (they are unnamed). memberlist fills each packet
 * with its own broadcasts first, then asks for these, and they are handed out in the order
 * intents → queries → events within the space left.
 *
 * Bounds: each queue holds at most `maxQueueDepth` messages (or `max(minQueueDepth, 2 × members)`
 * when `minQueueDepth` is set, enforced at each queue check). Serf prunes only at its 30 s queue
 * check; here the static limit is enforced at every insertion, so a burst cannot overshoot it.
 */
import type { TransmitLimitedQueue } from '../membership/queue.ts';
import type { Addr } from '../transport/transport.ts';
import type { SerfCore } from './core.ts';

/**
 * Broadcasts for one packet to `to`: intents, then queries, then events, within `limit` bytes;
 * then what extensions hand out for `to` in the space left (see `extension.ts`).
 */
export function getBroadcasts(core: SerfCore, overhead: number, limit: number, to: Addr): Uint8Array[] {
  const out: Uint8Array[] = [];
  let used = 0;
  for (const queue of [core.intentQueue, core.queryQueue, core.eventQueue]) {
    const msgs = queue.getBroadcasts(overhead, limit - used);
    for (const m of msgs) {
      used += overhead + m.length;
      out.push(m);
    }
  }
  for (const ext of core.extensions.values()) {
    if (ext.getBroadcasts === undefined || limit - used <= overhead) continue;
    let msgs: Uint8Array[];
    try {
      msgs = ext.getBroadcasts(overhead, limit - used, to);
    } catch (e) {
      core.log.error('serf: an extension threw handing out broadcasts; ignoring it', {
        extension: ext.capability,
        error: String(e),
      });
      continue;
    }
    for (const m of msgs) {
      used += overhead + m.length;
      out.push(m);
    }
  }
  return out;
}

/**
 * Whether {@link getBroadcasts} could hand anything out: a queue holds a message, or an
 * extension with `getBroadcasts` says it has some pending (or cannot say: no
 * `broadcastsPending` hook, or it threw).
 */
export function broadcastsPending(core: SerfCore): boolean {
  if (core.intentQueue.length > 0 || core.queryQueue.length > 0 || core.eventQueue.length > 0) return true;
  for (const ext of core.extensions.values()) {
    if (ext.getBroadcasts === undefined) continue;
    try {
      if (ext.broadcastsPending?.() ?? true) return true;
    } catch (e) {
      core.log.error('serf: an extension threw saying whether broadcasts are pending; asking it', {
        extension: ext.capability,
        error: String(e),
      });
      return true;
    }
  }
  return false;
}

/** The queue limit in force (Serf `getQueueMax`). */
export function queueMax(core: SerfCore): number {
  const o = core.opts;
  if (o.minQueueDepth > 0) return Math.max(o.minQueueDepth, 2 * core.members.size);
  return o.maxQueueDepth;
}

/** One queue check: warn about deep queues and prune those over the limit. */
export function checkQueues(core: SerfCore): void {
  const queues: [string, TransmitLimitedQueue][] = [
    ['intent', core.intentQueue],
    ['event', core.eventQueue],
    ['query', core.queryQueue],
  ];
  const max = queueMax(core);
  for (const [name, queue] of queues) {
    const depth = queue.length;
    if (depth >= core.opts.queueDepthWarning) {
      core.log.warn('serf: broadcast queue is deep', { queue: name, depth });
    }
    if (depth > max) {
      core.log.warn('serf: broadcast queue over its limit; dropping the most transmitted', {
        queue: name,
        depth,
        limit: max,
      });
      queue.prune(max);
    }
  }
}
