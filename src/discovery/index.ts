/**
 * Seed discovery: `IP:PORT`, `HOST:PORT` and `dns+srv://NAME` seeds, resolved again for as long
 * as the node runs, with a first-start gate (see seed-discovery.ts).
 *
 * ```ts
 * import { DnsResolver, SeedDiscovery, Serf, serfTarget, UdpTcpTransport } from 'gossip';
 * const serf = new Serf({ name: 'web-1', transport: await UdpTcpTransport.listen({ bindAddr: '10.0.0.5:7946' }) });
 * serf.start();
 * const discovery = new SeedDiscovery({
 *   seeds: ['dns+srv://_gossip._tcp.gossip.default.svc.cluster.local'],
 *   target: serfTarget(serf),
 *   resolver: new DnsResolver(),
 * });
 * discovery.start();
 * ```
 */
export { DnsResolver, type DnsResolverOptions } from './dns-resolver.ts';
export {
  type HostAnswer,
  MemoryResolver,
  type Resolver,
  type SrvAnswer,
  type SrvTarget,
} from './resolver.ts';
export {
  type BootstrapOptions,
  type DiscoveryEvents,
  type DiscoveryPhase,
  type DiscoveryRound,
  type DiscoveryStatus,
  type DiscoveryTarget,
  type FormedReason,
  type JoinAttempt,
  SeedDiscovery,
  type SeedDiscoveryOptions,
  type TargetMember,
} from './seed-discovery.ts';
export {
  canonicalAddr,
  DEFAULT_GOSSIP_PORT,
  parseSeed,
  parseSeeds,
  type SeedSource,
  SRV_SCHEME,
} from './seeds.ts';
export {
  type DiscoveryPass,
  MAX_DISCOVERED_ADDRS,
  MAX_SRV_TARGETS,
  resolveSources,
  type SkippedAddr,
  type SourceReport,
} from './sources.ts';
export { memberlistTarget, serfTarget } from './targets.ts';
