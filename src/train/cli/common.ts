/** Helpers shared by CLI commands: default model path, atomic writes, number parsing. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../core/errors.ts';
import { EXIF_MODES, type ExifMode } from '../../core/image/exif-orientation.ts';

export { writeFileAtomic } from '../files.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** --seed when none is given (train, train-and-publish): runs repeat unless a seed is asked for. */
export const DEFAULT_SEED = 1;
/** The embedded default model, used when --model is not given. */
export const DEFAULT_MODEL_DIR = resolve(REPO_ROOT, 'artifacts/models/tiny-clip-cifar10');
/** OpenAI's BPE merges beside the repository (../shared), used for the 49408-token vocabulary. */
export const OPENAI_BPE_PATH = resolve(REPO_ROOT, '../shared/models/clip-bpe/bpe_simple_vocab_16e6.txt.gz');

/** The version in the project's package.json, for `prompt-edge --version`. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export const EXIF_OPTION_HELP =
  'EXIF orientation: apply (default; the photo as a person sees it, as the API does) | ignore (the pixels as stored, what Hugging Face\'s CLIPImageProcessor sees)';

/** `--exif apply|ignore`, the CLI's counterpart of the API's ?exif= (same default, so offline evaluation and the edge agree). */
export function parseExifOption(raw: string): ExifMode {
  if (!(EXIF_MODES as readonly string[]).includes(raw)) throw new InvalidArgumentError(`--exif must be apply or ignore, got "${raw}".`);
  return raw as ExifMode;
}

export function parseIntOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got "${raw}".`);
    return v;
  };
}

export function parseFloatOption(name: string, min: number, max = Number.POSITIVE_INFINITY) {
  return (raw: string): number => {
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got "${raw}".`);
    return v;
  };
}
