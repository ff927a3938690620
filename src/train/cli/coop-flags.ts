/**
 * The CoOp flags, declared once for every command that trains CoOp (`train`, `train-and-publish`),
 * and turned into the library's `CoopSettings`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { ClassTokenPosition } from '../coop/prompt-learner.ts';
import type { CoopSettings } from '../steps/train.ts';
import { parseFloatOption, parseIntOption } from './common.ts';

export interface CoopFlagValues {
  nCtx?: number;
  ctxInit?: string;
  csc?: boolean;
  classTokenPosition: string;
  epochs?: number;
  lr: number;
  batchSize: number;
  augViews: number;
}

/**
 * How a command starts the context when the user names neither --n-ctx nor --ctx-init:
 * 'random' (the paper's 16 random vectors, `train`) or from words (`train-and-publish`: with few
 * shots a random context often ends below the zero-shot prompt it must beat, see docs/results.md).
 */
export type ContextDefault = { readonly kind: 'random'; readonly nCtx: number } | { readonly kind: 'words'; readonly ctxInit: string };

export function addCoopOptions(cmd: Command, init: ContextDefault, label = ''): Command {
  const nCtxHelp = init.kind === 'random'
    ? `${label}number of context vectors`
    : `${label}learn this many randomly initialised context vectors (the paper's default, 16) instead of starting from --ctx-init`;
  const ctxInitHelp = init.kind === 'random'
    ? `${label}initialise the context from these words (n_ctx becomes their token count)`
    : `${label}initialise the context from these words (default "${init.ctxInit}" unless --n-ctx is given: with few shots a randomly initialised context often ends below the zero-shot prompt it must beat, see docs/results.md)`;
  const nCtx = parseIntOption('--n-ctx', 1, 70);
  if (init.kind === 'random') cmd.option('--n-ctx <m>', nCtxHelp, nCtx, init.nCtx);
  else cmd.option('--n-ctx <m>', nCtxHelp, nCtx);
  return cmd
    .option('--ctx-init <text>', ctxInitHelp)
    .option('--csc', `${label}class-specific context (one context per class) instead of a unified one`)
    .option('--class-token-position <p>', `${label}where the class name goes: end | middle | front`, 'end')
    .option('--epochs <e>', `${label}epochs (default by shots: 50 for 1, 100 for 2-4, 200 for 8+)`, parseIntOption('--epochs', 1))
    .option('--lr <x>', `${label}SGD learning rate`, parseFloatOption('--lr', 0), 0.002)
    .option('--batch-size <b>', `${label}batch size`, parseIntOption('--batch-size', 1), 32)
    .option('--aug-views <n>', `${label}augmented views per training image besides the image itself (random resized crop 0.08-1 + flip; features cached). 0 = no augmentation, best on 32-px images (see docs/results.md)`, parseIntOption('--aug-views', 0, 1000), 0);
}

export function coopSettingsFrom(f: CoopFlagValues, init: ContextDefault): CoopSettings {
  if (!['end', 'middle', 'front'].includes(f.classTokenPosition)) throw new InvalidArgumentError(`--class-token-position must be end, middle or front, not "${f.classTokenPosition}".`);
  const ctxInit = f.ctxInit ?? (init.kind === 'words' && f.nCtx === undefined ? init.ctxInit : undefined);
  return {
    nCtx: f.nCtx, ctxInit, csc: !!f.csc, classTokenPosition: f.classTokenPosition as ClassTokenPosition, epochs: f.epochs,
    lr: f.lr, batchSize: f.batchSize, augViews: f.augViews,
  };
}
