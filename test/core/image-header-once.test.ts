/**
 * A classify request reads the image's header once: the classifier reads it to check the pixel
 * limit and hands it to decodeImage(), whose decoders use it instead of parsing it again. Every
 * header reader of image-header.ts is wrapped in a counter (calls inside image-header.ts itself,
 * readImageHeader's own, are not seen: only what other modules ask for).
 */
import { readFileSync } from 'node:fs';
import { encode } from 'fast-png';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as header from '../../src/core/image/image-header.ts';
import { Classifier, type ClassifyRequest } from '../../src/worker/classify/classifier.ts';
import type { VisionRuntime } from '../../src/worker/vision/runtime.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { fromBase64 } from './image-test-utils.ts';

vi.mock('../../src/core/image/image-header.ts', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/core/image/image-header.ts')>();
  return {
    ...m,
    readImageHeader: vi.fn(m.readImageHeader),
    readJpegFrameInfo: vi.fn(m.readJpegFrameInfo),
    readPngIhdr: vi.fn(m.readPngIhdr),
    readGifLayout: vi.fn(m.readGifLayout),
    readWebpInfo: vi.fn(m.readWebpInfo),
    readBmpInfo: vi.fn(m.readBmpInfo),
    readAvifInfo: vi.fn(m.readAvifInfo),
    sniffFormat: vi.fn(m.sniffFormat),
  };
});

const READERS = ['readImageHeader', 'readJpegFrameInfo', 'readPngIhdr', 'readGifLayout', 'readWebpInfo', 'readBmpInfo', 'readAvifInfo', 'sniffFormat'] as const;

function readsOutside(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of READERS) {
    const n = vi.mocked(header[name]).mock.calls.length;
    if (n > 0) counts[name] = n;
  }
  return counts;
}

interface FormatCase {
  name: string;
  format: string;
  file: string;
}

const formats = (JSON.parse(readFileSync(new URL('../fixtures/image/formats.json', import.meta.url), 'utf8')) as { cases: FormatCase[] }).cases;

/** One image of each format the worker decodes (the format fixtures, plus a PNG made here). */
function images(): Array<[string, Uint8Array]> {
  const png = new Uint8Array(encode({ width: 5, height: 4, data: new Uint8Array(5 * 4 * 3).fill(90), channels: 3, depth: 8 }));
  const out: Array<[string, Uint8Array]> = [['png', png]];
  for (const format of ['jpeg', 'gif', 'webp', 'bmp', 'avif']) {
    const c = formats.find((x) => x.format === format);
    if (!c) throw new Error(`test/fixtures/image/formats.json has no ${format} case`);
    out.push([`${format} (${c.name})`, fromBase64(c.file)]);
  }
  return out;
}

function request(): ClassifyRequest {
  const runtime = {
    spec: { id: 'stub', preprocessorConfig: {}, imageSize: 1, dim: 2 },
    preprocessor: { preprocess: () => new Float32Array(3) },
    encoder: { encode: async () => new Float32Array([1, 0]), imageSize: 1, status: { engine: 'onnxruntime', relaxedSimd: null, wasmMemoryBytes: null } },
  } as unknown as VisionRuntime;
  const artifact = { classEmbeddings: new Float32Array([1, 0, 0, 1]), labels: ['a', 'b'], dim: 2, logitScale: 100 };
  return {
    runtime: async () => runtime,
    labelSet: { tenant: 't', name: 'n' },
    lookup: async () => ({ version: '1', artifact: artifact as never }),
    topK: 2,
    maxImagePixels: 1_000_000,
  };
}

describe('a classify request reads the image header once', () => {
  beforeAll(() => initNodeImageCodecs());
  beforeEach(() => vi.clearAllMocks());

  it.each(images())('%s', async (_name, bytes) => {
    const r = await new Classifier().classify(bytes, request());
    expect(r.labels[0]!.label).toBe('a');
    expect(readsOutside()).toEqual({ readImageHeader: 1 });
  });
});
