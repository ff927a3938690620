/** `synth-model`: a CLIP checkpoint with seeded random weights at real sizes (for benchmarks). */
import type { Command } from 'commander';
import { parseSynthArch, type SynthArch } from '../../synth/architectures.ts';
import { writeSynthModel } from '../../synth/synth-model.ts';
import { OPENAI_BPE_PATH, REPO_ROOT, parseIntOption } from '../common.ts';
import { emit, info } from '../output.ts';

interface SynthOpts { arch: SynthArch; seed: number; out: string; json?: boolean; skipWholeModel?: boolean }

export function registerSynthModelCommand(program: Command): void {
  program
    .command('synth-model')
    .description('Write a Hugging Face CLIP folder with seeded random weights at real dimensions (config, model.safetensors, tokenizer files, preprocessor_config.json, onnx/vision_model.onnx, onnx/model.onnx). For timing and memory measurements: it classifies nothing.')
    .requiredOption('--arch <arch>', 'vit-b-32 | vit-b-16', parseSynthArch)
    .option('--seed <n>', 'random seed (same seed, same bytes)', parseIntOption('--seed', 0, 2 ** 32 - 1), 0)
    .requiredOption('--out <dir>', 'folder to write')
    .option('--skip-whole-model', 'do not write onnx/model.onnx (only the Transformers.js comparison needs it)')
    .option('--json', 'print a JSON summary and nothing else on stdout')
    .action(async (opts: SynthOpts) => {
      const summary = await writeSynthModel({
        arch: opts.arch,
        seed: opts.seed,
        out: opts.out,
        openAiBpePath: OPENAI_BPE_PATH,
        skipWholeModel: opts.skipWholeModel ?? false,
        onStep: (s) => info(`synth-model: ${s}`),
      });
      emit(opts, summary, () => `wrote ${summary.out}: ${summary.arch}, seed ${summary.seed}, ${summary.parameters.toLocaleString('en-US')} parameters, ${summary.tokenizer} tokenizer, ${summary.seconds.toFixed(1)} s`);
    });
}
