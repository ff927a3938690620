/**
 * Splits a model into consecutive parts, each an ONNX model of its own, cut at tensors that alone
 * carry the state from one part to the next (in a transformer: the hidden state between layers).
 * Run one after another, the parts compute what the whole model computes.
 *
 * Why: onnxruntime-web copies every weight from a JS buffer into WASM memory while it creates a
 * session, so creating one session for the whole encoder holds all weights twice for a moment
 * (once in JS, once in WASM). Created part by part, with each part's bytes dropped before the next
 * is read, JS holds one part's weights at a time.
 */
import { InvalidArgumentError } from '../../core/errors.ts';
import { encodeModelWith, externalizeInitializers, inlineExternalData, parseModel, type ParsedModel } from '../onnx/onnx-model-io.ts';
import { DataType } from '../onnx/onnx-proto.ts';
import { ProtoMessage, readFields, type RawField } from '../onnx/protobuf.ts';

export interface ModelPart {
  readonly bytes: Uint8Array;
  /** The tensor this part reads (the previous part's output); undefined for the first part. */
  readonly input?: string;
  /** The tensor this part hands on; undefined for the last part. */
  readonly output?: string;
  /** Bytes of the initializers it holds. */
  readonly weightBytes: number;
}

/** ValueInfoProto / GraphProto.input entries: name (field 1). */
function valueInfoName(bytes: Uint8Array): string {
  const f = readFields(bytes).find((x) => x.field === 1);
  return f ? new TextDecoder().decode(f.bytes) : '';
}

/** A graph input (field 11) or output (12) for a float tensor of unknown shape (the cut tensors are activations). */
function floatValueInfo(field: 11 | 12, name: string): RawField {
  const tensorType = new ProtoMessage().varint(1, DataType.FLOAT);
  const type = new ProtoMessage().message(1, tensorType);
  return { field, wire: 2, value: 0n, bytes: new ProtoMessage().string(1, name).message(2, type).toBytes() };
}

/**
 * Node indices where the model can be cut, each with the one tensor that crosses the cut: the
 * nodes before index i produce it, the nodes from i on (or the graph outputs) consume it, and no
 * other activation crosses.
 */
export function cutPoints(model: ParsedModel): Array<{ index: number; tensor: string }> {
  const inits = new Set(model.initializers.map((t) => t.name));
  const n = model.nodes.length;
  const producer = new Map<string, number>();
  for (const f of model.graphFields) if (f.field === 11) { const name = valueInfoName(f.bytes); if (!inits.has(name)) producer.set(name, -1); }
  model.nodes.forEach((node, i) => { for (const o of node.outputs) if (o) producer.set(o, i); });
  const lastUse = new Map<string, number>();
  model.nodes.forEach((node, i) => { for (const x of node.inputs) if (x && producer.has(x)) lastUse.set(x, i); });
  for (const f of model.graphFields) if (f.field === 12) lastUse.set(valueInfoName(f.bytes), n);
  // A tensor produced by node p and last used by node u crosses every cut in p+1..u.
  const count = new Int32Array(n + 2);
  for (const [t, u] of lastUse) {
    count[producer.get(t)! + 1]! += 1;
    count[u + 1]! -= 1;
  }
  const out: Array<{ index: number; tensor: string }> = [];
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += count[i]!;
    if (i > 0 && running === 1) out.push({ index: i, tensor: [...lastUse].find(([x, u]) => producer.get(x)! < i && u >= i)![0] });
  }
  return out;
}

/** Splits `bytes` into `parts` models of about equal weight. */
export function splitModel(bytes: Uint8Array, parts: number): ModelPart[] {
  if (!Number.isInteger(parts) || parts < 1) throw new InvalidArgumentError(`parts must be a positive integer, got ${parts}.`);
  const model = parseModel(bytes);
  if (parts === 1) return [{ bytes, weightBytes: model.initializers.reduce((s, t) => s + t.raw.byteLength, 0) }];
  const inits = new Map(model.initializers.map((t) => [t.name, t] as const));
  // Weight bytes by the node that first uses them.
  const firstUse = new Map<string, number>();
  model.nodes.forEach((node, i) => { for (const x of node.inputs) if (inits.has(x) && !firstUse.has(x)) firstUse.set(x, i); });
  const weightAt = new Float64Array(model.nodes.length);
  for (const [name, i] of firstUse) weightAt[i]! += inits.get(name)!.raw.byteLength;
  const cumulative = new Float64Array(model.nodes.length + 1);
  weightAt.forEach((w, i) => { cumulative[i + 1] = cumulative[i]! + w; });
  const total = cumulative[model.nodes.length]!;

  const candidates = cutPoints(model);
  if (candidates.length < parts - 1) {
    throw new InvalidArgumentError(
      `the model can be cut in only ${candidates.length} place(s) where a single tensor carries the state, so at most ${candidates.length + 1} parts, not ${parts}. ` +
        '(Exports that compute shapes once and reuse them in every layer cannot be cut between layers; the project\'s own graph, export-vision --source safetensors, can.)',
    );
  }
  const cuts: Array<{ index: number; tensor: string }> = [];
  for (let k = 1; k < parts; k++) {
    const target = (total * k) / parts;
    const after = cuts.at(-1)?.index ?? 0;
    let best: { index: number; tensor: string } | undefined;
    for (const c of candidates) {
      if (c.index <= after) continue;
      if (!best || Math.abs(cumulative[c.index]! - target) < Math.abs(cumulative[best.index]! - target)) best = c;
    }
    if (!best) throw new InvalidArgumentError(`no place left to cut part ${k + 1} of ${parts}; ask for fewer parts.`);
    cuts.push(best);
  }

  const bounds = [0, ...cuts.map((c) => c.index), model.nodes.length];
  const out: ModelPart[] = [];
  for (let k = 0; k < parts; k++) {
    const nodes = model.nodes.slice(bounds[k], bounds[k + 1]);
    const used = new Set(nodes.flatMap((n) => n.inputs).filter((x) => inits.has(x)));
    const initializers = model.initializers.filter((t) => used.has(t.name));
    const input = k > 0 ? cuts[k - 1]!.tensor : undefined;
    const output = k < parts - 1 ? cuts[k]!.tensor : undefined;
    const graphFields: RawField[] = [];
    for (const f of model.graphFields) {
      if (f.field === 13) continue; // value_info: shape hints for tensors this part may not have
      if (f.field === 11 && input !== undefined) continue;
      if (f.field === 12 && output !== undefined) continue;
      graphFields.push(f);
    }
    if (input !== undefined) graphFields.push(floatValueInfo(11, input));
    if (output !== undefined) graphFields.push(floatValueInfo(12, output));
    const partBytes = encodeModelWith({ ...model, graphFields }, nodes.map((n) => ({ raw: n.raw })), initializers.map((t) => ({ raw: t.raw })), model.opsets);
    out.push({ bytes: partBytes, ...(input !== undefined ? { input } : {}), ...(output !== undefined ? { output } : {}), weightBytes: initializers.reduce((s, t) => s + t.raw.byteLength, 0) });
  }
  return out;
}

export interface VisionPart {
  /** The part's graph (with its weights unless `externalData` is set). */
  readonly model: Uint8Array;
  readonly externalData?: Uint8Array;
  /** The file name its graph gives for `externalData`. */
  readonly externalDataName?: string;
  /** The tensor it reads from the previous part (the first part reads pixel_values). */
  readonly input?: string;
  /** The tensor it hands to the next part (the last part gives image_embeds). */
  readonly output?: string;
}

/**
 * An encoder file (with its external-data weights, if it was exported so) cut into `parts`
 * consecutive models; with `externalDataName`, part k's weights go to a file of that name.
 */
export function splitEncoder(model: Uint8Array, externalData: Uint8Array | undefined, parts: number, externalDataName?: (part: number) => string): VisionPart[] {
  const whole = externalData ? inlineExternalData(model, externalData) : model;
  return splitModel(whole, parts).map((p, k): VisionPart => {
    const io = { ...(p.input !== undefined ? { input: p.input } : {}), ...(p.output !== undefined ? { output: p.output } : {}) };
    if (!externalDataName) return { model: p.bytes, ...io };
    const name = externalDataName(k);
    const split = externalizeInitializers(p.bytes, name);
    return { model: split.model, externalData: split.data, externalDataName: name, ...io };
  });
}
