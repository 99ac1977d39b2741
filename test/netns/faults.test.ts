/**
 * The short version of the fault harness (`npm run test:faults` runs the full one; see
 * test/faults/main.ts): one cluster of 20 `gossip agent`s and one of 20 real `serf agent`s, side
 * by side, each node in its own network namespace, through the same two faults:
 *
 * - one node stopped (SIGSTOP) for 10 s among healthy ones, then continued;
 * - a partition into halves for 60 s, then healed.
 *
 * It prints the harness's table. What it asserts holds however loaded the machine is (figures
 * seen at load averages of 20-40 on 2 cores are 20x inside the bounds): each cluster converges;
 * each half comes to list the other half failed; the stopped node is alive everywhere again
 * within {@link SIGCONT_BOUND_S} of SIGCONT (it refutes the death notices it finds waiting: a
 * node that never refutes comes back only once the others have forgotten it and a reconnect
 * finds it, ~100 s); and the healed partition is whole again within {@link HEAL_BOUND_S} (a
 * reconnect interval is 30 s; without Serf's reconnects it never heals, as the dead members are
 * forgotten after 30 s). The counts of false failure declarations are printed, not asserted: on
 * a starved machine a healthy node can really miss its probes for seconds.
 *
 * Needs root and `ip netns` (skipped otherwise); serf's cluster needs `serf` on PATH.
 */
// npm test: alone (40 agents, each in a session of its own: beside them, any other file is starved)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMPLS, type Impl } from '../faults/cluster.ts';
import { formatTable, runCluster } from '../faults/harness.ts';
import { SCENARIOS } from '../faults/scenarios.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { serfAvailable } from '../support/serf.ts';

const unavailable = netnsUnavailable();
const FAULTS = ['sigstop', 'partition'];
/** Seconds from SIGCONT until every node lists every node alive (seen: 0.5-1.5 s). */
const SIGCONT_BOUND_S = 30;
/** Seconds from the end of the partition until every node lists every node alive (seen: 1-3 s). */
const HEAL_BOUND_S = 90;

describe('fault harness, short version: 20 nodes of ours and of serf on real sockets', {
  skip: unavailable && `needs network namespaces: ${unavailable}`,
}, () => {
  it('a stopped node and a partition: each cluster heals by itself', { timeout: 900_000 }, async () => {
    const impls: Impl[] = IMPLS.filter((i) => i !== 'serf' || serfAvailable());
    if (!impls.includes('serf')) console.log('serf is not on PATH: only our cluster runs');
    const scenarios = SCENARIOS.filter((s) => FAULTS.includes(s.id));
    const timing = { scale: 1 };
    const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
    // Both clusters at once (serf's agents take a few ms of CPU per second each).
    const records = (
      await Promise.all(
        impls.map((impl) =>
          runCluster(scenarios, impl, 1, { nodes: 20, pollMs: 500, settleMs: 3000, log, ...timing }),
        ),
      )
    ).flat();
    console.log(`\n${formatTable(scenarios, records, timing, impls)}\n`);
    for (const r of records) {
      const what = `${r.impl} ${r.scenario}`;
      assert.equal(r.error, undefined, `${what}: ${r.error}`);
      const recovered = r.figures.recovered;
      const bound = r.scenario === 'sigstop' ? SIGCONT_BOUND_S : HEAL_BOUND_S;
      assert.ok(
        typeof recovered === 'number' && recovered <= bound,
        `${what}: whole again after ${recovered} (bound ${bound} s)\n${r.notes.join('\n')}`,
      );
    }
    for (const impl of impls) {
      const split = records.find((r) => r.impl === impl && r.scenario === 'partition')!;
      assert.equal(
        typeof split.figures.splitSeen,
        'number',
        `${impl}: the halves never listed each other failed`,
      );
    }
  });
});
