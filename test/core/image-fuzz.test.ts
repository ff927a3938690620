/**
 * Decoder fuzz suite: mutated real files of every format and synthesised header-shaped inputs,
 * through readImageHeader() and decodeImage(). Whatever the bytes, the outcome must be an RgbImage
 * within the pixel limit or a typed PromptEdgeError whose code maps to a 4xx status; nothing else may
 * be thrown, no input may take longer than its time budget, and the WASM decoders' memory must stay
 * bounded. Seeded (FUZZ_SEED overrides the default) so a failure replays: fast-check prints the seed
 * and the shrunk input's path.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptEdgeError } from '../../src/core/errors.ts';
import { decodeImage, imageCodecHeapHighWater } from '../../src/core/image/decode.ts';
import { readImageHeader } from '../../src/core/image/image-header.ts';
import { wasmHeapCap } from '../../src/core/image/wasm-codec.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { STATUS_BY_CODE } from '../../src/core/contract/errors.ts';
import { fromBase64, loadFixture } from './image-test-utils.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
/** Small enough that mutated dimensions usually cross it: the limit check is exercised as much as decoding. */
const MAX_PIXELS = 1 << 16;
/** Per-input wall-clock budget (generous: the machine is shared; real decodes of these inputs take well under 10 ms). */
const BUDGET_MS = 1000;
/** A decoder's WASM heap may not grow past this while decoding images of at most MAX_PIXELS. */
const MAX_WASM_HEAP_BYTES = wasmHeapCap(MAX_PIXELS);

type Format = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'avif';

function seedFiles(): Record<Format, Uint8Array[]> {
  const out: Record<Format, Uint8Array[]> = { jpeg: [], png: [], gif: [], webp: [], bmp: [], avif: [] };
  for (const c of loadFixture<{ cases: { png: string }[] }>('png.json').cases) out.png.push(fromBase64(c.png));
  for (const c of loadFixture<{ cases: { jpeg: string }[] }>('jpeg.json').cases) out.jpeg.push(fromBase64(c.jpeg));
  const formats = loadFixture<{ cases: { format: Format; file: string }[]; exif: { file: string }[] }>('formats.json');
  for (const c of formats.cases) out[c.format].push(fromBase64(c.file));
  for (const c of formats.exif) {
    const b = fromBase64(c.file);
    out[readImageHeader(b).format as Format].push(b);
  }
  return out;
}

const SEEDS = seedFiles();

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'extreme'; at: number; value: number; width: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number };

// Half the positions fall in the first 64 bytes, where headers (and the fields that size allocations) live.
const position = fc.oneof(fc.integer({ min: 0, max: 63 }), fc.nat({ max: 1 << 20 }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('extreme' as const), at: position, value: fc.constantFrom(0x00, 0xff, 0x7f, 0x80), width: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 256 }) }),
);

function mutate(source: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = source.slice();
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] = (b[at] as number) ^ (1 << m.bit);
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'extreme':
        b.fill(m.value, at, at + m.width);
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'insert':
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + m.length));
        break;
      case 'duplicate':
        b = concat(b.subarray(0, at + m.length), b.subarray(at));
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const le16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const be32 = (v: number): number[] => [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

/** The start of a file of each format with chosen dimensions, followed by random bytes. */
const synthesised: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom<Format | 'random'>('jpeg', 'png', 'gif', 'webp', 'bmp', 'avif', 'random'),
    fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff })),
    fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff })),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ maxLength: 600 }),
  )
  .map(([format, w, h, variant, tail]) => {
    let head: number[];
    switch (format) {
      case 'jpeg':
        head = [0xff, 0xd8, 0xff, 0xc0 | (variant & 0x0f), 0, 17, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, (variant % 5) + 1, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
        break;
      case 'png':
        head = [0x89, ...ascii('PNG\r\n\x1a\n'), 0, 0, 0, 13, ...ascii('IHDR'), ...be32(w), ...be32(h), [1, 2, 4, 8, 16][variant % 5] as number, [0, 2, 3, 4, 6][(variant >> 3) % 5] as number, 0, 0, variant >> 7];
        break;
      case 'gif':
        head = [...ascii('GIF89a'), ...le16(w), ...le16(h), variant, 0, 0, ...(variant & 0x80 ? new Array(3 << ((variant & 7) + 1)).fill(7) : []), 0x2c, 0, 0, 0, 0, ...le16(w), ...le16(h), variant & 0x47, (variant % 11) + 1];
        break;
      case 'webp': {
        const kind = ['VP8 ', 'VP8L', 'VP8X'][variant % 3] as string;
        const payload = kind === 'VP8 ' ? [0x10, 0, 0, 0x9d, 0x01, 0x2a, ...le16(w), ...le16(h)] : kind === 'VP8L' ? [0x2f, ...le32(((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14))] : [variant & 0x3e, 0, 0, 0, ...le32(w - 1).slice(0, 3), ...le32(h - 1).slice(0, 3)];
        head = [...ascii('RIFF'), ...le32(tail.length + 30), ...ascii('WEBP'), ...ascii(kind), ...le32(tail.length + payload.length), ...payload];
        break;
      }
      case 'bmp': {
        const size = [12, 40, 108, 124][variant % 4] as number;
        const bits = [1, 4, 8, 16, 24, 32][(variant >> 2) % 6] as number;
        const dib = size === 12 ? [...le32(12), ...le16(w), ...le16(h), 1, 0, ...le16(bits)] : [...le32(size), ...le32(w), ...le32(variant & 0x80 ? -h : h), 1, 0, ...le16(bits), ...le32((variant >> 5) & 3)];
        head = [...ascii('BM'), ...le32(0), 0, 0, 0, 0, ...le32(14 + size), ...dib, ...new Array(Math.max(0, size - dib.length + 14)).fill(0)];
        break;
      }
      case 'avif': {
        const box = (type: string, ...payload: number[][]): number[] => [...be32(8 + payload.flat().length), ...ascii(type), ...payload.flat()];
        head = [
          ...box('ftyp', ascii('avif'), [0, 0, 0, 0], ascii('mif1')),
          ...box('meta', [0, 0, 0, 0], box('pitm', [0, 0, 0, 0], [0, 1]), box('iprp', box('ipco', box('ispe', [0, 0, 0, 0], be32(w), be32(h))), box('ipma', [0, 0, 0, 0], be32(1), [0, 1, 1, 0x81]))),
        ];
        break;
      }
      default:
        head = [];
    }
    return concat(new Uint8Array(head), tail);
  });

const mutated = (formats: readonly Format[]): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.constantFrom(...formats.flatMap((f) => SEEDS[f])), fc.array(mutation, { minLength: 1, maxLength: 6 }))
    .map(([source, ms]) => mutate(source, ms));

function isClientError(err: unknown): boolean {
  return err instanceof PromptEdgeError && (STATUS_BY_CODE[err.code] ?? 500) >= 400 && (STATUS_BY_CODE[err.code] ?? 500) < 500;
}

function hex(b: Uint8Array): string {
  return Array.from(b.subarray(0, 48), (x) => x.toString(16).padStart(2, '0')).join('') + (b.length > 48 ? `... (${b.length} bytes)` : '');
}

let inputs = 0;

/** One input through the header reader and the decoder; throws (failing the property) on any broken rule. */
async function check(bytes: Uint8Array): Promise<void> {
  inputs++;
  const start = performance.now();
  let headerPixels: number | undefined;
  try {
    const h = readImageHeader(bytes);
    expect(Number.isInteger(h.width) && h.width > 0 && Number.isInteger(h.height) && h.height > 0, `header ${h.width}x${h.height}`).toBe(true);
    headerPixels = h.width * h.height;
  } catch (err) {
    if (!isClientError(err)) throw new Error(`readImageHeader threw ${String(err)} (not a 4xx PromptEdgeError) for ${hex(bytes)}`, { cause: err });
  }
  try {
    const img = await decodeImage(bytes, { maxPixels: MAX_PIXELS });
    expect(headerPixels, 'decoded although the header was refused').toBeDefined();
    expect(headerPixels as number).toBeLessThanOrEqual(MAX_PIXELS);
    expect(img.width * img.height).toBeLessThanOrEqual(MAX_PIXELS);
    expect(img.data.length).toBe(img.width * img.height * 3);
  } catch (err) {
    if (!isClientError(err)) throw new Error(`decodeImage threw ${String(err)} (not a 4xx PromptEdgeError) for ${hex(bytes)}`, { cause: err });
    // A header over the limit must be refused as such, before any decoding.
    if (headerPixels !== undefined && headerPixels > MAX_PIXELS) expect((err as PromptEdgeError).code).toBe('image_too_large');
  }
  const ms = performance.now() - start;
  if (ms > BUDGET_MS) throw new Error(`took ${ms.toFixed(0)} ms (budget ${BUDGET_MS} ms) for ${hex(bytes)}`);
}

beforeAll(async () => {
  await initNodeImageCodecs();
});

afterAll(() => {
  console.log(`image fuzz: ${inputs} inputs, seed ${SEED}`);
});

describe(`image decoder fuzz (seed ${SEED}; FUZZ_SEED=... to change)`, () => {
  const runs: [string, fc.Arbitrary<Uint8Array>, number][] = [
    ['mutated JPEG (YCbCr, grey, CMYK/YCCK, EXIF)', mutated(['jpeg']), 2000],
    ['mutated PNG', mutated(['png']), 1500],
    ['mutated GIF', mutated(['gif']), 1500],
    ['mutated BMP', mutated(['bmp']), 1500],
    ['mutated WebP', mutated(['webp']), 1500],
    ['mutated AVIF', mutated(['avif']), 1000],
    ['synthesised headers of every format, and random bytes', synthesised, 1500],
  ];
  for (const [name, arb, numRuns] of runs) {
    it(`${name}: ${numRuns} inputs, only images or 4xx errors`, async () => {
      await fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns, endOnFailure: true });
    });
  }

  it('the WASM decoders stayed within their memory bound', () => {
    const heap = imageCodecHeapHighWater();
    expect(heap.webp).toBeGreaterThan(0);
    expect(heap.avif).toBeGreaterThan(0);
    expect(heap.webp).toBeLessThanOrEqual(MAX_WASM_HEAP_BYTES);
    expect(heap.avif).toBeLessThanOrEqual(MAX_WASM_HEAP_BYTES);
  });

  it('ran at least 10 000 inputs', () => {
    expect(inputs).toBeGreaterThanOrEqual(10_000);
  });
});
