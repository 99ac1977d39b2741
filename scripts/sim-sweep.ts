/**
 * `npm run test:sweep [-- --seeds N] [--base B] [--duration S] [--scenario NAME]`: the
 * simulator's randomized sweep at length (1000 seeds of the `random` scenario by default, from
 * GOSSIP_SIM_SEED_BASE or 1), on the full stack, every invariant checked in every run. Prints a
 * progress line now and then, the reproduce command of every failing seed, and what the
 * checkers were fed; exits 1 when a run failed or a kind of event was never observed.
 * `npm test` runs the first 100 of these seeds (test/sim/protocol-sim.test.ts).
 */
import { parseArgs } from 'node:util';
import { SCENARIO_NAMES, type ScenarioName } from '../src/sim/scenario.ts';
import { runSweep, unobserved } from '../src/sim/sweep.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    base: { type: 'string', default: process.env.GOSSIP_SIM_SEED_BASE ?? '1' },
    duration: { type: 'string', default: '30' },
    scenario: { type: 'string', default: 'random' },
  },
});
const seeds = Number(values.seeds);
const base = Number(values.base);
const durationS = Number(values.duration);
const scenario = values.scenario as ScenarioName;
const problems = [
  Number.isInteger(seeds) && seeds > 0 ? null : `--seeds must be a whole number above 0, got ${values.seeds}`,
  Number.isSafeInteger(base) && base >= 0 ? null : `--base must be a whole number >= 0, got ${values.base}`,
  durationS > 0 ? null : `--duration must be a number of seconds above 0, got ${values.duration}`,
  SCENARIO_NAMES.includes(scenario) ? null : `--scenario must be one of ${SCENARIO_NAMES.join(', ')}`,
].filter((p) => p !== null);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(2);
}

const started = performance.now();
const sweep = await runSweep({
  scenario,
  seeds,
  base,
  durationS,
  onRun: (r) => {
    if (!r.isOk) console.log(`seed ${r.params.seed}: FAIL`);
    const done = r.params.seed - base + 1;
    if (done % 50 === 0 || done === seeds)
      console.error(`${done}/${seeds} seeds, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  },
});
const wallS = (performance.now() - started) / 1000;
for (const f of sweep.failures) {
  console.log(`seed ${f.seed}:`);
  for (const v of f.violations) console.log(`  [${v.checker}] at ${v.atMs} ms: ${v.reason}`);
  console.log(`  reproduce: ${f.reproduce}`);
}
const list = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
console.log(
  `sweep: ${sweep.runs} seeds of ${scenario} from ${base}, ${(sweep.simulatedMs / 1000).toFixed(0)} s simulated in ${wallS.toFixed(1)} s wall, ${sweep.failures.length} failed`,
);
console.log(`observed: ${list(sweep.observed.events)}`);
console.log(`checked: ${list(sweep.observed.checks)}`);
console.log(`protocol: ${list(sweep.protocol as unknown as Record<string, number>)}`);
const missing = unobserved(sweep);
for (const m of missing) console.log(`unobserved: ${m}`);
process.exit(sweep.failures.length > 0 || missing.length > 0 ? 1 : 0);
