import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArtifactError } from '../../src/core/errors.ts';
import { f32ToF16Bits, parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../../src/core/safetensors.ts';

/** Builds a safetensors file by hand so that the reader is tested against the spec, not the writer. */
function handMade(entries: { name: string; dtype: string; shape: number[]; bytes: number[] }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const e of entries) { out.set(e.bytes, p); p += e.bytes.length; }
  return out;
}

describe('safetensors reader', () => {
  it('decodes F16 and BF16 bit patterns exactly', () => {
    // F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), 0.333251953125
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555];
    // BF16: 1.0, -0.5, 3.140625
    const bf16 = [0x3f80, 0xbf00, 0x4049];
    const le = (words: number[]) => words.flatMap((w) => [w & 0xff, w >> 8]);
    const file = parseSafetensors(handMade([
      { name: 'h', dtype: 'F16', shape: [5], bytes: le(f16) },
      { name: 'b', dtype: 'BF16', shape: [3], bytes: le(bf16) },
    ], { k: 'v' }));
    expect(file.metadata).toEqual({ k: 'v' });
    expect(Array.from(tensorToFloat32(file.tensors.get('h')!))).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125]);
    expect(Array.from(tensorToFloat32(file.tensors.get('b')!))).toEqual([1, -0.5, 3.140625]);
  });

  it('reads the default model checkpoint (142 F32 tensors)', () => {
    const file = parseSafetensors(new Uint8Array(readFileSync('artifacts/models/tiny-clip-cifar10/model.safetensors')));
    expect(file.tensors.size).toBe(142);
    const te = file.tensors.get('text_model.embeddings.token_embedding.weight')!;
    expect(te.dtype).toBe('F32');
    expect(te.shape).toEqual([2014, 128]);
    const ls = tensorToFloat32(file.tensors.get('logit_scale')!);
    expect(Math.exp(ls[0]!)).toBeCloseTo(14.3297, 3);
  });

  it('round-trips F32/F16 through the writer, 8-byte aligned', () => {
    const data = new Float32Array([0.1, -3.5, 1e-3, 70000, 0]);
    const bytes = serializeSafetensors({ a: { dtype: 'F32', shape: [5], data }, b: { dtype: 'F16', shape: [1, 5], data } }, { m: '1' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const f = parseSafetensors(bytes);
    expect(tensorToFloat32(f.tensors.get('a')!)).toEqual(data);
    const h = tensorToFloat32(f.tensors.get('b')!);
    expect(h[0]).toBeCloseTo(0.1, 3);
    expect(h[3]).toBe(Infinity); // 70000 overflows F16
    expect(f.metadata).toEqual({ m: '1' });
  });

  it('rounds to nearest even when writing F16', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
  });

  it('rejects truncated and malformed files with ArtifactError', () => {
    const good = serializeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => parseSafetensors(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow(ArtifactError);
    const notJson = new Uint8Array(16);
    new DataView(notJson.buffer).setBigUint64(0, 8n, true);
    notJson.fill(0x7b, 8);
    expect(() => parseSafetensors(notJson)).toThrow(/not valid JSON/);
    expect(() => parseSafetensors(handMade([{ name: 'x', dtype: 'F32', shape: [2], bytes: [0, 0, 0, 0] }]))).toThrow(/needs 8/);
    expect(() => parseSafetensors(handMade([{ name: 'x', dtype: 'Q4', shape: [1], bytes: [0] }]))).toThrow(/unsupported dtype/);
  });
});
