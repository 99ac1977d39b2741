/**
 * Our internal-query answers are byte-identical to what real agents sent (vectors captured from
 * serf 0.9.4, `test/vectors`): a raw querier on the in-memory network sends the
 * captured query to one of our nodes (same node name, query ID and Lamport time) and compares
 * the response message it gets back with the captured one — `_serf_conflict` (`0x06 | Member`),
 * `_serf_remove-key` success and refusal, and `_serf_list-keys`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Keyring } from '../../src/wire/crypto.ts';
import { encodeMessage } from '../../src/wire/memberlist.ts';
import { decodePacket, encodePacket } from '../../src/wire/packet.ts';
import { encodeSerfMessage, type MessageQuery } from '../../src/wire/serf.ts';
import { VECTOR_DIR as VECTOR_DIR_PATH } from '../support/vectors.ts';
import { allAlive, SerfSim } from './harness.ts';

interface Vector {
  name: string;
  hex: string;
  decoded: {
    encryption?: { plaintextHex: string };
    msg: { userMsg?: { body: Record<string, unknown> }; inner?: unknown };
  };
}

const VECTOR_DIR = new URL(`file://${VECTOR_DIR_PATH}`);
const load = (file: string): Vector[] =>
  JSON.parse(readFileSync(new URL(file, VECTOR_DIR), 'utf8')) as Vector[];
const find = (file: string, name: string): Vector => {
  const v = load(file).find((x) => x.name === name);
  assert.ok(v, `vector "${name}" in ${file}`);
  return v;
};
/** The plaintext leaf message of a captured response: `08 05 …`. */
const leafHex = (v: Vector) => v.decoded.encryption?.plaintextHex ?? v.hex;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const key = (b64: string) => Keyring.parseKey(b64);

/** Sends `query` to `to` from a raw transport at `from`, and resolves with the hex of each user message answered. */
function rawQuerier(sim: SerfSim, from: string, keyring?: Keyring) {
  const transport = sim.network.createTransport(from);
  const answers: string[] = [];
  transport.attach({
    packet: (data) => {
      const p = decodePacket(data, keyring ? { keyring } : {});
      if (!p.ok) return;
      for (const m of p.value.messages) if (m.type === 'user') answers.push(`08${hex(m.payload)}`);
    },
    stream: (s) => s.close(),
  });
  return {
    answers,
    send(to: string, query: MessageQuery) {
      const user = encodeMessage({
        type: 'user',
        payload: encodeSerfMessage({ type: 'query', body: query }),
      });
      transport.sendPacket(to, encodePacket([user], keyring ? { keyring } : {}));
    },
  };
}

function query(
  name: string,
  id: number,
  lTime: number,
  port: number,
  sourceNode: string,
  payload: Uint8Array,
) {
  return {
    lTime,
    id,
    addr: Uint8Array.of(127, 0, 0, 1),
    port,
    sourceNode,
    filters: null,
    flags: 0,
    relayFactor: 0,
    timeout: 3_200_000_000,
    name,
    payload,
  } satisfies MessageQuery;
}

describe('internal-query answers match captured serf bytes', () => {
  it('_serf_conflict: 0x06 | Member as the responder knows it', async () => {
    const sim = new SerfSim(61);
    const b1 = sim.add('b1', { tags: { role: 'orig' } }, true, '127.0.0.1:28950');
    const b2 = sim.add('b2', {}, true, '127.0.0.1:28951');
    await sim.drive(b2.serf.join([b1.addr]));
    await sim.waitFor('joined', () => allAlive([b1, b2]), 5000);
    const v = find('extra.json', '_serf_conflict response (0x06 + Member)');
    const raw = rawQuerier(sim, '127.0.0.1:28953');
    raw.send(b2.addr, query('_serf_conflict', 371089558, 1, 28953, 'b1', new TextEncoder().encode('b1')));
    await sim.run(100);
    assert.deepEqual(raw.answers, [leafHex(v)]);
    await sim.close();
  });

  it('_serf_remove-key: success, then the refusal for the primary key', async () => {
    const K1 = '8I0gjH/3M3VsEqvJ8zlAM+uh3odYuimpssh68c7om7U=';
    const K2 = 'iP21Y+2QM4hZDQ9Rfiwq6DyD3WwaembN3EiII3LkfeI=';
    const sim = new SerfSim(62);
    const c3 = sim.add('c3', { keyring: new Keyring([key(K2), key(K1)]) });
    const querierRing = new Keyring([key(K2)]);
    const raw = rawQuerier(sim, '127.0.0.1:28970', querierRing);
    const request = (k: string) => encodeSerfMessage({ type: 'keyRequest', body: { key: key(k) } });
    raw.send(c3.addr, query('_serf_remove-key', 1139371793, 3, 28970, 'c1', request(K1)));
    await sim.run(100);
    raw.send(c3.addr, query('_serf_remove-key', 1906761658, 5, 28970, 'c1', request(K2)));
    await sim.run(100);
    assert.deepEqual(raw.answers, [
      leafHex(find('extra.json', '_serf_remove-key response (success)')),
      leafHex(find('extra.json', '_serf_remove-key response (refused: primary key)')),
    ]);
    await sim.close();
  });

  it('_serf_list-keys: the keys and the primary, base64', async () => {
    const K = 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=';
    const sim = new SerfSim(63);
    const n1 = sim.add('n1', { keyring: new Keyring([key(K)]) });
    const raw = rawQuerier(sim, '127.0.0.1:27946', new Keyring([key(K)]));
    const empty = encodeSerfMessage({ type: 'keyRequest', body: { key: new Uint8Array(0) } });
    raw.send(n1.addr, query('_serf_list-keys', 1204816890, 4, 27946, 'n1', empty));
    await sim.run(100);
    assert.deepEqual(raw.answers, [
      leafHex(find('encrypted.json', 'encrypted _serf_list-keys response (key response)')),
    ]);
    await sim.close();
  });
});
