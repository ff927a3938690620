/**
 * Files the Node tests read from ../shared (the folder beside the checkout, never committed): the
 * few-shot datasets and the OpenAI BPE file (README, "Test data: ../shared"). A test that needs a
 * missing one fails with a message that names it, instead of an ENOENT from deep inside a reader.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared as seen from the repository root. */
export const SHARED_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared');

/** The absolute path of `relative` under ../shared; throws, naming the file, when it is not there. */
export function sharedPath(relative: string): string {
  const path = join(SHARED_ROOT, relative);
  if (!existsSync(path)) {
    throw new Error(
      `This test needs ../shared/${relative} (${path}), which is missing. ../shared sits beside the checkout and holds the test datasets and the OpenAI BPE file; README.md, "Test data: ../shared", lists what it must contain.`,
    );
  }
  return path;
}

export const SHARED = {
  /** OpenAI's CLIP BPE merges (bpe_simple_vocab_16e6.txt.gz). */
  openAiBpe: 'models/clip-bpe/bpe_simple_vocab_16e6.txt.gz',
  cifarTrain: 'datasets/cifar10-fewshot/train',
  cifarTest: 'datasets/cifar10-fewshot/test',
  datasets: 'datasets',
} as const;
