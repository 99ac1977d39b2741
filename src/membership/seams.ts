/**
 * Seams of the membership layer: the few protocol decisions a test may swap for a
 * deliberately broken variant (a *mutant*), to show that the simulator's invariant checkers
 * catch the bug (`test/sim/mutants.test.ts`; the mutants live in `test/support/mutants.ts`).
 *
 * Production code calls these decisions through {@link membershipSeams}, which holds the
 * production functions unless a test installed others with {@link installMembershipSeams}:
 * the cost is one property read per call, no branch and no allocation. This module is not
 * exported from the package (`src/index.ts`), and no option, environment variable or CLI flag
 * reaches it: a broken variant exists only inside a test process that installed one.
 *
 * A seam is a whole decision, not a flag: a mutant replaces what the node does at that point
 * (and may call the production function for the nodes it leaves alone), so the protocol code
 * carries no `if (mutant)` branches.
 */
import type { Core } from './core.ts';
import type { NodeState } from './node-state.ts';
import { type RefuteReason, refute, suspectNode } from './transitions.ts';

/** The replaceable decisions. Each is called on the protocol's single thread and must return promptly. */
export interface MembershipSeams {
  /**
   * Answers an accusation against ourselves (a suspect, a dead, or an alive with other facts)
   * at `accusedIncarnation`: production raises our incarnation above it and gossips an alive
   * (memberlist `refute`, transitions.ts).
   */
  refute(core: Core, me: NodeState, accusedIncarnation: number, reason: RefuteReason): void;
  /**
   * A probe of `target` failed (no ack, direct or indirect): production starts suspecting it
   * (memberlist `probeNode` → `suspectNode`); only a suspicion that times out declares it dead.
   */
  probeFailed(core: Core, target: NodeState): void;
}

/** The production decisions. */
export const productionMembershipSeams: Readonly<MembershipSeams> = Object.freeze({
  refute,
  probeFailed: (core: Core, target: NodeState) =>
    suspectNode(core, { incarnation: target.incarnation, node: target.name, from: core.opts.name }),
});

/** The decisions in effect: production's unless a test installed others. */
export const membershipSeams: MembershipSeams = { ...productionMembershipSeams };

/**
 * Tests only: replaces some decisions for every node of this process until the returned
 * function is called (which puts back what was there before).
 */
export function installMembershipSeams(overrides: Partial<MembershipSeams>): () => void {
  const saved = { ...membershipSeams };
  Object.assign(membershipSeams, overrides);
  return () => {
    Object.assign(membershipSeams, saved);
  };
}
