/**
 * A model of the edge-vit engine (the project's int8 CLIP ViT in WebAssembly, src/engine) served
 * from R2: the weight file is streamed straight from the R2 body into the engine's WASM memory,
 * chunk by chunk, while workerd's DigestStream hashes the same chunks, so the isolate never holds
 * the file in JavaScript (nothing is held twice). The sha256 and size are checked when the stream
 * ends: on a mismatch the engine instance is dropped (its memory goes with it) and nothing is served.
 */
import type { ClipImageProcessor } from '../../core/image/clip-image-processor.ts';
import type { EdgeVitEngine, EdgeVitHost } from './edge-vit-host.ts';
import type { VisionEncoder, VisionEncoderStatus } from './encoder.ts';

/** Why a streamed weight file was refused: the caller turns it into 503 with the R2 key. */
export class WeightFileMismatch extends Error {
  constructor(
    readonly kind: 'size' | 'sha256',
    readonly got: string | number,
    readonly expected: string | number,
  ) {
    super(kind === 'size' ? `it holds ${got} bytes, its manifest says ${expected}` : `its sha256 is ${got}, expected ${expected}`);
    this.name = 'WeightFileMismatch';
  }
}

/** Where streaming a weight file spent its time, ms. */
export interface StreamTimings {
  /** Waiting for R2's chunks (wall time of the stream minus the two below). */
  readonly read: number;
  /** Hashing the chunks (DigestStream writes). */
  readonly verify: number;
  /** Copying the chunks into WASM memory and creating the engine (parse, activation scratch). */
  readonly load: number;
}

const hex = (buf: ArrayBuffer): string => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** workerd's streamed SHA-256 (tsconfig's DOM lib types `crypto` without it). */
function digestStream(): DigestStream {
  return new (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream('SHA-256');
}

export class EdgeVitEncoder implements VisionEncoder {
  readonly engine = 'edge-vit' as const;

  private constructor(private readonly vit: EdgeVitEngine) {}

  get imageSize(): number {
    return this.vit.imageSize;
  }

  get dim(): number {
    return this.vit.dim;
  }

  /** The engine instance (one per isolate); exposed for tests and /healthz. */
  get status(): VisionEncoderStatus {
    return { engine: this.engine, relaxedSimd: this.vit.relaxed, wasmMemoryBytes: this.vit.memoryBytes };
  }

  /**
   * Streams `body` into a new engine instance and checks it against `expected` once it has all
   * arrived. Throws WeightFileMismatch for a file of the wrong size or sha256 (the instance is
   * dropped), or the engine's own error for a file it cannot parse.
   */
  static async fromStream(host: EdgeVitHost, body: ReadableStream<Uint8Array>, expected: { sha256: string; bytes: number }): Promise<{ encoder: EdgeVitEncoder; timings: StreamTimings }> {
    const t0 = performance.now();
    let verify = 0;
    let load = 0;
    const loader = host.createLoader();
    const digest = digestStream();
    const hashing = digest.getWriter();
    const reader = body.getReader();
    let received = 0;
    // An error of the engine (a malformed file) is kept while the rest is hashed: a file that is
    // not the published one is reported as corrupted (sha256), one that is, as refused by the engine.
    let refused: unknown = null;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        // Past the declared size the file is wrong whatever follows: stop reading it.
        if (received > expected.bytes) throw new WeightFileMismatch('size', `more than ${expected.bytes}`, expected.bytes);
        const h = performance.now();
        await hashing.write(value);
        const w = performance.now();
        verify += w - h;
        if (refused === null) {
          try {
            loader.write(value);
          } catch (err) {
            refused = err;
          }
          load += performance.now() - w;
        }
      }
      const h = performance.now();
      await hashing.close();
      const got = hex(await digest.digest);
      verify += performance.now() - h;
      if (received !== expected.bytes) throw new WeightFileMismatch('size', received, expected.bytes);
      if (got !== expected.sha256) throw new WeightFileMismatch('sha256', got, expected.sha256);
      if (refused !== null) throw refused;
      const f = performance.now();
      const vit = loader.finish();
      load += performance.now() - f;
      const total = performance.now() - t0;
      return { encoder: new EdgeVitEncoder(vit), timings: { read: Math.max(0, total - verify - load), verify, load } };
    } catch (err) {
      // The loader (and its WASM memory) is unreachable from here on; the R2 body is released.
      await reader.cancel().catch(() => undefined);
      await hashing.abort().catch(() => undefined);
      throw err;
    }
  }

  /** Resize, crop and normalise in the engine's WASM (SIMD), straight into its input buffer. */
  preprocessorFor(processor: ClipImageProcessor): ReturnType<EdgeVitEngine['preprocessor']> {
    return this.vit.preprocessor(processor);
  }

  /** Raw image embeddings, [batch, dim] row-major, for CHW float pixels [batch, 3, S, S]. */
  async encode(pixels: Float32Array, batch = 1): Promise<Float32Array> {
    const per = 3 * this.imageSize * this.imageSize;
    if (pixels.length !== batch * per) {
      throw new RangeError(`pixel tensor has ${pixels.length} values, expected ${batch * per} ([${batch},3,${this.imageSize},${this.imageSize}])`);
    }
    // Synchronous and single-threaded: one image at a time through the one scratch area, no queue needed.
    const out = new Float32Array(batch * this.dim);
    for (let b = 0; b < batch; b++) out.set(this.vit.encode(pixels.subarray(b * per, (b + 1) * per)), b * this.dim);
    return out;
  }
}
