/**
 * `gossip doctor`: checks a node's set-up against the network before (or beside) running it,
 * with the agent's own config (flags, `GOSSIP_*`, config files). It:
 *
 * 1. says which address the node would advertise, and why (network.ts's rule);
 * 2. resolves every seed source (`--join`) and reports what each gave, its TTL, and why an
 *    address was skipped;
 * 3. probes each discovered address (up to {@link DOCTOR_MAX_PEERS}) over UDP (a ping with no
 *    target name, which memberlist answers) and TCP (a push-pull that merges nothing:
 *    `Memberlist.peekState`), with this node's key and label;
 * 4. reports per peer: who answered (name, members alive), protocol versions we cannot speak
 *    with, a key or encryption mismatch (from the peer's error), a label mismatch (when a peer
 *    that drops our labelled request answers an unlabelled one, or the reverse), a node already
 *    using our name, UDP blocked while TCP works, nothing listening, no route.
 *
 * It joins nothing and changes nothing anywhere: the probe node starts alone on an ephemeral
 * port and is shut down at the end. A peer that is a Go Serf logs "Remote state is zero bytes"
 * for each TCP probe.
 */
import type { Resolver } from '../discovery/resolver.ts';
import { parseSeeds } from '../discovery/seeds.ts';
import { type DiscoveryPass, resolveSources } from '../discovery/sources.ts';
import type { PeekedMember } from '../membership/memberlist.ts';
import { Memberlist } from '../membership/memberlist.ts';
import { UdpTcpTransport } from '../transport/udp-tcp.ts';
import {
  MEMBERLIST_PROTOCOL_MAX,
  MEMBERLIST_PROTOCOL_MIN,
  SERF_PROTOCOL_MAX,
  SERF_PROTOCOL_MIN,
} from '../version.ts';
import { Keyring } from '../wire/crypto.ts';
import { joinHostPort, splitHostPort } from '../wire/ip.ts';
import type { AgentConfig } from './config.ts';
import { readKeyringFile } from './keyring-file.ts';
import { type AdvertiseChoice, chooseAdvertiseAddr, hostNetwork } from './network.ts';

/** How long the doctor lets its probe streams close before shutting its probe node down, ms. */
export const DOCTOR_CLOSE_GRACE_MS = 300;

/** Most discovered addresses probed (the rest are listed as not probed). */
export const DOCTOR_MAX_PEERS = 32;

/** What the doctor found about one address. */
export interface PeerReport {
  addr: string;
  /** Round-trip time of the UDP ping, ms; undefined when no ack came. */
  udpRttMs: number | undefined;
  /** Whether the TCP push-pull was answered (with our key and label). */
  tcpOk: boolean;
  /** The answering node's name (when TCP worked). */
  name: string | undefined;
  /** Members it holds alive (when TCP worked). */
  aliveMembers: number | undefined;
  /** Problems, each a sentence with the fix. Empty: all good. */
  problems: string[];
  /** Notes that are not problems. */
  notes: string[];
}

/** The whole report (`gossip doctor --format json` prints it). */
export interface DoctorReport {
  node: string;
  advertise: { addr: string; reason: string; iface?: string } | { error: string };
  encryption: { keys: number } | null;
  label: string | null;
  seeds: DiscoveryPass['sources'];
  peers: PeerReport[];
  /** Discovered addresses beyond {@link DOCTOR_MAX_PEERS}, not probed. */
  notProbed: string[];
  /** Problems of the set-up as a whole (no seeds, nothing answered, ...). */
  problems: string[];
  /** True when no problem was found anywhere. */
  isHealthy: boolean;
}

/** The keyring the agent would use, read without writing anything. */
function doctorKeyring(config: AgentConfig): Keyring | undefined {
  let keyring = config.keyringFile ? readKeyringFile(config.keyringFile) : undefined;
  if (config.encryptKey) {
    const key = Keyring.parseKey(config.encryptKey);
    if (!keyring) keyring = new Keyring([key]);
    else if (!keyring.hasKey(key)) keyring.addKey(key);
  }
  return keyring;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function versionProblem(m: PeekedMember): string | undefined {
  const p = m.protocol;
  const d = m.delegate;
  if (p.max < MEMBERLIST_PROTOCOL_MIN || p.min > MEMBERLIST_PROTOCOL_MAX) {
    return `${m.name} speaks memberlist protocol ${p.min}-${p.max}; we speak ${MEMBERLIST_PROTOCOL_MIN}-${MEMBERLIST_PROTOCOL_MAX}: they cannot talk`;
  }
  if (d.max !== 0 && (d.max < SERF_PROTOCOL_MIN || d.min > SERF_PROTOCOL_MAX)) {
    return `${m.name} speaks Serf protocol ${d.min}-${d.max}; we speak ${SERF_PROTOCOL_MIN}-${SERF_PROTOCOL_MAX}: they cannot talk`;
  }
  return undefined;
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  resolver: Resolver;
  /** Per-probe timeout, ms. @default 3000 */
  timeoutMs?: number;
}

/** One probe node with a given label (the label variants tell a label mismatch apart). */
async function probeNode(
  config: AgentConfig,
  keyring: Keyring | undefined,
  advertiseIp: string,
  label: string,
) {
  const bindHost = splitHostPort(config.bindAddr)!.host;
  const transport = await UdpTcpTransport.listen({ bindAddr: joinHostPort(bindHost, 0) });
  const port = splitHostPort(transport.localAddr)!.port;
  const ml = new Memberlist({
    name: `${config.nodeName}-doctor-${process.pid}`,
    transport,
    profile: config.profile,
    advertiseAddr: joinHostPort(advertiseIp, port),
    ...(keyring ? { keyring } : {}),
    ...(label ? { label } : {}),
  });
  ml.start();
  return ml;
}

/** Runs every check; never throws for what it finds (only for a config it cannot use at all). */
export async function runDoctor(config: AgentConfig, options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const keyring = doctorKeyring(config);
  const problems: string[] = [];
  const sources = parseSeeds(config.join);
  const firstPass = await resolveSources(sources, options.resolver, new Set());
  const seedIps = firstPass.addrs.map((a) => splitHostPort(a)!.host);
  let advertise: AdvertiseChoice | { error: string };
  try {
    advertise = chooseAdvertiseAddr({
      bound: config.bindAddr,
      advertise: config.advertiseAddr,
      seedIps,
      network: hostNetwork(),
    });
  } catch (e) {
    advertise = { error: errorText(e) };
    problems.push(errorText(e));
  }
  const own = new Set<string>('addr' in advertise ? [advertise.addr] : []);
  const pass = await resolveSources(sources, options.resolver, own);
  if (sources.length === 0) problems.push('no seeds: give --join IP:PORT, HOST:PORT or dns+srv://NAME');
  for (const s of pass.sources) {
    if (s.error !== undefined) problems.push(`seed ${s.spec}: ${s.error}`);
  }
  const toProbe = pass.addrs.slice(0, DOCTOR_MAX_PEERS);
  const notProbed = pass.addrs.slice(DOCTOR_MAX_PEERS);
  const advertiseIp =
    'addr' in advertise ? splitHostPort(advertise.addr)!.host : splitHostPort(config.bindAddr)!.host;
  const peers: ProbeState[] = [];
  if (toProbe.length > 0) {
    const main = await probeNode(config, keyring, advertiseIp, config.label);
    // The other label variant: none when we have one (does the peer want none?).
    let unlabelled: Memberlist | undefined;
    try {
      for (const addr of toProbe)
        peers.push(await probePeer(config, main, () => unlabelled, addr, timeoutMs));
      if (config.label && peers.some((p) => p.needsUnlabelled)) {
        unlabelled = await probeNode(config, keyring, advertiseIp, '');
        for (const p of peers) if (p.needsUnlabelled) await p.retryUnlabelled();
      }
    } finally {
      // Let the probes' streams finish closing first: a transport shut down while a stream's
      // FIN is in flight can leave that socket open (and this process alive) for good.
      await new Promise((resolve) => setTimeout(resolve, DOCTOR_CLOSE_GRACE_MS));
      await main.shutdown();
      await unlabelled?.shutdown();
    }
  }
  if (toProbe.length > 0 && !peers.some((p) => p.tcpOk && p.problems.length === 0)) {
    problems.push('no discovered address answered with a compatible node: this node could not join');
  }
  const report: DoctorReport = {
    node: config.nodeName,
    advertise,
    encryption: keyring ? { keys: keyring.keys.length } : null,
    label: config.label || null,
    seeds: pass.sources,
    peers: peers.map(({ needsUnlabelled: _n, retryUnlabelled: _r, ...p }) => p),
    notProbed,
    problems,
    isHealthy: problems.length === 0 && peers.every((p) => p.problems.length === 0),
  };
  return report;
}

type ProbeState = PeerReport & { needsUnlabelled: boolean; retryUnlabelled: () => Promise<void> };

async function probePeer(
  config: AgentConfig,
  ml: Memberlist,
  unlabelled: () => Memberlist | undefined,
  addr: string,
  timeoutMs: number,
): Promise<ProbeState> {
  const r: ProbeState = {
    addr,
    udpRttMs: undefined,
    tcpOk: false,
    name: undefined,
    aliveMembers: undefined,
    problems: [],
    notes: [],
    needsUnlabelled: false,
    retryUnlabelled: async () => {},
  };
  const [udp, tcp] = await Promise.allSettled([
    ml.pingAddress(addr, { timeoutMs }),
    ml.peekState(addr, { signal: AbortSignal.timeout(timeoutMs) }),
  ]);
  r.udpRttMs = udp.status === 'fulfilled' ? udp.value : undefined;
  if (tcp.status === 'fulfilled') {
    r.tcpOk = true;
    describeAnswer(config, r, addr, tcp.value);
    if (r.udpRttMs === undefined) {
      r.problems.push(
        `UDP ${addr}: no answer to a ping, although TCP works: UDP is blocked on the way (a firewall, a Service without the UDP port), so probes will fail and members will be suspected`,
      );
    }
    return r;
  }
  const err = tcp.reason as Error & { code?: string };
  const text = errorText(err);
  const udpNote = r.udpRttMs === undefined ? ' (UDP: no answer either)' : ' (UDP answered)';
  if (/ECONNREFUSED|refused/i.test(text)) {
    r.problems.push(
      `TCP ${addr}: connection refused: nothing listens there${udpNote}. Is the agent running, on this port?`,
    );
  } else if (/EHOSTUNREACH|ENETUNREACH|no route/i.test(text)) {
    r.problems.push(`TCP ${addr}: no route to the host (${text})`);
  } else if (err.name === 'TimeoutError' || err.name === 'AbortError' || /timed out|within/i.test(text)) {
    r.problems.push(
      `TCP ${addr}: no answer within ${timeoutMs} ms${udpNote}: no host at this address, or a firewall drops the traffic`,
    );
  } else if (/without a reply/.test(text)) {
    // memberlist drops a stream with the wrong label (or none) without a word.
    if (config.label) {
      r.needsUnlabelled = true;
      r.problems.push(
        `TCP ${addr}: the peer closed the connection without answering our request labelled "${config.label}": it uses another cluster label (memberlist does not say which), or none`,
      );
      r.retryUnlabelled = async () => {
        const ml2 = unlabelled();
        if (!ml2) return;
        try {
          const members = await ml2.peekState(addr, { signal: AbortSignal.timeout(timeoutMs) });
          r.problems[r.problems.length - 1] =
            `label mismatch at ${addr}: the peer uses no cluster label, and this node has --label "${config.label}": remove --label here, or add the label there (the three steps in docs/guides)`;
          describeAnswer(config, r, addr, members, true);
        } catch {
          // Still no answer without a label: the peer's label is another one (kept as said above).
        }
      };
    } else {
      r.problems.push(
        `TCP ${addr}: the peer closed the connection without answering: it most likely requires a cluster label (its --label) that this node does not send; set --label to the cluster's label`,
      );
    }
  } else if (/not encrypted|does not use encryption|uses encryption/i.test(text)) {
    r.problems.push(`encryption mismatch at ${addr}: ${text}`);
  } else if (/encrypt|decrypt|key/i.test(text)) {
    r.problems.push(`key mismatch at ${addr}: ${text}`);
  } else {
    r.problems.push(`TCP ${addr}: ${text}`);
  }
  return r;
}

function describeAnswer(
  config: AgentConfig,
  r: PeerReport,
  addr: string,
  members: readonly PeekedMember[],
  viaUnlabelled = false,
): void {
  const self = members.find((m) => m.address === addr) ?? members[0];
  r.name = self?.name;
  r.aliveMembers = members.filter((m) => m.status === 'alive').length;
  if (!viaUnlabelled) r.notes.push(`answered: ${r.name ?? '?'} (holding ${r.aliveMembers} members alive)`);
  for (const m of members) {
    if (m.status !== 'alive') continue;
    const v = versionProblem(m);
    if (v) r.problems.push(`protocol mismatch: ${v}`);
  }
  const clash = members.find((m) => m.name === config.nodeName && m.status === 'alive');
  if (clash && !viaUnlabelled) {
    r.problems.push(
      `name in use: the cluster at ${addr} already has an alive member named "${config.nodeName}" (at ${clash.address}); give this node another --node, or this is that node`,
    );
  }
}
