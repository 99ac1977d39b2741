/**
 * Options of the membership layer: one type, three presets, one validator.
 *
 * The knobs keep memberlist's names (`retransmitMult`, `suspicionMult`, `gossipNodes`, ...) with
 * units last (`probeIntervalMs`), so an operator who tuned memberlist finds them. The presets
 * match memberlist's `DefaultLANConfig`, `DefaultWANConfig` and `DefaultLocalConfig`; WAN and
 * local are derived from LAN by overrides, as memberlist does.
 */
import { ConfigError } from '../errors.ts';
import { labelBytes } from '../wire/label.ts';
import { META_MAX_BYTES, UDP_BUFFER_BYTES } from '../wire/limits.ts';

export type ProfileName = 'lan' | 'wan' | 'local';

/** Timing and fan-out of the protocol. Every field has a preset value; see {@link defaultLanTuning}, {@link defaultWanTuning} and {@link defaultLocalTuning}. */
export interface MemberlistTuning {
  /**
   * Time between failure-detection probes; each probes one member, round-robin.
   * Shorter detects failures sooner at the cost of more traffic.
   * @default 1000 (lan), 5000 (wan), 1000 (local)
   */
  probeIntervalMs: number;
  /**
   * How long to wait for a direct ack before asking `indirectChecks` members to probe for us.
   * Should be above the 99th percentile round-trip time. Not scaled by awareness.
   * @default 500 (lan), 3000 (wan), 200 (local)
   */
  probeTimeoutMs: number;
  /**
   * Members asked to probe a target indirectly when the direct probe fails. More lowers false
   * positives caused by one lossy path, at the expense of traffic.
   * @default 3 (lan, wan), 1 (local)
   */
  indirectChecks: number;
  /**
   * Multiplier of the suspicion timeout: `min = suspicionMult × max(1, log10(n)) × probeInterval`.
   * Higher gives a suspected member more time to refute, at the expense of slower detection.
   * @default 4 (lan), 6 (wan), 3 (local)
   */
  suspicionMult: number;
  /**
   * Upper bound of the Lifeguard suspicion timeout, as a multiple of its minimum. The timer
   * starts at `max` and shrinks toward `min` as independent members confirm the suspicion.
   * @default 6
   */
  suspicionMaxTimeoutMult: number;
  /**
   * Retransmissions of each broadcast: `retransmitMult × ceil(log10(n + 1))`.
   * Higher spreads more reliably over lossy links, at the expense of bandwidth.
   * @default 4 (lan, wan), 2 (local)
   */
  retransmitMult: number;
  /**
   * Time between gossip rounds, each sending queued broadcasts to `gossipNodes` random members.
   * @default 200 (lan), 500 (wan), 100 (local)
   */
  gossipIntervalMs: number;
  /** Members gossiped to per round. @default 3 (lan, local), 4 (wan) */
  gossipNodes: number;
  /**
   * How long dead members keep receiving gossip (so a falsely declared node learns of it and
   * refutes), and how long they are remembered before being forgotten.
   * @default 30000 (lan), 60000 (wan), 15000 (local)
   */
  gossipToTheDeadTimeMs: number;
  /**
   * Base interval of full-state push-pull anti-entropy with one random member; stretched for
   * clusters above 32 members: `× (ceil(log2 n − log2 32) + 1)`. 0 disables the periodic sync
   * (joins still use push-pull).
   * @default 30000 (lan), 60000 (wan), 15000 (local)
   */
  pushPullIntervalMs: number;
  /** Deadline of a whole stream exchange (push-pull, stream user message). @default 10000 (lan), 30000 (wan), 1000 (local) */
  tcpTimeoutMs: number;
  /**
   * Cap of the Lifeguard local health score: probe timeouts and intervals are scaled by
   * `score + 1`, score in `[0, awarenessMaxMultiplier − 1]`.
   * @default 8
   */
  awarenessMaxMultiplier: number;
  /** Disables the TCP fallback probe after a failed UDP probe. @default false */
  disableTcpPings: boolean;
  /**
   * After this long, a dead member's name may be reclaimed by a node at another address.
   * 0 means never (memberlist's default).
   * @default 0
   */
  deadNodeReclaimTimeMs: number;
}

/** Everything a {@link Memberlist} is configured with. */
export interface MemberlistOptions extends MemberlistTuning {
  /** This node's name: unique in the cluster. */
  name: string;
  /**
   * The `ip:port` advertised to peers. Must be a concrete unicast address (not 0.0.0.0 or ::).
   * @default the transport's bound address
   */
  advertiseAddr: string | undefined;
  /** Compress packets when that makes them smaller, and always compress streams (as memberlist). @default true */
  enableCompression: boolean;
  /** Bytes of piggybacked messages per datagram (memberlist `UDPBufferSize`). @default 1400 */
  udpBufferBytes: number;
  /** memberlist protocol version spoken (encryption v1 needs >= 2). @default 2 */
  protocolVersion: number;
  /** Delegate (e.g. Serf) protocol range and version advertised in the version vector. @default 0 */
  delegateProtocolMin: number;
  /** @default 0 */
  delegateProtocolMax: number;
  /** @default 0 */
  delegateProtocolVersion: number;
  /**
   * Drop plaintext (or undecryptable) input when a keyring is set (memberlist `GossipVerifyIncoming`).
   * Turn off only during a rolling migration to encryption.
   * @default true
   */
  gossipVerifyIncoming: boolean;
  /** Encrypt output when a keyring is set (memberlist `GossipVerifyOutgoing`). @default true */
  gossipVerifyOutgoing: boolean;
  /**
   * Cluster label (newer memberlist's `Label`, 0.3+; `wire/label.ts`): put in front of every
   * packet and stream we send, authenticated as AES-GCM additional data when encrypting, and
   * required on everything we receive. Input with another label, or none, is dropped and counted
   * (`label-mismatch`, `label-missing`, `label-unexpected`), so two clusters that share a network
   * never merge. At most 255 bytes of UTF-8. Empty (the default) sends exactly what memberlist
   * 0.2.x and Serf 0.8 send, which do not know labels: a labelled node cannot talk to them.
   * @default ''
   */
  label: string;
  /**
   * Also accept input that carries no label (a labelled one must still carry ours). Not in
   * memberlist (its `SkipInboundLabelCheck` serves transports that strip the label); here it is
   * the middle step of adding a label to a running cluster, like `gossipVerifyIncoming` is for
   * encryption: see docs/vm.md.
   * @default false
   */
  labelAcceptUnlabeled: boolean;
  /**
   * Send without the label while accepting it (needs `labelAcceptUnlabeled`): the first step of
   * adding a label to a running cluster, so that not-yet-restarted members keep hearing us.
   * @default false
   */
  labelSendUnlabeled: boolean;
  /**
   * Event-loop lag (ms) beyond which this node doubts itself: a probe whose verdict falls in a
   * stall is deferred one turn (so queued acks are read first) and raises the health score
   * instead of accusing the target. Node.js-specific Lifeguard input; 0 disables it.
   * @default probeTimeoutMs / 2
   */
  eventLoopLagThresholdMs: number;
  /**
   * After a join, send our alive directly to up to this many members learned from the seed,
   * so that members that joined earlier learn of us without waiting for gossip to reach them
   * (removes memberlist's long join tail). 0 disables it.
   * @default 256
   */
  joinAnnounceMax: number;
  /**
   * Extra push-pulls with random members at these delays after a successful join, catching
   * members that joined concurrently. Empty disables them.
   * @default [1000, 5000] (lan), scaled by probeInterval for other profiles
   */
  postJoinPushPullDelaysMs: number[];
  /**
   * Most broadcasts queued; beyond it the most-transmitted are dropped (memberlist's queue is
   * unbounded; Serf prunes its own at 4096).
   * @default 4096
   */
  maxBroadcastQueueDepth: number;
  /**
   * Gossiped `alive` claims about never-seen names taken per source IP and second (a token
   * bucket holding one second's worth); beyond it they are dropped and counted as
   * `new-name-rate`. Push-pull entries are not limited by it. memberlist has no such limit: it
   * is what keeps one sender from filling the member table with forged names.
   * @default 128
   */
  maxNewNamesPerSourcePerSecond: number;
  /**
   * Most members in the table, dead and left ones included (they are forgotten after
   * `gossipToTheDeadTimeMs`); claims about new names beyond it are dropped and counted as
   * `member-limit`. memberlist has no such limit.
   * @default 65536
   */
  maxMembers: number;
  /**
   * Inbound push-pulls answered per source IP and second (a token bucket holding one second's
   * worth); beyond it the exchange is refused with an error reply and counted as
   * `push-pull-rate`. A peer needs one per join and one per `pushPullIntervalMs`; raise it when
   * many nodes share one address (many nodes on one host's loopback).
   * @default 32
   */
  maxPushPullsPerSourcePerSecond: number;
}

/** memberlist `DefaultLANConfig`. */
export function defaultLanTuning(): MemberlistTuning {
  return {
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipToTheDeadTimeMs: 30_000,
    pushPullIntervalMs: 30_000,
    tcpTimeoutMs: 10_000,
    awarenessMaxMultiplier: 8,
    disableTcpPings: false,
    deadNodeReclaimTimeMs: 0,
  };
}

/** memberlist `DefaultWANConfig`: LAN with overrides for high latency and loss. */
export function defaultWanTuning(): MemberlistTuning {
  return {
    ...defaultLanTuning(),
    tcpTimeoutMs: 30_000,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3000,
    probeIntervalMs: 5000,
    gossipNodes: 4,
    gossipIntervalMs: 500,
    gossipToTheDeadTimeMs: 60_000,
  };
}

/** memberlist `DefaultLocalConfig`: LAN with overrides for a single host's loopback. */
export function defaultLocalTuning(): MemberlistTuning {
  return {
    ...defaultLanTuning(),
    tcpTimeoutMs: 1000,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 15_000,
  };
}

/** The tuning of a named profile. */
export function profileTuning(profile: ProfileName): MemberlistTuning {
  switch (profile) {
    case 'lan':
      return defaultLanTuning();
    case 'wan':
      return defaultWanTuning();
    case 'local':
      return defaultLocalTuning();
  }
}

/** Full options for a profile, given the fields that have no default. */
export function defaultOptions(name: string, profile: ProfileName = 'lan'): MemberlistOptions {
  const tuning = profileTuning(profile);
  const scale = tuning.probeIntervalMs / 1000;
  return {
    ...tuning,
    name,
    advertiseAddr: undefined,
    enableCompression: true,
    udpBufferBytes: UDP_BUFFER_BYTES,
    protocolVersion: 2,
    delegateProtocolMin: 0,
    delegateProtocolMax: 0,
    delegateProtocolVersion: 0,
    gossipVerifyIncoming: true,
    gossipVerifyOutgoing: true,
    label: '',
    labelAcceptUnlabeled: false,
    labelSendUnlabeled: false,
    eventLoopLagThresholdMs: tuning.probeTimeoutMs / 2,
    joinAnnounceMax: 256,
    postJoinPushPullDelaysMs: [1000 * scale, 5000 * scale],
    maxBroadcastQueueDepth: 4096,
    maxNewNamesPerSourcePerSecond: 128,
    maxMembers: 65_536,
    maxPushPullsPerSourcePerSecond: 32,
  };
}

type Check = [keyof MemberlistOptions, (v: number) => boolean, string];

const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
const nonNegativeInt = (v: number) => Number.isInteger(v) && v >= 0;
const positive = (v: number) => Number.isFinite(v) && v > 0;
const nonNegative = (v: number) => Number.isFinite(v) && v >= 0;

const CHECKS: Check[] = [
  ['probeIntervalMs', positive, 'a positive number of milliseconds, e.g. 1000'],
  ['probeTimeoutMs', positive, 'a positive number of milliseconds, e.g. 500'],
  ['indirectChecks', nonNegativeInt, 'a whole number >= 0, e.g. 3'],
  ['suspicionMult', positiveInt, 'a whole number >= 1, e.g. 4'],
  ['suspicionMaxTimeoutMult', positiveInt, 'a whole number >= 1, e.g. 6'],
  ['retransmitMult', positiveInt, 'a whole number >= 1, e.g. 4'],
  ['gossipIntervalMs', positive, 'a positive number of milliseconds, e.g. 200'],
  ['gossipNodes', nonNegativeInt, 'a whole number >= 0, e.g. 3'],
  ['gossipToTheDeadTimeMs', nonNegative, 'milliseconds >= 0, e.g. 30000'],
  ['pushPullIntervalMs', nonNegative, 'milliseconds >= 0 (0 disables periodic sync), e.g. 30000'],
  ['tcpTimeoutMs', positive, 'a positive number of milliseconds, e.g. 10000'],
  ['awarenessMaxMultiplier', positiveInt, 'a whole number >= 1, e.g. 8'],
  ['deadNodeReclaimTimeMs', nonNegative, 'milliseconds >= 0 (0 = never)'],
  [
    'udpBufferBytes',
    (v) => Number.isInteger(v) && v >= 512 && v <= 65_000,
    'bytes between 512 and 65000, e.g. 1400',
  ],
  [
    'protocolVersion',
    (v) => Number.isInteger(v) && v >= 1 && v <= 5,
    'a memberlist protocol version from 1 to 5',
  ],
  ['delegateProtocolMin', (v) => Number.isInteger(v) && v >= 0 && v <= 255, 'a byte'],
  ['delegateProtocolMax', (v) => Number.isInteger(v) && v >= 0 && v <= 255, 'a byte'],
  ['delegateProtocolVersion', (v) => Number.isInteger(v) && v >= 0 && v <= 255, 'a byte'],
  ['eventLoopLagThresholdMs', nonNegative, 'milliseconds >= 0 (0 disables lag awareness)'],
  ['joinAnnounceMax', nonNegativeInt, 'a whole number >= 0'],
  ['maxBroadcastQueueDepth', positiveInt, 'a whole number >= 1, e.g. 4096'],
  ['maxNewNamesPerSourcePerSecond', positiveInt, 'a whole number >= 1, e.g. 128'],
  ['maxPushPullsPerSourcePerSecond', positiveInt, 'a whole number >= 1, e.g. 32'],
  ['maxMembers', (v) => Number.isInteger(v) && v >= 2, 'a whole number >= 2, e.g. 65536'],
];

/**
 * Checks every field and throws a {@link ConfigError} naming the first bad one, what was
 * expected, and what was given.
 */
export function validateOptions(o: MemberlistOptions): MemberlistOptions {
  if (typeof o.name !== 'string' || o.name.length === 0) {
    throw new ConfigError(
      'name',
      'a node needs a non-empty name, unique in the cluster (e.g. the host name)',
    );
  }
  if (new TextEncoder().encode(o.name).length > META_MAX_BYTES) {
    throw new ConfigError('name', `the node name is longer than ${META_MAX_BYTES} bytes`);
  }
  for (const [field, ok, expected] of CHECKS) {
    const v = o[field];
    if (typeof v !== 'number' || !ok(v)) {
      throw new ConfigError(field, `expected ${expected}; got ${JSON.stringify(v)}`);
    }
  }
  if (o.probeTimeoutMs > o.probeIntervalMs) {
    throw new ConfigError(
      'probeTimeoutMs',
      `must not exceed probeIntervalMs (${o.probeIntervalMs}); got ${o.probeTimeoutMs}. Raise probeIntervalMs or lower probeTimeoutMs`,
    );
  }
  if (o.delegateProtocolMin > o.delegateProtocolMax) {
    throw new ConfigError(
      'delegateProtocolMin',
      `must not exceed delegateProtocolMax (${o.delegateProtocolMax})`,
    );
  }
  if (typeof o.label !== 'string') {
    throw new ConfigError('label', `expected a string (empty for no label); got ${JSON.stringify(o.label)}`);
  }
  const label = labelBytes(o.label);
  if (typeof label === 'string') throw new ConfigError('label', `${label}; use a shorter label`);
  if (o.labelSendUnlabeled && !(o.labelAcceptUnlabeled && o.label !== '')) {
    throw new ConfigError(
      'labelSendUnlabeled',
      'sending without the label only makes sense while adding one: set label and labelAcceptUnlabeled too, or drop labelSendUnlabeled',
    );
  }
  if (!Array.isArray(o.postJoinPushPullDelaysMs) || !o.postJoinPushPullDelaysMs.every(nonNegative)) {
    throw new ConfigError(
      'postJoinPushPullDelaysMs',
      `expected a list of delays in ms; got ${JSON.stringify(o.postJoinPushPullDelaysMs)}`,
    );
  }
  return o;
}
