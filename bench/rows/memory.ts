/**
 * Peak memory of the worker path for one encoder, measured in a fresh Node process running the
 * worker's runtimes (rows/memory-child.ts). The isolate figure is what a Worker isolate would hold:
 *
 *   WASM linear memories (onnxruntime-web's heap + MozJPEG's; WASM memory never shrinks, so its
 *   size after the run is its peak) + V8 heap in use + the model bytes JS keeps (a bundled model
 *   stays referenced as a module for the isolate's life; external-data weights can be dropped
 *   once the session exists).
 *
 * and, at the end of session creation, the same sum with every model byte still in JS: the first
 * request's own peak, whatever the loader drops afterwards.
 *
 * Node's own RSS is reported too, but it includes Node itself, onnxruntime-web's compiled code and
 * libraries, which a Worker isolate does not count against its 128 MB.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthPreprocessorConfig } from '../../src/train/synth/architectures.ts';
import { runMemoryChild } from '../lib/memory-child.ts';
import { BENCH_CACHE } from '../lib/paths.ts';

export interface MemoryResult {
  readonly model: string;
  /** 'single file', 'external data', or 'external data, N parts' (export-vision --parts). */
  readonly layout: string;
  readonly modelFileBytes: number;
  readonly wasmBytes: number;
  readonly jsHeapUsed: number;
  /** JS-held model bytes counted for the isolate. */
  readonly heldModelBytes: number;
  readonly isolateBytes: number;
  /** The isolate estimate when JS lets go of the model bytes once the session exists (a model fetched from R2, not bundled). */
  readonly isolateBytesIfDropped: number;
  /**
   * The isolate right after session creation, with every model byte still held by JS (graph and
   * external data: ORT copies the weights out of them while it creates the session): the first
   * request's peak, before the loader can drop anything.
   */
  readonly isolateBytesAtCreate: number;
  readonly nodeMaxRss: number;
  readonly top: string;
}

/** How the encoder is given to onnxruntime-web. */
export type EncoderFiles =
  | { readonly onnxPath: string; readonly dataPath?: string }
  /** A JSON list of parts [{ onnx, data? }] (export-vision --parts). */
  | { readonly partsJson: string; readonly parts: number };

export async function runMemory(name: string, files: EncoderFiles, labelSetPath: string, jpegPath: string): Promise<MemoryResult> {
  const cfg = join(BENCH_CACHE, 'preprocessor_224.json');
  if (!existsSync(cfg)) writeFileSync(cfg, JSON.stringify(synthPreprocessorConfig('vit-b-32')));
  const args = 'partsJson' in files ? [files.partsJson, labelSetPath, jpegPath] : [files.onnxPath, labelSetPath, jpegPath, ...(files.dataPath ? [files.dataPath] : [])];
  const r = await runMemoryChild<{ top: string; modelBytes: number; externalBytes: number; wasmBytes: number; jsHeapUsed: number; maxRss: number; atCreate: { wasm: number; heapUsed: number; heldBytes: number } }>('memory-child.ts', args);
  const held = r.modelBytes;
  return {
    model: name,
    layout: 'partsJson' in files ? `external data, ${files.parts} parts` : files.dataPath ? 'external data' : 'single file',
    modelFileBytes: r.modelBytes + r.externalBytes,
    wasmBytes: r.wasmBytes,
    jsHeapUsed: r.jsHeapUsed,
    heldModelBytes: held,
    isolateBytes: r.wasmBytes + r.jsHeapUsed + held,
    isolateBytesIfDropped: r.wasmBytes + r.jsHeapUsed,
    isolateBytesAtCreate: r.atCreate.wasm + r.atCreate.heapUsed + r.atCreate.heldBytes,
    nodeMaxRss: r.maxRss,
    top: r.top,
  };
}
