/**
 * A CLIP tokenizer from its files alone, without the rest of a checkpoint: the Hugging Face pair
 * vocab.json + merges.txt (in a folder), or OpenAI's bpe_simple_vocab_16e6.txt.gz (the file, or a
 * folder holding it). `tokenize` needs nothing more, so it must not ask for model.safetensors.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { TokenizerError } from '../core/errors.ts';
import { ClipTokenizer } from '../core/tokenizer/clip-tokenizer.ts';

export const HF_VOCAB = 'vocab.json';
export const HF_MERGES = 'merges.txt';
export const OPENAI_BPE = 'bpe_simple_vocab_16e6.txt.gz';

/** The tokenizer files of a Hugging Face folder, or null when it lacks either. */
export function huggingFaceTokenizerFiles(dir: string): { vocab: string; merges: string } | null {
  const vocab = join(dir, HF_VOCAB);
  const merges = join(dir, HF_MERGES);
  return existsSync(vocab) && existsSync(merges) ? { vocab, merges } : null;
}

/** Reads a Hugging Face folder's vocab.json + merges.txt; says which is missing. */
export function loadHuggingFaceTokenizer(dir: string): ClipTokenizer {
  const files = huggingFaceTokenizerFiles(dir);
  if (!files) throw new TokenizerError(`tokenizer files ${HF_VOCAB} and ${HF_MERGES} are required in ${dir}.`);
  return ClipTokenizer.fromHuggingFace(readFileSync(files.vocab, 'utf8'), readFileSync(files.merges, 'utf8'));
}

/**
 * `path` is a folder with vocab.json + merges.txt (a Hugging Face CLIP folder, nothing else of it
 * needed) or with bpe_simple_vocab_16e6.txt.gz, or that .txt.gz file itself.
 */
export async function loadTokenizer(pathArg: string): Promise<ClipTokenizer> {
  const path = resolve(pathArg);
  if (!existsSync(path)) throw new TokenizerError(`tokenizer not found: ${path} (give a folder with ${HF_VOCAB} + ${HF_MERGES}, or OpenAI's ${OPENAI_BPE}).`);
  if (statSync(path).isDirectory()) {
    if (huggingFaceTokenizerFiles(path)) return loadHuggingFaceTokenizer(path);
    const bpe = join(path, OPENAI_BPE);
    if (existsSync(bpe)) return ClipTokenizer.fromOpenAiBpe(new Uint8Array(readFileSync(bpe)));
    throw new TokenizerError(`no tokenizer in ${path}: it needs ${HF_VOCAB} + ${HF_MERGES} (Hugging Face) or ${OPENAI_BPE} (OpenAI).`);
  }
  if (basename(path).endsWith('.gz')) return ClipTokenizer.fromOpenAiBpe(new Uint8Array(readFileSync(path)));
  throw new TokenizerError(`${path} is not a tokenizer: give a folder with ${HF_VOCAB} + ${HF_MERGES}, or OpenAI's ${OPENAI_BPE}.`);
}
