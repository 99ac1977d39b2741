/** {@link DiscoveryTarget} adapters: a bare `Memberlist` (the simulator) and a `Serf` (the agent, the library). */
import type { Serf } from '../cluster/serf.ts';
import type { Memberlist } from '../membership/memberlist.ts';
import type { DiscoveryTarget, TargetMember } from './seed-discovery.ts';

function peekWith(ml: Memberlist) {
  return async (addr: string): Promise<TargetMember[]> =>
    (await ml.peekState(addr)).map((m) => ({ name: m.name, address: m.address, status: m.status }));
}

/** Discovery for a `Memberlist`. `extraAddresses` are more addresses of ours (the bind address). */
export function memberlistTarget(ml: Memberlist, extraAddresses: readonly string[] = []): DiscoveryTarget {
  return {
    get localName() {
      return ml.localNode.name;
    },
    localAddresses: () => [ml.localNode.address, ...extraAddresses],
    join: (addrs) => ml.join(addrs),
    members: () => ml.allMembers(),
    peek: peekWith(ml),
    onMemberGone: (listener) => ml.on('leave', () => listener()),
  };
}

/**
 * Discovery for a `Serf`: joins are Serf joins (a join intent is gossiped), with `ignoreOld`
 * (do not replay user events sent before the join: the agent's default, `--replay` off).
 */
export function serfTarget(
  serf: Serf,
  options: { ignoreOld?: boolean; extraAddresses?: readonly string[] } = {},
): DiscoveryTarget {
  const ml = serf.memberlist;
  return {
    get localName() {
      return serf.name;
    },
    localAddresses: () => [ml.localNode.address, ...(options.extraAddresses ?? [])],
    join: (addrs) => serf.join(addrs, { ignoreOld: options.ignoreOld ?? true }),
    members: () => ml.allMembers(),
    peek: peekWith(ml),
    onMemberGone: (listener) => ml.on('leave', () => listener()),
  };
}
