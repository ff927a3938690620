/**
 * The same image through Transformers.js's zero-shot-image-classification pipeline, used as its
 * documentation shows, on the same model folder (onnx/model.onnx + tokenizer.json; in Node its
 * default device is onnxruntime-node). It runs the text encoder over every candidate label on
 * every call, which is what baking class embeddings avoids.
 *
 * @huggingface/transformers is a dev dependency; loaded on demand so that a missing install costs
 * only this row (which says so), not the bench.
 */
import { basename, dirname } from 'node:path';
import { median, round } from '../lib/stats.ts';

export interface TransformersJsResult {
  readonly model: string;
  readonly labels: number;
  readonly dtype: string;
  /** The ONNX file the pipeline loaded, relative to the model folder. */
  readonly file: string;
  readonly runs: number;
  /** One pipeline call (image path in, sorted scores out), ms. */
  readonly p50Ms: number;
  readonly minMs: number;
  readonly top: string;
}

/** The slice of the Transformers.js API the bench uses (its own types come with the package). */
interface TransformersModule {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
  pipeline(task: 'zero-shot-image-classification', model: string, options: Record<string, unknown>): Promise<
    ((image: string, labels: string[], options?: { hypothesis_template?: string }) => Promise<Array<{ label: string; score: number }>>) & { dispose?: () => Promise<void> }
  >;
}

export const TRANSFORMERS_PACKAGE = '@huggingface/transformers';

export async function loadTransformers(): Promise<TransformersModule | undefined> {
  try {
    // A variable specifier: the package is optional and must not be needed to type-check.
    const name: string = TRANSFORMERS_PACKAGE;
    return (await import(name)) as TransformersModule;
  } catch {
    return undefined;
  }
}

export async function runTransformersJs(
  tjs: TransformersModule,
  modelDir: string,
  modelName: string,
  jpegPath: string,
  labels: readonly string[],
  opts: { runs: number; warmup: number; dtype: 'fp32' | 'q8' },
): Promise<TransformersJsResult> {
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${dirname(modelDir)}/`;
  const classifier = await tjs.pipeline('zero-shot-image-classification', basename(modelDir), { local_files_only: true, dtype: opts.dtype, device: 'cpu' });
  try {
    const call = () => classifier(jpegPath, [...labels], { hypothesis_template: 'a photo of a {}.' });
    for (let i = 0; i < opts.warmup; i++) await call();
    const times: number[] = [];
    let top = '';
    for (let i = 0; i < opts.runs; i++) {
      const t = performance.now();
      const out = await call();
      times.push(performance.now() - t);
      top = out[0]?.label ?? '';
    }
    const file = opts.dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
    return { model: modelName, labels: labels.length, dtype: opts.dtype, file, runs: opts.runs, p50Ms: round(median(times)), minMs: round(Math.min(...times)), top };
  } finally {
    await classifier.dispose?.();
  }
}
