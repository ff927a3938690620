/** `embed-image`: CLIP image embeddings of files, through the checkpoint's vision ONNX. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DataError } from '../../../core/errors.ts';
import { decodeImage, type ExifMode } from '../../../core/image/decode.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { initNodeImageCodecs } from '../../image-codecs-node.ts';
import { ImageTower } from '../../image-tower.ts';
import { DEFAULT_MODEL_DIR, EXIF_OPTION_HELP, parseExifOption } from '../common.ts';
import { emit } from '../output.ts';

export function registerImageCommands(program: Command): void {
  program
    .command('embed-image')
    .description('L2-normalised CLIP image embeddings of image files (JPEG, PNG, WebP, GIF, BMP, AVIF).')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .option('--exif <mode>', EXIF_OPTION_HELP, parseExifOption, 'apply')
    .option('--json', 'print {"embeddings": [[...], ...]} and nothing else on stdout')
    .argument('<file...>', 'image files (JPEG, PNG, WebP, GIF, BMP or AVIF)')
    .action(async (files: string[], opts: { model: string; json?: boolean; exif: ExifMode }) => {
      const ckpt = loadCheckpoint(opts.model);
      await initNodeImageCodecs();
      const images = [];
      for (const f of files) {
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(readFileSync(f));
        } catch (cause) {
          throw new DataError(`cannot read ${f}: ${(cause as Error).message}`, { cause });
        }
        try {
          images.push(await decodeImage(bytes, { exif: opts.exif }));
        } catch (cause) {
          throw new DataError(`${f}: ${(cause as Error).message}`, { cause });
        }
      }
      const tower = await ImageTower.create(ckpt);
      try {
        const embeddings = (await tower.embedImages(images)).map((e) => Array.from(e));
        emit(opts, { embeddings }, () => embeddings.map((e, i) => `${files[i]}\t[${e.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}, ...] (${e.length} dims)`).join('\n'));
      } finally {
        await tower.dispose();
      }
    });
}
