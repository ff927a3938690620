/**
 * Tokenizer files in the Hugging Face CLIP layout (vocab.json, merges.txt, tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json) from a BPE vocabulary: OpenAI's real one when
 * ../shared/models/clip-bpe is present, or a synthetic one of any size (byte symbols plus
 * two-symbol merges) so that generation never depends on that file. tokenizer.json copies the
 * layout of openai/clip-vit-base-patch32's (as the default model's does), which is what
 * Transformers.js loads.
 */
import { BYTE_SYMBOLS_IN_VOCAB_ORDER } from '../../core/tokenizer/bytes-to-unicode.ts';
import { END_OF_TEXT, START_OF_TEXT, type BpeVocabulary } from '../../core/tokenizer/vocabulary.ts';

const END_OF_WORD = '</w>';

/**
 * A valid byte-level CLIP vocabulary of exactly `size` tokens: 256 byte symbols, the same with
 * `</w>`, then merges "x y" -> "xy" / "x y</w>" -> "xy</w>" of pairs of byte symbols, then the
 * start and end tokens. Every merge joins two known tokens into a new one, as CLIPTokenizer requires.
 */
export function syntheticVocabulary(size: number): BpeVocabulary {
  const base = BYTE_SYMBOLS_IN_VOCAB_ORDER.length * 2 + 2;
  const mergeCount = size - base;
  const maxMerges = BYTE_SYMBOLS_IN_VOCAB_ORDER.length ** 2 * 2;
  if (!Number.isInteger(size) || mergeCount < 1 || mergeCount > maxMerges) throw new Error(`a synthetic CLIP vocabulary needs ${base + 1}..${base + maxMerges} tokens, not ${size}`);
  const merges: Array<[string, string]> = [];
  const symbols = BYTE_SYMBOLS_IN_VOCAB_ORDER;
  outer: for (let i = 0; i < symbols.length; i++) {
    for (let j = 0; j < symbols.length; j++) {
      for (const suffix of [END_OF_WORD, '']) {
        if (merges.length === mergeCount) break outer;
        merges.push([symbols[i]!, symbols[j]! + suffix]);
      }
    }
  }
  const tokens = [...symbols, ...symbols.map((s) => s + END_OF_WORD), ...merges.map(([l, r]) => l + r), START_OF_TEXT, END_OF_TEXT];
  return { tokens, merges };
}

const specialToken = (content: string) => ({ content, lstrip: false, normalized: true, rstrip: false, single_word: false });

/** The five tokenizer files, by file name. */
export function tokenizerFiles(vocab: BpeVocabulary, contextLength = 77): Record<string, string> {
  const vocabObj: Record<string, number> = {};
  vocab.tokens.forEach((t, id) => {
    if (Object.prototype.hasOwnProperty.call(vocabObj, t)) throw new Error(`token ${JSON.stringify(t)} appears twice in the vocabulary`);
    vocabObj[t] = id;
  });
  const sot = vocabObj[START_OF_TEXT];
  const eot = vocabObj[END_OF_TEXT];
  if (sot === undefined || eot === undefined) throw new Error('vocabulary lacks the CLIP start/end tokens');
  const mergeLines = vocab.merges.map(([l, r]) => `${l} ${r}`);

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: sot, content: START_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      { id: eot, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [END_OF_TEXT, eot], cls: [START_OF_TEXT, sot], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: END_OF_TEXT, continuing_subword_prefix: '', end_of_word_suffix: END_OF_WORD, fuse_unk: false, byte_fallback: false,
      vocab: vocabObj,
      merges: mergeLines,
    },
  };
  const tokenizerConfig = {
    add_prefix_space: false,
    bos_token: { __type: 'AddedToken', ...specialToken(START_OF_TEXT) },
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: { __type: 'AddedToken', ...specialToken(END_OF_TEXT) },
    errors: 'replace',
    model_max_length: contextLength,
    pad_token: END_OF_TEXT,
    tokenizer_class: 'CLIPTokenizer',
    unk_token: { __type: 'AddedToken', ...specialToken(END_OF_TEXT) },
  };
  const specialTokensMap = { bos_token: specialToken(START_OF_TEXT), eos_token: specialToken(END_OF_TEXT), unk_token: specialToken(END_OF_TEXT), pad_token: END_OF_TEXT };
  return {
    'vocab.json': JSON.stringify(vocabObj),
    'merges.txt': `#version: 0.2\n${mergeLines.join('\n')}\n`,
    'tokenizer.json': JSON.stringify(tokenizerJson),
    'tokenizer_config.json': JSON.stringify(tokenizerConfig, null, 2),
    'special_tokens_map.json': JSON.stringify(specialTokensMap, null, 2),
  };
}
