/**
 * mulberry32: a tiny seeded generator from one 32-bit seed, [0, 1). In core (no Node or Worker
 * API) so that core, train and worker tests draw the same fixed sequences from one copy; the
 * trainer's own streams (sfc32, derived from --seed) are in src/train/random.ts.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
