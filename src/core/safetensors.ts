/**
 * A small safetensors reader and writer (https://github.com/huggingface/safetensors).
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the
 * raw little-endian tensor bytes. Written by hand because it is ~150 lines and must run in Node and
 * in workerd alike; no npm package covers both with F16/BF16 decoding.
 */
import { ArtifactError } from './errors.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export interface TensorView {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** The raw little-endian bytes of the tensor (a view into the file, not a copy). */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorView>;
}

/** Maximum JSON header we accept: real checkpoints have headers of a few hundred KB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function parseSafetensors(bytes: Uint8Array, what = 'safetensors file'): SafetensorsFile {
  if (bytes.byteLength < 8) throw new ArtifactError(`${what} is truncated: ${bytes.byteLength} bytes, fewer than the 8-byte header length.`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.byteLength) {
    throw new ArtifactError(`${what} is truncated or not safetensors: header claims ${headerLen} bytes, file has ${bytes.byteLength}.`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (cause) {
    throw new ArtifactError(`${what} has a header that is not valid JSON: it is not a safetensors file.`, { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ArtifactError(`${what} has a header that is not a JSON object.`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorView>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw new ArtifactError(`${what}: __metadata__ must be an object of strings.`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new ArtifactError(`${what}: __metadata__.${k} must be a string.`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new ArtifactError(`${what}: tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}.`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ArtifactError(`${what}: tensor "${name}" has an invalid shape.`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new ArtifactError(`${what}: tensor "${name}" has invalid data_offsets.`);
    }
    const [begin, end] = off as [number, number];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      throw new ArtifactError(`${what}: tensor "${name}" spans ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}.`);
    }
    if (end > dataLen) {
      throw new ArtifactError(`${what} is truncated: tensor "${name}" ends at byte ${end} of a ${dataLen}-byte data section.`);
    }
    tensors.set(name, { name, dtype, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return { metadata, tensors };
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Round-to-nearest-even float32 -> float16 bits. */
export function f32ToF16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m += 1;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m += 1;
    if (m === 0x400) { m = 0; e += 1; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
}

/** Decodes a floating-point tensor to a fresh Float32Array (F32, F16, BF16, F64). */
export function tensorToFloat32(t: TensorView): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = dv.getUint16(i * 2, true) << 16;
        out[i] = f[0]!;
      }
      break;
    }
    default:
      throw new ArtifactError(`tensor "${t.name}" has dtype ${t.dtype}, not a floating-point type.`);
  }
  return out;
}

export interface TensorToWrite {
  dtype: 'F32' | 'F16' | 'I64' | 'I32';
  shape: readonly number[];
  data: Float32Array | BigInt64Array | Int32Array;
}

/** Serialises tensors (sorted by name, 8-byte aligned as the reference writer does) and metadata. */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new ArtifactError(`tensor "${name}": shape ${JSON.stringify(t.shape)} needs ${n} values, got ${t.data.length}.`);
    let bytes: Uint8Array;
    if (t.dtype === 'F16') {
      const u16 = new Uint16Array(n);
      const src = t.data as Float32Array;
      for (let i = 0; i < n; i++) u16[i] = f32ToF16Bits(src[i]!);
      bytes = new Uint8Array(u16.buffer);
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned (as the Rust writer does).
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const pad = (8 - ((8 + headerBytes.byteLength) % 8)) % 8;
  if (pad) { json += ' '.repeat(pad); headerBytes = enc.encode(json); }
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.byteLength;
  for (const c of chunks) { out.set(c, p); p += c.byteLength; }
  return out;
}
