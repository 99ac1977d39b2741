/**
 * CRC-32/IEEE (reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), the
 * checksum Go's `crc32.ChecksumIEEE` computes and memberlist puts in a `hasCrc` (0x0c) frame as a
 * big-endian u32 over the bytes after the 5-byte prefix (spec §5.1, §5.3).
 *
 * Node 20 has no `zlib.crc32` (it arrived in Node 22.2), so this is a small table-driven version:
 * "slicing by 4", four 256-entry tables, which consumes four bytes per step.
 */

/** `TABLES[k * 256 + b]`: the CRC state contribution of byte `b` followed by `k` zero bytes. */
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(4 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 4; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c >>> 0;
    }
  }
  return t;
}

/**
 * CRC-32/IEEE of `data`, as an unsigned 32-bit number (the value Go's `crc32.ChecksumIEEE`
 * returns). `crc32(new TextEncoder().encode('123456789')) === 0xcbf43926`; the empty input gives 0.
 */
export function crc32(data: Uint8Array): number {
  const t = TABLES;
  let c = 0xffffffff;
  let i = 0;
  const n = data.length;
  const n4 = n - (n % 4);
  while (i < n4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
    i += 4;
  }
  while (i < n) {
    c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return (c ^ 0xffffffff) >>> 0;
}
