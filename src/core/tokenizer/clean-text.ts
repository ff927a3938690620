/**
 * `cleanText`: the text normalisation OpenAI CLIP's SimpleTokenizer applies before splitting:
 * `whitespace_clean(basic_clean(text)).lower()`.
 *
 * What is done, in this order:
 *  1. Unicode NFC (the one ftfy step that matters for ordinary text; HF's tokenizer.json does it too).
 *  2. HTML unescape, twice, like `basic_clean` (`&amp;amp;` -> `&`); see html-unescape.ts.
 *  3. Whitespace runs collapse to one space and the ends are stripped (Python's `\s`, i.e.
 *     `str.isspace`, which unlike JS's `\s` includes U+001C..U+001F and U+0085 but not U+FEFF).
 *  4. Lower-casing (`toLowerCase`, the same full Unicode mapping as Python's `str.lower`).
 *
 * What is not done: the rest of ftfy's `fix_text` (mojibake repair, curly quotes to straight,
 * ligature and full-width folding, control-character removal, terminal escapes). Text that needs
 * those repairs can tokenize differently from OpenAI's reference; clean, well-encoded text (class
 * names, prompt templates) tokenizes identically.
 */
import { unescapeHtml } from './html-unescape.ts';

const PY_WHITESPACE_RUN =
  /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

const EDGE_SPACE = /^ | $/g;

export function cleanText(text: string): string {
  const unescaped = unescapeHtml(unescapeHtml(text.normalize('NFC')));
  // Not String.trim(): after the collapse only single spaces are Python whitespace, and trim()
  // would also drop U+FEFF, which Python keeps.
  return unescaped.replace(PY_WHITESPACE_RUN, ' ').replace(EDGE_SPACE, '').toLowerCase();
}
