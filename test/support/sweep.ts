/**
 * The sweep of `npm test`, shared by the clean sweep (test/sim/protocol-sim.test.ts) and the
 * mutation tests (test/sim/mutants.test.ts), so that both run the same seeds.
 */

/**
 * Seeds of the sweep: about 10 s on an idle machine with the full stack (Serf over
 * memberlist); `npm run test:sweep` runs more (1000 by default).
 */
export const SWEEP_SEEDS = 100;
/** Safety phase of each sweep run, virtual seconds: short, so the whole sweep takes seconds. */
export const SWEEP_DURATION_S = 30;

/** The first seed: GOSSIP_SIM_SEED_BASE, default 1 (so CI runs the same ones). */
export function sweepSeedBase(): number {
  return Number(process.env.GOSSIP_SIM_SEED_BASE ?? 1);
}
