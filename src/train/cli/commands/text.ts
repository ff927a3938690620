/** `tokenize` and `embed-text`: the text side of CLIP from the command line. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { TextTower } from '../../text-tower.ts';
import { loadTokenizer, OPENAI_BPE } from '../../tokenizer-files.ts';
import { DEFAULT_MODEL_DIR } from '../common.ts';
import { emit } from '../output.ts';

export function registerTextCommands(program: Command): void {
  program
    .command('tokenize')
    .description('Token ids of each TEXT with the model\'s CLIP tokenizer (start/end tokens included, 77-token context). Reads only the tokenizer files.')
    .option('--model <dir>', 'Hugging Face CLIP folder; only its vocab.json + merges.txt are read', DEFAULT_MODEL_DIR)
    .option('--tokenizer <path>', `instead of --model: a folder with vocab.json + merges.txt, or OpenAI's ${OPENAI_BPE} (the file or its folder)`)
    .option('--json', 'print {"ids": [[...], ...]} and nothing else on stdout')
    .argument('<text...>', 'texts to tokenize; put them after -- when one starts with "-" or is empty')
    .addHelpText('after', `\nExamples:\n  npx prompt-edge tokenize --json -- "a photo of a cat." ""\n  npx prompt-edge tokenize --tokenizer ../shared/models/clip-bpe/${OPENAI_BPE} -- "a photo of a cat."`)
    .action(async (texts: string[], opts: { model: string; tokenizer?: string; json?: boolean }) => {
      if (opts.tokenizer === undefined && !(existsSync(opts.model) && statSync(opts.model).isDirectory())) {
        throw new InvalidArgumentError(`model folder not found: ${resolve(opts.model)}`);
      }
      const tokenizer = await loadTokenizer(opts.tokenizer ?? opts.model);
      const ids = texts.map((t) => tokenizer.encode(t));
      emit(opts, { ids }, () => ids.map((r, i) => `${JSON.stringify(texts[i])}\t${r.join(' ')}`).join('\n'));
    });

  program
    .command('embed-text')
    .description('L2-normalised CLIP text embeddings of each TEXT.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .option('--json', 'print {"embeddings": [[...], ...]} and nothing else on stdout')
    .argument('<text...>', 'texts to embed; put them after -- when one starts with "-" or is empty')
    .action(async (texts: string[], opts: { model: string; json?: boolean }) => {
      const ckpt = loadCheckpoint(opts.model);
      const tower = await TextTower.create(ckpt);
      try {
        const embeddings = (await tower.encodeIds(texts.map((t) => ckpt.tokenizer.encode(t)))).map((e) => Array.from(e));
        emit(opts, { embeddings }, () => embeddings.map((e, i) => `${JSON.stringify(texts[i])}\t[${e.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}, ...] (${e.length} dims)`).join('\n'));
      } finally {
        await tower.dispose();
      }
    });
}
