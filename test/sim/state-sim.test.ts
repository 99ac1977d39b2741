/**
 * The replicated state's property under the simulator (src/sim/state-sim.ts): after loss,
 * partitions, crashes (with and without their data), graceful leaves and restarts at older
 * generations, once faults stop every live node's copy of every live node's map equals that
 * node's own, and each live node's own map holds what was written to it.
 *
 * `npm test` runs a few seeds; a longer sweep: `STATE_SIM_SEEDS=1-500 node scripts/test.mjs
 * test/sim/state-sim.test.ts` (a failure prints the seed; `runStateSim({ seed })` replays it).
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStateSim } from '../../src/sim/state-sim.ts';

function seeds(): number[] {
  const spec = process.env.STATE_SIM_SEEDS ?? '1-6';
  const [from, to] = spec.split('-').map(Number) as [number, number | undefined];
  const out: number[] = [];
  for (let s = from; s <= (to ?? from); s++) out.push(s);
  return out;
}

test('state sim: under loss, partitions, churn and restarts, every live copy converges to its owner’s map', async () => {
  const totals = { writes: 0, resets: 0, generationBumps: 0, tombstonesCollected: 0, crashes: 0 };
  for (const seed of seeds()) {
    const r = await runStateSim({ seed });
    assert.ok(r.ok, `seed ${seed}: ${r.reason} (replay: runStateSim({ seed: ${seed} }))`);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
  }
  // The runs exercised what they are meant to: deletes collected, maps re-sent from scratch.
  assert.ok(
    totals.writes > 0 && totals.crashes > 0 && totals.resets > 0 && totals.tombstonesCollected > 0,
    JSON.stringify(totals),
  );
});

test('state sim: the same seed gives the same run', async () => {
  const a = await runStateSim({ seed: 42, faultPhaseMs: 20_000 });
  const b = await runStateSim({ seed: 42, faultPhaseMs: 20_000 });
  assert.deepEqual(a, b);
});
