/**
 * The pixel limit bounds the WASM decoders' memory even when a file's header lies: an AVIF whose `ispe`
 * says 10x10 over a 3000x3000 AV1 frame passes the header check but may not grow libavif's heap past
 * the cap for the limit (it would need ~145 MB, more than a Worker isolate has).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidImageError } from '../../src/core/errors.ts';
import { decodeImage, imageCodecHeapHighWater } from '../../src/core/image/decode.ts';
import { readImageHeader } from '../../src/core/image/image-header.ts';
import { wasmHeapCap } from '../../src/core/image/wasm-codec.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { fromBase64, loadFixture } from './image-test-utils.ts';

const errors = loadFixture<{ errors: { name: string; file: string }[] }>('formats.json').errors;

beforeAll(async () => {
  await initNodeImageCodecs();
});

describe('WASM decoder memory', () => {
  it('a header that understates the real frame fails to allocate instead of growing the heap past the cap', async () => {
    const lying = fromBase64(errors.find((e) => e.name.startsWith('AVIF whose ispe'))?.file as string);
    expect(readImageHeader(lying)).toMatchObject({ format: 'avif', width: 10, height: 10 });
    await expect(decodeImage(lying, { maxPixels: 10_000 })).rejects.toThrow(InvalidImageError);
    const heap = imageCodecHeapHighWater().avif;
    expect(heap).toBeGreaterThan(0);
    expect(heap).toBeLessThanOrEqual(wasmHeapCap(10_000));
    // The next AVIF still decodes: the failed instance was replaced.
    const good = loadFixture<{ cases: { format: string; file: string; width: number }[] }>('formats.json').cases.find((c) => c.format === 'avif');
    await expect(decodeImage(fromBase64(good?.file as string), { maxPixels: 10_000 })).resolves.toMatchObject({ width: good?.width });
  });
});
