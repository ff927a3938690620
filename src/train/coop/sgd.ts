/**
 * CoOp's optimiser: PyTorch SGD (momentum, L2 weight decay added to the gradient, no dampening,
 * no Nesterov) and Dassl's schedule: one warm-up epoch at a constant lr, then cosine annealing over
 * max_epoch, stepped once per epoch.
 */
export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export class Sgd {
  private buf: Float32Array | undefined;
  constructor(private readonly opts: SgdOptions) {}

  /** In-place update of `param` with gradient `grad` at learning rate `lr`. */
  step(param: Float32Array, grad: Float32Array, lr: number): void {
    const { momentum, weightDecay } = this.opts;
    const first = this.buf === undefined;
    this.buf ??= new Float32Array(param.length);
    const buf = this.buf;
    for (let i = 0; i < param.length; i++) {
      const d = grad[i]! + weightDecay * param[i]!;
      buf[i] = first ? d : momentum * buf[i]! + d;
      param[i]! -= lr * buf[i]!;
    }
  }
}

/**
 * lr for a 0-based epoch, as Dassl's ConstantWarmupScheduler(CosineAnnealingLR(T_max=maxEpoch))
 * steps it: warmupLr during the warm-up epochs; then the cosine successor starts from its own
 * epoch 0 (= baseLr) and advances one step per epoch, so epoch e gets cos(pi (e - warmup) / T).
 */
export function coopLearningRate(epoch: number, maxEpoch: number, baseLr: number, warmupEpochs = 1, warmupLr = 1e-5): number {
  if (epoch < warmupEpochs) return warmupLr;
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * (epoch - warmupEpochs)) / maxEpoch));
}

/** CoOp's epochs per shot count: 50 for 1 shot, 100 for 2-4, 200 for 8-16 (and more). */
export function defaultEpochs(shots: number): number {
  if (shots <= 1) return 50;
  if (shots <= 4) return 100;
  return 200;
}
