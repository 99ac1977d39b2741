/**
 * Every limit the wire layer enforces, by name. Values that come from memberlist/Serf keep
 * their Go names in the comment so they can be checked against the source.
 */

/** Largest UDP datagram a node reads (memberlist `udpPacketBufSize`). */
export const MAX_PACKET_BYTES = 65_536;

/** Bytes a sender fills with piggybacked messages per datagram (memberlist `UDPBufferSize`). */
export const UDP_BUFFER_BYTES = 1400;

/** Largest push-pull state or encrypted stream frame accepted (memberlist `maxPushStateBytes`, 20 MiB). */
export const MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;

/** Largest decompressed payload of a UDP packet: nothing bigger can have fit in a datagram's budget. */
export const MAX_DECOMPRESSED_PACKET_BYTES = 1024 * 1024;

/** Largest decompressed stream message (the push-pull state limit). */
export const MAX_DECOMPRESSED_STREAM_BYTES = MAX_PUSH_STATE_BYTES;

/** Deepest nesting of msgpack containers, compound-in-compound and compress-in-compress accepted. */
export const MAX_NESTING_DEPTH = 32;

/** Most parts in one compound message: the count is a single byte (memberlist `makeCompoundMessage`). */
export const MAX_COMPOUND_PARTS = 255;

/** Largest node metadata, including Serf's 0xFF tag marker (memberlist `MetaMaxSize`). */
export const META_MAX_BYTES = 512;

/** Most node states in one push-pull (a guard against a header claiming billions of entries). */
export const MAX_PUSH_PULL_NODES = 1_000_000;

/** Overhead of a compound message header and of each part (memberlist `compoundHeaderOverhead`, `compoundOverhead`). */
export const COMPOUND_HEADER_OVERHEAD = 2;
export const COMPOUND_PART_OVERHEAD = 2;

/** Bytes an encryption-version-1 envelope adds: version byte, 12-byte nonce, 16-byte tag. */
export const ENCRYPTION_OVERHEAD_V1 = 29;
/** Worst case for version 0, which also pads to 16 bytes (PKCS#7). */
export const ENCRYPTION_OVERHEAD_V0_MAX = 45;
