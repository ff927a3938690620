/**
 * Writes a safetensors file straight from Float32Arrays to disk, tensor by tensor: ViT-B weights are
 * ~600 MB, and serializeSafetensors (src/core) builds the whole file in memory twice over. Same
 * layout as serializeSafetensors: names sorted, header padded so data starts 8-byte aligned.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { HOST_IS_LITTLE_ENDIAN } from '../../core/host-endianness.ts';

export interface F32TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function writeSafetensorsF32(path: string, tensors: ReadonlyMap<string, F32TensorToWrite>, metadata: Record<string, string> = {}): number {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('safetensors data is little-endian; this host is big-endian');
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`tensor "${name}": shape ${JSON.stringify(t.shape)} needs ${n} values, got ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    for (const name of names) {
      const d = tensors.get(name)!.data;
      writeAll(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return 8 + headerBytes.byteLength + offset;
}

/** writeSync may write less than asked for large buffers. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}
