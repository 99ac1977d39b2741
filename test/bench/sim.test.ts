/**
 * The short version of `npm run bench -- sim --protocol-only --protocol-events`: a small warm-
 * started cluster measured in steady state, then a crash and an update, to show that the
 * benchmark still runs end to end and that each figure was measured. The figures themselves are
 * not checked against targets (those live in the benchmark), only that they are there and in
 * the order the protocol makes them.
 */
// npm test: untimed (the simulator on its virtual clock)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runProtocolBench } from '../../bench/sim.ts';

describe('bench sim (short version)', () => {
  it('measures a steady state, then a crash detected everywhere and an update reaching every node', async () => {
    const log = console.log;
    console.log = () => {};
    let rows: Awaited<ReturnType<typeof runProtocolBench>>;
    try {
      rows = await runProtocolBench({ nodeCounts: [40], steadySeconds: 5, events: true });
    } finally {
      console.log = log;
    }
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.skipped, null);
    assert.equal(row.start, 'warm');
    assert.ok(
      row.setupSimSeconds >= 30,
      `set-up ended at ${row.setupSimSeconds} virtual s, before the first push-pulls`,
    );
    assert.ok(row.simSecondsPerWallSecond > 0);
    const e = row.events!;
    assert.notEqual(e.firstSuspectS, null, 'the crash was never suspected');
    assert.notEqual(e.firstDeadS, null, 'the crashed node was never declared dead');
    assert.notEqual(e.allDeadS, null, 'not every node held the crashed one dead');
    assert.ok(e.firstSuspectS! <= e.firstDeadS! && e.firstDeadS! <= e.allDeadS!, JSON.stringify(e));
    const [half, most, all] = e.updateSpreadS;
    assert.ok(
      half !== null && most !== null && all !== null,
      `the update did not spread: ${JSON.stringify(e)}`,
    );
    assert.ok(half <= most && most <= all);
  });
});
