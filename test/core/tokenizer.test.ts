import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, TokenizerError } from '../../src/core/errors.ts';
import { ClipTokenizer } from '../../src/core/tokenizer/clip-tokenizer.ts';
import { SHARED, sharedPath } from '../helpers/shared.ts';

// The expected ids were computed by scripts/clip_tokenizer_reference.py (a Python port of OpenAI's
// simple_tokenizer.py; its `regex` engine and its unicodedata emulation agree on all of them), not
// by this implementation.

const TINY_MODEL_DIR = new URL('../../artifacts/models/tiny-clip-cifar10/', import.meta.url);

const readTiny = (name: string): string => readFileSync(new URL(name, TINY_MODEL_DIR), 'utf8');

describe("ClipTokenizer with OpenAI's 49408-token vocabulary", () => {
  let gz: Uint8Array;
  let tokenizer: ClipTokenizer;
  beforeAll(async () => {
    gz = readFileSync(sharedPath(SHARED.openAiBpe));
    tokenizer = await ClipTokenizer.fromOpenAiBpe(gz);
  });

  it('has the OpenAI vocabulary layout', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(tokenizer.sotId).toBe(49406);
    expect(tokenizer.eotId).toBe(49407);
    expect(tokenizer.contextLength).toBe(77);
    expect(tokenizer.idToToken(0)).toBe('!');
    expect(tokenizer.idToToken(256)).toBe('!</w>');
    expect(tokenizer.idToToken(49406)).toBe('<|startoftext|>');
    expect(tokenizer.tokenToId('cat</w>')).toBe(2368);
    expect(tokenizer.tokenToId('not a token')).toBeUndefined();
  });

  const cases: Array<[string, number[]]> = [
    ["a photo of a cat.", [49406, 320, 1125, 539, 320, 2368, 269, 49407]],
    ["A Photo Of A CAT", [49406, 320, 1125, 539, 320, 2368, 49407]],
    ["wow!!! ... ?! C++ / C#", [49406, 2781, 995, 678, 2835, 322, 19056, 270, 322, 258, 49407]],
    ["2024 model v3.14", [49406, 273, 271, 273, 275, 2863, 341, 274, 269, 272, 275, 49407]],
    ["it's", [49406, 585, 568, 49407]],
    ["we'll they're I'd you've I'm don't", [49406, 649, 1342, 889, 982, 328, 1896, 592, 1200, 328, 880, 847, 713, 49407]],
    ["  a\n\n photo\tof   a cat  ", [49406, 320, 1125, 539, 320, 2368, 49407]],
    ["rock &amp; roll", [49406, 2172, 261, 3341, 49407]],
    ["&lt;b&gt;bold&lt;/b&gt;", [49406, 283, 321, 285, 8911, 34308, 321, 285, 49407]],
    ["it&#39;s it&#x27;s", [49406, 585, 568, 585, 568, 49407]],
    ["&amp;amp; &amp;lt;", [49406, 261, 283, 49407]],
    ["caf&eacute; &notit;", [49406, 15304, 126, 361, 585, 282, 49407]],
    ["café", [49406, 15304, 49407]],
    ["cafe\u0301", [49406, 15304, 49407]],
    ["naïve", [49406, 1097, 35689, 563, 49407]],
    ["straße ÄÖÜ", [49406, 1894, 127, 253, 324, 10896, 7255, 47177, 49407]],
    ["🙂", [49406, 14860, 49407]],
    ["👍🏽 thumbs", [49406, 43722, 17599, 49407]],
    ["日本語", [49406, 39121, 44353, 34002, 508, 49407]],
    ["", [49406, 49407]],
    ["   ", [49406, 49407]],
    ["<|startoftext|>a<|endoftext|>", [49406, 49406, 320, 49407, 49407]],
    ["hippopotamus", [49406, 28398, 45825, 718, 49407]],
    ["a photo of a hippopotamus, a type of animal.", [49406, 320, 1125, 539, 320, 28398, 45825, 718, 267, 320, 3877, 539, 4668, 269, 49407]],
  ];
  it.each(cases)('encodes %j', (text, expected) => {
    expect(tokenizer.encode(text)).toEqual(expected);
    expect(tokenizer.bpeIds(text)).toEqual(expected.slice(1, -1));
  });

  it('truncates to 77 ids keeping the end token last (OpenAI truncate=True)', () => {
    const hippo = [320, 28398, 45825, 718]; // "a hippopotamus"
    const expected = [49406, ...Array.from({ length: 18 }, () => hippo).flat(), 320, 28398, 45825, 49407];
    const ids = tokenizer.encode('a hippopotamus '.repeat(20));
    expect(ids).toHaveLength(77);
    expect(ids).toEqual(expected);
    expect(tokenizer.encode('a '.repeat(100))).toEqual([49406, ...new Array<number>(75).fill(320), 49407]);
    expect(tokenizer.bpeIds('a hippopotamus '.repeat(20))).toHaveLength(80);
  });

  it('refuses over-long text when truncation is off', () => {
    expect(() => tokenizer.encode('a '.repeat(76), { truncate: false })).toThrow(InvalidArgumentError);
    expect(tokenizer.encode('a '.repeat(75), { truncate: false })).toHaveLength(77);
  });

  it('returns fresh arrays (the word cache is not exposed)', () => {
    tokenizer.encode('a photo of a cat.').fill(0);
    tokenizer.bpeIds('a photo of a cat.').fill(0);
    expect(tokenizer.encode('a photo of a cat.')).toEqual([49406, 320, 1125, 539, 320, 2368, 269, 49407]);
    expect(tokenizer.encodeBatch(['cat', 'dog']).ids).toEqual([
      [49406, 2368, 49407],
      [49406, 1929, 49407],
    ]);
  });

  it('decodes like OpenAI: bytes back to text, </w> to a space', () => {
    const ids = tokenizer.encode('A photo of a café 🙂!');
    expect(tokenizer.decode(ids)).toBe('<|startoftext|>a photo of a café 🙂! <|endoftext|>');
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('a photo of a café 🙂! ');
    expect(tokenizer.bpeTokens('café')).toEqual(['cafÃ©</w>']);
    expect(() => tokenizer.decode([49408])).toThrow(InvalidArgumentError);
    expect(() => tokenizer.idToToken(-1)).toThrow(InvalidArgumentError);
  });

  it('is the same tokenizer when the vocabulary comes as Hugging Face files', () => {
    const tokens = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.idToToken(id));
    const vocabJson = JSON.stringify(Object.fromEntries(tokens.map((token, id) => [token, id])));
    const mergeLines = new TextDecoder().decode(gunzipSync(gz)).split('\n').slice(1, 49152 - 256 - 2 + 1);
    const hf = ClipTokenizer.fromHuggingFace(vocabJson, ['#version: 0.2', ...mergeLines, ''].join('\n'));
    expect(hf.vocabSize).toBe(49408);
    for (const [text] of cases) expect(hf.encode(text)).toEqual(tokenizer.encode(text));
  });
});

describe("ClipTokenizer with the default model's Hugging Face files", () => {
  const tokenizer = ClipTokenizer.fromHuggingFace(readTiny('vocab.json'), readTiny('merges.txt'));

  it('reads the vocabulary and special tokens', () => {
    expect(tokenizer.vocabSize).toBe(2014);
    expect(tokenizer.sotId).toBe(2012);
    expect(tokenizer.eotId).toBe(2013);
  });

  const cases: Array<[string, number[]]> = [
    ["airplane", [2012, 596, 2013]],
    ["automobile", [2012, 595, 2013]],
    ["bird", [2012, 544, 2013]],
    ["cat", [2012, 606, 2013]],
    ["deer", [2012, 615, 2013]],
    ["dog", [2012, 601, 2013]],
    ["frog", [2012, 605, 2013]],
    ["horse", [2012, 589, 2013]],
    ["ship", [2012, 602, 2013]],
    ["truck", [2012, 559, 2013]],
    ["a photo of a airplane.", [2012, 320, 516, 512, 320, 596, 269, 2013]],
    ["a photo of a automobile.", [2012, 320, 516, 512, 320, 595, 269, 2013]],
    ["a photo of a bird.", [2012, 320, 516, 512, 320, 544, 269, 2013]],
    ["a photo of a cat.", [2012, 320, 516, 512, 320, 606, 269, 2013]],
    ["a photo of a deer.", [2012, 320, 516, 512, 320, 615, 269, 2013]],
    ["a photo of a dog.", [2012, 320, 516, 512, 320, 601, 269, 2013]],
    ["a photo of a frog.", [2012, 320, 516, 512, 320, 605, 269, 2013]],
    ["a photo of a horse.", [2012, 320, 516, 512, 320, 589, 269, 2013]],
    ["a photo of a ship.", [2012, 320, 516, 512, 320, 602, 269, 2013]],
    ["a photo of a truck.", [2012, 320, 516, 512, 320, 559, 269, 2013]],
    ["hippopotamus", [2012, 521, 961, 795, 823, 986, 338, 2013]],
    ["cafe", [2012, 752, 1965, 2013]],
    ["café", [2012, 752, 69, 127, 358, 2013]],
    ["Hippopotamus!!", [2012, 521, 961, 795, 823, 986, 338, 0, 256, 2013]],
    ["a blurry photo of the pickup truck.", [2012, 320, 613, 516, 512, 519, 700, 559, 269, 2013]],
    ["itap of a dog.", [2012, 711, 512, 320, 601, 269, 2013]],
    ["a red car, a type of vehicle.", [2012, 320, 631, 759, 267, 320, 623, 512, 574, 269, 2013]],
    ["kangaroo 42", [2012, 74, 520, 912, 532, 334, 275, 273, 2013]],
    ["it's a lorry", [2012, 1096, 6, 338, 320, 689, 2013]],
    ["", [2012, 2013]],
  ];
  it.each(cases)('encodes %j', (text, expected) => {
    expect(tokenizer.encode(text)).toEqual(expected);
  });
});

describe('ClipTokenizer errors', () => {
  const vocabJson = readTiny('vocab.json');
  const mergesTxt = readTiny('merges.txt');

  it('rejects a merge line that is not two symbols', () => {
    const broken = mergesTxt.replace('\nh o\n', '\nh o x\n');
    expect(() => ClipTokenizer.fromHuggingFace(vocabJson, broken)).toThrow(TokenizerError);
    expect(() => ClipTokenizer.fromHuggingFace(vocabJson, broken)).toThrow(/merges\.txt line 3/);
    expect(() => ClipTokenizer.fromHuggingFace(vocabJson, '#version: 0.2\nho\n')).toThrow(TokenizerError);
  });

  it('rejects merges whose tokens are not in the vocabulary', () => {
    expect(() => ClipTokenizer.fromHuggingFace(vocabJson, '#version: 0.2\nq z\n')).toThrow(/not in the vocabulary/);
  });

  it('rejects a merges file without rules', () => {
    expect(() => ClipTokenizer.fromHuggingFace(vocabJson, '#version: 0.2\n')).toThrow(TokenizerError);
  });

  it('rejects a malformed vocab.json', () => {
    expect(() => ClipTokenizer.fromHuggingFace('{not json', mergesTxt)).toThrow(TokenizerError);
    expect(() => ClipTokenizer.fromHuggingFace('[1, 2]', mergesTxt)).toThrow(TokenizerError);
    const vocab = JSON.parse(vocabJson) as Record<string, number>;
    const duplicateId = JSON.stringify({ ...vocab, 'cat</w>': 3 });
    expect(() => ClipTokenizer.fromHuggingFace(duplicateId, mergesTxt)).toThrow(TokenizerError);
    const withoutEnd = Object.fromEntries(Object.entries(vocab).filter(([token]) => token !== '<|endoftext|>'));
    expect(() => ClipTokenizer.fromHuggingFace(JSON.stringify(withoutEnd), mergesTxt)).toThrow(TokenizerError);
  });

  it('rejects OpenAI BPE bytes that are not gzip, or too short', async () => {
    await expect(ClipTokenizer.fromOpenAiBpe(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(TokenizerError);
    await expect(ClipTokenizer.fromOpenAiBpe(gzipSync('#version\nh o\n'))).rejects.toThrow(/48894/);
  });
});
