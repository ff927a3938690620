/** Where the bench keeps what it generates (gitignored under .cache/) and what it reads. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Generated models, label sets, worker configs: reused between runs when still valid. */
export const BENCH_CACHE = join(REPO_ROOT, '.cache', 'bench');
export const DEFAULT_MODEL_DIR = join(REPO_ROOT, 'artifacts', 'models', 'tiny-clip-cifar10');
export const CIFAR_TEST = resolve(REPO_ROOT, '../shared/datasets/cifar10-fewshot/test');
export const CIFAR_TRAIN = resolve(REPO_ROOT, '../shared/datasets/cifar10-fewshot/train');
export const RESULTS_JSON = join(REPO_ROOT, 'bench', 'results.json');
export const CIFAR10_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
