/**
 * The stream side of the protocol (memberlist `handleConn`, `sendAndReceiveState`,
 * `sendPingAndWaitForAck`, `sendUserMsg`): one exchange per connection.
 *
 * - **push-pull**: both sides send their full state (every member, dead and left included, plus
 *   the delegate's state); the listener answers first, then both merge. It is how a node joins,
 *   and the periodic anti-entropy that repairs whatever gossip missed.
 * - **TCP ping**: the fallback probe when UDP probes fail.
 * - **user message**: a delegate message sent reliably.
 *
 * A listener decodes incrementally (a Go initiator does not half-close), answers decoding
 * errors with an `errResp` as memberlist does, and bounds each exchange by `tcpTimeoutMs` and
 * by the push-state size limit.
 *
 * Cluster label (`wire/label.ts`): the dialer writes its label header once, in front of its
 * request; the listener reads it, drops the stream without a reply when it does not pass (as
 * memberlist's `handleConn` does), and otherwise answers under the label it read. Encrypted
 * frames both ways authenticate that label.
 */
import { ProtocolVersionError, RemoteError, TimeoutError } from '../errors.ts';
import type { Addr, Stream } from '../transport/transport.ts';
import { addLabelHeader, checkLabel, readStreamLabel } from '../wire/label.ts';
import { MAX_PUSH_STATE_BYTES } from '../wire/limits.ts';
import { encodeMessage, type Ping, type PushNodeState } from '../wire/memberlist.ts';
import {
  decodeStreamMessage,
  encodeErrResp,
  encodePushNodeState,
  encodePushPull,
  encodePushPullOfEncoded,
  encodeStreamMessage,
  encodeStreamUserMessage,
  newStreamDecodeProgress,
  type StreamMessage,
} from '../wire/stream.ts';
import { sourceOf, versionIncompatibility } from './admission.ts';
import {
  type Core,
  DECODED_NODE_STATE_BYTES,
  MAX_INBOUND_STREAM_BUFFER_BYTES,
  MAX_INBOUND_STREAMS_PER_SOURCE,
  MAX_PUSH_PULL_REQUESTS,
} from './core.ts';
import { type NodeState, STATUS_BY_CODE, toMember, toPushNodeState } from './node-state.ts';
import { admitVersions, mergeState } from './transitions.ts';

/** Slack over the push-state limit for framing (encryption, compression headers). */
const STREAM_FRAMING_SLACK_BYTES = 1024;

/**
 * A growable byte buffer for a stream's incoming data (amortized O(n) appends). A message that
 * arrives in one chunk (a whole push-pull state, in the simulator) is read in place: the first
 * chunk is only referenced (never written to), and copied when a second one arrives.
 */
class ByteBuffer {
  #buf: Uint8Array = new Uint8Array(0);
  /** Whether `#buf` is ours to write, rather than the first chunk itself. */
  #isOwned = false;
  length = 0;

  append(chunk: Uint8Array): void {
    if (this.length === 0 && !this.#isOwned) {
      this.#buf = chunk;
      this.length = chunk.length;
      return;
    }
    if (!this.#isOwned || this.length + chunk.length > this.#buf.length) {
      let cap = Math.max(4096, this.#isOwned ? this.#buf.length * 2 : 0);
      while (cap < this.length + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.length));
      this.#buf = next;
      this.#isOwned = true;
    }
    this.#buf.set(chunk, this.length);
    this.length += chunk.length;
  }

  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  /** Bytes held: the allocation, which is up to twice the length while growing. */
  get capacity(): number {
    return this.#buf.length;
  }
}

/**
 * Frames a plain stream message as this node sends it (compressed, encrypted if we have keys)
 * on a stream whose cluster label is `label` (empty: none).
 */
function frame(core: Core, plain: Uint8Array, label: Uint8Array): Uint8Array {
  return encodeStreamMessage(plain, {
    compress: core.opts.enableCompression,
    keyring: core.encrypting ? core.keyring : undefined,
    encryptionVersion: core.encryptionVersion,
    label,
  });
}

function decodeOptions(core: Core, label: Uint8Array) {
  return { keyring: core.keyring, verifyIncoming: core.opts.gossipVerifyIncoming, label };
}

/**
 * Each member entry's push-pull encoding, made the first time the entry is sent. Entries are
 * immutable and shared (intern.ts), so the bytes never go stale, and in the simulator, where n
 * nodes share each entry, one encoding serves them all. Bounded by the entries alive: a weak
 * map keeps nothing an entry table no longer holds (a node's table is bounded by `maxMembers`,
 * about 80 bytes of encoding per member).
 */
const encodedEntries = new WeakMap<NodeState, Uint8Array>();

function encodedEntry(entry: NodeState): Uint8Array {
  let bytes = encodedEntries.get(entry);
  if (bytes === undefined) {
    bytes = encodePushNodeState(toPushNodeState(entry));
    encodedEntries.set(entry, bytes);
  }
  return bytes;
}

/** Our push-pull message, framed for a stream labelled `label`: every member we know plus the delegate's state. */
export function localState(core: Core, join: boolean, label: Uint8Array): Uint8Array {
  const states = core.nodes.list.map(encodedEntry);
  const user = core.callHook('localState', () => core.delegate.localState?.(join)) ?? new Uint8Array(0);
  return frame(core, encodePushPullOfEncoded(join, states, user), label);
}

/**
 * Merges a remote push-pull (memberlist `mergeRemoteState`): admission of each entry's
 * versions, the merge veto on joins, the node states, then the delegate's state.
 *
 * Unlike memberlist, whose `verifyProtocol` fails the whole exchange when any member's
 * versions clash with any other's, an entry whose versions cannot work with ours is skipped
 * (counted as `incompatible-version`, logged once per name) and the rest is merged: one bad
 * entry in a peer's list must not keep a healthy node out. Only when no alive entry at all can
 * work with us (the peer's cluster speaks something else) is the exchange refused, with a
 * {@link ProtocolVersionError}. Returns an error instead of merging when that or the veto fails.
 */
export function mergeRemoteState(
  core: Core,
  join: boolean,
  remote: readonly PushNodeState[],
  userState: Uint8Array,
): Error | undefined {
  let states = remote;
  let firstRefusal: string | undefined;
  let aliveAdmitted = 0;
  for (let i = 0; i < remote.length; i++) {
    const s = remote[i]!;
    if (s.name === core.opts.name) {
      if (states !== remote) (states as PushNodeState[]).push(s);
      continue;
    }
    if (versionIncompatibility(core.versionVector, s.vsn) === undefined) {
      if (s.state === 0) aliveAdmitted++;
      if (states !== remote) (states as PushNodeState[]).push(s);
      continue;
    }
    // Copy what came before on the first refusal only: the common case allocates nothing.
    if (states === remote) states = remote.slice(0, i);
    firstRefusal ??= `Node '${s.name}' ${versionIncompatibility(core.versionVector, s.vsn)}`;
    admitVersions(core, s.name, s.vsn);
  }
  if (firstRefusal !== undefined) {
    if (aliveAdmitted === 0 && remote.some((s) => s.state === 0 && s.name !== core.opts.name)) {
      return new ProtocolVersionError(
        `no member of the remote cluster can work with our versions: ${firstRefusal}`,
      );
    }
    core.log.warn('push-pull: skipped members whose versions cannot work with ours', {
      skipped: remote.length - states.length,
      first: firstRefusal,
    });
  }
  if (join && core.delegate.notifyMerge) {
    const peers = states.map((s) =>
      toMember(
        {
          name: s.name,
          addr: s.addr,
          port: s.port,
          address: '',
          meta: s.meta,
          incarnation: s.incarnation,
          status: STATUS_BY_CODE[s.state] ?? 'dead',
          vsn: s.vsn,
        },
        core.clock.now(),
      ),
    );
    const veto = core.callHook('notifyMerge', () => core.delegate.notifyMerge!(peers));
    if (veto) return veto;
  }
  mergeState(core, states);
  if (userState.length > 0) {
    core.callHook('mergeRemoteState', () => core.delegate.mergeRemoteState?.(userState, join));
  }
  return undefined;
}

/** Serves one inbound stream. */
export function handleStream(core: Core, stream: Stream): void {
  if (core.hasShutdown) {
    stream.destroy();
    return;
  }
  const from = stream.remote;
  const source = sourceOf(from);
  const open = core.inboundStreamsBySource.get(source) ?? 0;
  if (open >= MAX_INBOUND_STREAMS_PER_SOURCE) {
    core.drop(
      'streams-per-source',
      from,
      `over ${MAX_INBOUND_STREAMS_PER_SOURCE} streams open from ${source}`,
    );
    stream.destroy();
    return;
  }
  core.inboundStreamsBySource.set(source, open + 1);
  const buf = new ByteBuffer();
  const progress = newStreamDecodeProgress();
  let done = false;
  /** The label header the dialer sent (once read), and where its first message starts. */
  let label: Uint8Array | undefined;
  let offset = 0;
  let released = false;
  /** What this stream holds against the budget: its buffer and the node states decoded so far. */
  let held = 0;
  const account = (): boolean => {
    const now = buf.capacity + progress.states.length * DECODED_NODE_STATE_BYTES;
    core.inboundStreamBytes += now - held;
    held = now;
    return core.inboundStreamBytes <= MAX_INBOUND_STREAM_BUFFER_BYTES;
  };
  /** Gives back this stream's share of the per-source and buffered-bytes budgets, once. */
  const release = () => {
    if (released) return;
    released = true;
    core.inboundStreamBytes -= held;
    held = 0;
    const n = (core.inboundStreamsBySource.get(source) ?? 1) - 1;
    if (n <= 0) core.inboundStreamsBySource.delete(source);
    else core.inboundStreamsBySource.set(source, n);
  };
  const deadline = core.clock.setTimer(core.opts.tcpTimeoutMs, () => {
    if (done) return;
    done = true;
    release();
    core.drop('stream-timeout', from, `no complete message within ${core.opts.tcpTimeoutMs} ms`);
    stream.destroy(new TimeoutError('stream exchange timed out'));
  });
  const end = () => {
    done = true;
    release();
    deadline.cancel();
    stream.close();
  };
  const fail = (reason: string, detail: string, reply: boolean) => {
    core.drop(reason, from, detail);
    if (reply) stream.write(frame(core, encodeErrResp(detail), label ?? new Uint8Array(0)));
    end();
  };
  const tryDecode = (complete: boolean) => {
    if (done) return;
    if (buf.length > MAX_PUSH_STATE_BYTES + STREAM_FRAMING_SLACK_BYTES) {
      fail('too-large', `stream message over ${MAX_PUSH_STATE_BYTES} bytes`, true);
      return;
    }
    if (label === undefined) {
      const header = readStreamLabel(buf.view());
      if (header === 'incomplete') {
        if (complete) fail('truncated', 'the stream closed before a complete message', false);
        return;
      }
      if (!header.ok) {
        fail(header.reason, header.detail, false);
        return;
      }
      // A stream of another cluster gets no answer at all (memberlist's handleConn).
      const refused = checkLabel(header.value.label, core.labelPolicy);
      if (refused) {
        fail(refused.reason, refused.detail, false);
        return;
      }
      label = header.value.label;
      offset = header.value.offset;
    }
    const res = decodeStreamMessage(buf.view().subarray(offset), { ...decodeOptions(core, label), progress });
    if (res.status === 'incomplete') {
      if (complete) fail('truncated', 'the stream closed before a complete message', false);
      return;
    }
    if (res.status === 'error') {
      fail(res.failure.reason, res.failure.detail, true);
      return;
    }
    serve(core, stream, res.message, from, label);
    end();
  };
  stream.setHandlers({
    data(chunk) {
      if (done) return;
      buf.append(chunk);
      if (!account()) {
        fail('stream-memory', `inbound streams hold over ${MAX_INBOUND_STREAM_BUFFER_BYTES} bytes`, false);
        return;
      }
      tryDecode(false);
      if (!done && !account()) {
        fail('stream-memory', `inbound streams hold over ${MAX_INBOUND_STREAM_BUFFER_BYTES} bytes`, false);
      }
    },
    close() {
      if (!done) tryDecode(true);
      done = true;
      release();
      deadline.cancel();
    },
  });
}

function serve(core: Core, stream: Stream, msg: StreamMessage, from: Addr, label: Uint8Array): void {
  switch (msg.type) {
    case 'pushPull': {
      if (core.pushPullInbound >= MAX_PUSH_PULL_REQUESTS) {
        core.drop('too-many-push-pulls', from, `over ${MAX_PUSH_PULL_REQUESTS} concurrent push-pulls`);
        return;
      }
      if (!core.pushPullLimiter.take(sourceOf(from), core.clock.now())) {
        const detail = `over ${core.opts.maxPushPullsPerSourcePerSecond} push-pulls a second from ${sourceOf(from)}; try again later`;
        core.drop('push-pull-rate', from, detail);
        stream.write(frame(core, encodeErrResp(detail), label));
        return;
      }
      const started = core.clock.now();
      core.pushPullInbound++;
      try {
        // memberlist answers with its own state first, then merges the remote one.
        stream.write(localState(core, msg.join, label));
        const err = mergeRemoteState(core, msg.join, msg.states, msg.userState);
        core.stats.pushPulls++;
        if (err) {
          core.stats.pushPullFailures++;
          core.log.warn('push-pull merge refused', { peer: from, error: err.message });
        }
        core.events.emit('pushPull', {
          peer: from,
          join: msg.join,
          initiated: false,
          durationMs: core.clock.now() - started,
          ...(err ? { error: err.message } : {}),
        });
      } finally {
        core.pushPullInbound--;
      }
      return;
    }
    case 'ping':
      if (msg.body.node !== '' && msg.body.node !== core.opts.name) {
        core.drop('wrong-node', from, `stream ping for "${msg.body.node}"`);
        return;
      }
      core.stats.acksSent++;
      stream.write(
        frame(core, encodeMessage({ type: 'ack', body: { seqNo: msg.body.seqNo, payload: null } }), label),
      );
      return;
    case 'user':
      core.callHook('notifyMessage', () => core.delegate.notifyMessage?.(msg.payload, from));
      return;
    default:
      core.drop('unexpected-type', from, `a ${msg.type} message cannot open a stream exchange`);
  }
}

/** What an operator should check when an exchange fails for an encryption reason. */
function hintFor(core: Core, reason: string): string {
  if (reason === 'auth-failed') {
    return ' (the peer encrypts with a key we do not have: check that both sides use the same --encrypt key or keyring)';
  }
  if (reason === 'encryption-mismatch') {
    return core.encrypting
      ? ' (the peer does not use encryption: remove --encrypt here, or enable it there)'
      : " (the cluster uses encryption: start this node with the cluster's --encrypt key)";
  }
  return '';
}

/** The outcome of an initiated exchange. */
export type ExchangeResult = { ok: true; message: StreamMessage } | { ok: false; error: Error };

/**
 * Opens a stream to `to`, sends `request` (framed under `core.outLabel`) behind our label
 * header, and reads one reply message before `deadline` (clock ms). `expectReply: false` just
 * sends and closes.
 */
export function exchange(
  core: Core,
  to: Addr,
  request: Uint8Array,
  deadlineAt: number,
  expectReply: boolean,
  callback: (result: ExchangeResult) => void,
): void {
  let settled = false;
  let stream: Stream | undefined;
  const settle = (r: ExchangeResult) => {
    if (settled) return;
    settled = true;
    timer.cancel();
    if (stream) {
      if (r.ok) stream.close();
      else stream.destroy(r.error);
    }
    callback(r);
  };
  const timeoutMs = Math.max(1, deadlineAt - core.clock.now());
  const timer = core.clock.setTimer(timeoutMs, () =>
    settle({ ok: false, error: new TimeoutError(`no reply from ${to} within ${Math.round(timeoutMs)} ms`) }),
  );
  core.transport.dialStream(to, timeoutMs, (dial) => {
    if (settled) {
      if (dial.ok) dial.stream.destroy();
      return;
    }
    if (!dial.ok) {
      settle({ ok: false, error: dial.error });
      return;
    }
    stream = dial.stream;
    const buf = new ByteBuffer();
    const progress = newStreamDecodeProgress();
    const tryDecode = (complete: boolean) => {
      if (settled) return;
      if (buf.length > MAX_PUSH_STATE_BYTES + STREAM_FRAMING_SLACK_BYTES) {
        settle({
          ok: false,
          error: new RemoteError(`reply from ${to} exceeds ${MAX_PUSH_STATE_BYTES} bytes`),
        });
        return;
      }
      const res = decodeStreamMessage(buf.view(), { ...decodeOptions(core, core.outLabel), progress });
      if (res.status === 'incomplete') {
        if (complete)
          settle({
            ok: false,
            error: new RemoteError(
              `${to} closed the connection without a reply (a node drops a stream of another cluster unanswered: if this persists, check that both sides have the same cluster label, or none)`,
            ),
          });
        return;
      }
      if (res.status === 'error') {
        core.drop(res.failure.reason, to, res.failure.detail);
        settle({
          ok: false,
          error: new RemoteError(
            `bad reply from ${to}: ${res.failure.detail}${hintFor(core, res.failure.reason)}`,
          ),
        });
        return;
      }
      if (res.message.type === 'err') {
        const text = res.message.body.error;
        const hint = /encrypt|decrypt|keys/i.test(text)
          ? hintFor(core, /not encrypted/.test(text) ? 'encryption-mismatch' : 'auth-failed')
          : '';
        settle({ ok: false, error: new RemoteError(`remote error: ${text}${hint}`) });
        return;
      }
      settle({ ok: true, message: res.message });
    };
    stream.setHandlers({
      data(chunk) {
        buf.append(chunk);
        tryDecode(false);
      },
      close(error) {
        if (settled) return;
        if (error && buf.length === 0) {
          settle({ ok: false, error });
          return;
        }
        tryDecode(true);
      },
    });
    stream.write(addLabelHeader(core.outLabel, request));
    if (!expectReply) settle({ ok: true, message: { type: 'user', payload: new Uint8Array(0) } });
  });
}

/**
 * A push-pull with `to` (memberlist `pushPullNode`): send our state, read theirs, merge.
 * `callback` gets the error, if any.
 */
export function pushPullNode(core: Core, to: Addr, join: boolean, callback: (error?: Error) => void): void {
  const started = core.clock.now();
  exchange(core, to, localState(core, join, core.outLabel), started + core.opts.tcpTimeoutMs, true, (r) => {
    let error: Error | undefined;
    if (!r.ok) error = r.error;
    else if (r.message.type !== 'pushPull') {
      error = new RemoteError(`${to} answered a push-pull with a ${r.message.type} message`);
    } else {
      error = mergeRemoteState(core, join, r.message.states, r.message.userState);
    }
    core.stats.pushPulls++;
    core.stats.pushPullDurationMsTotal += core.clock.now() - started;
    if (error) core.stats.pushPullFailures++;
    core.events.emit('pushPull', {
      peer: to,
      join,
      initiated: true,
      durationMs: core.clock.now() - started,
      ...(error ? { error: error.message } : {}),
    });
    callback(error);
  });
}

/** What {@link peekNode} read: the remote's member list, exactly as it sent it. */
export type PeekResult = { ok: true; states: readonly PushNodeState[] } | { ok: false; error: Error };

/**
 * A push-pull that merges nothing on either side (beyond memberlist): we send a state with no
 * members and no delegate state (`join` false), so the remote merges nothing and answers with
 * its full state, which we return instead of merging. Discovery's first-start gate and
 * `gossip doctor` use it to learn who answers at an address (its name, its members, its
 * protocol versions) and whether our key and label are accepted, without joining. A Go Serf
 * peer logs "Remote state is zero bytes" for the empty delegate state and carries on.
 */
export function peekNode(core: Core, to: Addr, callback: (result: PeekResult) => void): void {
  const started = core.clock.now();
  const request = frame(core, encodePushPull(false, [], new Uint8Array(0)), core.outLabel);
  exchange(core, to, request, started + core.opts.tcpTimeoutMs, true, (r) => {
    if (!r.ok) callback(r);
    else if (r.message.type !== 'pushPull') {
      callback({
        ok: false,
        error: new RemoteError(`${to} answered a push-pull with a ${r.message.type} message`),
      });
    } else callback({ ok: true, states: r.message.states });
  });
}

/** The fallback TCP probe (memberlist `sendPingAndWaitForAck`): true if the member acked in time. */
export function tcpPing(
  core: Core,
  to: Addr,
  ping: Ping,
  deadlineAt: number,
  callback: (ok: boolean) => void,
): void {
  exchange(
    core,
    to,
    frame(core, encodeMessage({ type: 'ping', body: ping }), core.outLabel),
    deadlineAt,
    true,
    (r) => {
      callback(r.ok && r.message.type === 'ack' && r.message.body.seqNo === ping.seqNo);
    },
  );
}

/** Sends a delegate message reliably over a stream. */
export function sendReliable(
  core: Core,
  to: Addr,
  payload: Uint8Array,
  callback: (error?: Error) => void,
): void {
  exchange(
    core,
    to,
    frame(core, encodeStreamUserMessage(payload), core.outLabel),
    core.clock.now() + core.opts.tcpTimeoutMs,
    false,
    (r) => callback(r.ok ? undefined : r.error),
  );
}
