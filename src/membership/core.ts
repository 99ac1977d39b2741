/**
 * The membership core's shared state and its send path. The protocol's activities live in
 * their own files and operate on a {@link Core}: `transitions.ts` (alive, suspect, dead,
 * refute, merge), `probe.ts` (failure detection), `gossip.ts` (dissemination), `streams.ts`
 * (push-pull, TCP ping, stream user messages), `packets.ts` (receiving datagrams).
 *
 * Pure: time comes from the injected `Clock`, randomness from the `Random`, and I/O from the
 * `Transport`. Nothing here reads the wall clock, sets a real timer or opens a socket.
 */
import type { Logger } from '../log.ts';
import type { Clock } from '../runtime/clock.ts';
import { TypedEmitter } from '../runtime/emitter.ts';
import type { Random } from '../runtime/random.ts';
import type { Addr, Transport } from '../transport/transport.ts';
import { encryptionOverhead, type Keyring } from '../wire/crypto.ts';
import { type LabelPolicy, labelBytes, labelOverhead } from '../wire/label.ts';
import {
  COMPOUND_HEADER_OVERHEAD,
  COMPOUND_PART_OVERHEAD,
  MAX_COMPOUND_PARTS,
  META_MAX_BYTES,
} from '../wire/limits.ts';
import { encodeMessage, MESSAGE_TYPE_NAMES, type MemberlistMessage } from '../wire/memberlist.ts';
import { encodeCompound, encodePacket } from '../wire/packet.ts';
import { BoundedNameSet, MAX_LOGGED_INCOMPATIBLE_NAMES, SourceRateLimiter } from './admission.ts';
import { Awareness } from './awareness.ts';
import type { MemberlistDelegate, MemberlistEvents } from './delegate.ts';
import { LagMonitor } from './lag.ts';
import { type NodeState, NodeTable } from './node-state.ts';
import type { MemberlistOptions } from './options.ts';
import { BroadcastPriority, TransmitLimitedQueue } from './queue.ts';
import type { Suspicion } from './suspicion.ts';

/** Counters of the membership layer; the agent exports them as Prometheus metrics. */
export interface MemberlistStats {
  probes: number;
  probeFailures: number;
  /** Probes whose failure was put down to our own event-loop stall rather than the target. */
  probesInconclusive: number;
  indirectProbes: number;
  tcpFallbackProbes: number;
  tcpFallbackSuccesses: number;
  acksReceived: number;
  nacksReceived: number;
  acksSent: number;
  nacksSent: number;
  /** Suspicions we started (our own probe failed). */
  suspicionsStarted: number;
  /** Members we declared dead when a suspicion timed out. */
  deadDeclared: number;
  refutes: number;
  packetsReceived: number;
  packetsSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Leaf messages received and sent, by memberlist type name. */
  messagesReceived: Record<string, number>;
  messagesSent: Record<string, number>;
  /** Bytes of leaf messages received and sent, by type name. */
  messageBytesReceived: Record<string, number>;
  messageBytesSent: Record<string, number>;
  /** Packets and stream messages dropped, by reason. */
  dropped: Record<string, number>;
  pushPulls: number;
  pushPullFailures: number;
  pushPullDurationMsTotal: number;
  /** Most recent and largest event-loop lag seen (ms). */
  eventLoopLagMs: number;
  eventLoopLagMaxMs: number;
}

function newStats(): MemberlistStats {
  return {
    probes: 0,
    probeFailures: 0,
    probesInconclusive: 0,
    indirectProbes: 0,
    tcpFallbackProbes: 0,
    tcpFallbackSuccesses: 0,
    acksReceived: 0,
    nacksReceived: 0,
    acksSent: 0,
    nacksSent: 0,
    suspicionsStarted: 0,
    deadDeclared: 0,
    refutes: 0,
    packetsReceived: 0,
    packetsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: {},
    messagesSent: {},
    messageBytesReceived: {},
    messageBytesSent: {},
    dropped: {},
    pushPulls: 0,
    pushPullFailures: 0,
    pushPullDurationMsTotal: 0,
    eventLoopLagMs: 0,
    eventLoopLagMaxMs: 0,
  };
}

/** Waits for an ack (and counts nacks) for one sequence number. */
export interface AckHandler {
  onAck(payload: Uint8Array | null, receivedAt: number): void;
  onNack?(): void;
  cancel(): void;
}

/** Everything a {@link Core} is built from. */
export interface CoreDeps {
  options: MemberlistOptions;
  clock: Clock;
  random: Random;
  transport: Transport;
  keyring: Keyring | undefined;
  logger: Logger;
  delegate: MemberlistDelegate;
  /**
   * The secret key of the member table's name hash ({@link NodeTable}): random per node, so
   * names crafted to collide cannot slow its lookups down. It decides nothing a node does.
   */
  hashSeed: number;
}

/** The most inbound push-pulls handled at once (memberlist `maxPushPullRequests`). */
export const MAX_PUSH_PULL_REQUESTS = 128;

/** Bytes a user-message frame adds to a delegate broadcast: its type byte (memberlist `userMsgOverhead`). */
const USER_MSG_OVERHEAD = 1;

/**
 * The most inbound streams open at once from one source IP; a further one is closed at once and
 * counted as `streams-per-source`. Well above what one peer needs (a push-pull, a fallback
 * probe, a reliable message), and below the transport's total (512), so that one address
 * cannot take every slot with connections that send nothing.
 */
export const MAX_INBOUND_STREAMS_PER_SOURCE = 32;

/**
 * The most memory all inbound streams may hold while their messages are still arriving: their
 * buffers (allocated size), plus {@link DECODED_NODE_STATE_BYTES} per node state an unfinished plain push-pull has
 * decoded so far. A chunk beyond it ends its stream, counted as `stream-memory`. Room for three
 * compressed push-pulls at memberlist's 20 MiB limit, or one plain push-pull of a full member
 * table (`maxMembers`), and a bound on what slow or hostile senders can make us hold.
 */
export const MAX_INBOUND_STREAM_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * Heap a decoded push-pull node state takes, as charged against
 * {@link MAX_INBOUND_STREAM_BUFFER_BYTES}: about 880 bytes were measured on Node 20 (a 95-byte
 * encoded state: its object, name, address, metadata and version vector), rounded up.
 */
export const DECODED_NODE_STATE_BYTES = 1024;

/** The most outstanding ack handlers (probes and indirect probes in flight). */
export const MAX_ACK_HANDLERS = 4096;

/**
 * Input dropped for its cluster label is logged as a warning (with the fix) at most once per
 * this interval per reason, with the number dropped since: a foreign cluster gossiping at us
 * sends several packets a second.
 */
export const LABEL_WARN_INTERVAL_MS = 60_000;

/** What to do about input dropped for its cluster label, by drop reason. */
const LABEL_FIXES: Record<string, string> = {
  'label-mismatch':
    'a member of another cluster reached this node (reused addresses, or a seed list or DNS name that spans clusters): check the join addresses; if the two should be one cluster, give every member the same label (option `label`, agent flag --label)',
  'label-missing':
    'a peer without a label reached this node: give it the same label (--label), or, while adding a label to a running cluster, accept unlabelled peers for a while (labelAcceptUnlabeled, --label-accept-unlabeled)',
  'label-unexpected':
    'a member of a labelled cluster reached this node, which has no label: give this node that label (--label) if it belongs to that cluster, else check the join addresses',
};

export class Core {
  readonly opts: MemberlistOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  readonly keyring: Keyring | undefined;
  readonly log: Logger;
  readonly delegate: MemberlistDelegate;
  readonly events = new TypedEmitter<MemberlistEvents>();
  readonly nodes: NodeTable;
  readonly suspicions = new Map<string, Suspicion>();
  readonly ackHandlers = new Map<number, AckHandler>();
  readonly queue: TransmitLimitedQueue;
  readonly awareness: Awareness;
  readonly stats = newStats();
  readonly lag: LagMonitor;
  /** Admission: the budget of never-seen names per source (admission.ts). */
  readonly newNameLimiter: SourceRateLimiter;
  /** Inbound push-pulls taken per source IP (`maxPushPullsPerSourcePerSecond`). */
  readonly pushPullLimiter: SourceRateLimiter;
  /** Inbound streams open, by source IP (at most {@link MAX_INBOUND_STREAMS_PER_SOURCE} each). */
  readonly inboundStreamsBySource = new Map<string, number>();
  /** Bytes inbound streams hold (at most {@link MAX_INBOUND_STREAM_BUFFER_BYTES}). */
  inboundStreamBytes = 0;
  /** Admission: names already logged for an incompatible version. */
  readonly incompatibleLogged = new BoundedNameSet(MAX_LOGGED_INCOMPATIBLE_NAMES);
  /** Our version vector (see {@link vsn}), which claims are checked against. */
  readonly versionVector: readonly number[];
  /** Our own entry in the table (from `start` on). */
  get self(): NodeState | undefined {
    return this.nodes.get(this.opts.name);
  }
  /** The address we advertise, as IP bytes and port. */
  advertiseIp!: Uint8Array;
  advertisePort = 0;
  seqNo = 0;
  incarnation = 0;
  probeIndex = 0;
  pushPullInbound = 0;
  hasLeft = false;
  hasShutdown = false;
  /** Our cluster label as bytes (empty: none) and how input is checked against it. */
  readonly labelPolicy: LabelPolicy;
  /** The label we put on what we send: ours, or empty while `labelSendUnlabeled`. */
  readonly outLabel: Uint8Array;
  /** When each label drop reason was last logged as a warning, and drops since. */
  readonly #labelWarnings = new Map<string, { at: number; suppressed: number }>();

  constructor(deps: CoreDeps) {
    this.opts = deps.options;
    this.clock = deps.clock;
    this.random = deps.random;
    this.transport = deps.transport;
    this.keyring = deps.keyring;
    this.log = deps.logger;
    this.delegate = deps.delegate;
    this.nodes = new NodeTable(deps.hashSeed);
    this.awareness = new Awareness(this.opts.awarenessMaxMultiplier);
    this.queue = new TransmitLimitedQueue(
      () => this.opts.retransmitMult,
      () => this.numNodes(),
      this.opts.maxBroadcastQueueDepth,
    );
    this.lag = new LagMonitor(this.clock);
    const label = labelBytes(this.opts.label);
    if (typeof label === 'string') throw new RangeError(label); // validateOptions refuses it first
    this.labelPolicy = { label, acceptUnlabeled: this.opts.labelAcceptUnlabeled };
    this.outLabel = this.opts.labelSendUnlabeled ? new Uint8Array(0) : label;
    this.newNameLimiter = new SourceRateLimiter(this.opts.maxNewNamesPerSourcePerSecond);
    this.versionVector = this.vsn();
    this.pushPullLimiter = new SourceRateLimiter(this.opts.maxPushPullsPerSourcePerSecond);
    this.events.onListenerError = (e, event) =>
      this.log.error('an event listener threw', { event: String(event), error: String(e) });
  }

  /** memberlist `estNumNodes`: every member in the table, dead ones not yet forgotten included. */
  numNodes(): number {
    return this.nodes.size;
  }

  nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  nextIncarnation(): number {
    this.incarnation = (this.incarnation + 1) >>> 0;
    return this.incarnation;
  }

  /** Whether outgoing traffic is encrypted. */
  get encrypting(): boolean {
    return this.keyring !== undefined && this.keyring.keys.length > 0 && this.opts.gossipVerifyOutgoing;
  }

  /** Encryption version: 0 for memberlist protocol 1, else 1. */
  get encryptionVersion(): 0 | 1 {
    return this.opts.protocolVersion < 2 ? 0 : 1;
  }

  /** Our version vector `[pmin, pmax, pcur, dmin, dmax, dcur]`. */
  vsn(): number[] {
    const o = this.opts;
    return [1, 5, o.protocolVersion, o.delegateProtocolMin, o.delegateProtocolMax, o.delegateProtocolVersion];
  }

  /** Our metadata from the delegate, checked against the 512-byte limit. */
  localMeta(): Uint8Array {
    const meta =
      this.callHook('nodeMeta', () => this.delegate.nodeMeta?.(META_MAX_BYTES)) ?? new Uint8Array(0);
    if (meta.length > META_MAX_BYTES) {
      throw new RangeError(
        `node metadata is ${meta.length} bytes, over memberlist's ${META_MAX_BYTES}-byte limit`,
      );
    }
    return meta;
  }

  /** Runs a delegate hook, containing a throw (logged; the hook counts as absent). */
  callHook<T>(name: keyof MemberlistDelegate, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.log.error(`delegate hook ${name} threw; ignoring it`, { error: String(e) });
      return undefined;
    }
  }

  count(table: Record<string, number>, key: string, n = 1): void {
    table[key] = (table[key] ?? 0) + n;
  }

  /** Counts and reports a dropped packet or stream message. */
  drop(reason: string, from: Addr, detail: string): void {
    this.count(this.stats.dropped, reason);
    this.log.debug('dropped input', { reason, from, detail });
    this.events.emit('dropped', { reason, from, detail });
    const fix = LABEL_FIXES[reason];
    if (fix !== undefined) this.#warnLabel(reason, from, detail, fix);
  }

  /** A rate-limited warning for input of another cluster: the operator has something to fix. */
  #warnLabel(reason: string, from: Addr, detail: string, fix: string): void {
    const now = this.clock.now();
    const last = this.#labelWarnings.get(reason);
    if (last !== undefined && now - last.at < LABEL_WARN_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.#labelWarnings.set(reason, { at: now, suppressed: 0 });
    this.log.warn(`dropped input of another cluster (${reason}): ${detail}; ${fix}`, {
      reason,
      from,
      ...(last && last.suppressed > 0 ? { droppedSinceLastWarning: last.suppressed } : {}),
    });
  }

  /** Bytes the label header adds to each packet we send. */
  get labelOverhead(): number {
    return labelOverhead(this.outLabel);
  }

  // -------------------------------------------------------------------------------------------
  // Broadcasts

  /**
   * Queues a memberlist broadcast about `node` (newer ones about the same node replace it).
   * `finished` learns when it has been fully transmitted (or replaced / dropped).
   */
  broadcast(
    node: string,
    msg: MemberlistMessage,
    priority: number = BroadcastPriority.normal,
    finished?: (how: 'sent' | 'replaced' | 'dropped') => void,
  ): void {
    this.queue.queue(encodeMessage(msg), { name: node, priority, finished });
  }

  /** Whether the delegate may have broadcasts to hand out (see `broadcastsPending`). */
  delegateMayBroadcast(): boolean {
    if (this.delegate.getBroadcasts === undefined) return false;
    if (this.delegate.broadcastsPending === undefined) return true;
    try {
      return this.delegate.broadcastsPending();
    } catch (e) {
      this.log.error('delegate hook broadcastsPending threw; ignoring it', { error: String(e) });
      return true;
    }
  }

  /** memberlist's queue first, then the delegate's, within `limit` bytes, for a packet to `to`. */
  getBroadcasts(overhead: number, limit: number, to: Addr): Uint8Array[] {
    const msgs = this.queue.getBroadcasts(overhead, limit);
    if (this.delegateMayBroadcast()) {
      let used = 0;
      for (const m of msgs) used += overhead + m.length;
      const avail = limit - used;
      // Like memberlist, frame each delegate payload as a user message; its type byte is one
      // more byte of overhead per message.
      if (avail > overhead + USER_MSG_OVERHEAD) {
        const extra = this.callHook('getBroadcasts', () =>
          this.delegate.getBroadcasts!(overhead + USER_MSG_OVERHEAD, avail, to),
        );
        if (extra) for (const m of extra) msgs.push(encodeMessage({ type: 'user', payload: m }));
      }
    }
    // One slot is kept for the message the broadcasts ride on.
    return msgs.length < MAX_COMPOUND_PARTS ? msgs : msgs.slice(0, MAX_COMPOUND_PARTS - 1);
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /**
   * Frames `msg` (one encoded message or a compound) and sends it: compression, CRC when
   * `withCrc` (memberlist adds it when it sends to a known member of protocol >= 5), encryption,
   * the label header.
   */
  sendRaw(to: Addr, msg: Uint8Array, withCrc: boolean): void {
    if (this.hasShutdown) return;
    const packet = encodePacket([msg], {
      compress: this.opts.enableCompression,
      crc: withCrc,
      keyring: this.encrypting ? this.keyring : undefined,
      encryptionVersion: this.encryptionVersion,
      label: this.outLabel,
    });
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    this.transport.sendPacket(to, packet);
  }

  /** Counts leaf messages about to be sent. */
  countSent(msgs: readonly Uint8Array[]): void {
    for (const m of msgs) {
      const type = m.length > 0 ? (MESSAGE_TYPE_NAMES[m[0]!] ?? `type-${m[0]}`) : 'empty';
      this.count(this.stats.messagesSent, type);
      this.count(this.stats.messageBytesSent, type, m.length);
    }
  }

  /**
   * Sends one message with pending broadcasts piggybacked in a compound (memberlist `sendMsg`),
   * without CRC.
   */
  sendMsg(to: Addr, msg: MemberlistMessage): void {
    const encoded = encodeMessage(msg);
    let avail = this.opts.udpBufferBytes - encoded.length - COMPOUND_HEADER_OVERHEAD - this.labelOverhead;
    if (this.encrypting) avail -= encryptionOverhead(this.encryptionVersion);
    const extra = this.getBroadcasts(COMPOUND_PART_OVERHEAD, avail, to);
    const parts = [encoded, ...extra];
    this.countSent(parts);
    this.sendRaw(to, parts.length === 1 ? encoded : encodeCompound(parts), false);
  }

  /** Sends several messages to a known member as one packet with CRC (probes of non-alive members, gossip). */
  sendToNode(to: Addr, msgs: Uint8Array[]): void {
    if (msgs.length === 0) return;
    this.countSent(msgs);
    this.sendRaw(to, msgs.length === 1 ? msgs[0]! : encodeCompound(msgs), true);
  }

  // -------------------------------------------------------------------------------------------
  // Ack handlers

  /** Registers an ack handler for `seqNo` that expires after `timeoutMs`. */
  setAckHandler(
    seqNo: number,
    timeoutMs: number,
    onAck: (payload: Uint8Array | null, receivedAt: number) => void,
    onNack?: () => void,
    onExpire?: () => void,
  ): void {
    if (this.ackHandlers.size >= MAX_ACK_HANDLERS) {
      this.log.warn('too many probes in flight; dropping the oldest ack handler', {
        limit: MAX_ACK_HANDLERS,
      });
      const oldest = this.ackHandlers.keys().next().value;
      if (oldest !== undefined) {
        this.ackHandlers.get(oldest)?.cancel();
        this.ackHandlers.delete(oldest);
      }
    }
    const timer = this.clock.setTimer(timeoutMs, () => {
      if (this.ackHandlers.get(seqNo) === handler) this.ackHandlers.delete(seqNo);
      onExpire?.();
    });
    const handler: AckHandler = { onAck, onNack, cancel: () => timer.cancel() };
    this.ackHandlers.set(seqNo, handler);
  }

  invokeAck(seqNo: number, payload: Uint8Array | null, receivedAt: number): void {
    const h = this.ackHandlers.get(seqNo);
    if (h === undefined) return;
    this.ackHandlers.delete(seqNo);
    h.cancel();
    h.onAck(payload, receivedAt);
  }

  invokeNack(seqNo: number): void {
    this.ackHandlers.get(seqNo)?.onNack?.();
  }
}
