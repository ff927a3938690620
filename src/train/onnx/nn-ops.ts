/**
 * Neural-network building blocks on top of GraphBuilder, with their hand-derived backward
 * (vector-Jacobian product) counterparts. Each works in float32 and float64 graphs: where
 * onnxruntime's CPU provider lacks a double kernel (Erf; LayerNormalization's double statistics),
 * the float64 variant is composed from elementary ops that it does have.
 */
import { attrFloat, type GraphBuilder } from './graph-builder.ts';

export type Activation = 'quick_gelu' | 'gelu';

const QUICK_GELU_ALPHA = 1.702;

/** LayerNorm over the last axis. float32 uses the fused LayerNormalization op; float64 spells it out so it stays double end to end. */
export function layerNorm(g: GraphBuilder, x: string, gamma: string, beta: string, eps: number): string {
  if (g.dtype === 'float32') return g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: attrFloat(eps) });
  const { xhat } = normalize(g, x, eps);
  return g.op('Add', [g.op('Mul', [xhat, gamma]), beta]);
}

/** (x - mean) * rstd and rstd over the last axis, recomputed from x (cheaper to redo than to save). */
function normalize(g: GraphBuilder, x: string, eps: number): { xhat: string; rstd: string } {
  const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const xc = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
  const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.floatConst([eps], [])])])]);
  return { xhat: g.op('Mul', [xc, rstd]), rstd };
}

/**
 * d/dx of y = LayerNorm(x) * gamma + beta, given dy:
 *   dx = rstd * (dy*gamma - mean(dy*gamma) - xhat * mean(dy*gamma * xhat))
 */
export function layerNormBackward(g: GraphBuilder, dy: string, x: string, gamma: string, eps: number): string {
  const { xhat, rstd } = normalize(g, x, eps);
  const gdy = g.op('Mul', [dy, gamma]);
  const meanGdy = g.op('ReduceMean', [gdy], { axes: [-1], keepdims: 1 });
  const meanGdyXhat = g.op('ReduceMean', [g.op('Mul', [gdy, xhat])], { axes: [-1], keepdims: 1 });
  const inner = g.op('Sub', [g.op('Sub', [gdy, meanGdy]), g.op('Mul', [xhat, meanGdyXhat])]);
  return g.op('Mul', [inner, rstd]);
}

/** quick_gelu: x * sigmoid(1.702 x); gelu: 0.5 x (1 + erf(x / sqrt 2)). */
export function activation(g: GraphBuilder, act: Activation, x: string): string {
  if (act === 'quick_gelu') return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.floatConst([QUICK_GELU_ALPHA], [])])])]);
  const cdf = g.op('Mul', [g.op('Add', [erf(g, g.op('Mul', [x, g.floatConst([Math.SQRT1_2], [])])), g.floatConst([1], [])]), g.floatConst([0.5], [])]);
  return g.op('Mul', [x, cdf]);
}

/**
 * dy * act'(x).
 *   quick_gelu' = s (1 + 1.702 x (1 - s)), s = sigmoid(1.702 x)
 *   gelu'       = Phi(x) + x phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt 2)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
 */
export function activationBackward(g: GraphBuilder, act: Activation, dy: string, x: string): string {
  const one = g.floatConst([1], []);
  let deriv: string;
  if (act === 'quick_gelu') {
    const ax = g.op('Mul', [x, g.floatConst([QUICK_GELU_ALPHA], [])]);
    const s = g.op('Sigmoid', [ax]);
    deriv = g.op('Mul', [s, g.op('Add', [one, g.op('Mul', [ax, g.op('Sub', [one, s])])])]);
  } else {
    const cdf = g.op('Mul', [g.op('Add', [erf(g, g.op('Mul', [x, g.floatConst([Math.SQRT1_2], [])])), one]), g.floatConst([0.5], [])]);
    const pdf = g.op('Mul', [g.op('Exp', [g.op('Mul', [g.op('Mul', [x, x]), g.floatConst([-0.5], [])])]), g.floatConst([1 / Math.sqrt(2 * Math.PI)], [])]);
    deriv = g.op('Add', [cdf, g.op('Mul', [x, pdf])]);
  }
  return g.op('Mul', [dy, deriv]);
}

/** Terms of the Maclaurin series used below |x| < ERF_SPLIT, and depth of the continued fraction above it. */
const ERF_SPLIT = 2;
const ERF_SERIES_TERMS = 31;
const ERF_CF_DEPTH = 50;

/**
 * erf(x). float32 uses the Erf op. onnxruntime has no double Erf kernel, so float64 evaluates
 *   |x| < 2:  erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))             (31 terms)
 *   |x| >= 2: erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) (depth 50)
 * Both are accurate to about 1e-15 absolute on their ranges (checked against libm's erf), so finite
 * differences of a float64 gelu graph agree with its analytic derivative.
 */
export function erf(g: GraphBuilder, x: string): string {
  if (g.dtype === 'float32') return g.op('Erf', [x]);
  const split = g.floatConst([ERF_SPLIT], []);
  const a = g.op('Abs', [x]);
  const small = g.op('Min', [a, split]);
  const large = g.op('Max', [a, split]);

  const small2 = g.op('Mul', [small, small]);
  let factorial = 1;
  const coef = (n: number) => {
    if (n > 0) factorial *= n;
    return ((n % 2 === 0 ? 1 : -1) / (factorial * (2 * n + 1))) * (2 / Math.sqrt(Math.PI));
  };
  const coefs = Array.from({ length: ERF_SERIES_TERMS }, (_, n) => coef(n));
  let series = g.floatConst([coefs[ERF_SERIES_TERMS - 1]!], []);
  for (let n = ERF_SERIES_TERMS - 2; n >= 0; n--) series = g.op('Add', [g.op('Mul', [series, small2]), g.floatConst([coefs[n]!], [])]);
  const erfSmall = g.op('Mul', [series, small]);

  let cf = large;
  for (let k = ERF_CF_DEPTH; k >= 1; k--) cf = g.op('Add', [large, g.op('Div', [g.floatConst([k / 2], []), cf])]);
  const expTerm = g.op('Exp', [g.op('Neg', [g.op('Mul', [large, large])])]);
  const erfcLarge = g.op('Div', [g.op('Mul', [expTerm, g.floatConst([1 / Math.sqrt(Math.PI)], [])]), cf]);
  const erfLarge = g.op('Sub', [g.floatConst([1], []), erfcLarge]);

  const erfAbs = g.op('Where', [g.op('Less', [a, split]), erfSmall, erfLarge]);
  return g.op('Mul', [g.op('Sign', [x]), erfAbs]);
}
