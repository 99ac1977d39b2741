/**
 * The real serf accepts what our encoder writes. A minimal node built directly on the codec
 * (no membership layer) joins a live `serf agent` on loopback by TCP push-pull, answers its
 * pings, sends a join intent and a user event, and pings it over UDP and TCP — in plaintext
 * and with encryption. The agent must list the node alive with its tags and run its handler.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  decodePacket,
  decodeSerfMessage,
  decodeStreamMessage,
  decodeTags,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeSerfMessage,
  encodeStreamMessage,
  encodeTags,
  ipToString,
  Keyring,
  type MemberlistMessage,
} from '../../src/wire/index.ts';
import { freePort, SerfAgent, serfAvailable, waitFor } from '../support/serf.ts';

const KEY = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
const LOOPBACK = Uint8Array.of(127, 0, 0, 1);
const VSN = [1, 5, 2, 2, 5, 5];

/** Sends one stream message and reads the reply until the agent closes the connection. */
function exchange(port: number, request: Uint8Array, keyring: Keyring | undefined) {
  return new Promise<ReturnType<typeof decodeStreamMessage>>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.setTimeout(5000, () => sock.destroy(new Error('stream timeout')));
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(decodeStreamMessage(new Uint8Array(buf), { keyring })));
  });
}

for (const encrypted of [false, true]) {
  describe(`real serf accepts our encoding (${encrypted ? 'encrypted' : 'plaintext'})`, {
    skip: !serfAvailable() && 'the serf binary is not installed (CI installs it)',
  }, () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    it('joins, stays alive, shows its tags, delivers an event, and is pinged back', async () => {
      const keyring = encrypted ? new Keyring([Keyring.parseKey(KEY)]) : undefined;
      const a = await SerfAgent.start({
        node: 'serf1',
        encrypt: encrypted ? KEY : undefined,
        eventHandlers: ['user:from-ts=cat >> {dir}/events.log'],
      });
      const eventsFile = join(a.dir, 'events.log');
      cleanup.push(() => a.stop());

      // Our node's sockets: UDP answers pings; TCP is there because peers expect it.
      const port = await freePort();
      const udp = createSocket('udp4');
      await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
      const tcp = createServer((s) => s.destroy());
      await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
      cleanup.push(() => new Promise<void>((r) => udp.close(() => r())));
      cleanup.push(() => new Promise<void>((r) => tcp.close(() => r())));
      const send = (msgs: MemberlistMessage[], to: number) =>
        udp.send(encodePacket(msgs.map(encodeMessage), { keyring }), to, '127.0.0.1');
      const acks = new Set<number>();
      let pingsAnswered = 0;
      udp.on('message', (data, rinfo) => {
        const p = decodePacket(new Uint8Array(data), { keyring });
        if (!p.ok) return;
        for (const m of p.value.messages) {
          if (m.type === 'ping' && m.body.node === 'ts1') {
            pingsAnswered++;
            send(
              [{ type: 'ack', body: { seqNo: m.body.seqNo, payload: null } }],
              m.body.sourcePort || rinfo.port,
            );
          } else if (m.type === 'ack') {
            acks.add(m.body.seqNo);
          }
        }
      });

      // 1. Join by TCP push-pull.
      const tags = { role: 'ts-node', lang: 'typescript' };
      const serfState = encodeSerfMessage({
        type: 'pushPull',
        body: {
          lTime: 1,
          statusLTimes: { ts1: 1 },
          leftMembers: [],
          eventLTime: 1,
          events: null,
          queryLTime: 1,
        },
      });
      const request = encodeStreamMessage(
        encodePushPull(
          true,
          [{ name: 'ts1', addr: LOOPBACK, port, meta: encodeTags(tags), incarnation: 1, state: 0, vsn: VSN }],
          serfState,
        ),
        { keyring },
      );
      const reply = await exchange(a.port, request, keyring);
      assert.equal(reply.status, 'ok', reply.status === 'error' ? reply.failure.detail : '');
      assert.ok(reply.status === 'ok' && reply.message.type === 'pushPull');
      assert.equal(reply.encrypted, encrypted);
      const serfNode = reply.message.states.find((s) => s.name === 'serf1');
      assert.ok(serfNode, 'the reply lists the agent itself');
      assert.equal(ipToString(serfNode.addr), '127.0.0.1');
      assert.equal(serfNode.port, a.port);
      assert.deepEqual(serfNode.vsn, VSN);
      const theirState = decodeSerfMessage(reply.message.userState);
      assert.ok(theirState.ok && theirState.value.type === 'pushPull');
      assert.ok('serf1' in theirState.value.body.statusLTimes);
      assert.deepEqual(decodeTags(serfNode.meta), { ok: true, value: {} });

      // 2. The Serf join intent, by UDP.
      send(
        [{ type: 'user', payload: encodeSerfMessage({ type: 'join', body: { lTime: 1, node: 'ts1' } }) }],
        a.port,
      );

      // 3. The agent lists us alive with our tags, and keeps us alive by answering its pings.
      const me = await waitFor('ts1 alive in serf members', async () =>
        (await a.members()).find((m) => m.name === 'ts1' && m.status === 'alive'),
      );
      assert.deepEqual(me.tags, tags);
      assert.equal(me.addr, `127.0.0.1:${port}`);
      await waitFor('serf to probe us', () => pingsAnswered >= 2, 10_000);
      assert.equal(await a.statusOf('ts1'), 'alive');

      // 4. A user event reaches the agent's handler.
      const event = encodeSerfMessage({
        type: 'userEvent',
        body: { lTime: 5, name: 'from-ts', payload: new TextEncoder().encode('hello-serf'), cc: false },
      });
      send([{ type: 'user', payload: event }], a.port);
      await waitFor('the event handler output', () => {
        try {
          return readFileSync(eventsFile, 'utf8').includes('hello-serf');
        } catch {
          return false;
        }
      });

      // 5. Our UDP ping is acked (compound with CRC and compression options exercised too).
      udp.send(
        encodePacket(
          [
            encodeMessage({
              type: 'ping',
              body: { seqNo: 4242, node: 'serf1', sourceAddr: LOOPBACK, sourcePort: port, sourceNode: 'ts1' },
            }),
          ],
          { keyring, crc: true },
        ),
        a.port,
        '127.0.0.1',
      );
      await waitFor('an ack for our UDP ping', () => acks.has(4242));

      // 6. Our TCP (fallback) ping is acked.
      const tcpAck = await exchange(
        a.port,
        encodeStreamMessage(
          encodeMessage({
            type: 'ping',
            body: { seqNo: 77, node: 'serf1', sourceAddr: LOOPBACK, sourcePort: port, sourceNode: 'ts1' },
          }),
          { keyring },
        ),
        keyring,
      );
      assert.ok(tcpAck.status === 'ok' && tcpAck.message.type === 'ack');
      assert.equal(tcpAck.message.body.seqNo, 77);
    });
  });
}
