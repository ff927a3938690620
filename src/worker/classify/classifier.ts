/**
 * One classification: header check -> decode -> preprocess -> encode -> score, timed per stage.
 * The pixel limit is enforced on the header before the model or the label set is even loaded, so
 * an upload declaring a huge canvas is refused at the cost of reading a few bytes.
 */
import { decodeImage, type ExifMode } from '../../core/image/decode.ts';
import { readImageHeader, type ImageHeader } from '../../core/image/image-header.ts';
import { ImageTooLargeError } from '../../core/errors.ts';
import type { ClassifyBody } from '../../core/contract/api.ts';
import { classifyWithHead } from '../../core/scoring.ts';
import type { ResolvedLabelSet } from '../labelsets/registry.ts';
import type { LabelSetRef } from '../labelsets/source.ts';
import { imagePixelBudget } from '../vision/memory-budget.ts';
import type { VisionEncoder } from '../vision/encoder.ts';
import type { VisionRuntime } from '../vision/runtime.ts';

/** Finds the current version of a label set, decoded (LabelSetRegistry bound to a source and TTL). */
export type LabelSetLookup = (ref: LabelSetRef) => Promise<ResolvedLabelSet>;

export interface ClassifyRequest {
  /** The served model's runtime, loaded on the isolate's first request. */
  readonly runtime: () => Promise<VisionRuntime>;
  readonly labelSet: LabelSetRef;
  readonly lookup: LabelSetLookup;
  readonly topK: number;
  readonly maxImagePixels: number;
  /** EXIF orientation: applied unless `ignore` (default `apply`). */
  readonly exif?: ExifMode;
  /** Told the image's format and size once its header is read (the request log records them). */
  readonly onHeader?: (header: ImageHeader) => void;
}

/** The classify response body (core/contract/api.ts). */
export type ClassifyResult = ClassifyBody;

/** Milliseconds rounded to 0.01: more digits would only be noise. */
const ms = (from: number, to: number): number => Math.round((to - from) * 100) / 100;

/** Reads the image's header (the only time a request reads it) and refuses it over the pixel limit. */
export function checkImageSize(bytes: Uint8Array, maxPixels: number, onHeader?: (header: ImageHeader) => void): ImageHeader {
  const header = readImageHeader(bytes);
  onHeader?.(header);
  const { width, height } = header;
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageTooLargeError(
      `The image is ${width}x${height} (${pixels} pixels), over this service's limit of ${maxPixels} pixels. Downscale it before sending: CLIP models work at a few hundred pixels at most.`,
    );
  }
  return header;
}

/**
 * The pixel limit this image is decoded under: the deployment's, lowered to what the isolate's
 * memory leaves beside the loaded encoder (vision/memory-budget.ts). Checked once the encoder's
 * memory is known, before decoding; the decoders' own heap caps then follow the same limit.
 */
export function decodePixelLimit(header: { width: number; height: number }, encoder: Pick<VisionEncoder, 'status' | 'imageSize'>, maxImagePixels: number): number {
  const budget = imagePixelBudget(encoder.status.wasmMemoryBytes);
  const pixels = header.width * header.height;
  if (budget === null || budget >= maxImagePixels) return maxImagePixels;
  if (pixels <= budget) return budget;
  const side = Math.floor(Math.sqrt(budget / (4 / 3)));
  throw new ImageTooLargeError(
    `The image is ${header.width}x${header.height} (${pixels} pixels), more than this model leaves memory to decode: at most ${budget} pixels (e.g. ${Math.floor((side * 4) / 3)}x${side}), because its encoder holds ${Math.round((encoder.status.wasmMemoryBytes ?? 0) / 2 ** 20)} MiB of the isolate's 128 MB. Downscale it before sending: the model sees ${encoder.imageSize}x${encoder.imageSize}.`,
  );
}

export class Classifier {
  async classify(bytes: Uint8Array, req: ClassifyRequest): Promise<ClassifyResult> {
    const start = performance.now();
    const header = checkImageSize(bytes, req.maxImagePixels, req.onHeader);
    const [runtime, { version, artifact: labelSet }] = await Promise.all([req.runtime(), req.lookup(req.labelSet)]);
    const maxPixels = decodePixelLimit(header, runtime.encoder, req.maxImagePixels);

    const t0 = performance.now();
    const image = await decodeImage(bytes, { header, maxPixels, exif: req.exif ?? 'apply' });
    const t1 = performance.now();
    const pixels = runtime.preprocessor.preprocess(image);
    const t2 = performance.now();
    const embedding = await runtime.encoder.encode(pixels, 1);
    const t3 = performance.now();
    const { top } = classifyWithHead(embedding, labelSet, req.topK);
    const t4 = performance.now();

    return {
      labels: top,
      labelset: { tenant: req.labelSet.tenant, name: req.labelSet.name, version },
      model: runtime.spec.id,
      timings_ms: { decode: ms(t0, t1), preprocess: ms(t1, t2), encode: ms(t2, t3), score: ms(t3, t4), total: ms(start, t4) },
    };
  }
}
