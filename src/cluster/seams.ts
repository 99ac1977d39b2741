/**
 * Seams of the Serf layer: the decisions a test may swap for a deliberately broken variant (a
 * *mutant*), as `src/membership/seams.ts` does for memberlist; the mutants live in
 * `test/support/mutants.ts`. Production calls through {@link serfSeams}, which holds the
 * production functions unless a test installed others: one property read per call. Not
 * exported from the package; no option or CLI flag reaches it.
 */
import type { MessageLeave, MessageUserEvent } from '../wire/serf.ts';
import type { SerfCore } from './core.ts';
import { handleUserEvent } from './events.ts';
import { handleNodeLeaveIntent } from './members.ts';

/** The replaceable decisions. Each is called on the protocol's single thread and must return promptly. */
export interface SerfSeams {
  /**
   * Another node's leave intent arrived, gossiped or among a push-pull's left members: apply it
   * (members.ts `handleNodeLeaveIntent`) and say whether to gossip it on. Our own leave and
   * force-leave apply theirs directly.
   */
  leaveIntentReceived(core: SerfCore, msg: MessageLeave): boolean;
  /**
   * Another node's user event arrived, gossiped or replayed from a push-pull's event ring:
   * deliver it unless already seen (events.ts `handleUserEvent`) and say whether to gossip it
   * on. Our own events are delivered directly.
   */
  userEventReceived(core: SerfCore, msg: MessageUserEvent): boolean;
}

/** The production decisions. */
export const productionSerfSeams: Readonly<SerfSeams> = Object.freeze({
  leaveIntentReceived: handleNodeLeaveIntent,
  userEventReceived: handleUserEvent,
});

/** The decisions in effect: production's unless a test installed others. */
export const serfSeams: SerfSeams = { ...productionSerfSeams };

/**
 * Tests only: replaces some decisions for every node of this process until the returned
 * function is called (which puts back what was there before).
 */
export function installSerfSeams(overrides: Partial<SerfSeams>): () => void {
  const saved = { ...serfSeams };
  Object.assign(serfSeams, overrides);
  return () => {
    Object.assign(serfSeams, saved);
  };
}
