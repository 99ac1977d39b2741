/**
 * A simulated cluster of Serf nodes with replicated state, on one `MemoryNetwork` and one
 * `VirtualClock` (time moves when the test says so), seeded.
 */

import type { SerfInit } from '../../src/cluster/index.ts';
import { ReplicatedState, type ReplicatedStateInit } from '../../src/state/index.ts';
import { allAlive, SerfSim, type SimNode } from '../cluster/harness.ts';

export interface StateNode extends SimNode {
  state: ReplicatedState;
}

export class StateSim extends SerfSim {
  readonly stateNodes: StateNode[] = [];

  /** A started node with state. */
  addState(
    name: string,
    init: Partial<SerfInit> = {},
    stateInit: Omit<ReplicatedStateInit, 'serf'> = {},
    addr?: string,
  ): StateNode {
    const node = this.add(name, init, false, addr);
    const state = new ReplicatedState({ serf: node.serf, ...stateInit });
    node.serf.start();
    const sn = { ...node, state };
    this.stateNodes.push(sn);
    return sn;
  }

  /** `n` nodes with state, joined through the first. */
  async stateCluster(
    n: number,
    prefix = 'n',
    stateInit: Omit<ReplicatedStateInit, 'serf'> = {},
    init: Partial<SerfInit> = {},
  ): Promise<StateNode[]> {
    const nodes: StateNode[] = [];
    for (let i = 0; i < n; i++) nodes.push(this.addState(`${prefix}${i}`, init, stateInit));
    for (const node of nodes.slice(1)) await this.drive(node.serf.join([nodes[0]!.addr]));
    await this.waitFor('every node sees every other alive', () => allAlive(nodes, n), 30_000);
    return nodes;
  }
}

/** `key=value@version` lines of a node's map as `reader` sees it, sorted. */
export function mapOf(reader: StateNode, owner: string): string[] {
  return reader.state
    .entries({ node: owner })
    .map((e) => `${e.key}=${new TextDecoder().decode(e.value)}@${e.version}`)
    .sort();
}

/** Whether every node's copy of every node's map equals the owner's own. */
export function converged(nodes: readonly StateNode[]): boolean {
  for (const owner of nodes) {
    const own = mapOf(owner, owner.name).join('\n');
    for (const r of nodes) if (mapOf(r, owner.name).join('\n') !== own) return false;
  }
  return true;
}
