/**
 * `unescapeHtml`: a port of CPython's `html.unescape`, which OpenAI CLIP's `basic_clean` applies
 * (twice) to every prompt. Core code cannot import a DOM parser or `node:` modules, so the
 * replacement rules are reproduced here; see html-entities.ts for which names are known.
 */
import { LEGACY_ENTITY_NAMES, NAMED_ENTITIES } from './html-entities.ts';

// Same grammar as CPython's `_charref`: a name is up to 32 characters and may omit the `;`.
const CHAR_REF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

const NAMED = new Map<string, number>(Object.entries(NAMED_ENTITIES));

// HTML 5 maps C1 controls in numeric references to their windows-1252 meaning (CPython's
// `_invalid_charrefs`); 0x00 and 0x0d are fixed up as well.
const INVALID_CHARREFS = new Map<number, number>([
  [0x00, 0xfffd], [0x0d, 0x0d], [0x80, 0x20ac], [0x81, 0x81], [0x82, 0x201a], [0x83, 0x192],
  [0x84, 0x201e], [0x85, 0x2026], [0x86, 0x2020], [0x87, 0x2021], [0x88, 0x2c6], [0x89, 0x2030],
  [0x8a, 0x160], [0x8b, 0x2039], [0x8c, 0x152], [0x8d, 0x8d], [0x8e, 0x17d], [0x8f, 0x8f],
  [0x90, 0x90], [0x91, 0x2018], [0x92, 0x2019], [0x93, 0x201c], [0x94, 0x201d], [0x95, 0x2022],
  [0x96, 0x2013], [0x97, 0x2014], [0x98, 0x2dc], [0x99, 0x2122], [0x9a, 0x161], [0x9b, 0x203a],
  [0x9c, 0x153], [0x9d, 0x9d], [0x9e, 0x17e], [0x9f, 0x178],
]);

/** Code points a numeric reference may not produce; CPython drops them (`_invalid_codepoints`). */
function isDroppedCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

function replaceNumeric(ref: string): string {
  const body = ref.endsWith(';') ? ref.slice(0, -1) : ref;
  const hex = body[1] === 'x' || body[1] === 'X';
  // parseInt of a very long digit run gives a huge float or Infinity: still "> 0x10ffff" below.
  const cp = hex ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
  const fixed = INVALID_CHARREFS.get(cp);
  if (fixed !== undefined) return String.fromCodePoint(fixed);
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  if (isDroppedCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

function replaceNamed(ref: string): string {
  if (ref.endsWith(';')) {
    const cp = NAMED.get(ref.slice(0, -1));
    if (cp !== undefined) return String.fromCodePoint(cp);
  } else if (LEGACY_ENTITY_NAMES.has(ref)) {
    return String.fromCodePoint(NAMED.get(ref) as number);
  }
  // Like CPython: the longest legacy name that prefixes the run wins, the rest stays text.
  for (let end = ref.length - 1; end > 1; end--) {
    const prefix = ref.slice(0, end);
    if (LEGACY_ENTITY_NAMES.has(prefix)) {
      return String.fromCodePoint(NAMED.get(prefix) as number) + ref.slice(end);
    }
  }
  return `&${ref}`;
}

/** Replaces HTML character references (`&amp;`, `&#39;`, `&#x27;`, `&eacute;`) with their text. */
export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHAR_REF, (_match, ref: string) =>
    ref.startsWith('#') ? replaceNumeric(ref) : replaceNamed(ref),
  );
}
