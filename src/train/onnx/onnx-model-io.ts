/**
 * Just enough of onnx.proto to rewrite a model: a protobuf reader for ModelProto / GraphProto /
 * NodeProto / TensorProto, and writers for nodes and tensors of the element types quantisation
 * needs (float16, int8, uint8), which the project's GraphBuilder does not emit.
 *
 * Fields the rewrite does not touch are carried over as their original bytes, so a model from any
 * exporter (torch.onnx, Optimum, the project's own builder) round-trips unchanged apart from the
 * rewritten parts.
 */
import { DataType, encodeNode as encodeNodeSpec, encodeRawTensor } from './onnx-proto.ts';
import { ProtoMessage, readFields, readPackedVarints, WIRE_LEN, WIRE_VARINT, writeRawField, type RawField } from './protobuf.ts';


const utf8 = new TextDecoder();
const str = (f: RawField) => utf8.decode(f.bytes);

export interface NodeInfo {
  readonly inputs: string[];
  readonly outputs: string[];
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  /** The node's encoded bytes, for re-emitting it unchanged. */
  readonly raw: Uint8Array;
}

export interface InitializerInfo {
  readonly name: string;
  readonly dims: number[];
  readonly dataType: number;
  /** The TensorProto's encoded bytes, for re-emitting it unchanged. */
  readonly raw: Uint8Array;
  /** float32 values (raw_data or float_data), only for FLOAT tensors. */
  floats(): Float32Array;
}

export interface ParsedModel {
  /** ModelProto fields other than graph (7). */
  readonly modelFields: RawField[];
  /** GraphProto fields other than node (1) and initializer (5), in order. */
  readonly graphFields: RawField[];
  readonly nodes: NodeInfo[];
  readonly initializers: InitializerInfo[];
  readonly opsets: Map<string, number>;
}

function parseNode(raw: Uint8Array): NodeInfo {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opType = '';
  let domain = '';
  let name = '';
  for (const f of readFields(raw)) {
    if (f.field === 1) inputs.push(str(f));
    else if (f.field === 2) outputs.push(str(f));
    else if (f.field === 3) name = str(f);
    else if (f.field === 4) opType = str(f);
    else if (f.field === 7) domain = str(f);
  }
  return { inputs, outputs, opType, domain, name, raw };
}

function parseTensor(raw: Uint8Array): InitializerInfo {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let rawData: Uint8Array | undefined;
  const floatData: Uint8Array[] = [];
  let external = false;
  for (const f of readFields(raw)) {
    if (f.field === 1) {
      if (f.wire === WIRE_VARINT) dims.push(Number(BigInt.asIntN(64, f.value)));
      else for (const p of readPackedVarints(f.bytes)) dims.push(p);
    } else if (f.field === 2) dataType = Number(f.value);
    else if (f.field === 8) name = str(f);
    else if (f.field === 9) rawData = f.bytes;
    else if (f.field === 4) floatData.push(f.wire === WIRE_LEN ? f.bytes : f.bytes);
    else if (f.field === 14 && f.value === 1n) external = true;
  }
  return {
    name,
    dims,
    dataType,
    raw,
    floats() {
      if (dataType !== DataType.FLOAT) throw new Error(`tensor ${name} is not float32`);
      if (external) throw new Error(`tensor ${name} keeps its data in an external file; export a single-file model`);
      const count = dims.reduce((a, b) => a * b, 1);
      const src = rawData ?? concat(floatData);
      if (src.byteLength !== count * 4) throw new Error(`tensor ${name}: ${src.byteLength} data bytes for ${count} floats`);
      // Copy: raw_data is not 4-byte aligned inside the file.
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(src);
      return out;
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) { out.set(p, pos); pos += p.byteLength; }
  return out;
}

export function parseModel(bytes: Uint8Array): ParsedModel {
  const modelFields: RawField[] = [];
  const graphFields: RawField[] = [];
  const nodes: NodeInfo[] = [];
  const initializers: InitializerInfo[] = [];
  const opsets = new Map<string, number>();
  let sawGraph = false;
  for (const f of readFields(bytes)) {
    if (f.field !== 7) {
      modelFields.push(f);
      if (f.field === 8) {
        let domain = '';
        let version = 0;
        for (const o of readFields(f.bytes)) {
          if (o.field === 1) domain = str(o);
          else if (o.field === 2) version = Number(o.value);
        }
        opsets.set(domain, version);
      }
      continue;
    }
    sawGraph = true;
    for (const g of readFields(f.bytes)) {
      if (g.field === 1) nodes.push(parseNode(g.bytes));
      else if (g.field === 5) initializers.push(parseTensor(g.bytes));
      else graphFields.push(g);
    }
  }
  if (!sawGraph) throw new Error('not an ONNX model: no graph');
  return { modelFields, graphFields, nodes, initializers, opsets };
}

export type NewAttr = { readonly name: string; readonly int: number };

export interface NewNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly domain?: string;
  readonly attrs?: readonly NewAttr[];
}

export function encodeNode(n: NewNode): ProtoMessage {
  if (n.name === '') throw new Error(`a new ${n.opType} node needs a name`);
  return encodeNodeSpec({
    opType: n.opType, inputs: n.inputs, outputs: n.outputs, name: n.name, domain: n.domain,
    attributes: (n.attrs ?? []).map((a) => [a.name, { kind: 'int', value: a.int }] as const),
  });
}

export interface NewTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  /** Little-endian element bytes. */
  readonly data: Uint8Array;
}

export function encodeTensor(t: NewTensor): ProtoMessage {
  return encodeRawTensor(t.name, t.dims, t.dataType, t.data);
}

/** One entry of the rewritten graph's node list: an original node, or a new one. */
export type NodeOut = { readonly raw: Uint8Array } | { readonly node: NewNode };
/** One entry of the rewritten graph's initializer list. */
export type TensorOut = { readonly raw: Uint8Array } | { readonly tensor: NewTensor };

export function encodeModelWith(model: ParsedModel, nodes: readonly NodeOut[], initializers: readonly TensorOut[], opsets: ReadonlyMap<string, number>): Uint8Array {
  const graph = new ProtoMessage();
  for (const n of nodes) {
    if ('raw' in n) graph.bytes(1, n.raw);
    else graph.message(1, encodeNode(n.node));
  }
  for (const f of model.graphFields.filter((x) => x.field === 2)) writeRawField(graph, f); // name
  for (const t of initializers) {
    if ('raw' in t) graph.bytes(5, t.raw);
    else graph.message(5, encodeTensor(t.tensor));
  }
  for (const f of model.graphFields.filter((x) => x.field !== 2)) writeRawField(graph, f);

  const m = new ProtoMessage();
  for (const f of model.modelFields) if (f.field !== 8) writeRawField(m, f);
  m.message(7, graph);
  for (const [domain, version] of opsets) m.message(8, new ProtoMessage().string(1, domain).varint(2, version));
  return m.toBytes();
}

/**
 * Moves the data of every initializer of at least `minBytes` into one external buffer (ONNX
 * external data: TensorProto.data_location = EXTERNAL with location/offset/length entries).
 * onnxruntime-web then copies each weight straight from that buffer into its tensor, instead of
 * first copying the whole model into WASM memory and parsing it there: the WASM heap peaks at about
 * one copy of the weights instead of two.
 */
export function externalizeInitializers(bytes: Uint8Array, location: string, minBytes = 1024): { model: Uint8Array; data: Uint8Array } {
  const model = parseModel(bytes);
  const ALIGN = 64;
  const parts: Array<{ offset: number; data: Uint8Array }> = [];
  let total = 0;
  const initializers: TensorOut[] = model.initializers.map((t) => {
    const fields = readFields(t.raw);
    const raw = fields.find((f) => f.field === 9);
    if (!raw || raw.bytes.byteLength < minBytes) return { raw: t.raw };
    total = Math.ceil(total / ALIGN) * ALIGN;
    const offset = total;
    parts.push({ offset, data: raw.bytes });
    total += raw.bytes.byteLength;
    const m = new ProtoMessage();
    for (const f of fields) if (f.field !== 9) writeRawField(m, f);
    for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(raw.bytes.byteLength)]] as const) {
      m.message(13, new ProtoMessage().string(1, key).string(2, value)); // external_data: StringStringEntryProto
    }
    m.varint(14, 1); // data_location = EXTERNAL
    return { raw: m.toBytes() };
  });
  const data = new Uint8Array(total);
  for (const p of parts) data.set(p.data, p.offset);
  const nodes: NodeOut[] = model.nodes.map((n) => ({ raw: n.raw }));
  return { model: encodeModelWith(model, nodes, initializers, model.opsets), data };
}

/**
 * The inverse of externalizeInitializers: every initializer stored as external data (in `data`,
 * the file its `location` names) back inside the graph as raw_data. Needed to re-cut a model that
 * was exported with --external-data (split-model.ts works on self-contained graphs).
 */
export function inlineExternalData(bytes: Uint8Array, data: Uint8Array): Uint8Array {
  const model = parseModel(bytes);
  const initializers: TensorOut[] = model.initializers.map((t) => {
    const fields = readFields(t.raw);
    const external = fields.find((f) => f.field === 14 && f.wire === WIRE_VARINT)?.value === 1n;
    if (!external) return { raw: t.raw };
    const entry: Record<string, string> = {};
    for (const f of fields.filter((x) => x.field === 13)) {
      const kv = readFields(f.bytes);
      const key = kv.find((x) => x.field === 1);
      const value = kv.find((x) => x.field === 2);
      if (key && value) entry[str(key)] = str(value);
    }
    const offset = Number(entry.offset ?? '0');
    const length = entry.length !== undefined ? Number(entry.length) : data.byteLength - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.byteLength) {
      throw new Error(`initializer ${t.name} refers to bytes ${offset}..${offset + length} of its external data, which has ${data.byteLength}: wrong .data file?`);
    }
    const m = new ProtoMessage();
    for (const f of fields) if (f.field !== 13 && f.field !== 14) writeRawField(m, f);
    m.bytes(9, data.subarray(offset, offset + length)); // raw_data
    return { raw: m.toBytes() };
  });
  const nodes: NodeOut[] = model.nodes.map((n) => ({ raw: n.raw }));
  return encodeModelWith(model, nodes, initializers, model.opsets);
}
