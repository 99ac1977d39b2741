/**
 * The UDP receive path (memberlist `ingestPacket`, `handleCommand` and the handlers of `net.go`):
 * check the cluster label, decrypt, check the CRC, unwrap compound and compressed messages, then act on each message.
 * Malformed, unauthenticated or oversized input is counted and dropped, never thrown.
 */
import type { Addr } from '../transport/transport.ts';
import type { IndirectPingReq, MemberlistMessage, Ping } from '../wire/memberlist.ts';
import { decodePacket } from '../wire/packet.ts';
import type { Core } from './core.ts';
import { addressOf } from './node-state.ts';
import { aliveNode, deadNode, suspectNode } from './transitions.ts';

/** Handles one datagram. */
export function handlePacket(core: Core, data: Uint8Array, from: Addr, receivedAt: number): void {
  if (core.hasShutdown) return;
  core.stats.packetsReceived++;
  core.stats.bytesReceived += data.length;
  const res = decodePacket(data, {
    keyring: core.keyring,
    verifyIncoming: core.opts.gossipVerifyIncoming,
    labelPolicy: core.labelPolicy,
  });
  if (!res.ok) {
    core.drop(res.reason, from, res.detail);
    return;
  }
  for (const f of res.value.partFailures) core.drop(f.reason, from, f.detail);
  const { messages, sizes } = res.value;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    core.count(core.stats.messagesReceived, m.type);
    core.count(core.stats.messageBytesReceived, m.type, sizes[i]!);
    handleMessage(core, m, from, receivedAt);
  }
}

function handleMessage(core: Core, m: MemberlistMessage, from: Addr, receivedAt: number): void {
  switch (m.type) {
    case 'ping':
      handlePing(core, m.body, from);
      return;
    case 'indirectPing':
      handleIndirectPing(core, m.body, from);
      return;
    case 'ack':
      core.stats.acksReceived++;
      core.invokeAck(m.body.seqNo, m.body.payload, receivedAt);
      return;
    case 'nack':
      core.stats.nacksReceived++;
      core.invokeNack(m.body.seqNo);
      return;
    case 'alive':
      // Protocol 1 peers do not send a port; memberlist assumes its own.
      if (m.body.port === 0) m.body.port = core.advertisePort;
      aliveNode(core, m.body, { source: from });
      return;
    case 'suspect':
      suspectNode(core, m.body);
      return;
    case 'dead':
      deadNode(core, m.body);
      return;
    case 'user':
      core.callHook('notifyMessage', () => core.delegate.notifyMessage?.(m.payload, from));
      return;
    case 'err':
      core.drop('unexpected-type', from, 'an error response arrived by UDP');
      return;
  }
}

function replyAddress(sourceAddr: Uint8Array, sourcePort: number, from: Addr): Addr {
  return sourceAddr.length > 0 && sourcePort > 0 ? addressOf(sourceAddr, sourcePort) : from;
}

/** Answers a probe with an ack (carrying the delegate's payload, e.g. Serf's coordinate). */
export function handlePing(core: Core, p: Ping, from: Addr): void {
  if (p.node !== '' && p.node !== core.opts.name) {
    core.drop('wrong-node', from, `ping for "${p.node}", we are "${core.opts.name}"`);
    return;
  }
  const payload = core.callHook('ackPayload', () => core.delegate.ackPayload?.()) ?? null;
  core.stats.acksSent++;
  core.sendMsg(replyAddress(p.sourceAddr, p.sourcePort, from), {
    type: 'ack',
    body: { seqNo: p.seqNo, payload },
  });
}

/**
 * Probes a member on behalf of another: pings the target, relays its ack to the requester, and
 * sends a nack if the target stays silent for a probe timeout and the requester asked for one.
 */
export function handleIndirectPing(core: Core, ind: IndirectPingReq, from: Addr): void {
  const port = ind.port === 0 ? core.advertisePort : ind.port;
  const localSeq = core.nextSeqNo();
  const requester = replyAddress(ind.sourceAddr, ind.sourcePort, from);
  let answered = false;
  core.setAckHandler(localSeq, core.opts.probeTimeoutMs, () => {
    answered = true;
    core.stats.acksSent++;
    core.sendMsg(requester, { type: 'ack', body: { seqNo: ind.seqNo, payload: null } });
  });
  core.sendMsg(addressOf(ind.target, port), {
    type: 'ping',
    body: {
      seqNo: localSeq,
      node: ind.node,
      sourceAddr: core.advertiseIp,
      sourcePort: core.advertisePort,
      sourceNode: core.opts.name,
    },
  });
  if (ind.nack) {
    core.clock.setTimer(core.opts.probeTimeoutMs, () => {
      if (answered || core.hasShutdown) return;
      core.stats.nacksSent++;
      core.sendMsg(requester, { type: 'nack', body: { seqNo: ind.seqNo } });
    });
  }
}
