/**
 * A small typed builder for ONNX graphs, so the project can emit its own models (the text tower
 * and its vector-Jacobian products) for onnxruntime: onnxruntime ships no graph-building API in JS.
 *
 *   const g = new GraphBuilder('mlp', { opset: 17, dtype: 'float32' });
 *   const x = g.input('x', 'float32', ['batch', 4]);
 *   const w = g.initializer('w', new Float32Array(8), [4, 2]);
 *   g.output(g.op('MatMul', [x, w], {}, { name: 'y' }));
 *   const bytes = g.toBytes();
 *
 * Every value name is checked when it is used, so a wiring mistake fails here with the name in
 * the message rather than inside onnxruntime.
 */
import {
  elemTypeOf,
  encodeModel,
  type AttributeValue,
  type Dim,
  type ElemType,
  type NodeSpec,
  type TensorData,
  type TensorSpec,
  type ValueInfoSpec,
} from './onnx-proto.ts';

export type { Dim, ElemType, TensorData } from './onnx-proto.ts';
export type FloatDType = 'float32' | 'float64';

/** A float attribute (a plain `number` attribute is an int). */
export interface FloatAttr { readonly float: number }
/** A list-of-floats attribute (a plain `number[]` attribute is a list of ints). */
export interface FloatsAttr { readonly floats: readonly number[] }
/** A tensor attribute (e.g. ConstantOfShape's `value`). */
export interface TensorAttr { readonly tensor: { readonly data: TensorData; readonly dims: readonly number[] } }
export type Attr = number | bigint | string | readonly number[] | FloatAttr | FloatsAttr | TensorAttr;

export const attrFloat = (value: number): FloatAttr => ({ float: value });
export const attrFloats = (value: readonly number[]): FloatsAttr => ({ floats: value });
export const attrTensor = (data: TensorData, dims: readonly number[]): TensorAttr => ({ tensor: { data, dims } });

export interface GraphBuilderOptions {
  /** ONNX default-domain opset (default 17: LayerNormalization is in it). */
  readonly opset?: number;
  /** The float type the graph computes in: `floatConst` and `output` default to it. */
  readonly dtype?: FloatDType;
  /** Extra operator-set imports, e.g. `{ 'com.microsoft': 1 }`. */
  readonly extraOpsets?: Readonly<Record<string, number>>;
  readonly docString?: string;
}

/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
const IR_VERSION_FOR_OPSET: ReadonlyArray<readonly [number, number]> = [[21, 10], [19, 9], [15, 8], [13, 7], [9, 4], [1, 3]];

function toAttributeValue(name: string, a: Attr): AttributeValue {
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`attribute "${name}": ${a} is not an integer; use attrFloat() for float attributes`);
    return { kind: 'int', value: a };
  }
  if (typeof a === 'bigint') return { kind: 'int', value: a };
  if (typeof a === 'string') return { kind: 'string', value: a };
  if (Array.isArray(a)) {
    const ints = a as readonly number[];
    for (const v of ints) if (!Number.isInteger(v)) throw new Error(`attribute "${name}": ${v} is not an integer; use attrFloats() for float lists`);
    return { kind: 'ints', value: ints };
  }
  if ('float' in a) return { kind: 'float', value: a.float };
  if ('floats' in a) return { kind: 'floats', value: a.floats };
  if ('tensor' in a) return { kind: 'tensor', value: { name: '', elemType: elemTypeOf(a.tensor.data), dims: a.tensor.dims, data: a.tensor.data } };
  throw new Error(`attribute "${name}" has an unsupported value`);
}

export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  readonly dtype: FloatDType;
  private readonly extraOpsets: Readonly<Record<string, number>>;
  private readonly docString: string | undefined;
  private readonly nodes: NodeSpec[] = [];
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly initializers: TensorSpec[] = [];
  /** Every defined value name: graph inputs, initializers and node outputs. */
  private readonly defined = new Set<string>();
  private readonly int64Cache = new Map<string, string>();
  private readonly floatCache = new Map<string, string>();
  private counter = 0;

  constructor(name: string, opts: GraphBuilderOptions = {}) {
    this.name = name;
    this.opset = opts.opset ?? 17;
    this.dtype = opts.dtype ?? 'float32';
    this.extraOpsets = opts.extraOpsets ?? {};
    this.docString = opts.docString;
  }

  /** Declares a graph input; symbolic dims (strings) are dynamic. Returns its name. */
  input(name: string, elemType: ElemType, shape: readonly Dim[]): string {
    this.define(name);
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  /** A constant tensor stored inside the model (weights). The array is referenced, not copied, until `toBytes()`. */
  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    this.define(name);
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`initializer "${name}": ${data.length} values for dims [${dims.join(', ')}]`);
    this.initializers.push({ name, elemType: elemTypeOf(data), dims, data });
    return name;
  }

  /** A float constant in the graph's dtype (small constants: scalars, masks, fill values). Identical scalars and short vectors are shared. */
  floatConst(values: ArrayLike<number>, dims: readonly number[] = [values.length], name?: string): string {
    const key = values.length <= 16 && name === undefined ? `${dims.join('x')}:${Array.from(values).join(',')}` : undefined;
    const hit = key === undefined ? undefined : this.floatCache.get(key);
    if (hit) return hit;
    const data = this.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    const out = this.initializer(name ?? this.fresh('const'), data, dims);
    if (key !== undefined) this.floatCache.set(key, out);
    return out;
  }

  /** An int64 constant (shapes, axes, indices); identical ones are shared. */
  int64Const(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const hit = this.int64Cache.get(key);
    if (hit) return hit;
    const out = this.initializer(this.fresh('i64'), BigInt64Array.from(values, (v) => BigInt(v)), dims);
    this.int64Cache.set(key, out);
    return out;
  }

  /** Adds a node with one output and returns the output's name (`opts.name`, or a fresh one). Use '' for an omitted optional input. */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}, opts: { name?: string; domain?: string } = {}): string {
    const [out] = this.opN(opType, inputs, 1, attrs, { names: opts.name === undefined ? undefined : [opts.name], domain: opts.domain });
    return out!;
  }

  /** Adds a node with several outputs (e.g. Split, LayerNormalization with Mean and InvStdDev). */
  opN(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attrs: Readonly<Record<string, Attr>> = {},
    opts: { names?: readonly string[] | undefined; domain?: string | undefined } = {},
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.defined.has(i)) throw new Error(`${opType} node in graph "${this.name}" uses "${i}", which is not defined yet`);
    }
    if (opts.names && opts.names.length !== outputCount) throw new Error(`${opType}: ${opts.names.length} names for ${outputCount} outputs`);
    const base = this.fresh(opType);
    const outputs = opts.names ? [...opts.names] : Array.from({ length: outputCount }, (_, k) => (outputCount === 1 ? base : `${base}_${k}`));
    for (const o of outputs) this.define(o);
    const attributes = Object.entries(attrs).map(([k, v]) => [k, toAttributeValue(k, v)] as const);
    this.nodes.push({ opType, inputs: [...inputs], outputs, name: base, domain: opts.domain, attributes });
    return outputs;
  }

  /** Marks a defined value as a graph output. Its type defaults to the graph's float dtype. */
  output(name: string, elemType: ElemType = this.dtype, shape?: readonly Dim[]): string {
    if (!this.defined.has(name)) throw new Error(`graph "${this.name}" has no value "${name}" to output`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`"${name}" is already an output of graph "${this.name}"`);
    this.outputs.push(shape ? { name, elemType, shape } : { name, elemType });
    return name;
  }

  has(name: string): boolean {
    return this.defined.has(name);
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The serialized ModelProto. */
  toBytes(): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`graph "${this.name}" has no outputs`);
    const irVersion = IR_VERSION_FOR_OPSET.find(([minOpset]) => this.opset >= minOpset)?.[1] ?? 3;
    return encodeModel({
      irVersion,
      producerName: 'prompt-edge',
      producerVersion: '1',
      docString: this.docString,
      opsetImports: [{ domain: '', version: this.opset }, ...Object.entries(this.extraOpsets).map(([domain, version]) => ({ domain, version }))],
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    });
  }

  private define(name: string): void {
    if (name === '') throw new Error('value names must not be empty');
    if (this.defined.has(name)) throw new Error(`value "${name}" is defined twice in graph "${this.name}"`);
    this.defined.add(name);
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.defined.has(name));
    return name;
  }
}
