/**
 * `ClipTokenizer`: OpenAI CLIP's byte-level BPE tokenizer (`clip/simple_tokenizer.py`), giving the
 * same ids as the reference for clean text (see clean-text.ts for what of ftfy is not reproduced).
 *
 * Pipeline: cleanText (NFC, html unescape x2, whitespace, lower case) -> splitWords (CLIP regex)
 * -> UTF-8 bytes -> byte symbols -> BPE with `</w>` on each word's last symbol -> ids.
 */
import { InvalidArgumentError, TokenizerError } from '../errors.ts';
import { BytePairEncoder, END_OF_WORD } from './bpe.ts';
import { toByteSymbols, UNICODE_TO_BYTE } from './bytes-to-unicode.ts';
import { cleanText } from './clean-text.ts';
import { splitWords } from './pre-tokenize.ts';
import {
  END_OF_TEXT,
  loadOpenAiBpe,
  parseHuggingFaceMerges,
  parseHuggingFaceVocab,
  START_OF_TEXT,
  validateVocabulary,
  type BpeVocabulary,
} from './vocabulary.ts';

export { START_OF_TEXT, END_OF_TEXT };

/** CLIP's text context: start token + up to 75 BPE tokens + end token. */
export const CLIP_CONTEXT_LENGTH = 77;

// Words seen before skip BPE. Bounded so that a long-lived Worker fed arbitrary text does not grow
// without limit; prompts and class names repeat, so a full reset is rare and cheap.
const WORD_CACHE_LIMIT = 50_000;

export interface ClipTokenizerOptions {
  /** Sequence length `encode` truncates to, start and end tokens included. Default 77. */
  contextLength?: number;
}

export interface EncodeOptions {
  /**
   * true (default): keep the first `contextLength` ids and make the last one the end token, as
   * OpenAI's `clip.tokenize(truncate=True)`. false: throw InvalidArgumentError when too long.
   */
  truncate?: boolean;
}

export interface DecodeOptions {
  /** Leave out start and end tokens. Default false (OpenAI's decode prints them as text). */
  skipSpecialTokens?: boolean;
}

export class ClipTokenizer {
  readonly contextLength: number;
  private readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;
  private readonly bpe: BytePairEncoder;
  private readonly wordCache = new Map<string, readonly number[]>();
  private readonly startId: number;
  private readonly endId: number;
  private readonly utf8 = new TextDecoder('utf-8');

  private constructor(vocabulary: BpeVocabulary, options: ClipTokenizerOptions) {
    const contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new InvalidArgumentError(
        `contextLength must be an integer of at least 2 (start and end tokens); got ${contextLength}.`,
      );
    }
    this.contextLength = contextLength;
    this.tokens = vocabulary.tokens;
    // Later duplicates win, as in OpenAI's dict(zip(vocab, range(len(vocab)))).
    this.ids = new Map(vocabulary.tokens.map((token, id) => [token, id] as const));
    this.bpe = new BytePairEncoder(vocabulary.merges);
    this.startId = this.ids.get(START_OF_TEXT) as number;
    this.endId = this.ids.get(END_OF_TEXT) as number;
  }

  /** From Hugging Face `CLIPTokenizer` files: the text of `vocab.json` and of `merges.txt`. */
  static fromHuggingFace(vocabJson: string, mergesTxt: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const vocabulary: BpeVocabulary = {
      tokens: parseHuggingFaceVocab(vocabJson),
      merges: parseHuggingFaceMerges(mergesTxt),
    };
    validateVocabulary(vocabulary, 'vocab.json + merges.txt');
    return new ClipTokenizer(vocabulary, options);
  }

  /** From the bytes of OpenAI's `bpe_simple_vocab_16e6.txt.gz` (49408-token vocabulary). */
  static async fromOpenAiBpe(gz: Uint8Array, options: ClipTokenizerOptions = {}): Promise<ClipTokenizer> {
    const vocabulary = await loadOpenAiBpe(gz);
    validateVocabulary(vocabulary, 'bpe_simple_vocab_16e6.txt.gz');
    return new ClipTokenizer(vocabulary, options);
  }

  /** Id of `<|startoftext|>`. */
  get sotId(): number {
    return this.startId;
  }

  /** Id of `<|endoftext|>` (also CLIP's padding id). */
  get eotId(): number {
    return this.endId;
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** `[sot, ...bpeIds(text), eot]`, cut to `contextLength` with eot kept last. Not padded. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = [this.startId];
    this.appendBpeIds(text, ids);
    ids.push(this.endId);
    if (ids.length <= this.contextLength) return ids;
    if (options.truncate === false) {
      throw new InvalidArgumentError(
        `The text is ${ids.length} tokens long with start and end tokens; the model reads at most ` +
          `${this.contextLength}. Shorten it.`,
      );
    }
    ids.length = this.contextLength;
    ids[this.contextLength - 1] = this.endId;
    return ids;
  }

  /** `encode` for each text. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): { ids: number[][] } {
    return { ids: texts.map((text) => this.encode(text, options)) };
  }

  /** The BPE ids of `text` without start/end tokens and without truncation. */
  bpeIds(text: string): number[] {
    return this.appendBpeIds(text, []);
  }

  /** The BPE token strings of `text` (byte symbols, `</w>` ending each word), for inspection. */
  bpeTokens(text: string): string[] {
    return this.bpeIds(text).map((id) => this.tokens[id] as string);
  }

  /** The token string of `id`; throws InvalidArgumentError outside 0..vocabSize-1. */
  idToToken(id: number): string {
    const token = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (token === undefined) {
      throw new InvalidArgumentError(`Token id ${id} is outside the vocabulary (0..${this.tokens.length - 1}).`);
    }
    return token;
  }

  /** The id of a token string (e.g. `"cat</w>"`), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Text of `ids`, as OpenAI's decode: bytes back to UTF-8 (invalid runs -> U+FFFD), `</w>` -> space. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (options.skipSpecialTokens && (id === this.startId || id === this.endId)) continue;
      for (const char of this.idToToken(id)) {
        const byte = UNICODE_TO_BYTE.get(char);
        // Only a hand-made vocabulary has tokens outside the byte alphabet: keep them as text.
        if (byte === undefined) bytes.push(...new TextEncoder().encode(char));
        else bytes.push(byte);
      }
    }
    return this.utf8.decode(new Uint8Array(bytes)).replaceAll(END_OF_WORD, ' ');
  }

  private appendBpeIds(text: string, out: number[]): number[] {
    for (const word of splitWords(cleanText(text))) {
      for (const id of this.wordIds(word)) out.push(id);
    }
    return out;
  }

  private wordIds(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;

    // OpenAI pre-seeds its BPE cache with the special tokens, so their literals map to their ids.
    const ids =
      word === START_OF_TEXT || word === END_OF_TEXT
        ? [this.ids.get(word) as number]
        : this.bpe.encodeWord(toByteSymbols(word)).map((token) => this.requireId(token));

    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, ids);
    return ids;
  }

  private requireId(token: string): number {
    const id = this.ids.get(token);
    // validateVocabulary guarantees byte tokens and merge results exist; this guards that invariant.
    if (id === undefined) throw new TokenizerError(`BPE produced ${JSON.stringify(token)}, which is not in the vocabulary.`);
    return id;
  }
}
