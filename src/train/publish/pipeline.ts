/**
 * `train-and-publish`, end to end: check the data, split off held-out images, check the target
 * (reachable, same model, a tenant key for the live check), train or build the label set,
 * evaluate it against the zero-shot baseline, write artifact + report + summary, apply the
 * baseline gate, publish (creating the tenant if needed), then run the live check.
 *
 * Everything that can fail cheaply (data layout, target, token, model hash, tenant key) is checked
 * before the expensive training, and nothing is created on the server before the gate has passed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, ModelMismatchError } from '../../core/errors.ts';
import { encodeLabelSet, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE, DEFAULT_ENSEMBLE_TEMPLATES } from '../../core/templates.ts';
import { loadCheckpoint, type ClipCheckpoint } from '../checkpoint.ts';
import { writeFileAtomic } from '../cli/common.ts';
import type { ClassTokenPosition } from '../coop/prompt-learner.ts';
import { runCoopJob } from '../coop/train-job.ts';
import { sampleFewShot } from '../coop/trainer.ts';
import { checkImageFiles, loadImages, scanImageFolder, type ImageFolder } from '../data/image-folder.ts';
import { evaluateEmbeddings, mapDatasetLabels, type EvalResult } from '../evaluate.ts';
import { plainFeatures } from '../features/extract.ts';
import { FeatureCache } from '../features/feature-cache.ts';
import { ImageTower } from '../image-tower.ts';
import { buildPromptLabelSet } from '../labelset-builder.ts';
import type { Device } from '../ort-node.ts';
import { TextTower } from '../text-tower.ts';
import { AdminApiError, AdminClient, checkLabelSetName, checkTenantId } from './admin-client.ts';
import { baselineGate, BelowBaselineError, type GateDecision } from './baseline-gate.ts';
import { effectiveShots, splitHeldOut, type ClassSplit } from './held-out.ts';
import { LiveCheckError, runLiveCheck, type LiveCheckResult, type OfflinePrediction } from './live-check.ts';
import { renderReportHtml, type ReportData } from './report-html.ts';
import { resolveTarget, TENANT_KEY_ENV, type Target } from './target.ts';

export type PublishMethod = 'coop' | 'zeroshot' | 'ensemble';

export interface CoopFlags {
  nCtx?: number | undefined;
  ctxInit?: string | undefined;
  csc: boolean;
  classTokenPosition: ClassTokenPosition;
  epochs?: number | undefined;
  augViews: number;
}

export interface TrainAndPublishOptions {
  data: string;
  evalData?: string | undefined;
  tenant: string;
  labelset: string;
  method: PublishMethod;
  shots: number;
  seed: number;
  target: string;
  force: boolean;
  outDir?: string | undefined;
  model: string;
  coop: CoopFlags;
  device: Device;
  skipBadImages: boolean;
  /** Feature cache root; undefined = no disk cache. */
  cacheDir?: string | undefined;
  tenantKey?: string | undefined;
  rotateKey: boolean;
  liveCheck: boolean;
  liveCheckMax: number;
  liveCheckWaitS: number;
}

export interface PipelineContext {
  repoRoot: string;
  env: Readonly<Record<string, string | undefined>>;
  now?: Date;
}

export interface PipelineUi {
  info(message: string): void;
  warn(message: string): void;
  progress(title: string, total: number, extraFormat?: string): { update(done: number, payload?: Record<string, string | number>): void; stop(): void };
  /** Called the moment a key exists, so it is never lost even if a later step fails. */
  newKey(tenant: string, key: string, what: 'created' | 'rotated'): void;
}

/** What summary.json holds (never a key). */
export interface RunSummary {
  /** evaluated: passed the gate, not (yet) uploaded; published: uploaded, live check not (yet) passed. */
  status: 'refused' | 'evaluated' | 'published' | 'live-check-failed' | 'ok';
  tenant: string;
  labelset: string;
  method: PublishMethod;
  target: string;
  model_id: string;
  model_sha256: string;
  artifact: string;
  report: string;
  artifact_version: string;
  data: string;
  eval: { source: 'held-out' | 'eval-data'; description: string; n: number; per_class_split: ClassSplit[] | null };
  shots: number | null;
  requested_shots: number;
  seed: number;
  train_n: number;
  accuracy: number;
  zeroshot_accuracy: number;
  per_class: Record<string, { accuracy: number; zeroshot_accuracy: number | null; n: number }>;
  labels: string[];
  confusion: number[][];
  zeroshot_confusion: number[][];
  loss: number[];
  train_accuracy: number[];
  coop: { n_ctx: number; csc: boolean; class_token_position: string; ctx_init: string | null; epochs: number; aug_views: number } | null;
  gate: { publish: boolean; below_baseline: boolean; forced: boolean; message: string };
  published: { version: string; tenant_created: boolean; key_rotated: boolean } | null;
  live_check: (Omit<LiveCheckResult, 'mismatches'> & { passed: boolean; mismatches: LiveCheckResult['mismatches'] }) | { skipped: string } | null;
  seconds: number;
  predictions: OfflinePrediction[];
}

export interface TrainAndPublishResult {
  summary: RunSummary;
  outDir: string;
  /** A key issued during this run (tenant created or key rotated); shown once. */
  newKey?: { key: string; what: 'created' | 'rotated' };
}

type KeyPlan = { kind: 'create' } | { kind: 'rotate' } | { kind: 'given'; key: string; source: string } | { kind: 'none' };

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Is the target up, running our model, and do we hold a key for the live check? Nothing is changed on the server. */
async function preflight(client: AdminClient, target: Target, o: TrainAndPublishOptions, tenant: string, modelSha256: string, ctx: PipelineContext, ui: PipelineUi): Promise<{ exists: boolean; plan: KeyPlan }> {
  const health = await client.health();
  if (health.model_sha256 && health.model_sha256 !== modelSha256) {
    throw new ModelMismatchError(`the worker at ${target.baseUrl} serves model ${health.model ?? '?'} (sha256 ${health.model_sha256.slice(0, 12)}...), but --model ${o.model} has sha256 ${modelSha256.slice(0, 12)}...: a label set trained here would be refused. Use the worker's model (--model) or deploy this one.`);
  }
  if (!health.model_sha256) ui.warn(`${target.baseUrl}/healthz does not name its model's sha256; the upload will check it.`);
  const exists = (await client.listTenants()).tenants.some((t) => t.tenant === tenant);
  const given = o.tenantKey
    ? { key: o.tenantKey, source: '--tenant-key' }
    : ctx.env[TENANT_KEY_ENV]
      ? { key: ctx.env[TENANT_KEY_ENV]!, source: TENANT_KEY_ENV }
      : target.local && tenant === 'demo' && target.devVars['DEMO_API_KEY']
        ? { key: target.devVars['DEMO_API_KEY'], source: 'DEMO_API_KEY in .dev.vars' }
        : undefined;
  if (!exists) {
    if (given && given.source !== 'DEMO_API_KEY in .dev.vars') ui.warn(`tenant ${tenant} does not exist yet: ${given.source} is ignored; the tenant will be created with a new key.`);
    return { exists, plan: { kind: 'create' } };
  }
  if (o.rotateKey) return { exists, plan: { kind: 'rotate' } };
  if (given) {
    let owner: string;
    try {
      owner = (await client.ownLabelSets(given.key)).tenant;
    } catch (err) {
      if (err instanceof AdminApiError && (err.status === 401 || err.status === 403)) {
        throw new InvalidArgumentError(`the key from ${given.source} is not a valid key of tenant ${tenant} on ${target.baseUrl} (HTTP ${err.status}). Pass a current key, or --rotate-key to issue a new one.`, { cause: err });
      }
      throw err;
    }
    if (owner !== tenant) throw new InvalidArgumentError(`the key from ${given.source} belongs to tenant ${owner}, not ${tenant}.`);
    return { exists, plan: { kind: 'given', ...given } };
  }
  if (!o.liveCheck) return { exists, plan: { kind: 'none' } };
  throw new InvalidArgumentError(
    `tenant ${tenant} already exists on ${target.baseUrl}, and the live check after publishing needs one of its API keys (keys are stored only as hashes, so this tool cannot look one up). ` +
      `Pass --tenant-key KEY or set ${TENANT_KEY_ENV}; or --rotate-key to issue a new key (printed once; the tenant's old keys stop working); or --no-live-check to publish without checking the live endpoint.`,
  );
}

async function embedHeldOut(
  ckptArgs: { ckpt: ClipCheckpoint; device: Device; cacheDir: string | undefined; skipBadImages: boolean },
  folder: ImageFolder,
  ui: PipelineUi,
): Promise<{ feats: Float32Array[]; files: string[]; labelIndex: number[] }> {
  let bar = ui.progress('load eval images', folder.items.length);
  const loaded = await loadImages(folder.items, { skipBadImages: ckptArgs.skipBadImages, onWarning: ui.warn, onProgress: (d) => bar.update(d) });
  bar.stop();
  const tower = await ImageTower.create(ckptArgs.ckpt, { device: ckptArgs.device });
  try {
    const cache = new FeatureCache(ckptArgs.cacheDir, ckptArgs.ckpt.visionSha256, ckptArgs.ckpt.config.projection_dim);
    bar = ui.progress('eval features', loaded.length);
    const feats = await plainFeatures(tower, cache, loaded, { onProgress: (d) => bar.update(d) });
    bar.stop();
    return { feats, files: loaded.map((l) => l.item.path), labelIndex: loaded.map((l) => l.item.labelIndex) };
  } finally {
    await tower.dispose();
  }
}

export async function trainAndPublish(o: TrainAndPublishOptions, ctx: PipelineContext, ui: PipelineUi): Promise<TrainAndPublishResult> {
  const t0 = performance.now();
  const tenant = checkTenantId(o.tenant);
  const name = checkLabelSetName(o.labelset);

  // 1. The data: layout errors (missing folder, empty class, < 2 classes, duplicate names) and
  // unreadable or non-JPEG/PNG files surface here, before the split, so no seed can hide them.
  const fileCheck = { skipBadImages: o.skipBadImages, onWarning: ui.warn };
  const folder = checkImageFiles(scanImageFolder(o.data), fileCheck);
  let evalFolder: ImageFolder;
  let toLabel: number[];
  let pool: ImageFolder;
  let shots: number;
  let evalDescription: string;
  let perClassSplit: ClassSplit[] | null = null;
  if (o.evalData) {
    evalFolder = checkImageFiles(scanImageFolder(o.evalData, { minClasses: 1 }), fileCheck);
    toLabel = mapDatasetLabels(evalFolder.labels, folder.labels, evalFolder.root);
    shots = effectiveShots(o.shots, folder, 0);
    pool = folder;
    evalDescription = `evaluating on --eval-data ${evalFolder.root} (${evalFolder.items.length} images)` +
      (shots < o.shots ? `; --shots ${o.shots} capped to ${shots}, the size of the smallest class` : '') + '.';
  } else {
    const split = splitHeldOut(folder, { requestedShots: o.shots, seed: o.seed });
    evalFolder = split.heldOut;
    toLabel = folder.labels.map((_, i) => i);
    pool = split.pool;
    shots = split.shots;
    evalDescription = split.description;
    perClassSplit = split.perClass;
  }
  if (o.method === 'coop') ui.info(evalDescription);
  else ui.info(evalDescription.replace(/; training draws .*$/, '.') + ` (method ${o.method} trains nothing; the split keeps results comparable with coop runs of the same seed.)`);

  // 2. The target, before any expensive work.
  const target = resolveTarget(o.target, ctx);
  const client = new AdminClient(target);
  const ckpt = loadCheckpoint(o.model);
  const { exists, plan } = await preflight(client, target, o, tenant, ckpt.visionSha256, ctx, ui);
  ui.info(`target ${target.baseUrl}: model ok; tenant ${tenant} ${exists ? 'exists' : 'will be created'}` +
    (plan.kind === 'given' ? ` (live check with the key from ${plan.source})` : plan.kind === 'rotate' ? ' (its key will be rotated for the live check)' : plan.kind === 'none' ? ' (live check disabled)' : ''));

  // 3. Held-out features before training: a file whose header is fine but whose pixels do not decode fails now, not after training.
  const held = await embedHeldOut({ ckpt, device: o.device, cacheDir: o.cacheDir, skipBadImages: o.skipBadImages }, evalFolder, ui);
  const truth = held.labelIndex.map((c) => toLabel[c]!);

  // 4. Train (coop) or build (zeroshot / ensemble).
  let artifact: LabelSetArtifact;
  let zeroshot: LabelSetArtifact;
  let loss: number[] = [];
  let trainAcc: number[] = [];
  let trainN = 0;
  let coopSummary: RunSummary['coop'] = null;
  if (o.method === 'coop') {
    const trainSubset: ImageFolder = { root: folder.root, labels: folder.labels, items: sampleFewShot(pool.items, folder.labels, shots, o.seed, folder.root) };
    const r = await runCoopJob(ckpt, {
      shots, seed: o.seed, dataDir: o.data, trainSubset, augViews: o.coop.augViews, device: o.device, skipBadImages: o.skipBadImages, cacheDir: o.cacheDir,
      nCtx: o.coop.nCtx, ctxInit: o.coop.ctxInit, csc: o.coop.csc, classTokenPosition: o.coop.classTokenPosition, epochs: o.coop.epochs,
    }, { warn: ui.warn, progress: ui.progress });
    artifact = r.artifact;
    zeroshot = r.zeroshotArtifact;
    loss = r.lossPerEpoch;
    trainAcc = r.accuracyPerEpoch;
    trainN = r.trainN;
    coopSummary = {
      n_ctx: Number(r.artifact.extra['n_ctx']), csc: o.coop.csc, class_token_position: o.coop.classTokenPosition,
      ctx_init: o.coop.ctxInit ?? null, epochs: r.epochs, aug_views: o.coop.augViews,
    };
    ui.info(`trained ${r.steps} steps (${r.epochs} epochs) in ${r.trainSeconds.toFixed(1)} s; final loss ${r.lossPerEpoch.at(-1)?.toFixed(4)}`);
  } else {
    const tower = await TextTower.create(ckpt, { device: o.device });
    try {
      const templates = o.method === 'zeroshot' ? [CLIP_SINGLE_TEMPLATE] : [...DEFAULT_ENSEMBLE_TEMPLATES];
      artifact = await buildPromptLabelSet(ckpt, tower, folder.labels, templates, o.method);
      zeroshot = o.method === 'zeroshot' ? artifact : await buildPromptLabelSet(ckpt, tower, folder.labels, [CLIP_SINGLE_TEMPLATE], 'zeroshot');
    } finally {
      await tower.dispose();
    }
  }

  // 5. Evaluate against the baseline on the same held-out features.
  const result: EvalResult = evaluateEmbeddings(held.feats, truth, artifact);
  const zs: EvalResult = evaluateEmbeddings(held.feats, truth, zeroshot);
  const gate: GateDecision = baselineGate({ method: o.method, accuracy: result.accuracy, zeroshotAccuracy: zs.accuracy, evalN: result.n, force: o.force });
  artifact = {
    ...artifact,
    metrics: { ...artifact.metrics, accuracy: result.accuracy, zeroshot_accuracy: zs.accuracy, eval_n: result.n, eval: o.evalData ? 'eval-data' : 'held-out', ...(o.method === 'coop' ? { shots } : {}), seed: o.seed },
  };
  const bytes = encodeLabelSet(artifact);

  // 6. Artifact, summary and report, next to each other.
  const outDir = resolve(o.outDir ?? join(ctx.repoRoot, '.cache', 'runs', `${tenant}-${name}-${timestamp(ctx.now ?? new Date())}`));
  if (existsSync(join(outDir, 'summary.json'))) throw new InvalidArgumentError(`${outDir} already holds a run (summary.json): choose another --out-dir or remove it.`);
  const artifactPath = join(outDir, `${name}.safetensors`);
  const reportPath = join(outDir, 'report.html');
  const summaryPath = join(outDir, 'summary.json');
  writeFileAtomic(artifactPath, bytes);
  const predictions: OfflinePrediction[] = held.files.map((file, i) => ({ file, truth: artifact.labels[truth[i]!]!, predicted: artifact.labels[result.predictions[i]!]! }));
  const summary: RunSummary = {
    status: gate.publish ? 'evaluated' : 'refused',
    tenant, labelset: name, method: o.method, target: target.baseUrl, model_id: ckpt.modelId, model_sha256: ckpt.visionSha256,
    artifact: artifactPath, report: reportPath, artifact_version: artifact.version, data: folder.root,
    eval: { source: o.evalData ? 'eval-data' : 'held-out', description: evalDescription, n: result.n, per_class_split: perClassSplit },
    shots: o.method === 'coop' ? shots : null, requested_shots: o.shots, seed: o.seed, train_n: trainN,
    accuracy: result.accuracy, zeroshot_accuracy: zs.accuracy,
    per_class: Object.fromEntries(Object.entries(result.per_class).map(([l, v]) => [l, { accuracy: v.accuracy, zeroshot_accuracy: zs.per_class[l]?.accuracy ?? null, n: v.n }])),
    labels: result.labels, confusion: result.confusion, zeroshot_confusion: zs.confusion, loss, train_accuracy: trainAcc, coop: coopSummary,
    gate: { publish: gate.publish, below_baseline: gate.belowBaseline, forced: gate.belowBaseline && o.force && o.method === 'coop', message: gate.message },
    published: null, live_check: null, seconds: 0, predictions,
  };
  const reportData: ReportData = {
    tenant, name, method: o.method, createdAt: artifact.createdAt, modelId: ckpt.modelId, artifactVersion: artifact.version, dataDir: folder.root,
    evalSource: evalDescription, trainN, shots: o.method === 'coop' ? shots : null, lossPerEpoch: loss, trainAccuracyPerEpoch: trainAcc, result, zeroshot: zs,
    gate: gate.message,
    settings: {
      method: o.method, seed: o.seed, target: target.baseUrl, ...(coopSummary ? { ...coopSummary, requested_shots: o.shots } : {}),
    },
  };
  const save = () => {
    summary.seconds = (performance.now() - t0) / 1000;
    writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    writeFileAtomic(reportPath, renderReportHtml(reportData));
  };
  save();
  ui.info(`wrote ${artifactPath}, ${reportPath} and ${summaryPath}`);

  // 7. The gate.
  if (!gate.publish) throw new BelowBaselineError(`${gate.message} (report: ${reportPath})`, result.accuracy, zs.accuracy);
  if (gate.belowBaseline) ui.warn(gate.message);
  else ui.info(gate.message);

  // 8. Publish.
  let liveKey: string | undefined = plan.kind === 'given' ? plan.key : undefined;
  let newKey: TrainAndPublishResult['newKey'];
  if (plan.kind === 'create' || plan.kind === 'rotate') {
    const k = plan.kind === 'create' ? await client.createTenant(tenant) : await client.rotateKey(tenant);
    newKey = { key: k.key, what: plan.kind === 'create' ? 'created' : 'rotated' };
    ui.newKey(tenant, k.key, newKey.what);
    liveKey = k.key;
  }
  const pub = await client.putLabelSet(tenant, name, bytes);
  summary.published = { version: pub.version, tenant_created: plan.kind === 'create', key_rotated: plan.kind === 'rotate' };
  summary.status = 'published';
  reportData.publish = { target: target.baseUrl, version: pub.version, liveCheck: null };
  save();
  ui.info(`published ${tenant}/${name} version ${pub.version} (${pub.method}, ${pub.labels.length} labels) to ${target.baseUrl}`);

  // 9. Live check.
  if (!o.liveCheck || liveKey === undefined) {
    summary.live_check = { skipped: '--no-live-check' };
    save();
    ui.warn('live check skipped (--no-live-check): the live endpoint was not compared with the offline predictions.');
    return { summary, outDir, ...(newKey ? { newKey } : {}) };
  }
  const bar = ui.progress('live check', Math.min(o.liveCheckMax, predictions.length));
  let live: LiveCheckResult;
  try {
    live = await runLiveCheck(client, predictions, {
      labelset: name, tenantKey: liveKey, expectedVersion: pub.version, alsoAccept: [artifact.version], max: o.liveCheckMax, waitMs: o.liveCheckWaitS * 1000,
      readFile: (p) => new Uint8Array(readFileSync(p)), onProgress: (d) => bar.update(d),
    });
  } finally {
    bar.stop();
  }
  const passed = live.mismatches.length === 0;
  summary.live_check = { ...live, passed };
  summary.status = passed ? 'ok' : 'live-check-failed';
  reportData.publish.liveCheck = live;
  save();
  if (!passed) throw new LiveCheckError(live);
  ui.info(`live check passed: ${live.agreed}/${live.checked} held-out images got the same top-1 label from ${target.baseUrl} as offline` +
    (live.notSent ? ` (${live.notSent} more held-out images not sent: --live-check-max ${o.liveCheckMax})` : '') + '.');
  return { summary, outDir, ...(newKey ? { newKey } : {}) };
}
