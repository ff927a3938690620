/**
 * Loading a CLIP BPE vocabulary (id -> token list plus ranked merges) from the two file layouts
 * in use: Hugging Face's `vocab.json` + `merges.txt`, and OpenAI's `bpe_simple_vocab_16e6.txt.gz`.
 */
import { TokenizerError } from '../errors.ts';
import { BYTE_SYMBOLS_IN_VOCAB_ORDER } from './bytes-to-unicode.ts';
import { END_OF_WORD, type MergeRule } from './bpe.ts';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** OpenAI keeps only the first 49152 - 256 - 2 merges of its file, so the vocabulary is 49408. */
export const OPENAI_MERGE_COUNT = 49152 - 256 - 2;

export interface BpeVocabulary {
  /** `tokens[id]` is the token string of `id`. */
  readonly tokens: readonly string[];
  readonly merges: readonly MergeRule[];
}

function parseMergeLine(line: string, lineNumber: number, source: string): MergeRule {
  const parts = line.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new TokenizerError(
      `${source} line ${lineNumber} is not a merge rule of two symbols separated by a space: ` +
        `${JSON.stringify(line.slice(0, 80))}. Use the merges.txt that came with the model.`,
    );
  }
  return [parts[0] as string, parts[1] as string];
}

/** Parses HF `merges.txt`: an optional `#version:` line, then one `left right` rule per line. */
export function parseHuggingFaceMerges(mergesTxt: string): MergeRule[] {
  const lines = mergesTxt.split(/\r?\n/);
  const merges: MergeRule[] = [];
  lines.forEach((line, index) => {
    if (index === 0 && line.startsWith('#version')) return;
    if (line.trim() === '') return;
    merges.push(parseMergeLine(line, index + 1, 'merges.txt'));
  });
  if (merges.length === 0) {
    throw new TokenizerError('merges.txt has no merge rules. Use the merges.txt that came with the model.');
  }
  return merges;
}

/** Parses HF `vocab.json`: a JSON object of token -> id whose ids are exactly 0..n-1. */
export function parseHuggingFaceVocab(vocabJson: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(vocabJson);
  } catch (error) {
    throw new TokenizerError('vocab.json is not valid JSON. Use the vocab.json that came with the model.', {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenizerError('vocab.json must be a JSON object mapping each token to its id.');
  }
  const entries = Object.entries(parsed);
  const tokens = new Array<string | undefined>(entries.length).fill(undefined);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length) {
      throw new TokenizerError(
        `vocab.json gives token ${JSON.stringify(token)} the id ${JSON.stringify(id)}; ids must be the ` +
          `integers 0..${entries.length - 1}, each used once.`,
      );
    }
    const previous = tokens[id];
    if (previous !== undefined) {
      throw new TokenizerError(
        `vocab.json gives id ${id} to both ${JSON.stringify(previous)} and ${JSON.stringify(token)}.`,
      );
    }
    tokens[id] = token;
  }
  return tokens as string[];
}

/**
 * Checks what encoding relies on: every byte symbol (alone and word-final) has an id, so any text
 * can be encoded without an unknown token; every merge joins known tokens into a known token; and
 * both special tokens exist.
 */
export function validateVocabulary(vocabulary: BpeVocabulary, source: string): void {
  const known = new Set(vocabulary.tokens);
  for (const symbol of BYTE_SYMBOLS_IN_VOCAB_ORDER) {
    for (const token of [symbol, symbol + END_OF_WORD]) {
      if (!known.has(token)) {
        throw new TokenizerError(
          `${source} lacks the byte token ${JSON.stringify(token)}: it is not a byte-level CLIP vocabulary.`,
        );
      }
    }
  }
  vocabulary.merges.forEach(([left, right], index) => {
    for (const token of [left, right, left + right]) {
      if (!known.has(token)) {
        throw new TokenizerError(
          `${source}: merge rule ${index + 1} (${JSON.stringify(`${left} ${right}`)}) uses or makes ` +
            `${JSON.stringify(token)}, which is not in the vocabulary. The vocabulary and the merges ` +
            'must come from the same tokenizer.',
        );
      }
    }
  });
  for (const special of [START_OF_TEXT, END_OF_TEXT]) {
    if (!known.has(special)) {
      throw new TokenizerError(`${source} lacks the special token ${special}.`);
    }
  }
}

async function gunzipToText(gz: Uint8Array): Promise<string> {
  try {
    // Copy into a fresh ArrayBuffer: Blob accepts only ArrayBuffer-backed views.
    const stream = new Blob([new Uint8Array(gz)]).stream().pipeThrough(new DecompressionStream('gzip'));
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new TokenizerError(
      'The OpenAI BPE file is not gzip-compressed UTF-8 text. Pass the bytes of bpe_simple_vocab_16e6.txt.gz.',
      { cause: error },
    );
  }
}

/**
 * Builds the vocabulary the way OpenAI's `SimpleTokenizer.__init__` does: 256 byte symbols,
 * the same with `</w>`, one token per merge (lines 2..48895 of the file), then the two specials.
 */
export async function loadOpenAiBpe(gz: Uint8Array): Promise<BpeVocabulary> {
  const lines = (await gunzipToText(gz)).split('\n').slice(1, OPENAI_MERGE_COUNT + 1);
  if (lines.length < OPENAI_MERGE_COUNT) {
    throw new TokenizerError(
      `The OpenAI BPE file has ${lines.length} merge rules; CLIP needs ${OPENAI_MERGE_COUNT}. ` +
        'The file is truncated or is not bpe_simple_vocab_16e6.txt.gz.',
    );
  }
  const merges = lines.map((line, index) => parseMergeLine(line, index + 2, 'bpe_simple_vocab_16e6.txt'));
  const tokens = [
    ...BYTE_SYMBOLS_IN_VOCAB_ORDER,
    ...BYTE_SYMBOLS_IN_VOCAB_ORDER.map((symbol) => symbol + END_OF_WORD),
    ...merges.map(([left, right]) => left + right),
    START_OF_TEXT,
    END_OF_TEXT,
  ];
  return { tokens, merges };
}
