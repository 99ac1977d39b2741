/**
 * The randomized sweep: one scenario (`random` by default) over a range of seeds, every
 * invariant checked in every run, and what the checkers were fed summed over the runs.
 *
 * A sweep passes when no run failed *and* every kind of observation its checkers depend on
 * was seen at least once ({@link unobserved}): a checker whose events stopped arriving (an
 * observer unplugged, a renamed event) would otherwise stay green for ever. `npm test` runs a
 * short sweep (test/sim/protocol-sim.test.ts); the mutation tests run it with a broken
 * protocol variant installed and stop at the first run that catches it.
 */
import type { Violation } from './checkers/trace.ts';
import { type ObservedResult, type ProtocolSimResult, runProtocolSim } from './protocol-sim.ts';
import type { ScenarioName } from './scenario.ts';
import type { ProtocolTotals } from './sim-cluster.ts';

/** Options of {@link runSweep}. */
export interface SweepOptions {
  /** @default 'random' */
  scenario?: ScenarioName | undefined;
  /** Seeds run: `base`, `base + 1`, ... */
  seeds: number;
  base: number;
  /** Safety phase of each run, virtual seconds. */
  durationS: number;
  /** Stops after the first run for which it returns true (the mutation tests: the first catch). */
  isDone?: ((result: ProtocolSimResult) => boolean) | undefined;
  /** Called after each run (a progress line). Must not throw. */
  onRun?: ((result: ProtocolSimResult) => void) | undefined;
}

/** A run that failed. */
export interface SweepFailure {
  seed: number;
  violations: Violation[];
  /** The command that replays the run, with its figures in a table. */
  reproduce: string;
}

/** What a sweep did and saw. */
export interface SweepResult {
  /** Runs made (fewer than the seeds when `isDone` stopped the sweep). */
  runs: number;
  failures: SweepFailure[];
  /** Virtual time simulated over every run, ms. */
  simulatedMs: number;
  /** Observations summed over every run. */
  observed: ObservedResult;
  /** Protocol counters summed over every run. */
  protocol: ProtocolTotals;
}

/** The command that replays one run of a sweep. */
export function reproduceCommand(r: ProtocolSimResult, durationS: number): string {
  const p = r.params;
  return `gossip sim --scenario ${p.scenario} --nodes ${p.nodes} --seed ${p.seed} --duration ${durationS} --format table`;
}

function addInto<K extends string>(sum: Record<K, number>, add: Readonly<Record<K, number>>): void {
  for (const k of Object.keys(add) as K[]) sum[k] = (sum[k] ?? 0) + add[k];
}

/** Runs the sweep, one seed after another. */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const scenario = options.scenario ?? 'random';
  const out: SweepResult = {
    runs: 0,
    failures: [],
    simulatedMs: 0,
    observed: { events: {} as ObservedResult['events'], checks: {} },
    protocol: {} as ProtocolTotals,
  };
  for (let seed = options.base; seed < options.base + options.seeds; seed++) {
    const r = await runProtocolSim({ scenario, seed, durationS: options.durationS });
    out.runs++;
    out.simulatedMs += r.phases.endMs;
    addInto(out.observed.events, r.observed.events);
    addInto(out.observed.checks, r.observed.checks);
    addInto(
      out.protocol as unknown as Record<string, number>,
      r.protocol as unknown as Record<string, number>,
    );
    if (!r.isOk) {
      const violations =
        r.violations.length > 0
          ? r.violations
          : [
              {
                checker: 'convergence',
                atMs: r.phases.endMs,
                reason: r.convergence.reason ?? 'did not converge',
              },
            ];
      out.failures.push({ seed, violations, reproduce: reproduceCommand(r, options.durationS) });
    }
    options.onRun?.(r);
    if (options.isDone?.(r)) break;
  }
  return out;
}

/**
 * The observations every sweep must have made, each with what it feeds: trace events by type
 * (what the checkers were fed; starts and stops are left out, the harness makes them itself)
 * and Serf counters of things no checker sees directly but the member statuses depend on.
 */
export const REQUIRED_OBSERVATIONS: readonly (
  | { event: keyof ObservedResult['events']; what: string }
  | { counter: keyof ProtocolTotals; what: string }
)[] = [
  { event: 'suspect', what: 'a suspicion (dead-origin, incarnation)' },
  { event: 'accused', what: 'a node learning it was accused (refute)' },
  { event: 'refute', what: 'a refutation (refute, incarnation)' },
  { event: 'dead', what: 'a dead verdict (dead-origin)' },
  { event: 'leave', what: 'a member marked dead or left (dead-origin, incarnation, resurrection)' },
  { event: 'join', what: 'a member joining (incarnation)' },
  { event: 'view', what: 'a state read back after a packet or push-pull (incarnation)' },
  { event: 'member', what: 'a Serf member event (resurrection)' },
  { event: 'user-event', what: 'a user event delivered (user-event)' },
  { event: 'force-leave', what: "an operator's force-leave (member-status)" },
  { counter: 'intentsReceived', what: 'a join or leave intent received (member-status)' },
  { counter: 'reconnectAttempts', what: 'a Serf reconnect to a failed member (convergence)' },
  { counter: 'queryResponses', what: 'a query answered' },
];

/**
 * What the sweep never saw, one sentence each: observations of {@link REQUIRED_OBSERVATIONS}
 * that stayed at 0, and checkers that never held anything against their invariant. Empty
 * when the sweep saw everything.
 */
export function unobserved(r: SweepResult): string[] {
  const out: string[] = [];
  for (const o of REQUIRED_OBSERVATIONS) {
    if ('event' in o) {
      if (!((r.observed.events[o.event] ?? 0) > 0))
        out.push(`no ${o.event} event in ${r.runs} runs: the sweep never saw ${o.what}`);
    } else if (!((r.protocol[o.counter] ?? 0) > 0)) {
      out.push(`${o.counter} stayed 0 in ${r.runs} runs: the sweep never saw ${o.what}`);
    }
  }
  for (const [checker, checks] of Object.entries(r.observed.checks)) {
    if (!(checks > 0)) out.push(`the ${checker} checker checked nothing in ${r.runs} runs`);
  }
  if (Object.keys(r.observed.checks).length === 0) out.push('no checker ran');
  return out;
}
