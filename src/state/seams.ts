/**
 * Seams of the replicated state: the decisions a test may swap for a deliberately broken
 * variant (a *mutant*), as `src/cluster/seams.ts` does for Serf; the state's mutants live in
 * `test/sim/state-mutants.test.ts`, which checks that the simulator's property catches each.
 * Production calls through {@link stateSeams}, which holds the production functions unless a
 * test installed others: one property read per call. Not exported from the package; no option
 * or CLI flag reaches it.
 */

/** The replaceable decisions. Pure functions of their arguments. */
export interface StateSeams {
  /**
   * The gap-free rule for a gossiped change: may the change at `version` be applied to a map
   * whose gap-free high-water mark is `max`? (Otherwise it waits for the versions before it.)
   */
  isNextInLine(max: number, version: number): boolean;
  /**
   * The collection rule: may a peer whose map reaches `horizon` be sent a run of changes from
   * its max, when we collected tombstones up to `gc`? (Otherwise it gets the map from scratch.)
   */
  canSendRun(horizon: number, gc: number): boolean;
}

/** The production decisions. */
export const productionStateSeams: Readonly<StateSeams> = Object.freeze({
  isNextInLine: (max: number, version: number) => version === max + 1,
  canSendRun: (horizon: number, gc: number) => horizon >= gc,
});

/** The decisions in effect: production's unless a test installed others. */
export const stateSeams: StateSeams = { ...productionStateSeams };

/**
 * Tests only: replaces some decisions for every state of this process until the returned
 * function is called (which puts back what was there before).
 */
export function installStateSeams(overrides: Partial<StateSeams>): () => void {
  const saved = { ...stateSeams };
  Object.assign(stateSeams, overrides);
  return () => {
    Object.assign(stateSeams, saved);
  };
}
