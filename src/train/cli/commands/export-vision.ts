/** `export-vision`: the image encoder at fp32, fp16, int8 or 4-bit (q4), as one ONNX file for the worker. */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { exportVision, exportVisionParts, type VisionSource } from '../../export/export-vision.ts';
import type { Int8Scheme, Precision } from '../../export/quantize.ts';
import { DEFAULT_MODEL_DIR, parseIntOption, writeFileAtomic } from '../common.ts';
import { emit } from '../output.ts';
import { EDGE_VIT_ENGINE, EDGE_VIT_FILE } from '../../../core/engine/format.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { exportEdgeVit } from '../../export/edge-vit.ts';

const oneOf = <T extends string>(option: string, values: readonly T[]) => (raw: string): T => {
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw new InvalidArgumentError(`${option} must be one of ${values.join(', ')} (got "${raw}").`);
};

interface ExportOpts { engine: 'onnx' | 'edge-vit'; model: string; precision: Precision; int8Scheme: Int8Scheme; q4BlockSize: number; q4ZeroPoints?: boolean; source: VisionSource; out: string; externalData?: boolean; parts: number; json?: boolean }

const Q4_BLOCK_SIZES = [16, 32, 64, 128, 256] as const;

export function registerExportVisionCommand(program: Command): void {
  program
    .command('export-vision')
    .description('Write the image encoder (pixel_values -> image_embeds) at fp32, fp16 (float16 weights, float32 compute), int8 (per-channel int8 MatMul weights) or q4 (4-bit block-quantised MatMul weights, onnxruntime\'s MatMulNBits: the smallest, slower in WASM than int8). Label sets record the sha256 of the encoder they were built for: build them against a model folder whose onnx/vision_model.onnx is this file.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--precision <p>', 'fp32 | fp16 | int8 | q4', oneOf('--precision', ['fp32', 'fp16', 'int8', 'q4'] as const))
    .option('--int8-scheme <s>', 'dynamic (int8 matmuls, activations quantised at run time; fastest in onnxruntime-web) | weight-only (int8 weights dequantised to float32 per run)', oneOf('--int8-scheme', ['dynamic', 'weight-only'] as const), 'dynamic')
    .option('--q4-block-size <n>', `q4: weights per block along K, each with its own scale (${Q4_BLOCK_SIZES.join(', ')}; larger is smaller and less exact)`, (raw: string) => {
      const n = parseIntOption('--q4-block-size', 16, 256)(raw);
      if (!(Q4_BLOCK_SIZES as readonly number[]).includes(n)) throw new InvalidArgumentError(`--q4-block-size must be one of ${Q4_BLOCK_SIZES.join(', ')} (got ${n}).`);
      return n;
    }, 32)
    .option('--q4-zero-points', 'q4: a 4-bit zero point per block (asymmetric) instead of the fixed 8')
    .option('--source <s>', 'onnx (the folder\'s onnx/vision_model.onnx) | safetensors (rebuilt from model.safetensors by the project\'s graph builder)', oneOf('--source', ['onnx', 'safetensors'] as const), 'onnx')
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--external-data', 'write the weights to <out>.data (ONNX external data): onnxruntime-web then loads them with one copy in WASM memory instead of two')
    .option('--parts <n>', 'split the encoder into n consecutive models <out>.part<k>.onnx (cut between transformer layers): a runtime that creates one session per part and drops each part\'s bytes before reading the next holds one part\'s weights in JS at a time', parseIntOption('--parts', 1, 64), 1)
    .option('--engine <e>', `onnx (an ONNX file for onnxruntime) | ${EDGE_VIT_ENGINE} (the project's int8 WebAssembly engine, docs/edge-vit-format.md: --precision int8; --out is a folder, or a file ending in .edge-vit; reads model.safetensors)`, oneOf('--engine', ['onnx', EDGE_VIT_ENGINE] as const), 'onnx')
    .option('--json', 'print a JSON summary and nothing else on stdout')
    .action((opts: ExportOpts) => {
      if (opts.engine === EDGE_VIT_ENGINE) return writeEdgeVit(opts);
      if (opts.parts > 1) return writeParts(opts);
      const dataName = opts.externalData ? `${basename(opts.out)}.data` : undefined;
      const result = exportVision({
        modelDir: opts.model,
        precision: opts.precision,
        int8Scheme: opts.int8Scheme,
        q4: q4Options(opts),
        source: opts.source,
        ...(dataName ? { externalDataName: dataName } : {}),
      });
      if (result.externalData) writeFileAtomic(`${opts.out}.data`, result.externalData);
      writeFileAtomic(opts.out, result.model);
      const r = result.report;
      emit(opts, { out: opts.out, ...(result.externalData ? { external_data: `${opts.out}.data` } : {}), ...r },
        () => `wrote ${opts.out}${result.externalData ? ` (+ ${opts.out}.data)` : ''}: ${describe(r)}`);
    });
}

const q4Options = (opts: ExportOpts) => ({ blockSize: opts.q4BlockSize, zeroPoints: opts.q4ZeroPoints ?? false });

function describe(r: ReturnType<typeof exportVision>['report']): string {
  return `${r.precision}${r.int8Scheme ? ` (${r.int8Scheme})` : ''}${r.q4 ? ` (block ${r.q4.blockSize}, ${r.q4.zeroPoints ? 'zero points' : 'symmetric'})` : ''}, ${(r.bytesIn / 1e6).toFixed(1)} MB -> ${(r.bytesOut / 1e6).toFixed(1)} MB`;
}

/** --parts: <out stem>.part<k>.onnx (+ .data), in order. */
function writeParts(opts: ExportOpts): void {
  const stem = basename(opts.out).replace(/\.onnx$/, '');
  const partName = (k: number) => `${stem}.part${k}.onnx`;
  const { parts, report } = exportVisionParts({
    modelDir: opts.model,
    precision: opts.precision,
    int8Scheme: opts.int8Scheme,
    q4: q4Options(opts),
    source: opts.source,
    parts: opts.parts,
    ...(opts.externalData ? { externalDataName: (k: number) => `${partName(k)}.data` } : {}),
  });
  const files = parts.map((p, k) => {
    const path = join(dirname(opts.out), partName(k));
    if (p.externalData) writeFileAtomic(`${path}.data`, p.externalData);
    writeFileAtomic(path, p.model);
    return { path, ...(p.externalData ? { external_data: `${path}.data` } : {}), ...(p.input ? { input: p.input } : {}), ...(p.output ? { output: p.output } : {}) };
  });
  emit(opts, { parts: files, ...report }, () => `wrote ${files.length} parts ${files.map((f) => basename(f.path)).join(', ')}${opts.externalData ? ' (+ .data each)' : ''}: ${describe(report)}`);
}

/** --engine edge-vit: <out>/vision_model.edge-vit (or <out> itself when it ends in .edge-vit). */
function writeEdgeVit(opts: ExportOpts): void {
  if (opts.precision !== 'int8') throw new InvalidArgumentError(`--engine ${EDGE_VIT_ENGINE} runs int8 weights only: use --precision int8 (got ${opts.precision}).`);
  if (opts.parts > 1 || opts.externalData) throw new InvalidArgumentError(`--engine ${EDGE_VIT_ENGINE} writes one weight file that the worker streams into memory: --parts and --external-data do not apply.`);
  const out = resolve(opts.out.endsWith('.edge-vit') ? opts.out : join(opts.out, EDGE_VIT_FILE));
  const { preamble, data, header, report } = exportEdgeVit(loadCheckpoint(opts.model));
  mkdirSync(dirname(out), { recursive: true });
  // Two writes to a temporary name, then a rename: the file is never held twice in memory, and a
  // reader never sees half a file.
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [preamble, data]) {
      for (let off = 0; off < part.byteLength;) off += writeSync(fd, part, off, part.byteLength - off);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  emit(opts, { out, format: header.format, config: header.config, ...report },
    () => `wrote ${out}: ${EDGE_VIT_ENGINE} int8 (per-channel weights, u7 per-token activations), ${(report.bytesIn / 1e6).toFixed(1)} MB -> ${(report.bytesOut / 1e6).toFixed(1)} MB`);
}
