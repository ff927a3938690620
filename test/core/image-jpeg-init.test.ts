import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeImage, instantiatedImageCodecs } from '../../src/core/image/decode.ts';
import { initJpegDecoder, isJpegDecoderReady } from '../../src/core/image/jpeg-decoder.ts';
import { initNodeImageCodecs, MOZJPEG_DEC_WASM } from '../../src/train/image-codecs-node.ts';
import { fromBase64, loadFixture } from './image-test-utils.ts';

// Runs in its own module graph (vitest isolates test files), so the decoder starts uninitialised.
const jpeg = loadFixture<{ cases: { jpeg: string; png?: string }[] }>('jpeg.json');
const png = loadFixture<{ cases: { png: string }[] }>('png.json');
const formats = loadFixture<{ cases: { format: string; file: string }[] }>('formats.json');

describe('JPEG decoder initialisation', () => {
  it('says how to initialise when a JPEG arrives first, while PNG needs nothing', async () => {
    expect(isJpegDecoderReady()).toBe(false);
    await expect(decodeImage(fromBase64(jpeg.cases[0]?.jpeg as string))).rejects.toThrow(/initJpegDecoder|initNodeImageCodecs/);
    await expect(decodeImage(fromBase64(png.cases[0]?.png as string))).resolves.toMatchObject({ width: 9, height: 5 });
  });

  it('initialises from a WebAssembly.Module (the way workerd provides it), idempotently', async () => {
    await expect(initJpegDecoder(new Uint8Array(8) as unknown as WebAssembly.Module)).rejects.toThrow(TypeError);
    const path = createRequire(import.meta.url).resolve(MOZJPEG_DEC_WASM);
    const module = await WebAssembly.compile(readFileSync(path));
    await initJpegDecoder(module);
    await initJpegDecoder(module);
    expect(isJpegDecoderReady()).toBe(true);
    await Promise.all([initNodeImageCodecs(), initNodeImageCodecs()]);
    const img = await decodeImage(fromBase64(jpeg.cases[0]?.jpeg as string));
    expect([img.width, img.height]).toEqual([37, 29]);
  });

  it('instantiates the WebP and AVIF decoders only when an image of their format arrives', async () => {
    await initNodeImageCodecs();
    await decodeImage(fromBase64(jpeg.cases[0]?.jpeg as string));
    await decodeImage(fromBase64(png.cases[0]?.png as string));
    for (const f of ['bmp', 'gif']) await decodeImage(fromBase64(formats.cases.find((c) => c.format === f)?.file as string));
    expect(instantiatedImageCodecs()).toEqual({ webp: false, avif: false });
    await decodeImage(fromBase64(formats.cases.find((c) => c.format === 'webp')?.file as string));
    expect(instantiatedImageCodecs()).toEqual({ webp: true, avif: false });
    await decodeImage(fromBase64(formats.cases.find((c) => c.format === 'avif')?.file as string));
    expect(instantiatedImageCodecs()).toEqual({ webp: true, avif: true });
  });
});
