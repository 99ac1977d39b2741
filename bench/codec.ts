/**
 * `npm run bench -- codec` (options: {@link usage}): the wire codec's speed, next to @msgpack/msgpack on
 * the same struct (the measurement behind writing our own msgpack in src/wire/msgpack.ts).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import {
  decodeLeafMessage,
  decodePacket,
  decodeStreamMessage,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeStreamMessage,
  encodeTags,
  Keyring,
  type PushNodeState,
} from '../src/wire/index.ts';
import { BenchUsageError, parseBenchArgs } from './usage.ts';

function measure(name: string, seconds: number, fn: () => unknown): { name: string; opsPerSec: number } {
  // Warm up, then run for ~seconds in batches.
  for (let i = 0; i < 2000; i++) fn();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 500; i++) fn();
    ops += 500;
    now = performance.now();
  }
  return { name, opsPerSec: (ops * 1000) / (now - start) };
}

/** The options, for `npm run bench -- codec --help`. */
export const usage = '[--seconds S]';

export async function run(args: string[]): Promise<void> {
  const { values } = parseBenchArgs(args, { seconds: { type: 'string', default: '1' } });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new BenchUsageError(`--seconds takes a positive number, got "${values.seconds}"`);
  const alive = {
    incarnation: 7,
    node: 'node-0042.example',
    addr: Uint8Array.of(192, 168, 1, 2),
    port: 7946,
    meta: encodeTags({ role: 'web', dc: 'eu-west-1' }),
    vsn: [1, 5, 2, 2, 5, 5],
  };
  const aliveBytes = encodeMessage({ type: 'alive', body: alive });
  const goShaped = {
    Addr: alive.addr,
    Incarnation: alive.incarnation,
    Meta: alive.meta,
    Node: alive.node,
    Port: alive.port,
    Vsn: Uint8Array.from(alive.vsn),
  };
  const theirEncoder = new Encoder();
  const theirDecoder = new Decoder({ rawStrings: true });
  const theirBytes = theirEncoder.encode(goShaped);

  const msgs = Array.from({ length: 10 }, (_, k) =>
    encodeMessage({ type: 'alive', body: { ...alive, node: `node-${k}`, incarnation: k } }),
  );
  const keyring = new Keyring([new Uint8Array(32).fill(7)]);
  const plainPacket = encodePacket(msgs, { compress: false });
  const fullPacket = encodePacket(msgs, { compress: true, crc: true, keyring });
  const states: PushNodeState[] = Array.from({ length: 1000 }, (_, k) => ({
    name: `node-${k}`,
    addr: Uint8Array.of(10, 0, k >> 8, k & 0xff),
    port: 7946,
    meta: alive.meta,
    incarnation: k,
    state: 0,
    vsn: alive.vsn,
  }));
  const pushPull = encodeStreamMessage(encodePushPull(false, states, new Uint8Array(600)), { keyring });

  const rows = [
    measure('alive: encode (ours, old spec)', seconds, () => encodeMessage({ type: 'alive', body: alive })),
    measure('alive: encode (@msgpack/msgpack, new spec)', seconds, () => theirEncoder.encode(goShaped)),
    measure('alive: decode (ours, typed)', seconds, () => decodeLeafMessage(aliveBytes)),
    measure('alive: decode (@msgpack/msgpack rawStrings, untyped)', seconds, () =>
      theirDecoder.decode(theirBytes),
    ),
    measure('packet of 10 alives: decode, plain', seconds, () => decodePacket(plainPacket)),
    measure('packet of 10 alives: encode, LZW+CRC+AES-GCM', seconds, () =>
      encodePacket(msgs, { compress: true, crc: true, keyring }),
    ),
    measure('packet of 10 alives: decode, LZW+CRC+AES-GCM', seconds, () =>
      decodePacket(fullPacket, { keyring }),
    ),
    measure('push-pull of 1000 nodes: encode+frame', seconds / 4, () =>
      encodeStreamMessage(encodePushPull(false, states, new Uint8Array(600)), { keyring }),
    ),
    measure('push-pull of 1000 nodes: decode', seconds / 4, () => decodeStreamMessage(pushPull, { keyring })),
  ];
  console.log(`codec benchmark (node ${process.version}, ${seconds}s per row)`);
  console.log(
    `sizes: alive ours ${aliveBytes.length} B (Go-identical), @msgpack/msgpack ${theirBytes.length} B; ` +
      `10-alive packet ${plainPacket.length} B plain, ${fullPacket.length} B compressed+encrypted; ` +
      `1000-node push-pull ${pushPull.length} B framed`,
  );
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows)
    console.log(
      `${r.name.padEnd(width)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s`,
    );
  const ratio = (a: number, b: number) => (rows[a]!.opsPerSec / rows[b]!.opsPerSec).toFixed(2);
  console.log(`ratio ours/@msgpack: encode ${ratio(0, 1)}x, decode ${ratio(2, 3)}x`);
}
