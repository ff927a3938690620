/**
 * Encodes the subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) the
 * project writes: ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto (raw_data only), ValueInfoProto with TypeProto.Tensor and TensorShapeProto.
 * Field numbers are those of onnx.proto; the comments name each field. The reader that rewrites
 * existing models (onnx-model-io.ts) shares the data-type table and the node and tensor encoders.
 */
import { ProtoMessage } from './protobuf.ts';
import { HOST_IS_LITTLE_ENDIAN } from '../../core/host-endianness.ts';

export type ElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** TensorProto.DataType: the one table of ONNX element type codes in the project. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** The code of each element type GraphBuilder emits. */
export const ELEM_TYPE_CODE: Readonly<Record<ElemType, DataTypeCode>> = {
  float32: DataType.FLOAT,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  float64: DataType.DOUBLE,
};

export interface TensorSpec {
  readonly name: string;
  readonly elemType: ElemType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

export interface ValueInfoSpec {
  readonly name: string;
  readonly elemType: ElemType;
  /** Omitted: unknown rank. */
  readonly shape?: readonly Dim[];
}

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorSpec };

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes: ReadonlyArray<readonly [string, AttributeValue]>;
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
  readonly docString?: string;
}

export interface ModelSpec {
  readonly irVersion: number;
  readonly opsetImports: ReadonlyArray<{ readonly domain: string; readonly version: number }>;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graph: GraphSpec;
  readonly docString?: string;
}

const ATTRIBUTE_TYPE: Readonly<Record<AttributeValue['kind'], number>> = {
  float: 1, // FLOAT
  int: 2, // INT
  string: 3, // STRING
  tensor: 4, // TENSOR
  floats: 6, // FLOATS
  ints: 7, // INTS
};

const ARRAY_NAME: Readonly<Record<ElemType, string>> = {
  float32: 'Float32Array', float64: 'Float64Array', int64: 'BigInt64Array', int32: 'Int32Array', bool: 'Uint8Array',
};

/** The element type a typed array holds (Uint8Array is read as bool: ONNX stores one byte per bool). */
export function elemTypeOf(data: TensorData): ElemType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function encodeTensor(t: TensorSpec): ProtoMessage {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`tensor "${t.name}": ${t.data.length} values do not fill dims [${t.dims.join(', ')}] (${count})`);
  }
  if (elemTypeOf(t.data) !== t.elemType) {
    throw new Error(`tensor "${t.name}": a ${t.data.constructor.name} cannot hold ${t.elemType} (expected ${ARRAY_NAME[t.elemType]})`);
  }
  // raw_data must be little-endian; typed arrays use the host's byte order.
  if (!HOST_IS_LITTLE_ENDIAN && t.data.BYTES_PER_ELEMENT > 1) {
    throw new Error('ONNX raw_data is little-endian; this host is big-endian, which the writer does not support');
  }
  return encodeRawTensor(t.name, t.dims, ELEM_TYPE_CODE[t.elemType], new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** A TensorProto from little-endian element bytes of any data type (raw_data is referenced, not copied). */
export function encodeRawTensor(name: string, dims: readonly number[], dataType: number, rawData: Uint8Array): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of dims) m.varint(1, d); // dims
  m.varint(2, dataType); // data_type
  m.string(8, name); // name
  m.bytes(9, rawData); // raw_data
  return m;
}

function encodeValueInfo(v: ValueInfoSpec): ProtoMessage {
  const tensorType = new ProtoMessage().varint(1, ELEM_TYPE_CODE[v.elemType]); // TypeProto.Tensor.elem_type
  if (v.shape) {
    const shape = new ProtoMessage();
    for (const d of v.shape) {
      const dim = new ProtoMessage();
      if (typeof d === 'number') dim.varint(1, d); // dim_value
      else dim.string(2, d); // dim_param
      shape.message(1, dim); // TensorShapeProto.dim
    }
    tensorType.message(2, shape); // TypeProto.Tensor.shape
  }
  const type = new ProtoMessage().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoMessage().string(1, v.name).message(2, type); // ValueInfoProto.name, .type
}

function encodeAttribute(name: string, a: AttributeValue): ProtoMessage {
  const m = new ProtoMessage().string(1, name); // name
  switch (a.kind) {
    case 'float':
      m.fixed32Float(2, a.value); // f
      break;
    case 'int':
      m.varint(3, a.value); // i
      break;
    case 'string':
      m.string(4, a.value); // s
      break;
    case 'tensor':
      m.message(5, encodeTensor(a.value)); // t
      break;
    case 'floats':
      for (const f of a.value) m.fixed32Float(7, f); // floats
      break;
    case 'ints':
      for (const i of a.value) m.varint(8, i); // ints
      break;
  }
  m.varint(20, ATTRIBUTE_TYPE[a.kind]); // type
  return m;
}

export function encodeNode(n: NodeSpec): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i); // input
  for (const o of n.outputs) m.string(2, o); // output
  if (n.name) m.string(3, n.name); // name
  m.string(4, n.opType); // op_type
  for (const [name, value] of n.attributes) m.message(5, encodeAttribute(name, value)); // attribute
  if (n.domain) m.string(7, n.domain); // domain
  return m;
}

function encodeGraph(g: GraphSpec): ProtoMessage {
  const m = new ProtoMessage();
  for (const n of g.nodes) m.message(1, encodeNode(n)); // node
  m.string(2, g.name); // name
  for (const t of g.initializers) m.message(5, encodeTensor(t)); // initializer
  if (g.docString) m.string(10, g.docString); // doc_string
  for (const v of g.inputs) m.message(11, encodeValueInfo(v)); // input
  for (const v of g.outputs) m.message(12, encodeValueInfo(v)); // output
  return m;
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const m = new ProtoMessage();
  m.varint(1, spec.irVersion); // ir_version
  m.string(2, spec.producerName); // producer_name
  m.string(3, spec.producerVersion); // producer_version
  if (spec.docString) m.string(6, spec.docString); // doc_string
  m.message(7, encodeGraph(spec.graph)); // graph
  for (const o of spec.opsetImports) {
    m.message(8, new ProtoMessage().string(1, o.domain).varint(2, o.version)); // opset_import: domain, version
  }
  return m.toBytes();
}
