/**
 * Mutation tests of the replicated state's simulator property (src/sim/state-sim.ts): each
 * mutant breaks one rule through the state's seams (src/state/seams.ts), and the sweep must
 * then fail on some seed with the reason the property gives. A mutant no seed catches means
 * the sweep does not test that rule.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStateSim } from '../../src/sim/state-sim.ts';
import { installStateSeams, type StateSeams } from '../../src/state/seams.ts';

const MUTANTS: Record<string, { description: string; seams: Partial<StateSeams>; reason: RegExp }> = {
  'no-gap-free-rule': {
    description: 'a gossiped change is applied as soon as it is newer, skipping the versions before it',
    seams: { isNextInLine: (max, version) => version > max },
    reason: /holds n\d+'s map as .*, n\d+ as /,
  },
  'runs-past-collection': {
    description: 'a peer behind our collection point gets a run of changes instead of the map from scratch',
    seams: { canSendRun: () => true },
    reason: /holds n\d+'s map as .*, n\d+ as /,
  },
};

for (const [name, m] of Object.entries(MUTANTS)) {
  test(`state mutant ${name} (${m.description}) is caught by the sweep`, async () => {
    const options = (seed: number) => ({ seed, faultPhaseMs: 40_000, convergenceBoundMs: 60_000 });
    let caught: { seed: number; reason: string } | undefined;
    const undo = installStateSeams(m.seams);
    try {
      for (let seed = 1; seed <= 12 && caught === undefined; seed++) {
        const r = await runStateSim(options(seed));
        if (!r.ok) caught = { seed, reason: r.reason ?? '' };
      }
    } finally {
      undo();
    }
    assert.ok(caught !== undefined, `no seed caught the ${name} mutant`);
    assert.match(caught.reason, m.reason);
    // The same seed passes with the production rule: it is the mutant the run caught.
    const clean = await runStateSim(options(caught.seed));
    assert.ok(clean.ok, `seed ${caught.seed} fails without the mutant too: ${clean.reason}`);
    console.log(`${name}: caught by seed ${caught.seed}: ${caught.reason.slice(0, 160)}`);
  });
}
