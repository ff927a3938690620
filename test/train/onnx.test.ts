import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, attrFloat, attrTensor } from '../../src/train/onnx/graph-builder.ts';
import { encodeTensor } from '../../src/train/onnx/onnx-proto.ts';
import { ProtoMessage } from '../../src/train/onnx/protobuf.ts';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('ProtoMessage', () => {
  it('encodes varints, including 64-bit negatives as 10 bytes', () => {
    expect(hex(new ProtoMessage().varint(1, 150).toBytes())).toBe('08 96 01');
    expect(hex(new ProtoMessage().varint(2, 0).toBytes())).toBe('10 00');
    expect(hex(new ProtoMessage().varint(1, -1).toBytes())).toBe('08 ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new ProtoMessage().varint(1, 2 ** 40).toBytes())).toBe('08 80 80 80 80 80 20');
    expect(hex(new ProtoMessage().varint(1, 2n ** 63n - 1n).toBytes())).toBe('08 ff ff ff ff ff ff ff ff 7f');
  });

  it('encodes strings, floats, doubles and nested messages with their lengths', () => {
    expect(hex(new ProtoMessage().string(2, 'testing').toBytes())).toBe('12 07 74 65 73 74 69 6e 67');
    expect(hex(new ProtoMessage().fixed32Float(2, 1).toBytes())).toBe('15 00 00 80 3f');
    expect(hex(new ProtoMessage().fixed64Double(3, 1).toBytes())).toBe('19 00 00 00 00 00 00 f0 3f');
    const child = new ProtoMessage().varint(1, 150);
    expect(hex(new ProtoMessage().message(3, child).toBytes())).toBe('1a 03 08 96 01');
  });

  it('refuses to change a message that is already embedded (its bytes are shared)', () => {
    const child = new ProtoMessage().varint(1, 1);
    new ProtoMessage().message(1, child);
    expect(() => child.varint(2, 2)).toThrow(/already embedded/);
  });

  it('keeps many small fields and large payloads in order', () => {
    const m = new ProtoMessage();
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    for (let i = 0; i < 2000; i++) m.varint(1, i);
    m.bytes(2, big);
    m.varint(3, 7);
    const out = m.toBytes();
    expect(out.byteLength).toBe(m.byteLength);
    // 2000 varint fields: 128 of 2 bytes (0..127), the rest 3 bytes; then tag 0x12, 3-byte length, payload, then 0x18 0x07.
    const smallLen = 128 * 2 + (2000 - 128) * 3;
    expect(out[smallLen]).toBe(0x12);
    expect(Array.from(out.subarray(smallLen + 4, smallLen + 4 + big.byteLength)).every((v, i) => v === i % 251)).toBe(true);
    expect(hex(out.subarray(out.byteLength - 2))).toBe('18 07');
  });
});

describe('encodeTensor', () => {
  it('rejects data that does not match dims or type', () => {
    expect(() => encodeTensor({ name: 't', elemType: 'float32', dims: [2, 2], data: new Float32Array(3) })).toThrow(/do not fill/);
    expect(() => encodeTensor({ name: 't', elemType: 'int32', dims: [2], data: new Float32Array(2) })).toThrow(/cannot hold int32/);
  });
});

describe('GraphBuilder', () => {
  it('builds a float32 model that onnxruntime loads and runs, with symbolic dims', async () => {
    const g = new GraphBuilder('affine', { dtype: 'float32' });
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
    const b = g.floatConst([0.5, -100]);
    g.output(g.op('Relu', [g.op('Add', [g.op('MatMul', [x, w]), b])], {}, { name: 'y' }), 'float32', ['batch', 2]);
    const session = await ort.InferenceSession.create(g.toBytes());
    expect(session.inputMetadata[0]).toMatchObject({ name: 'x', type: 'float32', shape: ['batch', 3] });
    expect(session.outputMetadata[0]).toMatchObject({ name: 'y', type: 'float32', shape: ['batch', 2] });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 0, 0, 0, 1, 1, -1, -1, -1]), [3, 3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1.5, 0, 8.5, 0, 0, 0]);
    await session.release();
  });

  it('supports float64 graphs, int64 initializers, negative and list int attributes, float and tensor attributes', async () => {
    const g = new GraphBuilder('mixed', { dtype: 'float64' });
    const x = g.input('x', 'float64', [2, 3]);
    const soft = g.op('Softmax', [x], { axis: -1 });
    const t = g.op('Transpose', [soft], { perm: [1, 0] });
    const ln = g.op('LayerNormalization', [x, g.floatConst([1, 1, 1]), g.floatConst([0, 0, 0])], { axis: -1, epsilon: attrFloat(0.25) });
    const half = g.op('ConstantOfShape', [g.op('Shape', [x])], { value: attrTensor(new Float64Array([0.5]), [1]) });
    const picked = g.op('Gather', [x, g.int64Const([1])], { axis: 0 });
    g.output(g.op('Identity', [t], {}, { name: 'softmax_t' }));
    g.output(g.op('Add', [ln, half], {}, { name: 'ln_plus_half' }));
    g.output(picked, 'float64');
    const session = await ort.InferenceSession.create(g.toBytes());
    const xs = [1, 2, 3, 0, 0, Math.log(2)];
    const out = await session.run({ x: new ort.Tensor('float64', Float64Array.from(xs), [2, 3]) });
    const e = [Math.E, Math.E ** 2, Math.E ** 3];
    const s0 = e.map((v) => v / (e[0]! + e[1]! + e[2]!));
    const softT = out.softmax_t!.data as Float64Array;
    expect(softT).toBeInstanceOf(Float64Array);
    [s0[0], 0.25, s0[1], 0.25, s0[2], 0.5].forEach((v, i) => expect(softT[i]).toBeCloseTo(v!, 14));
    // LayerNorm of [1,2,3] with eps 0.25: (x - 2) / sqrt(2/3 + 0.25).
    const lnOut = out.ln_plus_half!.data as Float64Array;
    expect(lnOut[0]).toBeCloseTo(-1 / Math.sqrt(2 / 3 + 0.25) + 0.5, 12);
    expect(Array.from(out[picked]!.data as Float64Array)).toEqual([0, 0, Math.log(2)]);
    await session.release();
  });

  it('shares identical small constants', () => {
    const g = new GraphBuilder('consts');
    expect(g.int64Const([0, 2, 1, 3])).toBe(g.int64Const([0, 2, 1, 3]));
    expect(g.int64Const([1])).not.toBe(g.int64Const([1], []));
    expect(g.floatConst([1], [])).toBe(g.floatConst([1], []));
  });

  it('fails early, naming the value, on wiring mistakes', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', [1]);
    expect(() => g.op('Relu', ['nope'])).toThrow(/"nope", which is not defined/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/defined twice/);
    expect(() => g.op('Softmax', [x], { axis: 0.5 })).toThrow(/attrFloat/);
    expect(() => g.output('missing')).toThrow(/no value "missing"/);
    expect(() => new GraphBuilder('empty').toBytes()).toThrow(/no outputs/);
  });

  it('writes a large initializer with a single copy, fast', async () => {
    const n = 8 * 1024 * 1024; // 32 MB of float32 weights
    const big = new Float32Array(n);
    for (let i = 0; i < n; i += 4096) big[i] = i;
    const g = new GraphBuilder('big');
    const x = g.input('x', 'int64', [1]);
    const w = g.initializer('w', big, [n]);
    g.output(g.op('Gather', [w, x], { axis: 0 }, { name: 'y' }));
    const t0 = performance.now();
    const bytes = g.toBytes();
    const ms = performance.now() - t0;
    expect(bytes.byteLength).toBeGreaterThan(n * 4);
    expect(bytes.byteLength).toBeLessThan(n * 4 + 1024);
    expect(ms).toBeLessThan(2000);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('int64', BigInt64Array.from([4096n * 100n]), [1]) });
    expect(out.y!.data[0]).toBe(4096 * 100);
    await session.release();
  });
});
