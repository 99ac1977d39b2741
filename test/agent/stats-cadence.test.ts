/**
 * The agent's `stats` samples on its event stream (the dashboard's charts): one every
 * STATS_IDLE_INTERVAL_MS while nobody reads the stream, so an idle agent does not wake up every
 * second for them, and one every STATS_INTERVAL_MS from the moment someone reads it.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, STATS_IDLE_INTERVAL_MS, STATS_INTERVAL_MS } from '../../src/agent/agent.ts';
import { resolveConfig } from '../../src/agent/config.ts';

const sink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

describe('agent: stats on the event stream', () => {
  it('samples every 10 s while nobody reads the stream, every second once someone does', async () => {
    assert.equal(STATS_INTERVAL_MS, 1000);
    assert.equal(STATS_IDLE_INTERVAL_MS, 10_000);
    const config = resolveConfig({
      nodeName: 'stats-cadence',
      bindAddr: '127.0.0.1:0',
      httpAddr: '127.0.0.1:0',
      profile: 'local',
      dashboard: false,
    });
    const agent = await Agent.create(config, { out: sink() });
    await agent.start();
    const abort = new AbortController();
    try {
      // The first sample comes a second after start; the next not before 11 s (a slow machine
      // only delays timers: it cannot add samples).
      await sleep(4000);
      const idle = agent.events.history().filter((e) => e.event === 'stats').length;
      assert.ok(idle <= 1, `${idle} stats samples in the 4 s after start, with nobody reading`);
      // A reader gets the history, then a sample a second from its arrival: 2 more within 5 s,
      // where the pending idle sample alone would come 7 s after it, and the one after at 17 s.
      let seen = 0;
      const reading = (async () => {
        for await (const e of agent.subscribeEvents(abort.signal)) {
          if (e.event === 'stats' && ++seen >= idle + 2) return true;
        }
        return false;
      })();
      const timeout = sleep(5000, false, { signal: abort.signal }).catch(() => false);
      assert.equal(await Promise.race([reading, timeout]), true, `only ${seen - idle} new samples in 5 s`);
    } finally {
      abort.abort();
      await agent.stop();
    }
  });
});
