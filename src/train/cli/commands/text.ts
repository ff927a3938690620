/** `tokenize` and `embed-text`: the text side of CLIP from the command line. */
import type { Command } from 'commander';
import { loadCheckpoint } from '../../checkpoint.ts';
import { TextTower } from '../../text-tower.ts';
import { DEFAULT_MODEL_DIR } from '../common.ts';
import { emit } from '../output.ts';

export function registerTextCommands(program: Command): void {
  program
    .command('tokenize')
    .description('Token ids of each TEXT with the model\'s CLIP tokenizer (start/end tokens included, 77-token context).')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .option('--json', 'print {"ids": [[...], ...]} and nothing else on stdout')
    .argument('<text...>', 'texts to tokenize; put them after -- when one starts with "-" or is empty')
    .addHelpText('after', '\nExample:\n  npx prompt-edge tokenize --json -- "a photo of a cat." ""')
    .action((texts: string[], opts: { model: string; json?: boolean }) => {
      const ckpt = loadCheckpoint(opts.model);
      const ids = texts.map((t) => ckpt.tokenizer.encode(t));
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
