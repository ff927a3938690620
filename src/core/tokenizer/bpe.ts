/**
 * The byte-pair merge loop of OpenAI CLIP's `SimpleTokenizer.bpe` (and GPT-2's), on one word that
 * has already been mapped to byte symbols.
 */

/** The marker CLIP appends to the last symbol of every word. */
export const END_OF_WORD = '</w>';

/** A merge rule `[left, right]`; its index in the merges list is its rank (lower merges first). */
export type MergeRule = readonly [string, string];

/** Lookup key of a symbol pair. Byte symbols never contain a space, so the key is unambiguous. */
function pairKey(left: string, right: string): string {
  return `${left} ${right}`;
}

export class BytePairEncoder {
  private readonly ranks = new Map<string, number>();

  constructor(merges: readonly MergeRule[]) {
    // Later duplicates override earlier ones, as in Python's dict(zip(merges, range(...))).
    merges.forEach(([left, right], rank) => this.ranks.set(pairKey(left, right), rank));
  }

  /**
   * The BPE tokens of one word of byte symbols (non-empty), the last one ending in `</w>`.
   * Each round merges every non-overlapping occurrence, left to right, of the lowest-ranked
   * adjacent pair, until no adjacent pair has a rank.
   */
  encodeWord(byteSymbols: string): string[] {
    // Byte symbols are all below U+0144, so one UTF-16 unit each.
    let parts = byteSymbols.split('');
    const last = parts.length - 1;
    parts[last] = `${parts[last] as string}${END_OF_WORD}`;

    while (parts.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.ranks.get(pairKey(parts[i] as string, parts[i + 1] as string));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;

      const left = parts[bestIndex] as string;
      const right = parts[bestIndex + 1] as string;
      const merged: string[] = parts.slice(0, bestIndex);
      for (let i = bestIndex; i < parts.length; ) {
        if (i < parts.length - 1 && parts[i] === left && parts[i + 1] === right) {
          merged.push(left + right);
          i += 2;
        } else {
          merged.push(parts[i] as string);
          i += 1;
        }
      }
      parts = merged;
    }
    return parts;
  }
}
