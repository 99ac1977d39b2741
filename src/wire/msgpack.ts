/**
 * msgpack as hashicorp/go-msgpack 0.5.5 writes and reads it with a zero-value `MsgpackHandle`
 * (the flavour memberlist and Serf use on the wire).
 *
 * Writing follows the *old* msgpack spec, which is what makes our bytes identical to a Go peer's:
 * - strings and byte slices both use the raw family: fixraw `0xa0|n`, raw16 `0xda`, raw32 `0xdb`.
 *   str8 (`0xd9`) and bin (`0xc4`-`0xc6`) are never written;
 * - unsigned integers take the smallest encoding by value (port 27946 is `cd 6d 2a`);
 * - structs are maps whose keys are the Go field names in sorted order (the schema layer in
 *   `codec.ts` supplies the order).
 *
 * Reading is tolerant, like Go's decoder: it accepts str8, bin and the ext-free new-spec codes too.
 * Every raw/str/bin value is returned as **bytes** (`Uint8Array`), because Go sends byte fields
 * (addresses, metadata, payloads, the version vector) in the same raw family as strings and they
 * need not be UTF-8; the schema decides which fields are text. Map keys are returned as strings.
 *
 * Why our own codec rather than a library (measured in ../shared/research/libraries.md, and again
 * by `npm run bench -- codec`): msgpackr has no way to write the old spec and decodes raw lossily;
 * @msgpack/msgpack can only be bent to the old spec by overriding non-public methods, throws on
 * bad input (we need typed failures on the hot path), has no nesting-depth limit, and returns
 * uint64 as a lossy double. The format is small; the hand-written codec is ~300 lines, byte-identical
 * to go-msgpack on every captured vector, and @msgpack/msgpack stays in the tests as an
 * independent decoder.
 */
import { MAX_NESTING_DEPTH } from './limits.ts';
import { catchDecode, DecodeAbort, type DecodeResult } from './result.ts';

/** A decoded msgpack value. Raw, str and bin all decode to `Uint8Array`. */
export type MsgpackValue = null | boolean | number | bigint | Uint8Array | MsgpackValue[] | MsgpackMap;

/** A decoded msgpack map: keys are strings (decoded as UTF-8), in wire order. */
export type MsgpackMap = Map<string, MsgpackValue>;

const textEncoder = new TextEncoder();
const EMPTY_BYTES = new Uint8Array(0);
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 encodes a string (the bytes Go would hold for it). */
export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/** Decodes UTF-8 (invalid sequences become U+FFFD, as Go's string conversion would print them). */
export function fromUtf8(b: Uint8Array): string {
  return fromUtf8Range(b, 0, b.length);
}

/** {@link fromUtf8} of `b[start, end)`. */
export function fromUtf8Range(b: Uint8Array, start: number, end: number): string {
  // Short ASCII (field names, node names) is most of what we decode; TextDecoder's call
  // overhead dominates there.
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c > 0x7f) return textDecoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return textDecoder.decode(b.subarray(start, end));
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * An append-only msgpack writer in go-msgpack's flavour. Reuse one per message; `finish()`
 * returns a copy of the bytes written.
 */
export class MsgpackWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** A single raw byte (a message type byte, for example). */
  byte(b: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
    return this;
  }

  /** Raw bytes appended verbatim, with no msgpack header. */
  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  nil(): this {
    return this.byte(0xc0);
  }

  bool(v: boolean): this {
    return this.byte(v ? 0xc3 : 0xc2);
  }

  /** An integer in the smallest encoding for its value (go-msgpack writes by value, not by Go type). */
  int(v: number | bigint): this {
    if (typeof v === 'bigint') return this.#bigint(v);
    if (!Number.isSafeInteger(v)) throw new RangeError(`msgpack: not a safe integer: ${v}`);
    if (v >= 0) {
      if (v < 0x80) return this.byte(v);
      this.#ensure(9);
      if (v < 0x100) {
        this.#buf[this.#pos++] = 0xcc;
        this.#buf[this.#pos++] = v;
      } else if (v < 0x10000) {
        this.#buf[this.#pos++] = 0xcd;
        this.#view.setUint16(this.#pos, v);
        this.#pos += 2;
      } else if (v < 0x100000000) {
        this.#buf[this.#pos++] = 0xce;
        this.#view.setUint32(this.#pos, v);
        this.#pos += 4;
      } else {
        this.#buf[this.#pos++] = 0xcf;
        this.#view.setBigUint64(this.#pos, BigInt(v));
        this.#pos += 8;
      }
      return this;
    }
    if (v >= -32) return this.byte(v & 0xff);
    this.#ensure(9);
    if (v >= -0x80) {
      this.#buf[this.#pos++] = 0xd0;
      this.#view.setInt8(this.#pos++, v);
    } else if (v >= -0x8000) {
      this.#buf[this.#pos++] = 0xd1;
      this.#view.setInt16(this.#pos, v);
      this.#pos += 2;
    } else if (v >= -0x80000000) {
      this.#buf[this.#pos++] = 0xd2;
      this.#view.setInt32(this.#pos, v);
      this.#pos += 4;
    } else {
      this.#buf[this.#pos++] = 0xd3;
      this.#view.setBigInt64(this.#pos, BigInt(v));
      this.#pos += 8;
    }
    return this;
  }

  #bigint(v: bigint): this {
    if (v >= -(2n ** 53n) && v <= 2n ** 53n) return this.int(Number(v));
    this.#ensure(9);
    if (v > 0n) {
      if (v >= 2n ** 64n) throw new RangeError(`msgpack: integer beyond uint64: ${v}`);
      this.#buf[this.#pos++] = 0xcf;
      this.#view.setBigUint64(this.#pos, v);
    } else {
      if (v < -(2n ** 63n)) throw new RangeError(`msgpack: integer beyond int64: ${v}`);
      this.#buf[this.#pos++] = 0xd3;
      this.#view.setBigInt64(this.#pos, v);
    }
    this.#pos += 8;
    return this;
  }

  /** A float64 (`0xcb`), as Go writes float64 fields (Serf's coordinates). */
  float64(v: number): this {
    this.#ensure(9);
    this.#buf[this.#pos++] = 0xcb;
    this.#view.setFloat64(this.#pos, v);
    this.#pos += 8;
    return this;
  }

  #rawHeader(n: number): void {
    this.#ensure(5);
    if (n < 32) {
      this.#buf[this.#pos++] = 0xa0 | n;
    } else if (n < 0x10000) {
      this.#buf[this.#pos++] = 0xda;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      this.#buf[this.#pos++] = 0xdb;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }

  /** A Go string: UTF-8 bytes in the raw family (never str8). */
  str(s: string): this {
    // Fast path for short ASCII strings (field names, node names): no TextEncoder call.
    if (s.length < 32) {
      let ascii = true;
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.#ensure(1 + s.length);
        this.#buf[this.#pos++] = 0xa0 | s.length;
        for (let i = 0; i < s.length; i++) this.#buf[this.#pos++] = s.charCodeAt(i);
        return this;
      }
    }
    return this.raw(utf8(s));
  }

  /** A Go `[]byte`: the raw family, exactly as a string of those bytes (never bin). */
  raw(b: Uint8Array): this {
    this.#rawHeader(b.length);
    return this.bytes(b);
  }

  arrayHeader(n: number): this {
    this.#ensure(5);
    if (n < 16) {
      this.#buf[this.#pos++] = 0x90 | n;
    } else if (n < 0x10000) {
      this.#buf[this.#pos++] = 0xdc;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      this.#buf[this.#pos++] = 0xdd;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
    return this;
  }

  mapHeader(n: number): this {
    this.#ensure(5);
    if (n < 16) {
      this.#buf[this.#pos++] = 0x80 | n;
    } else if (n < 0x10000) {
      this.#buf[this.#pos++] = 0xde;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      this.#buf[this.#pos++] = 0xdf;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
    return this;
  }

  /**
   * Any value, by its JavaScript type: string → str, Uint8Array → raw, integer → int,
   * non-integer number → float64, array → array, Map or plain object → map (keys in
   * iteration order). Prefer the schema encoders in `codec.ts` for protocol structs.
   */
  value(v: unknown): this {
    if (v === null || v === undefined) return this.nil();
    switch (typeof v) {
      case 'boolean':
        return this.bool(v);
      case 'number':
        return Number.isInteger(v) ? this.int(v) : this.float64(v);
      case 'bigint':
        return this.int(v);
      case 'string':
        return this.str(v);
    }
    if (v instanceof Uint8Array) return this.raw(v);
    if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (const item of v) this.value(item);
      return this;
    }
    if (v instanceof Map) {
      this.mapHeader(v.size);
      for (const [k, item] of v) {
        this.str(String(k));
        this.value(item);
      }
      return this;
    }
    if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      this.mapHeader(entries.length);
      for (const [k, item] of entries) {
        this.str(k);
        this.value(item);
      }
      return this;
    }
    throw new TypeError(`msgpack: cannot encode a ${typeof v}`);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /**
   * The bytes written, as a view of the writer's buffer (no copy): for a writer used once and
   * dropped. Writing again after this would change the bytes handed out.
   */
  finishView(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Raw bytes from a plain number array (each 0-255), with their raw-family header: a Go `[]uint8`. */
  rawFromNumbers(v: readonly number[]): this {
    const n = v.length;
    this.#rawHeader(n);
    this.#ensure(n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos++] = v[i]!;
    this.#pos = pos;
    return this;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): this {
    this.#pos = 0;
    return this;
  }
}

/** Encodes one value with {@link MsgpackWriter.value}. */
export function encodeMsgpack(v: unknown): Uint8Array {
  return new MsgpackWriter().value(v).finish();
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * A msgpack reader over one buffer. Methods throw {@link DecodeAbort} on bad input; the public
 * entry points ({@link decodeMsgpack}, and the codec's decoders) turn that into a typed failure.
 *
 * Bounds: nesting is limited to {@link MAX_NESTING_DEPTH}, and a container may not declare more
 * entries than there are bytes left (every entry takes at least one byte), so a hostile length
 * can never make the reader allocate more than the input's size.
 */
export class MsgpackReader {
  readonly buf: Uint8Array;
  /** Made on first use: most messages need no multi-byte signed or float read. */
  #dataView: DataView | undefined;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.#dataView = undefined;
    this.pos = start;
    this.end = end;
  }

  get #view(): DataView {
    if (this.#dataView === undefined) {
      const buf = this.buf;
      this.#dataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.#dataView;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new DecodeAbort(
        'truncated',
        `msgpack: ${what} needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`,
      );
    }
  }

  /** Reads one raw byte (not a msgpack value). */
  byte(): number {
    this.#need(1, 'byte');
    return this.buf[this.pos++]!;
  }

  /** Takes `n` raw bytes (a view, not a copy). */
  take(n: number): Uint8Array {
    this.#need(n, `${n}-byte field`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  #u8(): number {
    return this.buf[this.pos++]!;
  }
  #u16(): number {
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }
  #u32(): number {
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  #length(head: number, what: string): number {
    // head is 1, 2 or 4: the width of a length field.
    this.#need(head, `${what} length`);
    return head === 1 ? this.#u8() : head === 2 ? this.#u16() : this.#u32();
  }

  #container(n: number, what: string): number {
    if (n > this.end - this.pos) {
      throw new DecodeAbort(
        'truncated',
        `msgpack: ${what} of ${n} entries cannot fit in the ${this.end - this.pos} bytes left`,
      );
    }
    return n;
  }

  /** Peeks at the next format byte without consuming it. */
  peek(): number {
    this.#need(1, 'value');
    return this.buf[this.pos]!;
  }

  /** True (and consumed) when the next value is nil. */
  tryNil(): boolean {
    if (this.peek() === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** A map header: returns the entry count. */
  mapHeader(): number {
    const b = this.byte();
    if (b >= 0x80 && b <= 0x8f) return this.#container(b & 0x0f, 'map');
    if (b === 0xde) return this.#container(this.#length(2, 'map16') * 2, 'map16') / 2;
    if (b === 0xdf) return this.#container(this.#length(4, 'map32') * 2, 'map32') / 2;
    this.pos--;
    throw new DecodeAbort('bad-value', `msgpack: expected a map at offset ${this.pos}, found ${describe(b)}`);
  }

  /** An array header: returns the element count. */
  arrayHeader(): number {
    const b = this.byte();
    if (b >= 0x90 && b <= 0x9f) return this.#container(b & 0x0f, 'array');
    if (b === 0xdc) return this.#container(this.#length(2, 'array16'), 'array16');
    if (b === 0xdd) return this.#container(this.#length(4, 'array32'), 'array32');
    this.pos--;
    throw new DecodeAbort(
      'bad-value',
      `msgpack: expected an array at offset ${this.pos}, found ${describe(b)}`,
    );
  }

  /**
   * The header of raw/str/bin bytes: returns their length, leaving `pos` at the first of them
   * (which are checked to be there). The caller reads them and moves `pos` past them.
   */
  rawLength(): number {
    const b = this.byte();
    let n: number;
    if (b >= 0xa0 && b <= 0xbf) n = b & 0x1f;
    else if (b === 0xd9 || b === 0xc4) n = this.#length(1, 'str8');
    else if (b === 0xda || b === 0xc5) n = this.#length(2, 'raw16');
    else if (b === 0xdb || b === 0xc6) n = this.#length(4, 'raw32');
    else {
      this.pos--;
      throw new DecodeAbort(
        'bad-value',
        `msgpack: expected a string or bytes at offset ${this.pos}, found ${describe(b)}`,
      );
    }
    this.#need(n, `${n}-byte field`);
    return n;
  }

  /** Raw/str/bin bytes (a view into the input). */
  rawBytes(): Uint8Array {
    const n = this.rawLength();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Raw/str/bin bytes, copied (a buffer of their own; zero bytes: one shared empty array). */
  rawBytesCopy(): Uint8Array {
    const n = this.rawLength();
    if (n === 0) return EMPTY_BYTES; // nothing in it to change: one is enough
    const buf = this.buf;
    const start = this.pos;
    const out = new Uint8Array(n);
    // Short fields (addresses, small metadata) copy faster by hand than through a view.
    if (n <= 32) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
    else out.set(buf.subarray(start, start + n));
    this.pos = start + n;
    return out;
  }

  /** A string (raw/str/bin decoded as UTF-8). */
  string(): string {
    const n = this.rawLength();
    const start = this.pos;
    this.pos = start + n;
    return fromUtf8Range(this.buf, start, start + n);
  }

  /**
   * An integer of any msgpack width (bools as 0/1, as go-msgpack accepts). Values beyond
   * 2^53 fail with `bad-value`: no field of these protocols reaches them in practice, and a
   * lossy double would be worse than a dropped message.
   */
  integer(): number {
    const b = this.byte();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc2:
        return 0;
      case 0xc3:
        return 1;
      case 0xcc:
        this.#need(1, 'uint8');
        return this.#u8();
      case 0xcd:
        this.#need(2, 'uint16');
        return this.#u16();
      case 0xce:
        this.#need(4, 'uint32');
        return this.#u32();
      case 0xd0:
        this.#need(1, 'int8');
        return this.#view.getInt8(this.pos++);
      case 0xd1: {
        this.#need(2, 'int16');
        const v = this.#view.getInt16(this.pos);
        this.pos += 2;
        return v;
      }
      case 0xd2: {
        this.#need(4, 'int32');
        const v = this.#view.getInt32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcf:
      case 0xd3: {
        this.#need(8, b === 0xcf ? 'uint64' : 'int64');
        const v = b === 0xcf ? this.#view.getBigUint64(this.pos) : this.#view.getBigInt64(this.pos);
        this.pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new DecodeAbort('bad-value', `msgpack: integer ${v} is beyond 2^53`);
        }
        return Number(v);
      }
    }
    this.pos--;
    throw new DecodeAbort(
      'bad-value',
      `msgpack: expected an integer at offset ${this.pos}, found ${describe(b)}`,
    );
  }

  /** A float (float32/float64), or an integer read as a number. */
  float(): number {
    const b = this.peek();
    if (b === 0xcb) {
      this.pos++;
      this.#need(8, 'float64');
      const v = this.#view.getFloat64(this.pos);
      this.pos += 8;
      return v;
    }
    if (b === 0xca) {
      this.pos++;
      this.#need(4, 'float32');
      const v = this.#view.getFloat32(this.pos);
      this.pos += 4;
      return v;
    }
    return this.integer();
  }

  /** A bool (integers 0/1 accepted, as go-msgpack does). */
  bool(): boolean {
    const b = this.peek();
    if (b === 0xc2 || b === 0xc3) {
      this.pos++;
      return b === 0xc3;
    }
    return this.integer() !== 0;
  }

  /** Any value, generically. `depth` counts enclosing containers. */
  value(depth = 0): MsgpackValue {
    const b = this.byte();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b >= 0x80 && b <= 0x9f) || b === 0xdc || b === 0xdd || b === 0xde || b === 0xdf) {
      if (depth >= MAX_NESTING_DEPTH) {
        throw new DecodeAbort('too-deep', `msgpack: containers nested deeper than ${MAX_NESTING_DEPTH}`);
      }
      this.pos--;
      const isMap = (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
      if (isMap) {
        const n = this.mapHeader();
        const m: MsgpackMap = new Map();
        for (let i = 0; i < n; i++) {
          const k = this.value(depth + 1);
          if (!(k instanceof Uint8Array)) {
            throw new DecodeAbort('bad-value', `msgpack: map key of type ${kindOf(k)}, expected a string`);
          }
          m.set(fromUtf8(k), this.value(depth + 1));
        }
        return m;
      }
      const n = this.arrayHeader();
      const a: MsgpackValue[] = new Array(n);
      for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
      return a;
    }
    if (b >= 0xa0 && b <= 0xbf) return this.take(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xc5:
      case 0xc6:
      case 0xd9:
      case 0xda:
      case 0xdb:
        this.pos--;
        return this.rawBytes();
      case 0xca:
      case 0xcb:
        this.pos--;
        return this.float();
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        this.pos--;
        return this.integer();
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
      case 0xc7:
      case 0xc8:
      case 0xc9:
        throw new DecodeAbort('bad-value', `msgpack: ext type ${describe(b)} is not used by this protocol`);
    }
    throw new DecodeAbort('malformed', `msgpack: reserved format byte 0xc1 at offset ${this.pos - 1}`);
  }

  /** Skips one value of any type (unknown struct fields). */
  skip(depth = 0): void {
    this.value(depth);
  }
}

function describe(b: number): string {
  return `format byte 0x${b.toString(16).padStart(2, '0')}`;
}

function kindOf(v: MsgpackValue): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'map';
  return typeof v;
}

/**
 * Decodes exactly one msgpack value from `buf`. Trailing bytes fail with `trailing-bytes`.
 * Never throws on bad input.
 */
export function decodeMsgpack(buf: Uint8Array): DecodeResult<MsgpackValue> {
  return catchDecode(() => {
    const r = new MsgpackReader(buf);
    const v = r.value();
    if (r.remaining !== 0) {
      throw new DecodeAbort('trailing-bytes', `msgpack: ${r.remaining} bytes after the value`);
    }
    return v;
  });
}
