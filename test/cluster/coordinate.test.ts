/**
 * Vivaldi network coordinates (Serf's `coordinate` package, translated tests plus a
 * convergence check): coordinates learned from RTTs estimate the RTTs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CoordinateClient,
  defaultCoordinateConfig,
  distanceSeconds,
  newCoordinate,
} from '../../src/cluster/index.ts';
import { SeededRandom } from '../../src/runtime/index.ts';

describe('CoordinateClient (serf coordinate/client_test.go)', () => {
  it('TestClient_Update: moves away from a node that is farther than its coordinate says', () => {
    const config = { ...defaultCoordinateConfig(), dimensionality: 3 };
    const client = new CoordinateClient(new SeededRandom(1), config);
    assert.deepEqual(client.coordinate.vec, [0, 0, 0]);
    const other = newCoordinate(config);
    other.vec[2] = 0.001;
    const c = client.update('node', other, 2 * 0.001);
    assert.ok(typeof c !== 'string');
    assert.ok(c.vec[2]! < 0, `scooted down: ${c.vec[2]}`);
  });

  it('rejects bad input: wrong dimensions, invalid values, RTT out of range', () => {
    const client = new CoordinateClient(new SeededRandom(1));
    const other = newCoordinate(defaultCoordinateConfig());
    assert.match(String(client.update('n', { ...other, vec: [1, 2] }, 0.001)), /dimensions/);
    assert.match(String(client.update('n', { ...other, error: Number.NaN }, 0.001)), /invalid/);
    assert.match(String(client.update('n', other, 11)), /round trip time/);
    assert.match(String(client.update('n', other, -1)), /round trip time/);
  });

  it('a small mesh learns its RTTs (within 20%)', () => {
    // Four nodes on a line, 10 ms apart: true RTTs 10, 20, 30 ms.
    const positions = [0, 0.01, 0.02, 0.03];
    const r = new SeededRandom(7);
    const clients = positions.map((_, i) => new CoordinateClient(new SeededRandom(100 + i)));
    for (let round = 0; round < 2000; round++) {
      const i = r.int(4);
      let j = r.int(4);
      if (j === i) j = (j + 1) % 4;
      const rtt = Math.abs(positions[i]! - positions[j]!);
      clients[i]!.update(`n${j}`, clients[j]!.coordinate, rtt);
    }
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const truth = Math.abs(positions[i]! - positions[j]!);
        const est = distanceSeconds(clients[i]!.coordinate, clients[j]!.coordinate);
        assert.ok(
          Math.abs(est - truth) / truth < 0.2,
          `n${i}-n${j}: estimated ${(est * 1000).toFixed(2)} ms, true ${truth * 1000} ms`,
        );
      }
    }
  });
});
