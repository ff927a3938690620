/**
 * `train-and-publish`, end to end, as named steps with typed outputs:
 *
 *   checkData -> splitData -> checkTarget -> embed (held-out) -> train -> evaluate -> report
 *   -> gate -> publish -> liveCheck
 *
 * Everything that can fail cheaply (data layout, target, token, model hash, tenant key) is checked
 * before the expensive training, and nothing is created on the server before the gate has passed.
 * The data, embed, train and evaluate steps are the ones `prompt-edge train` runs (src/train/steps).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, ModelMismatchError } from '../../core/errors.ts';
import { encodeLabelSet, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { loadCheckpoint, type ClipCheckpoint } from '../checkpoint.ts';
import { sampleFewShot } from '../coop/trainer.ts';
import type { ImageFolder } from '../data/image-folder.ts';
import type { EvalResult } from '../evaluate.ts';
import { writeFileAtomic } from '../files.ts';
import { assertDeviceAvailable, type Device } from '../ort-node.ts';
import { checkData, splitData, type DataSplit } from '../steps/data.ts';
import { embedItems, evaluateEmbedded, withEmbedder, type EmbeddedImages } from '../steps/embed.ts';
import { coopHead, fitHead, promptHead, type CoopSettings, type HeadMethod, type TrainStepResult } from '../steps/train.ts';
import type { StepUi } from '../steps/ui.ts';
import { AdminApiError, AdminClient, checkLabelSetName, checkTenantId, describePublished } from './admin-client.ts';
import { baselineGate, BelowBaselineError, isLearned, type GateDecision } from './baseline-gate.ts';
import { autoHead } from '../heads/auto.ts';
import { featureHead } from '../heads/methods.ts';
import type { ClassSplit } from './held-out.ts';
import { LiveCheckError, runLiveCheck, type LiveCheckResult, type OfflinePrediction } from './live-check.ts';
import { renderReportHtml, type ReportData } from './report-html.ts';
import { resolveTarget, TENANT_KEY_ENV, type Target } from './target.ts';

export const PUBLISH_METHODS = ['auto', 'coop', 'kgcoop', 'linear-zs', 'tip-adapter', 'tip-adapter-f', 'zeroshot', 'ensemble'] as const;
export type PublishMethod = (typeof PUBLISH_METHODS)[number];

/** CoOp's settings for a run (the same set `prompt-edge train` takes). */
export type CoopFlags = CoopSettings;

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

export interface PipelineUi extends StepUi {
  info(message: string): void;
  /** Called the moment a key exists, so it is never lost even if a later step fails. */
  newKey(tenant: string, key: string, what: 'created' | 'rotated'): void;
}

/** What summary.json holds (never a key). */
export interface RunSummary {
  /** evaluated: passed the gate, not (yet) uploaded; published: uploaded, live check not (yet) passed. */
  status: 'refused' | 'evaluated' | 'published' | 'live-check-failed' | 'ok';
  tenant: string;
  labelset: string;
  /** The method of the label set trained (for `auto`: the winner). */
  method: string;
  requested_method: PublishMethod;
  /** `--method auto`: each candidate's accuracy and log-likelihood (what ranks them) by cross-validation on the training images (never the held-out ones). */
  candidates: { method: string; validation_accuracy: number; validation_log_likelihood: number; seconds: number }[] | null;
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
  /** `created: false`: the worker already had these exact bytes as `version` (no new version). */
  published: { version: string; created: boolean; tenant_created: boolean; key_rotated: boolean } | null;
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

/** The "check target" step: is the target up, running our model, and do we hold a key for the live check? */
export interface TargetCheck {
  readonly target: Target;
  readonly client: AdminClient;
  readonly tenantExists: boolean;
  readonly plan: KeyPlan;
}

async function checkTarget(o: TrainAndPublishOptions, tenant: string, ckpt: ClipCheckpoint, ctx: PipelineContext, ui: PipelineUi): Promise<TargetCheck> {
  const target = resolveTarget(o.target, ctx);
  const client = new AdminClient(target);
  const { exists, plan } = await preflight(client, target, o, tenant, ckpt.served.sha256, ctx, ui);
  ui.info(`target ${target.baseUrl}: model ok; tenant ${tenant} ${exists ? 'exists' : 'will be created'}` +
    (plan.kind === 'given' ? ` (live check with the key from ${plan.source})` : plan.kind === 'rotate' ? ' (its key will be rotated for the live check)' : plan.kind === 'none' ? ' (live check disabled)' : ''));
  return { target, client, tenantExists: exists, plan };
}

/** The head a run trains: CoOp or KgCoOp, a feature head, the best of them (auto), or a label set from prompts alone. */
export function headFor(o: Pick<TrainAndPublishOptions, 'method' | 'coop'>): HeadMethod {
  switch (o.method) {
    case 'coop': return coopHead(o.coop);
    case 'kgcoop': return coopHead({ ...o.coop, knowledgeGuided: true });
    case 'auto': return autoHead();
    case 'zeroshot': case 'ensemble': return promptHead(o.method);
    default: return featureHead(o.method);
  }
}

/** The "evaluate" step's output: the label set with its metrics, and both results on the held-out images. */
export interface Evaluation {
  readonly artifact: LabelSetArtifact;
  readonly result: EvalResult;
  readonly zeroshot: EvalResult;
}

function evaluateStep(held: EmbeddedImages, split: DataSplit, trained: TrainStepResult, o: TrainAndPublishOptions, method: HeadMethod): Evaluation {
  const result = evaluateEmbedded(held, split.evalToTrainLabel, trained.head.artifact);
  const zeroshot = evaluateEmbedded(held, split.evalToTrainLabel, trained.zeroshot);
  const artifact: LabelSetArtifact = {
    ...trained.head.artifact,
    metrics: {
      ...trained.head.artifact.metrics, accuracy: result.accuracy, zeroshot_accuracy: zeroshot.accuracy, eval_n: result.n, eval: split.source,
      ...(method.usesImages ? { shots: split.shots } : {}), seed: o.seed,
    },
  };
  return { artifact, result, zeroshot };
}

/** The "report" step's output: the run folder's files, and a way to rewrite summary and report as later steps add to them. */
interface RunFiles {
  readonly outDir: string;
  readonly artifactPath: string;
  readonly reportPath: string;
  readonly bytes: Uint8Array;
  readonly summary: RunSummary;
  readonly reportData: ReportData;
  save(): void;
}

function reportStep(
  run: { tenant: string; name: string; t0: number; o: TrainAndPublishOptions; ctx: PipelineContext; ui: PipelineUi },
  data: { folder: ImageFolder; split: DataSplit; held: EmbeddedImages; ckpt: ClipCheckpoint; target: Target },
  fitted: TrainStepResult & { trainN: number },
  ev: Evaluation,
  gate: GateDecision,
  method: HeadMethod,
): RunFiles {
  const { tenant, name, o, ctx } = run;
  const { split, ckpt } = data;
  const head = fitted.head;
  const artifact = ev.artifact;
  const bytes = encodeLabelSet(artifact);
  const outDir = resolve(o.outDir ?? join(ctx.repoRoot, '.cache', 'runs', `${tenant}-${name}-${timestamp(ctx.now ?? new Date())}`));
  if (existsSync(join(outDir, 'summary.json'))) throw new InvalidArgumentError(`${outDir} already holds a run (summary.json): choose another --out-dir or remove it.`);
  const artifactPath = join(outDir, `${name}.safetensors`);
  const reportPath = join(outDir, 'report.html');
  const summaryPath = join(outDir, 'summary.json');
  writeFileAtomic(artifactPath, bytes);
  const truth = data.held.labelIndex.map((c) => split.evalToTrainLabel[c]!);
  const predictions: OfflinePrediction[] = data.held.files.map((file, i) => ({ file, truth: artifact.labels[truth[i]!]!, predicted: artifact.labels[ev.result.predictions[i]!]! }));
  const trainedMethod = artifact.method;
  const coopSummary: RunSummary['coop'] = trainedMethod === 'coop' || trainedMethod === 'kgcoop'
    ? { n_ctx: Number(artifact.extra['n_ctx']), csc: o.coop.csc, class_token_position: o.coop.classTokenPosition, ctx_init: o.coop.ctxInit ?? null, epochs: head.epochs, aug_views: o.coop.augViews }
    : null;
  const shots = method.usesImages ? split.shots : null;
  const summary: RunSummary = {
    status: gate.publish ? 'evaluated' : 'refused',
    tenant, labelset: name, method: trainedMethod, requested_method: o.method,
    candidates: head.selection ? head.selection.candidates.map((c) => ({ ...c })) : null,
    target: data.target.baseUrl, model_id: ckpt.modelId, model_sha256: ckpt.served.sha256,
    artifact: artifactPath, report: reportPath, artifact_version: artifact.version, data: data.folder.root,
    eval: { source: split.source, description: split.description, n: ev.result.n, per_class_split: split.perClass },
    shots, requested_shots: o.shots, seed: o.seed, train_n: fitted.trainN,
    accuracy: ev.result.accuracy, zeroshot_accuracy: ev.zeroshot.accuracy,
    per_class: Object.fromEntries(Object.entries(ev.result.per_class).map(([l, v]) => [l, { accuracy: v.accuracy, zeroshot_accuracy: ev.zeroshot.per_class[l]?.accuracy ?? null, n: v.n }])),
    labels: ev.result.labels, confusion: ev.result.confusion, zeroshot_confusion: ev.zeroshot.confusion, loss: head.lossPerEpoch, train_accuracy: head.accuracyPerEpoch, coop: coopSummary,
    gate: { publish: gate.publish, below_baseline: gate.belowBaseline, forced: gate.belowBaseline && o.force && isLearned(trainedMethod), message: gate.message },
    published: null, live_check: null, seconds: 0, predictions,
  };
  const reportData: ReportData = {
    tenant, name, method: trainedMethod, createdAt: artifact.createdAt, modelId: ckpt.modelId, artifactVersion: artifact.version, dataDir: data.folder.root,
    evalSource: split.description, trainN: fitted.trainN, shots, lossPerEpoch: head.lossPerEpoch, trainAccuracyPerEpoch: head.accuracyPerEpoch, result: ev.result, zeroshot: ev.zeroshot,
    gate: gate.verdict,
    settings: {
      method: trainedMethod, requested_method: o.method, seed: o.seed, target: data.target.baseUrl, ...(coopSummary ? { ...coopSummary, requested_shots: o.shots } : {}),
      ...(head.selection ? Object.fromEntries(head.selection.candidates.map((c) => [`validation: ${c.method}`, `${(c.validation_accuracy * 100).toFixed(1)}%, log-likelihood ${c.validation_log_likelihood.toFixed(3)}${c.method === head.selection!.winner ? ' (chosen)' : ''} (${head.selection!.folds}-fold cross-validation on the training images)`])) : {}),
    },
  };
  const save = () => {
    summary.seconds = (performance.now() - run.t0) / 1000;
    writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    writeFileAtomic(reportPath, renderReportHtml(reportData));
  };
  save();
  run.ui.info(`wrote ${artifactPath}, ${reportPath} and ${summaryPath}`);
  return { outDir, artifactPath, reportPath, bytes, summary, reportData, save };
}

/** The "publish" step's output: the key the live check uses, and one issued in this run. */
interface Published {
  readonly version: string;
  readonly liveKey: string | undefined;
  readonly newKey?: { key: string; what: 'created' | 'rotated' };
}

async function publishStep(server: TargetCheck, tenant: string, name: string, run: RunFiles, ui: PipelineUi): Promise<Published> {
  const { plan, client, target } = server;
  let liveKey: string | undefined = plan.kind === 'given' ? plan.key : undefined;
  let newKey: Published['newKey'];
  if (plan.kind === 'create' || plan.kind === 'rotate') {
    const k = plan.kind === 'create' ? await client.createTenant(tenant) : await client.rotateKey(tenant);
    newKey = { key: k.key, what: plan.kind === 'create' ? 'created' : 'rotated' };
    ui.newKey(tenant, k.key, newKey.what);
    liveKey = k.key;
  }
  const pub = await client.putLabelSet(tenant, name, run.bytes);
  run.summary.published = { version: pub.version, created: pub.created, tenant_created: plan.kind === 'create', key_rotated: plan.kind === 'rotate' };
  run.summary.status = 'published';
  run.reportData.publish = { target: target.baseUrl, version: pub.version, liveCheck: null };
  run.save();
  ui.info(`${describePublished(pub)} on ${target.baseUrl}`);
  return { version: pub.version, liveKey, ...(newKey ? { newKey } : {}) };
}

/** The "live check" step: the held-out images through the live endpoint must get the offline top-1 label. */
async function liveCheckStep(o: TrainAndPublishOptions, server: TargetCheck, name: string, run: RunFiles, published: Published, ui: PipelineUi): Promise<void> {
  const { summary, reportData } = run;
  if (!o.liveCheck || published.liveKey === undefined) {
    summary.live_check = { skipped: '--no-live-check' };
    run.save();
    ui.warn('live check skipped (--no-live-check): the live endpoint was not compared with the offline predictions.');
    return;
  }
  const predictions = summary.predictions;
  const bar = ui.progress('live check', Math.min(o.liveCheckMax, predictions.length));
  let live: LiveCheckResult;
  try {
    live = await runLiveCheck(server.client, predictions, {
      labelset: name, tenantKey: published.liveKey, expectedVersion: published.version, alsoAccept: [summary.artifact_version], max: o.liveCheckMax, waitMs: o.liveCheckWaitS * 1000,
      readFile: (p) => new Uint8Array(readFileSync(p)), onProgress: (d) => bar.update(d),
    });
  } finally {
    bar.stop();
  }
  const passed = live.mismatches.length === 0;
  summary.live_check = { ...live, passed };
  summary.status = passed ? 'ok' : 'live-check-failed';
  if (reportData.publish) reportData.publish.liveCheck = live;
  run.save();
  if (!passed) throw new LiveCheckError(live);
  ui.info(`live check passed: ${live.agreed}/${live.checked} held-out images got the same top-1 label from ${server.target.baseUrl} as offline` +
    (live.notSent ? ` (${live.notSent} more held-out images not sent: --live-check-max ${o.liveCheckMax})` : '') + '.');
}

export async function trainAndPublish(o: TrainAndPublishOptions, ctx: PipelineContext, ui: PipelineUi): Promise<TrainAndPublishResult> {
  const t0 = performance.now();
  const tenant = checkTenantId(o.tenant);
  const name = checkLabelSetName(o.labelset);
  const method = headFor(o);

  const checked = checkData({ data: o.data, evalData: o.evalData, skipBadImages: o.skipBadImages }, ui);
  const split = splitData(checked, { shots: o.shots, seed: o.seed });
  if (method.usesImages) ui.info(split.description);
  else ui.info(split.description.replace(/; training draws .*$/, '.') + ` (method ${o.method} trains nothing; the split keeps results comparable with coop runs of the same seed.)`);

  const ckpt = loadCheckpoint(o.model);
  const server = await checkTarget(o, tenant, ckpt, ctx, ui);

  const folder = checked.train;
  const { held, fitted } = await withEmbedder(ckpt, { device: o.device, cacheDir: o.cacheDir, skipBadImages: o.skipBadImages }, ui, async (e) => {
    // Held-out features before training: a file whose header is fine but whose pixels do not decode fails now, not after training.
    const held = await embedItems(e, split.eval.items);
    if (method.usesImages) assertDeviceAvailable(o.device);
    const items = method.usesImages ? sampleFewShot(split.pool.items, folder.labels, split.shots, o.seed, folder.root) : [];
    const fitted = await fitHead(method, { labels: folder.labels, root: folder.root, items, shots: split.shots, seed: o.seed }, e, { ckpt, device: o.device });
    return { held, fitted };
  });
  const head = fitted.head;
  if (head.selection) ui.info(`auto: ${head.selection.folds}-fold cross-validation on the training images: ${head.selection.candidates.map((c) => `${c.method} ${(c.validation_accuracy * 100).toFixed(1)}% (log-lik ${c.validation_log_likelihood.toFixed(3)})`).join(', ')}; chose ${head.selection.winner}`);
  if (method.usesImages) ui.info(`trained ${head.artifact.method} (${head.steps} steps) in ${head.trainSeconds.toFixed(1)} s${head.lossPerEpoch.length ? `; final loss ${head.lossPerEpoch.at(-1)?.toFixed(4)}` : ''}`);

  const evaluation = evaluateStep(held, split, fitted, o, method);
  const gate = baselineGate({ method: head.artifact.method, accuracy: evaluation.result.accuracy, zeroshotAccuracy: evaluation.zeroshot.accuracy, evalN: evaluation.result.n, force: o.force });
  const run = reportStep({ tenant, name, t0, o, ctx, ui }, { folder, split, held, ckpt, target: server.target }, fitted, evaluation, gate, method);

  if (!gate.publish) throw new BelowBaselineError(`${gate.message} (report: ${run.reportPath})`, evaluation.result.accuracy, evaluation.zeroshot.accuracy);
  // The accuracies are the run's headline (summary on stdout, report.html): the log gives the verdict.
  if (gate.belowBaseline) ui.warn(`baseline gate: ${gate.verdict}`);
  else ui.info(`baseline gate: ${gate.verdict}`);

  const published = await publishStep(server, tenant, name, run, ui);
  await liveCheckStep(o, server, name, run, published, ui);
  return { summary: run.summary, outDir: run.outDir, ...(published.newKey ? { newKey: published.newKey } : {}) };
}
