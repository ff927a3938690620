/**
 * A minimal protobuf encoder and decoder: just the wire types ONNX needs.
 *
 * Encoding: a message is kept as a list of byte chunks plus its total length, so that embedding a child
 * message or a multi-hundred-megabyte tensor payload costs one pointer push, not a copy. The bytes
 * are copied exactly once, into a single preallocated buffer, by `toBytes()`.
 */

/** Protobuf wire types. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Small fields are gathered in a scratch buffer that starts small (most messages are tiny) and grows up to this before being cut into a chunk. */
const MAX_SCRATCH_BYTES = 4096;
const INITIAL_SCRATCH_BYTES = 32;
const textEncoder = new TextEncoder();

export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(INITIAL_SCRATCH_BYTES);
  private scratchLen = 0;
  private flushedLen = 0;
  private sealed = false;

  /** Encoded size in bytes so far. */
  get byteLength(): number {
    return this.flushedLen + this.scratchLen;
  }

  /** A varint field (int32, int64, uint64, enum, bool). Negative values use 10-byte two's complement, as protobuf requires for int64. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  fixed32Float(field: number, value: number): this {
    return this.fixed(field, WIRE_FIXED32, 4, (view, at) => view.setFloat32(at, value, true));
  }

  fixed64Double(field: number, value: number): this {
    return this.fixed(field, WIRE_FIXED64, 8, (view, at) => view.setFloat64(at, value, true));
  }

  /** A fixed-size little-endian field written by `write` into the scratch buffer. */
  private fixed(field: number, wire: number, size: number, write: (view: DataView, at: number) => void): this {
    this.tag(field, wire);
    this.reserve(size);
    write(new DataView(this.scratch.buffer), this.scratchLen);
    this.scratchLen += size;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A length-delimited field. Large payloads are referenced, not copied: do not mutate them before `toBytes()`. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(value.byteLength);
    this.appendBytes(value);
    return this;
  }

  /** An embedded message. The child is sealed: it must not change afterwards, since its chunks are shared. */
  message(field: number, child: ProtoMessage): this {
    if (child === this) throw new Error('a protobuf message cannot contain itself');
    child.flush();
    child.sealed = true;
    this.tag(field, WIRE_LEN);
    this.rawVarint(child.byteLength);
    this.flush();
    for (const c of child.chunks) this.chunks.push(c);
    this.flushedLen += child.flushedLen;
    return this;
  }

  /** All chunks joined into one buffer (the only copy of the payload bytes). */
  toBytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushedLen);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.byteLength;
    }
    return out;
  }

  private tag(field: number, wire: number): void {
    if (this.sealed) throw new Error('protobuf message was already embedded in a parent and cannot change');
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new Error(`invalid protobuf field number ${field}`);
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number | bigint): void {
    this.reserve(10);
    const buf = this.scratch;
    let pos = this.scratchLen;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      // Arithmetic instead of bit ops: bit ops truncate to 32 bits.
      let v = value;
      while (v >= 0x80) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      buf[pos++] = v;
    } else {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`varint value ${value} is not a safe integer`);
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        buf[pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      buf[pos++] = Number(v);
    }
    this.scratchLen = pos;
  }

  private appendBytes(value: Uint8Array): void {
    if (value.byteLength <= 64) {
      this.reserve(value.byteLength);
      this.scratch.set(value, this.scratchLen);
      this.scratchLen += value.byteLength;
      return;
    }
    this.flush();
    this.chunks.push(value);
    this.flushedLen += value.byteLength;
  }

  private reserve(n: number): void {
    if (this.scratchLen + n <= this.scratch.byteLength) return;
    if (this.scratchLen + n > MAX_SCRATCH_BYTES) this.flush();
    const need = this.scratchLen + n;
    if (need <= this.scratch.byteLength) return;
    let cap = this.scratch.byteLength * 2;
    while (cap < need) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.scratch.subarray(0, this.scratchLen));
    this.scratch = grown;
  }

  private flush(): void {
    if (this.scratchLen === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.scratchLen));
    this.flushedLen += this.scratchLen;
    this.scratch = new Uint8Array(INITIAL_SCRATCH_BYTES);
    this.scratchLen = 0;
  }
}

/** One field as it appeared on the wire; `bytes` is the payload of length-delimited and fixed-size fields. */
export interface RawField {
  readonly field: number;
  readonly wire: number;
  readonly value: bigint;
  readonly bytes: Uint8Array;
}

/** The fields of one message, in wire order; payloads are views into `buf`, not copies. */
export function readFields(buf: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_VARINT) out.push({ field, wire, value: varint(), bytes: new Uint8Array(0) });
    else if (wire === WIRE_LEN) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('truncated protobuf field');
      out.push({ field, wire, value: 0n, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === WIRE_FIXED32) {
      out.push({ field, wire, value: 0n, bytes: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else if (wire === WIRE_FIXED64) {
      out.push({ field, wire, value: 0n, bytes: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

/** A packed repeated varint field (e.g. TensorProto.dims written packed), as signed 64-bit numbers. */
export function readPackedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(Number(BigInt.asIntN(64, result)));
  }
  return out;
}

/** Re-emits a field exactly as read. */
export function writeRawField(m: ProtoMessage, f: RawField): void {
  if (f.wire === WIRE_VARINT) m.varint(f.field, f.value);
  else if (f.wire === WIRE_LEN) m.bytes(f.field, f.bytes);
  else if (f.wire === WIRE_FIXED32) m.fixed32Float(f.field, new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true));
  else m.fixed64Double(f.field, new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getFloat64(0, true));
}
