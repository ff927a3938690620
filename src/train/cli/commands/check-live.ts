/**
 * `check-live`: classify an image folder through a running worker and compare, file by file, with
 * what `prompt-edge eval` predicts offline for the same label set. The proof that the edge serves
 * exactly the classifier that was evaluated.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { readLabelSetFile } from '../../labelset-files.ts';
import { AdminClient } from '../../publish/admin-client.ts';
import { runLiveCheck } from '../../publish/live-check.ts';
import { embedAndEvaluateFolder } from '../../steps/embed.ts';
import { DEFAULT_MODEL_DIR, parseIntOption } from '../common.ts';
import { emit, warn } from '../output.ts';
import { progressBar } from '../progress.ts';
import { classifyTarget } from '../targets.ts';

export function registerCheckLiveCommand(program: Command): void {
  program
    .command('check-live')
    .description('Classify an image folder through a running worker and compare each top-1 label with the offline prediction of the same label set.')
    .option('--model <dir>', 'Hugging Face CLIP folder (the model the worker serves)', DEFAULT_MODEL_DIR)
    .requiredOption('--labelset <file>', 'the label set artifact the worker serves (.safetensors)')
    .option('--name <name>', 'the label set\'s name on the worker', 'default')
    .requiredOption('--data <dir>', 'image folder: DIR/<label>/<images>')
    .option('--key <key>', 'tenant API key (default: DEMO_API_KEY from .dev.vars for --target local)')
    .option('--target <local|url>', 'local (the npm start worker) or the worker\'s base URL', 'local')
    .option('--max <n>', 'most images to send', parseIntOption('--max', 1), 100000)
    .option('--json', 'print {"n", "agreed", "offline_accuracy", "live_accuracy", "mismatches"} on stdout')
    .action(async (f: { model: string; labelset: string; name: string; data: string; key?: string; target: string; max: number; json?: boolean }) => {
      const target = classifyTarget(f.target);
      const key = f.key ?? target.devVars['DEMO_API_KEY'];
      if (!key) throw new InvalidArgumentError('--key is required (or DEMO_API_KEY in .dev.vars for --target local).');
      const ckpt = loadCheckpoint(f.model);
      const artifact = readLabelSetFile(f.labelset, ckpt);
      const r = await embedAndEvaluateFolder(ckpt, artifact, f.data, { skipBadImages: false }, { warn, progress: progressBar });
      // The true label of each file is its class folder's name.
      const offline = r.files.map((file, i) => ({ file, truth: file.split('/').at(-2) ?? '', predicted: r.labels[r.predictions[i]!]! }));
      const bar = progressBar('classify (live)', Math.min(offline.length, f.max));
      // No expected version: whatever version the worker serves is compared label by label.
      const live = await runLiveCheck(new AdminClient(target), offline, {
        labelset: f.name, tenantKey: key, expectedVersion: '', alsoAccept: [], readFile: (p) => new Uint8Array(readFileSync(p)), max: f.max, waitMs: 0,
        onProgress: (d) => bar.update(d),
      }).catch((e: unknown) => { bar.stop(); throw e; });
      bar.stop();
      const labelMismatches = live.mismatches.filter((m) => m.live !== m.offline);
      const checked = offline.slice(0, live.checked);
      const liveWrong = new Map(labelMismatches.map((m) => [m.file, m.live]));
      const liveCorrect = checked.filter((o) => (liveWrong.get(o.file) ?? o.predicted) === o.truth).length;
      const offlineCorrect = checked.filter((o) => o.predicted === o.truth).length;
      const doc = {
        n: live.checked, agreed: live.checked - labelMismatches.length, offline_accuracy: offlineCorrect / live.checked, live_accuracy: liveCorrect / live.checked,
        mismatches: labelMismatches.map((m) => ({ file: m.file, offline: m.offline, live: m.live })), seconds: live.seconds,
      };
      emit(f, doc, () => [
        `${doc.agreed}/${doc.n} images: live top-1 = offline top-1`,
        `accuracy offline ${(doc.offline_accuracy * 100).toFixed(2)}%, live ${(doc.live_accuracy * 100).toFixed(2)}%`,
        ...doc.mismatches.slice(0, 20).map((m) => `  mismatch ${m.file}: offline ${m.offline}, live ${m.live}`),
      ].join('\n'));
      if (labelMismatches.length > 0) process.exitCode = 1;
    });
}
