/**
 * The publish gate: a learned label set (CoOp, KgCoOp, a linear head, Tip-Adapter) that does worse
 * than plain zero-shot CLIP ("a photo of a {}.") on the held-out images is not worth shipping, so
 * it is refused unless the user says --force. Hand-written-prompt methods are not gated (there is nothing learned to
 * distrust), only reported.
 */
import { PromptEdgeError } from '../../core/errors.ts';

export interface GateInput {
  /** The trained label set's method (for `auto`: the winner). */
  method: string;
  accuracy: number;
  zeroshotAccuracy: number;
  evalN: number;
  force: boolean;
}

export interface GateDecision {
  publish: boolean;
  /** True when the label set is below the baseline (published only because of --force, or refused). */
  belowBaseline: boolean;
  /** The numbers and the verdict, for a line that stands alone (an error, summary.json). */
  message: string;
  /** The verdict alone, for where the numbers are already the headline (report.html, the run log). */
  verdict: string;
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** Hand-written-prompt label sets learn nothing, so there is nothing to distrust. */
export function isLearned(method: string): boolean {
  return method !== 'zeroshot' && method !== 'ensemble';
}

export function baselineGate(g: GateInput): GateDecision {
  const below = g.accuracy < g.zeroshotAccuracy;
  const compare = `${g.method} ${pct(g.accuracy)} vs zero-shot "a photo of a {}." ${pct(g.zeroshotAccuracy)} on ${g.evalN} held-out images`;
  const decide = (publish: boolean, verdict: string, message = `${compare}: ${verdict}`): GateDecision => ({ publish, belowBaseline: below, message, verdict });
  if (!below) return decide(true, 'at or above the baseline.');
  if (!isLearned(g.method)) return decide(true, 'below the baseline (only learned label sets are gated; publishing).');
  if (g.force) return decide(true, 'below the baseline, publishing anyway because of --force.');
  const advice = 'Try more --shots or --epochs, check the labels, or pass --force to publish it anyway.';
  return decide(
    false,
    `below the baseline: not published. ${advice}`,
    `refusing to publish: the ${g.method} label set scores below the zero-shot baseline (${compare}). ${advice}`,
  );
}

/** Thrown when the gate refuses; the CLI exits with code 2. */
export class BelowBaselineError extends PromptEdgeError {
  readonly accuracy: number;
  readonly zeroshotAccuracy: number;
  constructor(message: string, accuracy: number, zeroshotAccuracy: number) {
    super('invalid_data', message);
    this.accuracy = accuracy;
    this.zeroshotAccuracy = zeroshotAccuracy;
  }
}
