/**
 * The vision model an isolate serves. Without VISION_MODEL_SHA256 it is the model bundled into the
 * Worker; with it, the model stored in R2 under that sha256 (docs/storage.md, "Vision models in
 * R2"), for models too large to bundle. Either way it is loaded on the isolate's first request that
 * needs it and kept for the isolate's life; concurrent first requests share one load.
 *
 * An edge-vit model (manifest `engine: "edge-vit"`) is streamed from R2 straight into the engine's
 * WASM memory and hashed on the way (edge-vit-encoder.ts); onnxruntime-web is not loaded for it.
 * An ONNX model is read whole, or part by part for a model stored in parts (each part read only
 * once the previous part's session exists, so the isolate holds one part's bytes at a time), every
 * file checked against its sha256 (the graph's is the model's own, the one label sets record)
 * before onnxruntime sees a byte: a corrupted object is refused
 * with 503, never served. A failed load is answered from memory for `retryAfterMs`, then retried,
 * so a broken object costs one large read per isolate per retry window, not one per request.
 */
import { SHA256_HEX } from '../../core/contract/ids.ts';
import { manifestEngine, type EdgeVitModelManifest, type ModelFileEntry, type ModelManifest, type OnnxModelManifest } from '../../core/contract/model-manifest.ts';
import { sha256Hex } from '../../core/contract/sha256.ts';
import { partDataName, partGraphName, VISION_DATA, VISION_EDGE_VIT, VISION_GRAPH, type ModelFileName, type VisionEngineName } from '../../core/model-files.ts';
import type { Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import type { KeepAlive } from '../http/keep-alive.ts';
import { lazy, type Lazy } from '../runtime/lazy.ts';
import { r2Keys } from '../store/keys.ts';
import { ModelStore } from '../store/model-store.ts';
import { EdgeVitEncoder, WeightFileMismatch } from './edge-vit-encoder.ts';
import { parseEdgeVitSimd, type EdgeVitSimd } from './edge-vit-host.ts';
import type { VisionEncoder, VisionEncoderStatus } from './encoder.ts';
import { ImageEncoder, type PartedModelFiles } from './image-encoder.ts';
import type { VisionModelFiles, VisionModelInfo, VisionModelSpec } from './model.ts';
import { createVisionRuntime, loadVisionRuntime, type VisionRuntime, type VisionRuntimeOptions } from './runtime.ts';

export type ModelSource = 'bundled' | 'r2';

/** What label sets are checked against, and what /healthz and classify report. */
export interface ModelDescription {
  readonly id: string;
  /** sha256 of the model's identity file (vision_model.onnx or vision_model.edge-vit): a label set's `model_sha256` must equal it. */
  readonly sha256: string;
  /** What runs it (from the manifest, known before the model is loaded). */
  readonly engine: VisionEngineName;
  readonly dim: number;
  readonly source: ModelSource;
}

/** Where the first load of the isolate spent its time, ms (wall clock: locally meaningful, see docs/api.md). */
export interface ModelLoadTimings {
  /** Reading the files from R2 (0 for the bundled model); for edge-vit, waiting for the stream's chunks. */
  readonly fetch: number;
  /** sha256 of every file (0 for the bundled model: it is part of the deployed code). */
  readonly verify: number;
  /** onnxruntime session (or, for edge-vit, copying the chunks into WASM memory and creating the engine), preprocessor and JPEG decoder. */
  readonly session: number;
  readonly total: number;
}

export interface ServedModel {
  readonly source: ModelSource;
  /** Cheap: the bundled model hashes its bytes once; an R2 model reads its manifest once. */
  describe(): Promise<ModelDescription>;
  /** The loaded runtime, loading it on first use. `keepAlive` is told about a load in progress. */
  runtime(keepAlive?: KeepAlive): Promise<VisionRuntime>;
  /** True once the runtime is loaded (never triggers a load). */
  readonly loaded: boolean;
  readonly loadTimings: ModelLoadTimings | null;
  /** What runs the loaded encoder and its WASM memory now; null until loaded. */
  readonly encoderStatus: VisionEncoderStatus | null;
}

export interface ModelLoadOptions {
  /** How long a failed R2 load is answered from memory before it is retried. Default 5000 ms. */
  readonly retryAfterMs?: number;
  /** Clock for `retryAfterMs` (tests). */
  readonly now?: () => number;
}

export const DEFAULT_MODEL_RETRY_AFTER_MS = 5_000;

const ms = (from: number, to: number): number => Math.round((to - from) * 100) / 100;

function withKeepAlive<T>(value: Lazy<T>, keepAlive: KeepAlive | undefined): Promise<T> {
  const p = value.get();
  if (keepAlive && !value.loaded) keepAlive(p.catch(() => undefined));
  return p;
}

/** What both sources share: one lazily loaded runtime per isolate, and where its load spent its time. */
abstract class LazyServedModel implements ServedModel {
  abstract readonly source: ModelSource;
  protected timings: ModelLoadTimings | null = null;
  protected abstract readonly loadedRuntime: Lazy<VisionRuntime>;

  abstract describe(): Promise<ModelDescription>;

  runtime(keepAlive?: KeepAlive): Promise<VisionRuntime> {
    return withKeepAlive(this.loadedRuntime, keepAlive);
  }

  get loaded(): boolean {
    return this.loadedRuntime.loaded;
  }

  get loadTimings(): ModelLoadTimings | null {
    return this.timings;
  }

  get encoderStatus(): VisionEncoderStatus | null {
    return this.encoder?.status ?? null;
  }

  /** Set by the loads: the runtime's encoder, for /healthz without awaiting anything. */
  protected encoder: VisionEncoder | null = null;
}

export class BundledModel extends LazyServedModel {
  readonly source = 'bundled' as const;
  private readonly sha256 = lazy(() => sha256Hex(this.spec.onnx));
  protected readonly loadedRuntime = lazy(async () => {
    const t0 = performance.now();
    const runtime = await loadVisionRuntime(this.spec, this.options);
    const t1 = performance.now();
    this.timings = { fetch: 0, verify: 0, session: ms(t0, t1), total: ms(t0, t1) };
    this.encoder = runtime.encoder;
    return runtime;
  });

  constructor(
    private readonly spec: VisionModelSpec,
    private readonly options: VisionRuntimeOptions,
  ) {
    super();
  }

  async describe(): Promise<ModelDescription> {
    return { id: this.spec.id, sha256: await this.sha256.get(), dim: this.spec.dim, source: this.source, engine: 'onnxruntime' };
  }
}

export class R2Model extends LazyServedModel {
  readonly source = 'r2' as const;
  private readonly retryAfterMs: number;
  private readonly manifest: Lazy<ModelManifest>;
  protected readonly loadedRuntime: Lazy<VisionRuntime>;
  private readonly reported = new WeakSet<Error>();

  constructor(
    readonly sha256: string,
    private readonly store: ModelStore,
    private readonly options: VisionRuntimeOptions,
    opts: ModelLoadOptions = {},
    /** Which edge-vit build a model of that engine runs on (EDGE_VIT_SIMD). */
    private readonly simd: EdgeVitSimd = 'relaxed',
  ) {
    super();
    this.retryAfterMs = opts.retryAfterMs ?? DEFAULT_MODEL_RETRY_AFTER_MS;
    const lazyOpts = { retryAfterMs: this.retryAfterMs, ...(opts.now ? { now: opts.now } : {}) };
    this.manifest = lazy(() => this.logged(() => this.readManifest()), lazyOpts);
    this.loadedRuntime = lazy(() => this.logged(() => this.load()), lazyOpts);
  }

  async describe(): Promise<ModelDescription> {
    const m = await this.manifest.get();
    return { id: m.id, sha256: this.sha256, dim: m.dim, source: this.source, engine: manifestEngine(m) };
  }

  private unavailable(problem: string): HttpError {
    const seconds = Math.max(1, Math.ceil(this.retryAfterMs / 1000));
    return new HttpError('unavailable', `${problem} This worker retries in ${seconds} s.`, { 'retry-after': String(seconds) });
  }

  /** Every failed attempt is logged once for the operator (the callers only get the response). */
  private async logged<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      const wrapped = err instanceof HttpError ? err : this.unavailable(`Vision model ${this.sha256} from R2 could not be loaded: ${err instanceof Error ? err.message : String(err)}.`);
      // The load awaits the manifest: its failure was logged where it happened.
      if (!this.reported.has(wrapped)) console.error(`vision model from R2: ${wrapped.message}`);
      this.reported.add(wrapped);
      throw wrapped;
    }
  }

  private async readManifest(): Promise<ModelManifest> {
    let manifest: ModelManifest | null;
    try {
      manifest = await this.store.manifest(this.sha256);
    } catch (err) {
      throw this.unavailable(
        `The manifest of vision model ${this.sha256} (${r2Keys.modelManifest(this.sha256)}) is corrupted (${err instanceof Error ? err.message : String(err)}). Delete it and publish the model again.`,
      );
    }
    if (manifest === null) {
      throw this.unavailable(
        `The vision model ${this.sha256} named by VISION_MODEL_SHA256 is not in R2 (no ${r2Keys.modelManifest(this.sha256)}). Publish it with \`npx prompt-edge model publish --model DIR --target URL\`, or unset VISION_MODEL_SHA256 to serve the bundled model.`,
      );
    }
    return manifest;
  }

  /** Reads one file and checks its size and sha256 against the manifest. */
  private async readVerified(file: ModelFileName, want: ModelFileEntry): Promise<{ bytes: Uint8Array<ArrayBuffer>; verifyMs: number }> {
    const key = r2Keys.modelFile(this.sha256, file);
    const bytes = await this.store.read(this.sha256, file);
    if (bytes === null) throw this.unavailable(`${key} is missing from R2. Upload it again with \`npx prompt-edge model publish\`.`);
    if (bytes.byteLength !== want.bytes) {
      throw this.unavailable(`${key} is corrupted: it holds ${bytes.byteLength} bytes, its manifest says ${want.bytes}. It is not served; upload it again with \`npx prompt-edge model publish\`.`);
    }
    // One crypto.subtle digest of the whole buffer: measured faster in workerd than hashing the
    // stream chunk by chunk (DigestStream), 60-80 ms against ~150 ms for 88 MB.
    const t0 = performance.now();
    const got = await sha256Hex(bytes);
    const verifyMs = performance.now() - t0;
    if (got !== want.sha256) {
      throw this.unavailable(`${key} is corrupted: its sha256 is ${got}, expected ${want.sha256}. It is not served; upload it again with \`npx prompt-edge model publish\`.`);
    }
    return { bytes, verifyMs };
  }

  /** A graph and, if it has them, its external-data weights, read at once and verified; adds its read and hash time to `spent`. */
  private async readGraph(graph: ModelFileName, graphEntry: ModelFileEntry, data: { name: ModelFileName; entry: ModelFileEntry } | null, spent: { read: number; verify: number }): Promise<VisionModelFiles> {
    const t = performance.now();
    const [g, d] = await Promise.all([this.readVerified(graph, graphEntry), data ? this.readVerified(data.name, data.entry) : Promise.resolve(null)]);
    spent.read += performance.now() - t;
    spent.verify += g.verifyMs + (d?.verifyMs ?? 0);
    return { onnx: g.bytes, ...(d && data ? { externalData: { path: data.name, data: d.bytes } } : {}) };
  }

  private async load(): Promise<VisionRuntime> {
    const manifest = await this.manifest.get();
    // A fresh description without bytes: the runtime must not keep the model alive after it is loaded.
    const info: VisionModelInfo = { id: manifest.id, preprocessorConfig: manifest.preprocessor_config, imageSize: manifest.image_size, dim: manifest.dim };
    return manifest.engine === 'edge-vit' ? this.loadEdgeVit(manifest, info) : this.loadOnnx(manifest, info);
  }

  /** The edge-vit weight file, streamed from R2 into the engine (hashed on the way), checked before anything is served. */
  private async loadEdgeVit(manifest: EdgeVitModelManifest, info: VisionModelInfo): Promise<VisionRuntime> {
    const t0 = performance.now();
    const createHost = this.options.edgeVit;
    if (!createHost) throw this.unavailable(`Vision model ${this.sha256} (${manifest.id}) runs on the edge-vit engine, which this worker was built without.`);
    const key = r2Keys.modelFile(this.sha256, VISION_EDGE_VIT);
    const want = { sha256: this.sha256, bytes: manifest.files[VISION_EDGE_VIT].bytes };
    let split = { read: 0, verify: 0, load: 0 };
    const encoder = async (): Promise<VisionEncoder> => {
      const file = await this.store.open(this.sha256, VISION_EDGE_VIT);
      if (file === null) throw this.unavailable(`${key} is missing from R2. Upload it again with \`npx prompt-edge model publish\`.`);
      if (file.bytes !== want.bytes) {
        await file.body.cancel().catch(() => undefined);
        throw this.unavailable(`${key} is corrupted: it holds ${file.bytes} bytes, its manifest says ${want.bytes}. It is not served; upload it again with \`npx prompt-edge model publish\`.`);
      }
      let loaded: Awaited<ReturnType<typeof EdgeVitEncoder.fromStream>>;
      try {
        loaded = await EdgeVitEncoder.fromStream(createHost(this.simd), file.body, want);
      } catch (err) {
        if (err instanceof WeightFileMismatch) throw this.unavailable(`${key} is corrupted: ${err.message}. It is not served; upload it again with \`npx prompt-edge model publish\`.`);
        throw this.unavailable(`The edge-vit engine refused vision model ${this.sha256} (${manifest.id}): ${err instanceof Error ? err.message : String(err)}.`);
      }
      split = loaded.timings;
      const e = loaded.encoder;
      if (e.imageSize !== info.imageSize || e.dim !== info.dim) {
        throw this.unavailable(`${key} is a ${e.imageSize}px encoder of dimension ${e.dim}, but its manifest says ${info.imageSize}px and dimension ${info.dim}. Publish it again with \`npx prompt-edge model publish\`.`);
      }
      return e;
    };
    const runtime = await createVisionRuntime(info, encoder, this.options);
    const total = ms(t0, performance.now());
    this.timings = { fetch: ms(0, split.read), verify: ms(0, split.verify), session: Math.max(0, ms(0, total - split.read - split.verify)), total };
    this.encoder = runtime.encoder;
    return runtime;
  }

  private async loadOnnx(manifest: OnnxModelManifest, info: VisionModelInfo): Promise<VisionRuntime> {
    const t0 = performance.now();
    const spent = { read: 0, verify: 0 };
    const parts = manifest.parts;
    let source: VisionModelFiles | PartedModelFiles;
    if (parts) {
      // One part at a time, each read and checked just before its session is created, so the
      // isolate never holds more than one part's bytes (docs/performance.md, "Fitting 128 MB").
      const readPart = (k: number): Promise<VisionModelFiles> => {
        const part = parts[k]!;
        return this.readGraph(partGraphName(k), part.onnx, part.data ? { name: partDataName(k), entry: part.data } : null, spent);
      };
      source = { parts: parts.length, read: readPart };
    } else {
      // The graph's expected sha256 is the model's own, whatever the manifest says.
      const dataEntry = manifest.files[VISION_DATA];
      source = await this.readGraph(VISION_GRAPH, { sha256: this.sha256, bytes: manifest.files[VISION_GRAPH].bytes }, dataEntry ? { name: VISION_DATA, entry: dataEntry } : null, spent);
    }
    const t1 = performance.now();
    let runtime: VisionRuntime;
    try {
      runtime = await createVisionRuntime(info, () => ImageEncoder.create(source, { imageSize: info.imageSize, dim: info.dim }), this.options);
    } catch (err) {
      if (err instanceof HttpError) throw err; // a part that could not be read
      throw this.unavailable(`onnxruntime could not create a session from vision model ${this.sha256} (${manifest.id}): ${err instanceof Error ? err.message : String(err)}.`);
    }
    const t2 = performance.now();
    // One thread: the reads' wall time includes the hashing, which ran in between. For parts, the
    // reads happen during session creation, so `session` is the creation time without them.
    const total = ms(t0, t2);
    const fetch = Math.max(0, ms(0, spent.read - spent.verify));
    this.timings = { fetch, verify: ms(0, spent.verify), session: Math.max(0, ms(0, t2 - t1 - (parts ? spent.read : 0))), total };
    this.encoder = runtime.encoder;
    return runtime;
  }
}

/** VISION_MODEL_SHA256 as configured: null when unset or empty (the bundled model). */
export function configuredModelSha256(env: Env): string | null {
  const raw = env.VISION_MODEL_SHA256?.trim() ?? '';
  if (raw === '') return null;
  const sha = raw.toLowerCase();
  if (!SHA256_HEX.test(sha)) {
    throw new HttpError('internal', `VISION_MODEL_SHA256 is "${raw}", not a sha256 (64 hex digits). Set it to the sha256 printed by \`npx prompt-edge model publish\`, or unset it to serve the bundled model.`);
  }
  return sha;
}

export interface ModelChoiceOptions extends ModelLoadOptions {
  /** The bucket that holds models/ (default: LABELSETS). */
  readonly bucket?: (env: Env) => R2Bucket | undefined;
}

/**
 * Picks the served model on the isolate's first request (an isolate's env never changes) and keeps
 * it. A misconfiguration (malformed sha256, no bucket) is not remembered: every request reports it.
 */
export class ModelChoice {
  private chosen: ServedModel | null = null;

  constructor(
    private readonly bundled: VisionModelSpec,
    private readonly options: VisionRuntimeOptions,
    private readonly opts: ModelChoiceOptions = {},
  ) {}

  select(env: Env): ServedModel {
    if (this.chosen !== null) return this.chosen;
    const sha = configuredModelSha256(env);
    if (sha === null) return (this.chosen = new BundledModel(this.bundled, this.options));
    const bucket = (this.opts.bucket ?? ((e: Env) => e.LABELSETS))(env);
    if (!bucket) throw new HttpError('internal', 'VISION_MODEL_SHA256 is set but this worker has no LABELSETS (R2) binding to read the model from; add it to wrangler.toml (docs/storage.md).');
    let simd: EdgeVitSimd;
    try {
      simd = parseEdgeVitSimd(env.EDGE_VIT_SIMD);
    } catch (err) {
      throw new HttpError('internal', (err as Error).message);
    }
    return (this.chosen = new R2Model(sha, new ModelStore(bucket), this.options, this.opts, simd));
  }

  /** The model chosen by select(); only called after it (app.ts selects in its first middleware). */
  get served(): ServedModel {
    if (this.chosen === null) throw new Error('ModelChoice.served read before select(env)');
    return this.chosen;
  }
}
