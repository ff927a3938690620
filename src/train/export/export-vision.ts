/**
 * export-vision: the image encoder of a CLIP checkpoint as one ONNX file at a chosen precision, for
 * deployment in the worker. The source is the checkpoint's own onnx/vision_model.onnx, or the
 * project's re-export from model.safetensors (src/train/clip/vision-graph.ts) with
 * `source: 'safetensors'` (for checkpoints that ship no ONNX file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointError } from '../../core/errors.ts';
import { loadCheckpoint } from '../checkpoint.ts';
import { visionTowerConfig } from '../clip/config.ts';
import { buildVisionGraph } from '../clip/vision-graph.ts';
import { externalizeInitializers } from '../onnx/onnx-model-io.ts';
import { quantizeModel, type Int8Scheme, type Precision, type Q4Options, type QuantizeReport } from './quantize.ts';
import { splitEncoder, type VisionPart } from './split-model.ts';

export type VisionSource = 'onnx' | 'safetensors';

export interface ExportVisionOptions {
  readonly modelDir: string;
  readonly precision: Precision;
  readonly int8Scheme?: Int8Scheme;
  /** Block size, zero points and accuracy level for precision 'q4'. */
  readonly q4?: Q4Options;
  readonly source?: VisionSource;
  /** Put the weights in a separate buffer (ONNX external data) named `externalDataName`. */
  readonly externalDataName?: string;
}

export interface ExportVisionResult {
  readonly model: Uint8Array;
  readonly externalData?: Uint8Array;
  readonly report: QuantizeReport & { source: VisionSource };
}

export function sourceVisionModel(modelDir: string, source: VisionSource): Uint8Array {
  if (source === 'onnx') {
    const path = join(resolve(modelDir), 'onnx', 'vision_model.onnx');
    if (!existsSync(path)) throw new CheckpointError(`onnx/vision_model.onnx not found in ${modelDir}; use --source safetensors to build it from model.safetensors.`);
    return new Uint8Array(readFileSync(path));
  }
  const ckpt = loadCheckpoint(modelDir);
  return buildVisionGraph(visionTowerConfig(ckpt.config), (name) => ckpt.weight(name));
}

export type { VisionPart } from './split-model.ts';

/**
 * The exported encoder as `parts` consecutive models (split-model.ts), for a runtime that creates
 * one session per part and drops each part's bytes before reading the next, so that JS never
 * holds more than one part's weights while onnxruntime-web copies them. With `externalDataName`,
 * part k's weights go to `${externalDataName(k)}`.
 */
export function exportVisionParts(opts: Omit<ExportVisionOptions, 'externalDataName'> & { parts: number; externalDataName?: (part: number) => string }): { parts: VisionPart[]; report: ExportVisionResult['report'] } {
  const whole = exportVision({ ...opts, externalDataName: undefined });
  const parts = splitEncoder(whole.model, undefined, opts.parts, opts.externalDataName);
  const bytesOut = parts.reduce((n, p) => n + p.model.byteLength + (p.externalData?.byteLength ?? 0), 0);
  return { parts, report: { ...whole.report, bytesOut } };
}

export function exportVision(opts: ExportVisionOptions): ExportVisionResult {
  const source = opts.source ?? 'onnx';
  const { bytes, report } = quantizeModel(sourceVisionModel(opts.modelDir, source), {
    precision: opts.precision,
    ...(opts.int8Scheme ? { int8Scheme: opts.int8Scheme } : {}),
    ...(opts.q4 ? { q4: opts.q4 } : {}),
  });
  if (opts.externalDataName === undefined) return { model: bytes, report: { ...report, source } };
  const { model, data } = externalizeInitializers(bytes, opts.externalDataName);
  return { model, externalData: data, report: { ...report, source, bytesOut: model.byteLength + data.byteLength } };
}
