/**
 * Seeded fuzz inputs for the wire decoders, shared by the decoder fuzz test
 * (test/wire/fuzz.test.ts) and the live-agent fuzz test (test/interop/agent-fuzz.test.ts):
 * the captured vectors (test/vectors) plus packets our encoder makes, and a
 * mutator (bit flips, truncations, length fields pointing past the end, 255-part compounds,
 * deep nesting, junk after the compression and encryption type bytes, empty decompressed
 * payloads, splices).
 */

import { readFileSync } from 'node:fs';
import type { SeededRandom } from '../../src/runtime/random.ts';
import {
  compressMessage,
  encodeCompound,
  encodeMessage,
  encodePacket,
  encodePushPull,
  encodeSerfMessage,
  encodeStreamMessage,
  type Keyring,
  MessageType,
} from '../../src/wire/index.ts';
import { VECTOR_DIR } from './vectors.ts';

/** The vector files, in the order the corpus reads them. */
export const VECTOR_FILES = ['memberlist', 'serf', 'encrypted', 'extra', 'interop-active'] as const;

export interface CapturedVector {
  name: string;
  transport?: string;
  encrypted?: boolean;
  bytes: Uint8Array;
}

/** Every captured vector, as bytes. */
export function capturedVectors(): CapturedVector[] {
  const out: CapturedVector[] = [];
  const dir = new URL(`file://${VECTOR_DIR}`);
  for (const f of VECTOR_FILES) {
    for (const v of JSON.parse(readFileSync(new URL(`${f}.json`, dir), 'utf8')) as {
      name: string;
      transport?: string;
      encrypted?: boolean;
      hex: string;
    }[]) {
      out.push({
        name: v.name,
        ...(v.transport !== undefined ? { transport: v.transport } : {}),
        ...(v.encrypted !== undefined ? { encrypted: v.encrypted } : {}),
        bytes: new Uint8Array(Buffer.from(v.hex, 'hex')),
      });
    }
  }
  return out;
}

/**
 * A few messages and packets from our encoder: a ping, an alive, a Serf user event, a compound
 * of the three (with a CRC, then also encrypted with `keyring`), and an encrypted push-pull.
 */
export function encoderInputs(keyring: Keyring): Uint8Array[] {
  const ping = encodeMessage({
    type: 'ping',
    body: {
      seqNo: 7,
      node: 'n1',
      sourceAddr: Uint8Array.of(127, 0, 0, 1),
      sourcePort: 7946,
      sourceNode: 'n2',
    },
  });
  const alive = encodeMessage({
    type: 'alive',
    body: {
      incarnation: 3,
      node: 'n2',
      addr: Uint8Array.of(127, 0, 0, 1),
      port: 7946,
      meta: Uint8Array.of(0xff, 0x80),
      vsn: [1, 5, 2, 2, 5, 5],
    },
  });
  const event = encodeMessage({
    type: 'user',
    payload: encodeSerfMessage({
      type: 'userEvent',
      body: { lTime: 9, name: 'deploy', payload: Uint8Array.of(1, 2), cc: false },
    }),
  });
  return [
    ping,
    alive,
    event,
    encodePacket([ping, alive, event], { crc: true }),
    encodePacket([ping, alive, event], { keyring, crc: true }),
    encodeStreamMessage(encodePushPull(true, [], Uint8Array.of(2, 0x80)), { keyring }),
  ];
}

/** The decoder fuzz corpus: every captured vector, then {@link encoderInputs}. */
export function fuzzCorpus(keyring: Keyring): Uint8Array[] {
  return [...capturedVectors().map((v) => v.bytes), ...encoderInputs(keyring)];
}

/** One mutated or synthesized input, drawn from `seeds`. */
export function mutate(r: SeededRandom, seeds: Uint8Array[]): Uint8Array {
  const base = seeds[r.int(seeds.length)]!;
  switch (r.int(12)) {
    case 0: {
      // bit flips
      const b = base.slice();
      for (let i = 1 + r.int(8); i > 0 && b.length > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      return base.subarray(0, r.int(base.length + 1));
    case 2: {
      // random bytes
      const b = new Uint8Array(r.int(1500));
      for (let i = 0; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    case 3: {
      // length fields pointing past the end: plant 32-bit and 16-bit length codes
      const b = base.slice();
      if (b.length < 6) return b;
      const at = r.int(b.length - 5);
      b[at] = [0xdb, 0xdd, 0xdf, 0xda, 0xdc, 0xde, 0xc6][r.int(7)]!;
      b[at + 1] = 0xff;
      b[at + 2] = 0xff;
      b[at + 3] = r.int(256);
      b[at + 4] = r.int(256);
      return b;
    }
    case 4: {
      // a 255-part compound, parts drawn from the corpus (sometimes declaring more than it holds)
      const parts = Array.from({ length: 255 }, () => {
        const p = seeds[r.int(seeds.length)]!;
        return p.subarray(0, Math.min(p.length, 200));
      });
      const c = encodeCompound(parts);
      return r.chance(0.5) ? c : c.subarray(0, r.int(c.length));
    }
    case 5: {
      // deeply nested msgpack arrays/maps inside a message body
      const depth = 1 + r.int(5000);
      const b = new Uint8Array(1 + depth + 1);
      b[0] = [MessageType.alive, MessageType.ping, MessageType.suspect][r.int(3)]!;
      b.fill(r.chance(0.5) ? 0x91 : 0x81, 1, 1 + depth);
      return b;
    }
    case 6: {
      // compound inside compound inside compress ..., deeper than the limit
      let m = base.subarray(0, Math.min(base.length, 100));
      const layers = 1 + r.int(80);
      for (let i = 0; i < layers; i++) m = r.chance(0.7) ? encodeCompound([m]) : compressMessage(m);
      return m;
    }
    case 7: {
      // junk after the compression type byte
      const b = new Uint8Array(1 + r.int(300));
      b[0] = MessageType.compress;
      for (let i = 1; i < b.length; i++) b[i] = r.int(256);
      if (r.chance(0.5) && b.length > 8) b.set([0x82, 0xa4, 0x41, 0x6c, 0x67, 0x6f, 0x00], 1); // {"Algo": 0, ...
      return b;
    }
    case 8: {
      // junk after the encryption version byte (UDP) or the stream frame byte (TCP)
      const b = new Uint8Array(1 + r.int(300));
      b[0] = [0, 1, MessageType.encrypt][r.int(3)]!;
      for (let i = 1; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    case 9: {
      // an empty decompressed payload, alone or as a compound part
      const empty = compressMessage(new Uint8Array(0));
      return r.chance(0.5) ? empty : encodeCompound([empty, base.subarray(0, Math.min(base.length, 100))]);
    }
    case 10: {
      // splice two inputs
      const other = seeds[r.int(seeds.length)]!;
      const a = base.subarray(0, r.int(base.length + 1));
      const b = other.subarray(r.int(other.length + 1));
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }
    default: {
      // byte replacement with interesting values
      const b = base.slice();
      for (let i = 1 + r.int(4); i > 0 && b.length > 0; i--) {
        b[r.int(b.length)] = [0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xda, 0xdb, 0x07, 0x09, 0x0c][r.int(11)]!;
      }
      return b;
    }
  }
}
