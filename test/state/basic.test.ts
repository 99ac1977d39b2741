import assert from 'node:assert/strict';
import { test } from 'node:test';
import { converged, mapOf, StateSim } from './harness.ts';

test('state: a write, an update and a delete on one node reach the others', async () => {
  const sim = new StateSim(1);
  const nodes = await sim.stateCluster(3);
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  a.state.set('color', 'red');
  await sim.waitFor(
    'b and c see color=red',
    () =>
      b.state.getText('color', { node: 'n0' }) === 'red' &&
      c.state.getText('color', { node: 'n0' }) === 'red',
    10_000,
  );
  a.state.set('color', 'blue');
  await sim.waitFor('update spreads', () => c.state.getText('color', { node: 'n0' }) === 'blue', 10_000);
  a.state.delete('color');
  await sim.waitFor(
    'delete spreads',
    () =>
      b.state.get('color', { node: 'n0' }) === undefined &&
      c.state.get('color', { node: 'n0' }) === undefined,
    10_000,
  );
  assert.deepEqual(mapOf(b, 'n0'), []);
  await sim.close();
});

test('state: many writes from every node converge', async () => {
  const sim = new StateSim(2);
  const nodes = await sim.stateCluster(5);
  for (let i = 0; i < 50; i++) for (const n of nodes) n.state.set(`k${i % 17}`, `${n.name}-${i}`);
  await sim.waitFor('converged', () => converged(nodes), 60_000);
  await sim.close();
});
