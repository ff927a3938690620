/** `train-and-publish`: from a folder of labelled images to a live, checked label set on a worker. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { pct } from '../../publish/baseline-gate.ts';
import { PUBLISH_METHODS, trainAndPublish, type PublishMethod, type RunSummary } from '../../publish/pipeline.ts';
import { ADMIN_TOKEN_ENV, TENANT_KEY_ENV } from '../../publish/target.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_SEED, parseIntOption, REPO_ROOT } from '../common.ts';
import { addCoopOptions, coopSettingsFrom, type CoopFlagValues } from '../coop-flags.ts';
import { emit, info, warn } from '../output.ts';
import { progressBar } from '../progress.ts';
import { keyNotice, TARGET_OPTION_HELP } from '../targets.ts';

interface Flags extends CoopFlagValues {
  data: string; tenant: string; labelset: string; method: string; shots: number; evalData?: string; seed: number; target: string;
  force?: boolean; outDir?: string; json?: boolean; model: string; device: string; skipBadImages?: boolean; cache: boolean; cacheDir: string;
  tenantKey?: string; rotateKey?: boolean; liveCheck: boolean; liveCheckMax: number; liveCheckWait: number;
}

const HELP_AFTER = `
What it does, in order:
  1. checks --data (DIR/<label>/<images>: no empty class folder, at least 2 classes, no two
     folders naming the same label after normalisation); without --eval-data it holds out about
     20% of each class (at least 1, seeded, never leaving fewer than --shots for training;
     --shots is capped so every class keeps a held-out image) and says what it did.
  2. checks the target before any training: reachable, same model (sha256), the admin token works,
     and a tenant key for the live check is at hand (see "Tenant keys").
  3. trains or builds the label set. --method auto (the default) compares zeroshot, ensemble,
     linear-zs, tip-adapter and tip-adapter-f by 5-fold cross-validation on the training images
     (never the held-out ones), trains the best on all of them (by validation log-likelihood;
     zeroshot and ensemble must beat the best head by 2 standard errors), and lists every
     candidate's validation accuracy and log-likelihood in the output, summary.json and report.html. Or one method: coop or
     kgcoop (prompts learned through the text tower: minutes), linear-zs, tip-adapter,
     tip-adapter-f (seconds, on cached image features), zeroshot or ensemble (no training).
  4. evaluates it and the zero-shot baseline ("a photo of a {}.") on the held-out images, and writes
     to --out-dir: <labelset>.safetensors, report.html (loss curve, accuracy per class, confusion
     matrix) and summary.json.
  5. refuses to publish a learned label set that scores below the baseline (exit code 2; --force
     publishes it anyway).
  6. publishes: creates the tenant when it does not exist (its API key is printed once, on stderr,
     and under --json also in the output document) and uploads the label set as a new version.
  7. live check: sends the held-out images (up to --live-check-max, spread over the classes) to
     POST /v1/classify?labelset=NAME with the tenant key and requires the same top-1 label as
     offline for every one; fails (exit code 2) with the list of mismatching files otherwise.

Tenant keys (for the live check when the tenant already exists):
  --tenant-key KEY, else $${TENANT_KEY_ENV}, else (--target local, tenant demo) DEMO_API_KEY from
  .dev.vars. The key is verified before training. Without one the command stops before training
  and asks for a key; --rotate-key issues a new one instead (printed once; the tenant's old keys
  stop working) and --no-live-check publishes without the check.

Targets:
  --target local        the \`npm start\` worker (127.0.0.1, port $PORT, else the last \`npm start\`'s, else 8787);
                        admin token: ADMIN_TOKEN in .dev.vars
  --target https://...  a deployed worker; admin token: $${ADMIN_TOKEN_ENV}

Exit codes: 0 published and live check passed (or skipped); 2 bad input, refused by the baseline
gate, a server error, or a failed live check; 1 internal error.

Example:
  npm start   # in another shell
  npm run train-and-publish -- --data ../shared/datasets/cifar10-fewshot/train --tenant acme --shots 4 --target local`;

/** With few shots a random context often ends below the zero-shot prompt it must beat: start from words. */
const CONTEXT_DEFAULT = { kind: 'words', ctxInit: 'a photo of a' } as const;

export function registerTrainAndPublishCommand(program: Command): void {
  const cmd = program
    .command('train-and-publish')
    .description('Check a folder of labelled images, train (the best head by cross-validation, or the --method given) or build a label set, evaluate it against zero-shot, publish it to a tenant on a worker and check the live endpoint.')
    .requiredOption('--data <dir>', 'image folder: DIR/<label>/<images> (JPEG or PNG)')
    .requiredOption('--tenant <t>', 'tenant id (created if it does not exist)')
    .option('--labelset <name>', 'label set name to publish under', 'default')
    .option('--method <m>', 'auto | coop | kgcoop | linear-zs | tip-adapter | tip-adapter-f | zeroshot | ensemble (see 3. below)', 'auto')
    .option('--shots <k>', 'training images per class (coop), capped by what the classes have', parseIntOption('--shots', 1), 16)
    .option('--eval-data <dir>', 'separate evaluation folder (default: hold out ~20% of --data per class)')
    .option('--seed <s>', 'random seed (held-out split, few-shot sampling, training); the run summary says which was used', parseIntOption('--seed', 0), DEFAULT_SEED)
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--force', 'publish a coop label set even if it scores below the zero-shot baseline')
    .option('--out-dir <dir>', 'where to write the artifact, report.html and summary.json (default .cache/runs/<tenant>-<labelset>-<UTC timestamp>/)')
    .option('--json', 'print the run summary as one JSON document on stdout (plus "tenant_key" when a key was issued)');
  addCoopOptions(cmd, CONTEXT_DEFAULT, 'coop: ')
    .option('--model <dir>', 'Hugging Face CLIP folder (must be the model the worker serves)', DEFAULT_MODEL_DIR)
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--skip-bad-images', 'skip unreadable images with a warning instead of failing')
    .option('--cache-dir <dir>', 'image feature cache', resolve(REPO_ROOT, '.cache'))
    .option('--no-cache', 'do not read or write the feature cache')
    .option('--tenant-key <key>', `an API key of the (existing) tenant, for the live check (or $${TENANT_KEY_ENV})`)
    .option('--rotate-key', 'existing tenant without a key at hand: issue a new key for the live check (old keys stop working)')
    .option('--no-live-check', 'publish without classifying the held-out images through the live endpoint')
    .option('--live-check-max <n>', 'most held-out images to send in the live check', parseIntOption('--live-check-max', 1), 200)
    .option('--live-check-wait <s>', 'how long to wait for the new version to be served (deployed workers propagate through KV)', parseIntOption('--live-check-wait', 0, 3600), 90)
    .addHelpText('after', HELP_AFTER)
    .action(async (f: Flags, cmd: Command) => {
      const seedDefault = cmd.getOptionValueSource('seed') === 'default';
      if (!(PUBLISH_METHODS as readonly string[]).includes(f.method)) throw new InvalidArgumentError(`--method must be one of ${PUBLISH_METHODS.join(', ')}, not "${f.method}".`);
      const coop = coopSettingsFrom(f, CONTEXT_DEFAULT);
      if (f.device !== 'cpu' && f.device !== 'cuda') throw new InvalidArgumentError(`--device must be cpu or cuda, not "${f.device}".`);
      const r = await trainAndPublish({
        data: f.data, evalData: f.evalData, tenant: f.tenant, labelset: f.labelset, method: f.method as PublishMethod, shots: f.shots, seed: f.seed,
        target: f.target, force: !!f.force, outDir: f.outDir, model: f.model, device: f.device,
        coop,
        skipBadImages: !!f.skipBadImages, cacheDir: f.cache ? f.cacheDir : undefined,
        tenantKey: f.tenantKey, rotateKey: !!f.rotateKey, liveCheck: f.liveCheck, liveCheckMax: f.liveCheckMax, liveCheckWaitS: f.liveCheckWait,
      }, { repoRoot: REPO_ROOT, env: process.env }, {
        info, warn,
        progress: (title, total, extra) => progressBar(title, total, extra),
        newKey: (tenant, key, what) => process.stderr.write(`\n${'='.repeat(72)}\n${keyNotice(tenant, key, what)}\n${'='.repeat(72)}\n\n`),
      });
      const { predictions: _omit, ...doc } = r.summary;
      emit(f, { ...doc, out_dir: r.outDir, ...(r.newKey ? { tenant_key: r.newKey.key } : {}) }, () => humanSummary(r.summary, r.outDir, seedDefault));
    });
}

function humanSummary(s: RunSummary, outDir: string, seedDefault: boolean): string {
  const live = s.live_check;
  return [
    ...(s.candidates ? [`auto chose ${s.method} by cross-validation on the training images: ${s.candidates.map((c) => `${c.method} ${pct(c.validation_accuracy)} (log-lik ${c.validation_log_likelihood.toFixed(3)})`).join(', ')}`] : []),
    `${s.tenant}/${s.labelset}: ${s.method} ${pct(s.accuracy)} vs zero-shot ${pct(s.zeroshot_accuracy)} on ${s.eval.n} held-out images`,
    `seed ${s.seed}${seedDefault ? ' (the default; --seed <s> for another)' : ''}${s.shots !== null ? `, ${s.shots} shots` : ''}`,
    `published version ${s.published?.version ?? '-'} to ${s.target}`,
    live && 'skipped' in live ? `live check skipped (${live.skipped})` : live ? `live check passed: ${live.agreed}/${live.checked} agree` : '',
    `report: ${s.report}`,
    `run folder: ${outDir}`,
  ].filter(Boolean).join('\n');
}
