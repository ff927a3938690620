/**
 * A decoder compiled with Emscripten (the @jsquash builds of libwebp and libavif), instantiated the
 * first time an image of its format arrives: a JPEG request never pays for the WebP or AVIF decoder,
 * not even for its JS glue (imported dynamically).
 *
 * The WASM module is provided rather than fetched: workerd forbids compiling WASM bytes at run time and
 * only accepts a `WebAssembly.Module` imported from a bundled .wasm file, while Node compiles the file
 * from node_modules on first use (src/train/image-codecs-node.ts).
 */
import { InvalidImageError } from '../errors.ts';

/** A compiled module, or a function that compiles it when first needed (Node). */
export type WasmModuleSource = WebAssembly.Module | (() => Promise<WebAssembly.Module>);

interface EmscriptenOptions {
  noInitialRun: boolean;
  instantiateWasm: (imports: WebAssembly.Imports, receiveInstance: (instance: WebAssembly.Instance) => void) => object;
  print: (text: string) => void;
  printErr: (text: string) => void;
}

export type EmscriptenFactory<M> = (options: EmscriptenOptions) => Promise<M>;

interface Instance<M> {
  module: M;
  messages: string[];
}

// A decoder instance's linear memory only grows; after a big image, start a fresh instance so a long-lived
// worker does not keep that memory for good.
const MAX_RETAINED_HEAP_BYTES = 64 * 1024 * 1024;

/**
 * The most linear memory a decode may grow its instance to for images of at most `maxPixels`: room for
 * the decoder's own state plus 16 bytes a pixel (AV1 frame planes at up to 16 bits, RGBA output, and
 * its copy). A file whose header understates its real size (an AVIF `ispe` saying 10x10 over a
 * 3000x3000 AV1 frame) fails to allocate instead of taking the isolate's memory.
 */
export function wasmHeapCap(maxPixels: number): number {
  return 32 * 1024 * 1024 + 16 * maxPixels;
}

export class LazyWasmCodec<M extends { HEAP8?: Int8Array }> {
  private source: WasmModuleSource | undefined;
  private compiled: Promise<WebAssembly.Module> | undefined;
  private instance: Promise<Instance<M>> | undefined;
  /** Largest linear memory an instance has had after a decode (tests bound it by the pixel limit). */
  heapHighWater = 0;
  /** The live instance's module once it exists (for memoryBytes()). */
  private live: M | undefined;
  /** Growth limit for the decode in progress (decodes are synchronous, so one at a time per instance). */
  private heapCap = Number.POSITIVE_INFINITY;

  constructor(
    /** Format name for messages ("WebP"). */
    readonly format: string,
    /** Where the WASM file lives, for the message when nothing was provided. */
    private readonly wasmPath: string,
    private readonly loadFactory: () => Promise<EmscriptenFactory<M>>,
  ) {}

  /** Makes the decoder available; nothing is compiled or instantiated until the first image needs it. */
  provide(source: WasmModuleSource): void {
    if (source === this.source) return;
    if (!(source instanceof WebAssembly.Module) && typeof source !== 'function') {
      throw new TypeError(`The ${this.format} decoder expects a WebAssembly.Module compiled from ${this.wasmPath} (or a function returning one).`);
    }
    this.source = source;
    this.compiled = undefined;
    this.instance = undefined;
  }

  isProvided(): boolean {
    return this.source !== undefined;
  }

  /** The live instance's WebAssembly memory, bytes (0 before the first image of this format). */
  memoryBytes(): number {
    return this.instance === undefined ? 0 : (this.live?.HEAP8?.buffer.byteLength ?? 0);
  }

  /** Whether the decoder has been instantiated (tests check that other formats leave it alone). */
  isInstantiated(): boolean {
    return this.instance !== undefined;
  }

  /**
   * Runs `decode` on the instance. A throw from inside the WASM (an Emscripten abort) leaves the instance
   * in an unknown state, so the next call gets a fresh one; the error becomes an InvalidImageError.
   */
  async run<T>(decode: (module: M, messages: string[]) => T, limits: { maxPixels: number }): Promise<T> {
    const current = await this.ready();
    current.messages.length = 0;
    this.heapCap = wasmHeapCap(limits.maxPixels);
    try {
      return decode(current.module, current.messages);
    } catch (err) {
      this.instance = undefined;
      if (err instanceof InvalidImageError) throw err;
      const detail = current.messages.filter((m) => m.trim() !== '').join('; ') || (err instanceof Error ? err.message : String(err));
      throw new InvalidImageError(`Cannot decode ${this.format}: ${detail}.`, { cause: err });
    } finally {
      const heapBytes = current.module.HEAP8?.buffer.byteLength ?? 0;
      this.heapHighWater = Math.max(this.heapHighWater, heapBytes);
      if (heapBytes > MAX_RETAINED_HEAP_BYTES) this.instance = undefined;
    }
  }

  /**
   * Emscripten grows memory through its `emscripten_resize_heap` import; refusing a request past the cap
   * makes malloc return NULL, which libwebp/libavif/dav1d report as a failed decode (or abort, which
   * run() turns into InvalidImageError and a fresh instance). The import names are minified, so the
   * function is found by its name.
   */
  private withHeapCap(imports: WebAssembly.Imports): WebAssembly.Imports {
    let wrapped = false;
    const out: WebAssembly.Imports = {};
    for (const [moduleName, members] of Object.entries(imports)) {
      const copy: Record<string, WebAssembly.ImportValue> = { ...members };
      for (const [name, value] of Object.entries(members)) {
        if (typeof value === 'function' && /emscripten_resize_heap$/.test(value.name)) {
          const resize = value as (requestedSize: number) => unknown;
          copy[name] = (requestedSize: number) => ((requestedSize >>> 0) > this.heapCap ? false : resize(requestedSize));
          wrapped = true;
        }
      }
      out[moduleName] = copy;
    }
    if (!wrapped) throw new Error(`The ${this.format} decoder's glue has no emscripten_resize_heap import to bound its memory with.`);
    return out;
  }

  private ready(): Promise<Instance<M>> {
    if (this.source === undefined) {
      return Promise.reject(
        new Error(`The ${this.format} decoder is not initialised: provide ${this.wasmPath} with provideImageCodecs() first (in Node: initNodeImageCodecs() from src/train/image-codecs-node.ts).`),
      );
    }
    const source = this.source;
    this.compiled ??= source instanceof WebAssembly.Module ? Promise.resolve(source) : source();
    const compiled = this.compiled;
    const instance = (this.instance ??= (async () => {
      const [module, factory] = await Promise.all([compiled, this.loadFactory()]);
      const messages: string[] = [];
      const m = await factory({
        noInitialRun: true,
        instantiateWasm: (imports, receiveInstance) => {
          void WebAssembly.instantiate(module, this.withHeapCap(imports)).then(receiveInstance);
          // Emscripten's contract for asynchronous instantiation: return an empty exports object now.
          return {};
        },
        print: (text) => messages.push(text),
        printErr: (text) => messages.push(text),
      });
      this.live = m;
      return { module: m, messages };
    })());
    // A failed compile or instantiation is retried by the next image rather than cached.
    instance.catch(() => {
      if (this.instance === instance) {
        this.instance = undefined;
        this.compiled = undefined;
      }
    });
    return instance;
  }
}
