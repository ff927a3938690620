import { describe, expect, it } from 'vitest';
import { BYTE_SYMBOLS_IN_VOCAB_ORDER, BYTE_TO_UNICODE, toByteSymbols, UNICODE_TO_BYTE } from '../../src/core/tokenizer/bytes-to-unicode.ts';
import { cleanText } from '../../src/core/tokenizer/clean-text.ts';
import { unescapeHtml } from '../../src/core/tokenizer/html-unescape.ts';
import { splitWords } from '../../src/core/tokenizer/pre-tokenize.ts';

describe('unescapeHtml', () => {
  // Expected values printed by CPython 3.11's html.unescape.
  const cases: Array<[string, string]> = [
    ['no entities', 'no entities'],
    ['a &amp; b', 'a & b'],
    ['&lt;p&gt;', '<p>'],
    ['&quot;hi&quot; &apos;x&apos;', `"hi" 'x'`],
    ['&#39;&#x27;&#X27;', "'''"],
    ['&#233;&#xe9;', 'éé'],
    ['&eacute;&Eacute;', 'éÉ'],
    ['&eacute', 'é'],
    ['&amp', '&'],
    ['&ampx', '&x'],
    ['&notit;', '¬it;'],
    ['&notin;', '∉'],
    ['&hellip;&mdash;&euro;', '…—€'],
    ['&hellip', '&hellip'],
    ['&#128;&#x9f;', '€Ÿ'],
    ['&#0;', '\ufffd'],
    ['&#13;', '\r'],
    ['&#1;x', 'x'],
    ['&#xD800;', '\ufffd'],
    ['&#1114112;', '\ufffd'],
    ['&#99999999999999999999;', '\ufffd'],
    ['&;', '&;'],
    ['& amp;', '& amp;'],
    ['&amp;amp;', '&amp;'],
    ['&unknownentityname;', '&unknownentityname;'],
    ['&constructor;', '&constructor;'],
    ['&copy 2024', '© 2024'],
    ['&#65', 'A'],
    ['&#x41x', 'Ax'],
  ];
  it.each(cases)('%j -> %j', (input, expected) => {
    expect(unescapeHtml(input)).toBe(expected);
  });
});

describe('cleanText', () => {
  it('unescapes twice, collapses and strips whitespace, lower-cases', () => {
    expect(cleanText('  Rock &amp;amp;\n\tRoll\u00a0\u3000NOW  ')).toBe('rock & roll now');
  });
  it('composes to NFC', () => {
    expect(cleanText('Cafe\u0301')).toBe('café');
  });
  it("uses Python's whitespace set, not JavaScript's", () => {
    // U+001F and U+0085 are whitespace to Python's str.isspace, U+FEFF is not.
    expect(cleanText('a\u001fb\u0085c')).toBe('a b c');
    expect(cleanText('\ufeffa\ufeff')).toBe('\ufeffa\ufeff');
  });
});

describe('splitWords', () => {
  it('keeps letter runs, splits digits one by one, groups punctuation, skips spaces', () => {
    expect(splitWords("it's 2024!! c++ é日本")).toEqual(['it', "'s", '2', '0', '2', '4', '!!', 'c', '++', 'é日本']);
  });
  it('keeps contractions and special-token literals whole', () => {
    expect(splitWords("we'll they're<|endoftext|>")).toEqual(['we', "'ll", 'they', "'re", '<|endoftext|>']);
  });
  it('treats U+FEFF as punctuation, like Python regex', () => {
    expect(splitWords('a\ufeff')).toEqual(['a', '\ufeff']);
  });
  it('returns nothing for empty text', () => {
    expect(splitWords('')).toEqual([]);
  });
});

describe('bytes_to_unicode', () => {
  it('is a bijection onto 256 single characters', () => {
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    BYTE_TO_UNICODE.forEach((symbol, byte) => expect(UNICODE_TO_BYTE.get(symbol)).toBe(byte));
  });
  it('maps printable bytes to themselves and the rest from U+0100', () => {
    expect(BYTE_TO_UNICODE[0x61]).toBe('a');
    expect(BYTE_TO_UNICODE[0x20]).toBe('Ġ');
    expect(BYTE_TO_UNICODE[0x00]).toBe('Ā');
    expect(BYTE_TO_UNICODE[0xad]).toBe('Ń');
    expect(toByteSymbols('é')).toBe('Ã©');
  });
  it('lists symbols in vocabulary order: printable first', () => {
    expect(BYTE_SYMBOLS_IN_VOCAB_ORDER[0]).toBe('!');
    expect(BYTE_SYMBOLS_IN_VOCAB_ORDER[187]).toBe('ÿ');
    expect(BYTE_SYMBOLS_IN_VOCAB_ORDER[188]).toBe('Ā');
    expect(BYTE_SYMBOLS_IN_VOCAB_ORDER[255]).toBe('Ń');
  });
});
