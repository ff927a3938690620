/**
 * A model folder as the admin API's model upload sees it: the manifest (dim, input size,
 * preprocessor config, files with sha256 and size) and the files to upload, optionally with the
 * encoder cut into parts. `prompt-edge model publish` uploads it; the R2 bench row reads it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { CheckpointError, InvalidArgumentError } from '../../core/errors.ts';
import { partDataName, partGraphName, VISION_DATA, VISION_EDGE_VIT, VISION_GRAPH, type ModelFileName } from '../../core/model-files.ts';
import { servedEncoder } from '../checkpoint.ts';
import { splitEncoder } from '../export/split-model.ts';
import type { ModelFileEntry, ModelManifestUpload, OnnxManifestUpload } from './admin-client.ts';

const configSchema = z.object({ projection_dim: z.number().int().positive(), vision_config: z.object({ image_size: z.number().int().positive() }) });

/** One file to upload: its name in R2, what the manifest says of it, and its bytes (read when uploaded). */
export interface ModelUpload {
  readonly name: ModelFileName;
  readonly entry: ModelFileEntry;
  bytes(): Uint8Array;
}

export interface ModelFolderFiles {
  readonly manifest: ModelManifestUpload;
  readonly sha256: string;
  /** In upload order: the whole graph (and its weights), then the parts. */
  readonly uploads: readonly ModelUpload[];
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new CheckpointError(`${path} not found: --model must be a Hugging Face CLIP folder (config.json, preprocessor_config.json, onnx/vision_model.onnx).`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CheckpointError(`${path} is not valid JSON.`, { cause });
  }
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function fileUpload(name: ModelFileName, path: string): ModelUpload {
  return { name, entry: { sha256: sha256Of(readFileSync(path)), bytes: statSync(path).size }, bytes: () => new Uint8Array(readFileSync(path)) };
}

function memoryUpload(name: ModelFileName, bytes: Uint8Array): ModelUpload {
  return { name, entry: { sha256: sha256Of(bytes), bytes: bytes.byteLength }, bytes: () => bytes };
}

/**
 * The manifest of a model folder: config.json gives dim and input size, preprocessor_config.json
 * is sent as is, and the encoder is the folder's served encoder (checkpoint.ts servedEncoder):
 * DIR/vision_model.edge-vit for the edge-vit engine when the folder has one, else `onnx` (default
 * onnx/vision_model.onnx) plus, when it exists, the weights file next to it. The sha256 is that of
 * the encoder file: the one label sets built from this folder record.
 * `edgeVit`: an edge-vit weight file from elsewhere (then label sets need that sha256 too).
 *
 * With `parts` > 1 the encoder is also cut into that many consecutive models, each with its
 * weights as external data (vision_model.part<k>.onnx + .data), which the worker loads one at a
 * time; then the whole graph is uploaded as the model's identity but not its weights file.
 */
export function readModelFolder(dir: string, opts: { id?: string; onnx?: string; edgeVit?: string; parts?: number } = {}): ModelFolderFiles {
  const root = resolve(dir);
  const config = configSchema.safeParse(readJson(join(root, 'config.json')));
  if (!config.success) throw new CheckpointError(`${join(root, 'config.json')} has no projection_dim / vision_config.image_size: is this a CLIP checkpoint?`);
  const preprocessor = z.record(z.string(), z.unknown()).safeParse(readJson(join(root, 'preprocessor_config.json')));
  if (!preprocessor.success) throw new CheckpointError(`${join(root, 'preprocessor_config.json')} is not a JSON object: is this a CLIP checkpoint?`);
  const base = { id: opts.id ?? basename(root), dim: config.data.projection_dim, image_size: config.data.vision_config.image_size, preprocessor_config: preprocessor.data };
  if (opts.onnx && opts.edgeVit) throw new InvalidArgumentError('--onnx and --edge-vit name two encoders: publish one of them.');
  const served = servedEncoder(root);
  const edgeVit = opts.edgeVit ? resolve(opts.edgeVit) : !opts.onnx && served.engine === 'edge-vit' ? served.path : null;
  if (edgeVit !== null) {
    if (!existsSync(edgeVit)) throw new CheckpointError(`${edgeVit} not found: the edge-vit weight file to publish (export one with \`npx prompt-edge export-vision --precision int8 --engine edge-vit\`).`);
    if ((opts.parts ?? 1) > 1) throw new InvalidArgumentError(`--parts cuts ONNX encoders; ${basename(edgeVit)} is an edge-vit weight file, which the worker streams into the engine without holding it (no parts needed).`);
    const file = fileUpload(VISION_EDGE_VIT, edgeVit);
    return { sha256: file.entry.sha256, manifest: { engine: 'edge-vit', ...base, files: { [VISION_EDGE_VIT]: file.entry } }, uploads: [file] };
  }
  const onnx = resolve(opts.onnx ?? join(root, 'onnx', VISION_GRAPH));
  if (!existsSync(onnx)) throw new CheckpointError(`${onnx} not found: the image encoder to publish (export one with \`npx prompt-edge export-vision\`).`);
  // export-vision --external-data writes <out>.data and names it so in the graph.
  const data = `${onnx}.data`;
  const hasData = existsSync(data);
  if (hasData && basename(onnx) !== VISION_GRAPH) {
    // The worker hands the weights to onnxruntime under one fixed name, which the graph must use.
    throw new InvalidArgumentError(`${onnx} has its weights in ${basename(data)}: export it as ${VISION_GRAPH} (export-vision --out DIR/${VISION_GRAPH} --external-data) so that the graph refers to ${VISION_DATA}.`);
  }
  const graph = fileUpload(VISION_GRAPH, onnx);
  const parts = opts.parts ?? 1;
  const uploads: ModelUpload[] = [graph];
  let partEntries: OnnxManifestUpload['parts'];
  if (parts > 1) {
    const split = splitEncoder(new Uint8Array(readFileSync(onnx)), hasData ? new Uint8Array(readFileSync(data)) : undefined, parts, partDataName);
    partEntries = split.map((p, k) => {
      const g = memoryUpload(partGraphName(k), p.model);
      const d = memoryUpload(partDataName(k), p.externalData!);
      uploads.push(g, d);
      return { onnx: g.entry, data: d.entry };
    });
  } else if (hasData) {
    uploads.push(fileUpload(VISION_DATA, data));
  }
  const files: OnnxManifestUpload['files'] = { [VISION_GRAPH]: graph.entry };
  const dataUpload = uploads.find((u) => u.name === VISION_DATA);
  if (dataUpload) files[VISION_DATA] = dataUpload.entry;
  return { sha256: graph.entry.sha256, manifest: { ...base, files, ...(partEntries ? { parts: partEntries } : {}) }, uploads };
}
