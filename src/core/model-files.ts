/**
 * The file names of a vision model (the image encoder), shared by the CLI that writes and uploads
 * them and the worker that stores and loads them (docs/storage.md, "Vision models in R2"):
 *
 * - `vision_model.onnx`: the encoder's graph; its sha256 is the model's identity;
 * - `vision_model.onnx.data`: its weights, when exported as ONNX external data;
 * - `vision_model.part<k>.onnx` (+ `.data`), k = 0, 1, ...: the same encoder cut into consecutive
 *   models (export-vision --parts, model publish --parts), for a loader that creates one session
 *   per part so that it never holds more than one part's bytes (docs/performance.md, "Fitting 128 MB").
 *
 * - `vision_model.edge-vit`: the whole encoder as the edge-vit engine's weight file
 *   (`export-vision --engine edge-vit`); its sha256 is the model's identity, and a model stored
 *   so has no other file (the manifest's `engine: "edge-vit"`).
 *
 * A graph names its external-data file by name, so these names are part of the format.
 */

export const VISION_GRAPH = 'vision_model.onnx';
export const VISION_DATA = 'vision_model.onnx.data';
export const VISION_EDGE_VIT = 'vision_model.edge-vit';

/** What runs a model: onnxruntime(-web) for ONNX encoders, the project's own engine for its weight file. */
export const VISION_ENGINES = ['onnxruntime', 'edge-vit'] as const;
export type VisionEngineName = (typeof VISION_ENGINES)[number];

/** The file whose sha256 is the model's identity (R2 key models/<sha>/, VISION_MODEL_SHA256, label sets' model_sha256). */
export const identityFile = (engine: VisionEngineName): typeof VISION_GRAPH | typeof VISION_EDGE_VIT => (engine === 'edge-vit' ? VISION_EDGE_VIT : VISION_GRAPH);

/** At most this many parts (export-vision --parts accepts up to 64). */
export const MAX_MODEL_PARTS = 64;

export type PartGraphName = `vision_model.part${number}.onnx`;
export type PartDataName = `vision_model.part${number}.onnx.data`;
export type ModelFileName = typeof VISION_GRAPH | typeof VISION_DATA | typeof VISION_EDGE_VIT | PartGraphName | PartDataName;

export const partGraphName = (k: number): PartGraphName => `vision_model.part${k}.onnx`;
export const partDataName = (k: number): PartDataName => `vision_model.part${k}.onnx.data`;

const MODEL_FILE = /^vision_model(?:\.part(0|[1-9]\d?))?\.onnx(?:\.data)?$/;

/** `raw` as a model file name, or null when it is not one (part numbers 0..MAX_MODEL_PARTS-1, no leading zeros). */
export function parseModelFileName(raw: string): ModelFileName | null {
  if (raw === VISION_EDGE_VIT) return raw;
  const m = MODEL_FILE.exec(raw);
  if (m === null) return null;
  if (m[1] !== undefined && Number(m[1]) >= MAX_MODEL_PARTS) return null;
  return raw as ModelFileName;
}

/** True for the external-data weights files (`.data`), the whole model's or a part's. */
export const isDataFile = (name: ModelFileName): boolean => name.endsWith('.data');

/** True for a file stored under its own sha256 (the path's): a model's identity file, ONNX graph or edge-vit weights. */
export const isIdentityFile = (name: ModelFileName): boolean => name === VISION_GRAPH || name === VISION_EDGE_VIT;
