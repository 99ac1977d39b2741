/**
 * LZW exactly as Go's `compress/lzw` does it with `lzw.LSB` and a literal width of 8, which is
 * what memberlist uses for its compress message (type 9, `Algo: 0`; spec §6).
 *
 * Format (GIF-style, no "early change"):
 * - codes 0-255 are literal bytes, 256 is CLEAR, 257 is EOF, the first table entry is 258;
 * - codes are 9 bits wide at first; the width grows by one, up to 12, as soon as the decoder's
 *   next free slot reaches 2^width (after 255, 767 and 1791 codes since the last CLEAR);
 * - codes are packed least-significant bit first: a code's low bits go into the free high bits of
 *   the current byte, and whatever is left over starts the next byte.
 *
 * What Go 1.19's writer emits, and therefore what {@link lzwCompress} emits byte for byte:
 * CLEAR first; the usual greedy longest match; when its next free slot would be 4095 it emits
 * CLEAR (still at 12 bits) instead of defining that entry, and starts over at 9 bits; at the end
 * the pending code (which may itself trigger such a CLEAR), then EOF, then the last partial byte
 * padded with zero bits. Empty input gives CLEAR, EOF.
 *
 * What Go's reader accepts, and therefore what {@link lzwDecompress} accepts: any sequence of
 * codes (a leading CLEAR is not required); a code equal to the next free slot means "previous
 * string plus its own first byte" (the KwKwK case); once all 4096 slots are in use at 12 bits,
 * no further entries are defined until a CLEAR; a code above the next free slot is an error;
 * running out of input before EOF is an error (Go's `io.ErrUnexpectedEOF`, which memberlist
 * treats as a failed message); bytes after EOF are ignored.
 *
 * Why this is hand-rolled: the LZW packages on npm work on JavaScript strings or arrays of codes
 * and have no CLEAR/EOF codes or variable-width LSB bit packing, and GIF libraries keep their
 * LZW internal. None reproduces Go's stream byte for byte, and none bounds the decompressed size,
 * which we need as a guard against decompression bombs in push-pull states.
 *
 * Both directions run on preallocated typed arrays with no allocation per code. The compressor
 * finds (prefix code, next byte) pairs in a small open-addressing hash table. The decoder does not
 * walk prefix chains: every table entry is a run of bytes already in the output (the previous
 * code's output plus one byte), so it keeps each entry's start offset and length and copies.
 */

import { type DecodeResult, fail, ok } from './result.ts';

const LITERAL_WIDTH = 8;
const CLEAR = 1 << LITERAL_WIDTH; // 256
const EOF = CLEAR + 1; // 257
const MIN_WIDTH = LITERAL_WIDTH + 1; // 9
const MAX_WIDTH = 12;
const TABLE_SIZE = 1 << MAX_WIDTH; // 4096
/** The writer resets instead of defining this slot, so its codes stay below it. */
const WRITER_LAST_SLOT = TABLE_SIZE - 1; // 4095
/** Marks "no previous code" in the decoder: right after CLEAR, and while the table is full. */
const NONE = -1;
/** Strings at least this long are copied with `copyWithin`; shorter ones byte by byte. */
const COPY_WITHIN_THRESHOLD = 24;

// ---------------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------------

/** Largest compressor hash table: at most 3838 live entries, so it stays at most a quarter full. */
const HASH_SIZE_MAX = 4 * TABLE_SIZE;

/**
 * Compressor dictionary, an open-addressing hash table shared by all calls (JavaScript runs one
 * call at a time). A slot holds `(prefixCode << 8 | byte) << 12 | entryCode`, or 0 when empty
 * (no entry code is 0). Each call uses a prefix of it sized to the input, so that compressing a
 * small packet only clears a small table.
 */
const hashTable = new Uint32Array(HASH_SIZE_MAX);

/**
 * Compresses `data` into the LZW stream Go 1.19's `lzw.NewWriter(w, lzw.LSB, 8)` produces for the
 * same bytes, written in one go and closed: a leading CLEAR, CLEAR whenever the table is full, the
 * pending code, EOF, and zero-padded final bits. This is what goes into the `Buf` of memberlist's
 * compress message.
 *
 * @param data the bytes to compress (for memberlist: a whole message, type byte included)
 * @returns a new array holding the compressed stream
 */
export function lzwCompress(data: Uint8Array): Uint8Array {
  const n = data.length;
  // An input of n bytes defines fewer than n entries: keep the table at most a quarter full.
  let hashSize = 64;
  while (hashSize < HASH_SIZE_MAX && hashSize < n * 4) hashSize <<= 1;
  const hashMask = hashSize - 1;
  const table = hashTable.subarray(0, hashSize);
  table.fill(0);

  // A code is at most 12 bits, so the output is at most ~1.5 bytes per input byte; start
  // smaller and grow, since real inputs compress.
  let out = new Uint8Array(Math.max(64, (n >>> 1) + 16));
  let pos = 0;
  let bits = 0; // pending bits, low bits first
  let nBits = 0;
  let width = MIN_WIDTH;
  let hi = EOF; // the last slot handed out; the next entry gets hi + 1
  let overflow = 1 << MIN_WIDTH;

  // Appends one code. Fewer than 8 bits are pending before, so at most 19 after: 2 bytes out.
  const emit = (code: number): void => {
    if (pos + 2 > out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) {
      out[pos++] = bits & 0xff;
      bits >>>= 8;
      nBits -= 8;
    }
  };

  // Claims the next slot. Returns false when the table was full and has been reset instead
  // (after emitting CLEAR at the old width), in which case no entry may be defined.
  const nextSlot = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === WRITER_LAST_SLOT) {
      emit(CLEAR);
      width = MIN_WIDTH;
      hi = EOF;
      overflow = 1 << MIN_WIDTH;
      return false;
    }
    return true;
  };

  emit(CLEAR);
  if (n === 0) {
    emit(EOF);
  } else {
    let code = data[0]!;
    for (let i = 1; i < n; i++) {
      const byte = data[i]!;
      const key = (code << 8) | byte;
      let h = ((key >>> 12) ^ key) & hashMask;
      let t = table[h]!;
      let found = false;
      while (t !== 0) {
        if (t >>> 12 === key) {
          found = true;
          break;
        }
        h = (h + 1) & hashMask;
        t = table[h]!;
      }
      if (found) {
        code = t & 0xfff;
        continue;
      }
      emit(code);
      code = byte;
      // `h` is the empty slot the probe stopped at.
      if (nextSlot()) table[h] = ((key << 12) | hi) >>> 0;
      else table.fill(0);
    }
    emit(code);
    nextSlot();
    emit(EOF);
  }
  if (nBits > 0) {
    if (pos + 1 > out.length) {
      const bigger = new Uint8Array(out.length + 1);
      bigger.set(out);
      out = bigger;
    }
    out[pos++] = bits & 0xff;
  }
  return out.slice(0, pos);
}

// ---------------------------------------------------------------------------------------------
// Decompression
// ---------------------------------------------------------------------------------------------

/** Decoder dictionary: where in the output each entry's bytes start, and how many there are. */
const entryStart = new Uint32Array(TABLE_SIZE);
const entryLength = new Uint16Array(TABLE_SIZE);

/**
 * Decompresses a Go `compress/lzw` stream (LSB order, literal width 8), as memberlist's
 * `decompressPayload` does, with a bound on the output size. Never throws on any input.
 *
 * Failures:
 * - `malformed`: a code that names a table slot not yet defined;
 * - `truncated`: the input ends before the EOF code (including empty input);
 * - `too-large`: the output would exceed `maxOutputBytes`. Decoding stops at the code that would
 *   cross the limit and no buffer larger than the limit is ever allocated.
 *
 * Bytes after the EOF code are ignored, as Go does.
 *
 * @param data the compressed stream (the `Buf` of a compress message)
 * @param maxOutputBytes the largest output accepted, for example `MAX_DECOMPRESSED_PACKET_BYTES`
 *   or `MAX_DECOMPRESSED_STREAM_BYTES` from `limits.ts`
 * @returns the decompressed bytes, or why they could not be produced
 */
export function lzwDecompress(data: Uint8Array, maxOutputBytes: number): DecodeResult<Uint8Array> {
  const limit = maxOutputBytes >= 0 ? Math.floor(maxOutputBytes) : 0; // NaN counts as 0
  const start = entryStart;
  const length = entryLength;
  const n = data.length;

  let out = new Uint8Array(Math.min(limit, Math.max(256, n * 4)));
  let pos = 0;
  let inPos = 0;
  let bits = 0;
  let nBits = 0;
  let width = MIN_WIDTH;
  let next = EOF; // the slot the next entry goes into (EOF itself is never defined)
  let overflow = 1 << MIN_WIDTH;
  let prevStart = 0; // where the previous code's bytes start in `out`
  let prevLength = NONE; // their length, or NONE when no entry may be defined

  for (;;) {
    while (nBits < width) {
      if (inPos >= n) {
        return fail('truncated', `LZW stream ended without an EOF code after ${n} bytes`);
      }
      bits |= data[inPos++]! << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;

    if (code === CLEAR) {
      width = MIN_WIDTH;
      next = EOF;
      overflow = 1 << MIN_WIDTH;
      prevLength = NONE;
      continue;
    }
    if (code === EOF) break;

    // The bytes this code stands for are `len` bytes copied from `srcStart` (-1 for a literal).
    // In the KwKwK case the code names the slot about to be defined: the previous code's bytes
    // and then their own first byte, which is not in the output yet.
    let len: number;
    let srcStart: number;
    let kwkwk = false;
    if (code < CLEAR) {
      len = 1;
      srcStart = -1;
    } else if (code < next || (code === next && prevLength === NONE)) {
      // (code === next with no previous code only happens while the table is full, when
      // `next` is the last slot, which is defined.)
      srcStart = start[code]!;
      len = length[code]!;
    } else if (code === next) {
      srcStart = prevStart;
      len = prevLength + 1;
      kwkwk = true;
    } else {
      const highest = prevLength === NONE ? next - 1 : next;
      return fail(
        'malformed',
        `invalid LZW code ${code} near input byte ${inPos}: highest valid code is ${highest}`,
      );
    }

    if (len > limit - pos) {
      return fail('too-large', `LZW output exceeds the limit of ${limit} bytes`);
    }
    if (pos + len > out.length) {
      let size = out.length * 2;
      if (size < pos + len) size = pos + len;
      if (size > limit) size = limit;
      const bigger = new Uint8Array(size);
      bigger.set(out.subarray(0, pos));
      out = bigger;
    }

    if (srcStart < 0) {
      out[pos] = code;
    } else {
      const copyLen = kwkwk ? len - 1 : len;
      if (copyLen >= COPY_WITHIN_THRESHOLD) {
        out.copyWithin(pos, srcStart, srcStart + copyLen);
      } else {
        for (let k = 0; k < copyLen; k++) out[pos + k] = out[srcStart + k]!;
      }
      if (kwkwk) out[pos + copyLen] = out[srcStart]!;
    }

    // The new entry is the previous code's bytes plus the first byte of this one. They sit back
    // to back in the output, so it is simply a longer run starting where the previous one did.
    if (prevLength !== NONE) {
      start[next] = prevStart;
      length[next] = prevLength + 1;
    }
    prevStart = pos;
    prevLength = len;
    pos += len;

    next++;
    if (next >= overflow) {
      if (width < MAX_WIDTH) {
        width++;
        overflow <<= 1;
      } else {
        // All 4096 slots are in use: define nothing more until the next CLEAR.
        prevLength = NONE;
        next--;
      }
    }
  }

  return ok(pos === out.length ? out : out.slice(0, pos));
}
