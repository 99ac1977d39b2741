/**
 * Schema-driven struct encoding: how a Go struct of memberlist or Serf goes on the wire.
 *
 * go-msgpack writes a struct as a map keyed by the Go field names, **sorted by name**, leaving
 * out `omitempty` fields that are zero. It reads a map tolerantly: unknown keys are skipped,
 * missing keys keep their zero value, nil reads as the zero value. A {@link StructCodec} does
 * the same for one struct, from a list of {@link FieldSpec}s that map each Go name to a
 * camelCase TypeScript property and a wire kind.
 *
 * The schema, not the bytes, decides what is text: Go writes `string` and `[]byte` with the same
 * msgpack codes, so a field's kind says whether to decode it as a UTF-8 string or keep the bytes.
 */
import { MAX_NESTING_DEPTH } from './limits.ts';
import { fromUtf8, type MsgpackReader, MsgpackWriter } from './msgpack.ts';
import { DecodeAbort } from './result.ts';

/**
 * Wire kinds of struct fields:
 * - `string`: Go `string`; `bytes`: Go `[]byte` (nil reads as empty); `bytesOrNil`: `[]byte`
 *   whose nil-ness matters for byte-identical re-encoding (`null` ⇄ `0xc0`).
 * - `uint8`/`uint16`/`uint32`/`uint64`: unsigned, range-checked; `int`: Go `int`/`int64`.
 * - `bool`, `float64`.
 * - `vsn`: Go `[]uint8`, which go-msgpack writes as raw bytes; a `number[]` in TypeScript.
 * - `strings`/`stringsOrNil`: `[]string`; `bytesList`/`bytesListOrNil`: `[][]byte`.
 * - `stringMap`: `map[string]string`; `uintMap`: `map[string]uint64`; `float64s`: `[]float64`.
 * - `{ struct }`: a nested struct; `{ list, nilItems? }`: `[]*T` (nil entries allowed if
 *   `nilItems`), `null` ⇄ nil slice.
 */
export type FieldKind =
  | 'string'
  | 'bytes'
  | 'bytesOrNil'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int'
  | 'bool'
  | 'float64'
  | 'vsn'
  | 'strings'
  | 'stringsOrNil'
  | 'bytesList'
  | 'bytesListOrNil'
  | 'stringMap'
  | 'uintMap'
  | 'float64s'
  | { struct: StructCodec<object> }
  | { list: StructCodec<object>; nilItems?: boolean };

export interface FieldSpec {
  /** The Go field name: the msgpack map key. */
  key: string;
  /** The TypeScript property. */
  prop: string;
  kind: FieldKind;
  /** Go's `codec:",omitempty"`: left out of the map when zero or empty. */
  omitEmpty?: boolean;
}

/** Shorthand for a {@link FieldSpec}. */
export function field(key: string, prop: string, kind: FieldKind, omitEmpty = false): FieldSpec {
  return { key, prop, kind, omitEmpty };
}

const UINT_MAX: Record<string, number> = {
  uint8: 0xff,
  uint16: 0xffff,
  uint32: 0xffffffff,
  uint64: Number.MAX_SAFE_INTEGER,
  int: Number.MAX_SAFE_INTEGER,
};

/** Encoder and decoder for one Go struct. */
export class StructCodec<T extends object> {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** UTF-8 bytes of each field's key, to match keys on the wire without building strings. */
  readonly #keyBytes: Uint8Array[];
  /** Each key as written: its str header and UTF-8 bytes (what `w.str(key)` writes). */
  readonly #keyFrames: Uint8Array[];
  /** Every property, in field order, undefined: what a decoded struct is copied from. */
  readonly #shape: Record<string, undefined>;

  /**
   * @param name the Go struct name (for error messages)
   * @param fields one entry per Go field; they are written in Go's sorted key order whatever
   *   order is given here.
   */
  constructor(name: string, fields: FieldSpec[]) {
    this.name = name;
    if (fields.length > 30) throw new RangeError(`${name}: at most 30 fields (a bitmask tracks them)`);
    this.fields = [...fields].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#keyBytes = this.fields.map((f) => new TextEncoder().encode(f.key));
    this.#keyFrames = this.fields.map((f) => {
      const w = new MsgpackWriter(8 + f.key.length * 3);
      w.str(f.key);
      return w.finish();
    });
    this.#shape = {};
    for (const f of this.fields) this.#shape[f.prop] = undefined;
  }

  /** The value every field has when absent: Go's zero values. */
  zero(): T {
    const out: Record<string, unknown> = {};
    for (const f of this.fields) out[f.prop] = zeroOf(f.kind);
    return out as T;
  }

  /** The index of the field whose key is `buf[start, start + n)`, or -1. */
  #match(buf: Uint8Array, start: number, n: number): number {
    const keys = this.#keyBytes;
    next: for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k.length !== n) continue;
      for (let j = 0; j < n; j++) if (k[j] !== buf[start + j]) continue next;
      return i;
    }
    return -1;
  }

  /** Writes `value` as a msgpack map, keys sorted, `omitempty` fields skipped when empty. */
  encode(w: MsgpackWriter, value: T): void {
    const v = value as Record<string, unknown>;
    let n = 0;
    for (const f of this.fields) if (!(f.omitEmpty && isEmpty(v[f.prop]))) n++;
    w.mapHeader(n);
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const x = v[f.prop];
      if (f.omitEmpty && isEmpty(x)) continue;
      w.bytes(this.#keyFrames[i]!);
      encodeField(w, f, x, this.name);
    }
  }

  /** Reads a struct. Throws {@link DecodeAbort} on bad input (callers wrap with `catchDecode`). */
  decode(r: MsgpackReader, depth = 0): T {
    if (depth >= MAX_NESTING_DEPTH) {
      throw new DecodeAbort('too-deep', `${this.name}: nested deeper than ${MAX_NESTING_DEPTH}`);
    }
    if (r.tryNil()) return this.zero();
    // Every decoded struct starts from the same shape (one hidden class per codec).
    const out: Record<string, unknown> = { ...this.#shape };
    const n = r.mapHeader();
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const keyLength = r.rawLength();
      const index = this.#match(r.buf, r.pos, keyLength);
      r.pos += keyLength;
      if (index < 0) {
        r.skip(depth + 1);
        continue;
      }
      const f = this.fields[index]!;
      out[f.prop] = decodeField(r, f, depth + 1, this.name);
      seen |= 1 << index;
    }
    // Absent fields take Go's zero values (built only for the fields that are missing).
    if (seen !== (1 << this.fields.length) - 1) {
      for (let i = 0; i < this.fields.length; i++) {
        if ((seen & (1 << i)) === 0) out[this.fields[i]!.prop] = zeroOf(this.fields[i]!.kind);
      }
    }
    return out as T;
  }
}

function zeroOf(kind: FieldKind): unknown {
  if (typeof kind === 'object') return 'struct' in kind ? kind.struct.zero() : null;
  switch (kind) {
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    case 'bool':
      return false;
    case 'vsn':
    case 'strings':
    case 'bytesList':
    case 'float64s':
      return [];
    case 'stringMap':
    case 'uintMap':
      return {};
    case 'bytesOrNil':
    case 'stringsOrNil':
    case 'bytesListOrNil':
      return null;
    default:
      return 0;
  }
}

function isEmpty(x: unknown): boolean {
  if (x === null || x === undefined || x === 0 || x === '' || x === false) return true;
  if (x instanceof Uint8Array || Array.isArray(x)) return x.length === 0;
  return false;
}

function bad(structName: string, f: FieldSpec, detail: string): never {
  throw new TypeError(`${structName}.${f.key}: ${detail}`);
}

function encodeField(w: MsgpackWriter, f: FieldSpec, x: unknown, structName: string): void {
  const kind = f.kind;
  if (typeof kind === 'object') {
    if ('struct' in kind) {
      kind.struct.encode(w, x as object);
      return;
    }
    if (x === null || x === undefined) {
      w.nil();
      return;
    }
    const items = x as (object | null)[];
    w.arrayHeader(items.length);
    for (const item of items) {
      if (item === null) w.nil();
      else kind.list.encode(w, item);
    }
    return;
  }
  switch (kind) {
    case 'string':
      w.str((x as string | undefined) ?? '');
      return;
    case 'bytes':
    case 'bytesOrNil':
      if (x === null || x === undefined) w.nil();
      else if (x instanceof Uint8Array) w.raw(x);
      else bad(structName, f, 'expected a Uint8Array');
      return;
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
    case 'int': {
      const n = (x as number | undefined) ?? 0;
      if (!Number.isInteger(n) || n > UINT_MAX[kind]! || (kind !== 'int' && n < 0)) {
        bad(structName, f, `${n} is out of range for ${kind}`);
      }
      w.int(n);
      return;
    }
    case 'bool':
      w.bool(Boolean(x));
      return;
    case 'float64':
      w.float64((x as number | undefined) ?? 0);
      return;
    case 'vsn':
      w.rawFromNumbers((x as number[] | undefined) ?? []);
      return;
    case 'strings':
    case 'stringsOrNil':
      if (x === null || x === undefined) {
        w.nil();
        return;
      }
      w.arrayHeader((x as string[]).length);
      for (const s of x as string[]) w.str(s);
      return;
    case 'bytesList':
    case 'bytesListOrNil':
      if (x === null || x === undefined) {
        w.nil();
        return;
      }
      w.arrayHeader((x as Uint8Array[]).length);
      for (const b of x as Uint8Array[]) w.raw(b);
      return;
    case 'stringMap': {
      const entries = Object.entries((x as Record<string, string> | undefined) ?? {});
      w.mapHeader(entries.length);
      for (const [k, v] of entries) w.str(k).str(v);
      return;
    }
    case 'uintMap': {
      const entries = Object.entries((x as Record<string, number> | undefined) ?? {});
      w.mapHeader(entries.length);
      for (const [k, v] of entries) w.str(k).int(v);
      return;
    }
    case 'float64s': {
      const xs = (x as number[] | undefined) ?? [];
      w.arrayHeader(xs.length);
      for (const v of xs) w.float64(v);
      return;
    }
  }
}

function decodeField(r: MsgpackReader, f: FieldSpec, depth: number, structName: string): unknown {
  const kind = f.kind;
  if (typeof kind === 'object') {
    if ('struct' in kind) return kind.struct.decode(r, depth);
    if (r.tryNil()) return null;
    const n = r.arrayHeader();
    const items: (object | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (kind.nilItems && r.tryNil()) items[i] = null;
      else items[i] = kind.list.decode(r, depth + 1);
    }
    return items;
  }
  if (r.tryNil()) return zeroOf(kind);
  switch (kind) {
    case 'string':
      return r.string();
    case 'bytes':
    case 'bytesOrNil':
      return r.rawBytesCopy();
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
    case 'int': {
      const n = r.integer();
      if (n > UINT_MAX[kind]! || (kind !== 'int' && n < 0)) {
        throw new DecodeAbort('bad-value', `${structName}.${f.key}: ${n} is out of range for ${kind}`);
      }
      return n;
    }
    case 'bool':
      return r.bool();
    case 'float64':
      return r.float();
    case 'vsn': {
      // go-msgpack writes []uint8 as raw bytes, but its decoder also takes an array of ints.
      const b = r.peek();
      if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) {
        const n = r.arrayHeader();
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const v = r.integer();
          if (v < 0 || v > 255)
            throw new DecodeAbort('bad-value', `${structName}.${f.key}: ${v} is not a uint8`);
          out.push(v);
        }
        return out;
      }
      const n = r.rawLength();
      const out: number[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = r.buf[r.pos + i]!;
      r.pos += n;
      return out;
    }
    case 'strings':
    case 'stringsOrNil': {
      const n = r.arrayHeader();
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = r.string();
      return out;
    }
    case 'bytesList':
    case 'bytesListOrNil': {
      const n = r.arrayHeader();
      const out: Uint8Array[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = r.rawBytesCopy();
      return out;
    }
    case 'stringMap': {
      const n = r.mapHeader();
      const entries: [string, string][] = new Array(n);
      for (let i = 0; i < n; i++) entries[i] = [r.string(), r.tryNil() ? '' : fromUtf8(r.rawBytes())];
      return Object.fromEntries(entries);
    }
    case 'uintMap': {
      const n = r.mapHeader();
      const entries: [string, number][] = new Array(n);
      for (let i = 0; i < n; i++) {
        const k = r.string();
        const v = r.integer();
        if (v < 0) throw new DecodeAbort('bad-value', `${structName}.${f.key}[${k}]: negative ${v}`);
        entries[i] = [k, v];
      }
      return Object.fromEntries(entries);
    }
    case 'float64s': {
      const n = r.arrayHeader();
      const out: number[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = r.float();
      return out;
    }
  }
}
