import { expect } from 'vitest';

/** The winner is the heads' best by log-likelihood, or a prompt classifier that beats it (pickWinner's rule). */
export function expectConsistentWinner(method: string, candidates: readonly { method: string; validation_log_likelihood: number }[]): void {
  const isPrompt = (m: string) => m === 'zeroshot' || m === 'ensemble';
  const bestHead = Math.max(...candidates.filter((c) => !isPrompt(c.method)).map((c) => c.validation_log_likelihood));
  const won = candidates.find((c) => c.method === method)!;
  if (isPrompt(method)) expect(won.validation_log_likelihood).toBeGreaterThan(bestHead);
  else expect(won.validation_log_likelihood).toBe(bestHead);
}
