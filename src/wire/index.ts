/**
 * The memberlist/Serf wire codec: msgpack in go-msgpack's flavour, every message type,
 * compound/CRC/LZW/AES-GCM framing for UDP packets, and TCP stream framing.
 */

export * from './bytes.ts';
export * from './crc32.ts';
export * from './crypto.ts';
export * from './ip.ts';
export * from './label.ts';
export * from './limits.ts';
export * from './lzw.ts';
export * from './memberlist.ts';
export * from './msgpack.ts';
export * from './packet.ts';
export * from './result.ts';
export * from './schema.ts';
export * from './serf.ts';
export * from './stream.ts';
