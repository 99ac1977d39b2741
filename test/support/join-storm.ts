/**
 * The in-memory join storm: 50 nodes join through one seed within two seconds on a lossy
 * network (2% loss, 1 ms latency with 2 ms jitter), all in virtual time. Shared by the join-tail
 * test (which bounds the worst case with our tail fixes) and `npm run bench -- membership`
 * (which prints the tail with and without them, next to each other).
 */
import type { MemberlistInit } from '../../src/membership/index.ts';
import { SeededRandom } from '../../src/runtime/index.ts';
import { memoryHarness, type TestNode } from './cluster.ts';

/** Nodes in one storm. */
export const JOIN_STORM_NODES = 50;

/** Our two tail fixes turned off: what plain memberlist does. */
export const WITHOUT_TAIL_FIXES: Partial<MemberlistInit> = {
  joinAnnounceMax: 0,
  postJoinPushPullDelaysMs: [],
};

/**
 * Milliseconds of virtual time from the last join completing until every node lists all
 * {@link JOIN_STORM_NODES} alive.
 */
export async function joinStorm(seed: number, extra: Partial<MemberlistInit> = {}): Promise<number> {
  const h = memoryHarness(seed, { loss: 0.02, latencyMs: 1, jitterMs: 2 });
  try {
    const nodes: TestNode[] = [];
    for (let i = 0; i < JOIN_STORM_NODES; i++) nodes.push(await h.addNode(`j${i}`, extra));
    const seedAddr = nodes[0]!.ml.localNode.address;
    const r = new SeededRandom(seed * 31 + 7);
    const joins = nodes.slice(1).map(
      (n) =>
        new Promise<void>((resolve) =>
          h.clock.setTimer(r.int(2000), () => {
            n.ml.join([seedAddr]).then(
              () => resolve(),
              () => resolve(),
            );
          }),
        ),
    );
    await h.drive(Promise.all(joins));
    return await h.waitFor(
      'full convergence',
      () => nodes.every((n) => n.ml.members().length === JOIN_STORM_NODES),
      300_000,
    );
  } finally {
    await h.close();
  }
}

/** Median, p90 and worst of a sample (nearest-rank), with the seed of the worst. */
export interface TailSummary {
  runs: number;
  medianMs: number;
  p90Ms: number;
  worstMs: number;
  worstSeed: number;
}

/** Runs the storm for seeds `1..seeds` and summarises the times. */
export async function joinStormTail(
  seeds: number,
  extra: Partial<MemberlistInit> = {},
): Promise<TailSummary> {
  const runs: { seed: number; ms: number }[] = [];
  for (let seed = 1; seed <= seeds; seed++) runs.push({ seed, ms: await joinStorm(seed, extra) });
  runs.sort((a, b) => a.ms - b.ms);
  const at = (q: number) => runs[Math.min(runs.length - 1, Math.floor(runs.length * q))]!.ms;
  return {
    runs: runs.length,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    worstMs: runs.at(-1)!.ms,
    worstSeed: runs.at(-1)!.seed,
  };
}
