/**
 * Mutation tests of the simulator's checkers: each mutant (test/support/mutants.ts) is a
 * deliberately broken protocol variant installed on one node through the protocol's seams;
 * the sweep of `npm test` (the same seeds, the same scenario) must catch it, with the checker
 * made for that bug and a reason string saying what went wrong. The sweep stops at the first
 * run that catches the mutant; the clean sweep (protocol-sim.test.ts) passes on every one of
 * these seeds, so the catch is the mutant's doing.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSweep } from '../../src/sim/sweep.ts';
import { MUTANTS } from '../support/mutants.ts';
import { SWEEP_DURATION_S, SWEEP_SEEDS, sweepSeedBase } from '../support/sweep.ts';

/** The broken node: slot 1, which runs in every seed (the random scenario has at least 4 nodes). */
const MUTANT_NODE = 'n1';

describe('simulator mutation tests: the sweep catches every mutant with the right checker', () => {
  for (const [name, mutant] of Object.entries(MUTANTS)) {
    it(`${name} (${mutant.description}) is caught by the ${mutant.checker} checker`, async () => {
      const isCaught = (v: { checker: string; reason: string }) =>
        v.checker === mutant.checker && mutant.reason.test(v.reason);
      const remove = mutant.install((node) => node === MUTANT_NODE);
      let sweep: Awaited<ReturnType<typeof runSweep>>;
      try {
        sweep = await runSweep({
          seeds: SWEEP_SEEDS,
          base: sweepSeedBase(),
          durationS: SWEEP_DURATION_S,
          isDone: (r) => r.violations.some(isCaught),
        });
      } finally {
        remove();
      }
      const catching = sweep.failures.find((f) => f.violations.some(isCaught));
      assert.ok(
        catching !== undefined,
        `${name} on ${MUTANT_NODE} was not caught by ${mutant.checker} in ${sweep.runs} seeds; failures seen:\n` +
          sweep.failures
            .map((f) => `seed ${f.seed}: ${f.violations.map((v) => `[${v.checker}] ${v.reason}`).join('; ')}`)
            .join('\n'),
      );
      const violation = catching.violations.find(isCaught)!;
      const checkers = [...new Set(catching.violations.map((v) => v.checker))].join(', ');
      console.log(
        `${name}: caught at seed ${catching.seed} (run ${sweep.runs} of the sweep) by [${violation.checker}] ${violation.reason}` +
          ` (checkers that fired: ${checkers}; the run without the mutant: ${catching.reproduce})`,
      );
    });
  }
});
