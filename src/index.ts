/**
 * `gossip`: SWIM/Lifeguard membership and Serf-compatible cluster state for Node.js,
 * wire-compatible with HashiCorp memberlist and Serf.
 *
 * The layers, bottom up:
 * - runtime: `Clock` (real or virtual), seeded `Random`;
 * - wire (also `gossip/wire`): the memberlist/Serf codec;
 * - transport: `UdpTcpTransport` (real sockets) and `MemoryNetwork` (in-process, with faults);
 * - membership: `Memberlist`, the SWIM/Lifeguard failure detector and dissemination;
 * - cluster: `Serf`, with tags, user events, queries and key rotation;
 * - state: `ReplicatedState`, each node's versioned key/value map, known on every node of ours;
 * - broadcast: the strategy family the simulator compares;
 * - api (also `gossip/client`): `GossipClient` and the types of the agent's HTTP API.
 *
 * ```ts
 * import { Serf, UdpTcpTransport } from 'gossip';
 * const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:7946' });
 * const serf = new Serf({ name: 'web-1', transport, tags: { role: 'web' } });
 * serf.on('member-join', (e) => console.log('joined:', e.members.map((m) => m.name)));
 * serf.start();
 * await serf.join(['127.0.0.1:7947']);
 * ```
 */
export * from './api/index.ts';
export * from './broadcast/index.ts';
export * from './cluster/index.ts';
export * from './discovery/index.ts';
export * from './errors.ts';
export * from './health/index.ts';
export { type LogFields, type Logger, safeLogger, silentLogger } from './log.ts';
export * from './membership/index.ts';
export * from './runtime/index.ts';
export * from './state/index.ts';
export * from './transport/index.ts';
export {
  MEMBERLIST_PROTOCOL_CURRENT,
  MEMBERLIST_PROTOCOL_MAX,
  MEMBERLIST_PROTOCOL_MIN,
  PACKAGE_VERSION,
  SERF_PROTOCOL_CURRENT,
  SERF_PROTOCOL_MAX,
  SERF_PROTOCOL_MIN,
} from './version.ts';
export { Keyring, KeyringError } from './wire/crypto.ts';
