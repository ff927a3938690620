/**
 * CLIP's pre-tokenisation: the regex that cuts cleaned text into words before BPE.
 *
 * OpenAI's pattern (Python `regex`, IGNORECASE):
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * Digits come out one by one (`[\p{N}]`), letters and punctuation in runs, and whitespace is
 * skipped. `\s` is spelled out as Unicode White_Space because JS's `\s` also matches U+FEFF, which
 * Python's `regex` treats as punctuation.
 *
 * Known difference: a non-letter that case-folds to a letter (in practice only U+0345, combining
 * ypogegrammeni) is a letter under JS's `iu` folding, while Python's `regex` drops it. A differential
 * run of 3,000 random strings against scripts/clip_tokenizer_reference.py found no other difference.
 */
const CLIP_SPLIT =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\p{L}\p{N}]+/giu;

/** The words of already-cleaned text, in order (special-token literals are kept whole). */
export function splitWords(cleaned: string): string[] {
  return cleaned.match(CLIP_SPLIT) ?? [];
}
