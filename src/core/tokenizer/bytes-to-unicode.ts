/**
 * GPT-2's `bytes_to_unicode` table, which CLIP reuses: every byte gets a printable, non-space
 * stand-in character so that BPE symbols are plain strings. Printable Latin-1 bytes map to
 * themselves; the other 68 bytes map to U+0100 onwards, in byte order.
 */
function buildByteToUnicode(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCharCode(printable ? byte : next++);
  }
  return table;
}

/** `BYTE_TO_UNICODE[b]` is the one-character symbol for byte `b`. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** The inverse of `BYTE_TO_UNICODE`, for decoding. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_UNICODE.map((symbol, byte) => [symbol, byte] as const),
);

/**
 * The 256 byte symbols in the order OpenAI's vocabulary lists them (`bytes_to_unicode().values()`):
 * the printable bytes first, then the remapped ones. Vocabulary ids 0..255 follow this order.
 */
export const BYTE_SYMBOLS_IN_VOCAB_ORDER: readonly string[] = (() => {
  const printable: string[] = [];
  const remapped: string[] = [];
  BYTE_TO_UNICODE.forEach((symbol) => (symbol.charCodeAt(0) < 256 ? printable : remapped).push(symbol));
  return [...printable, ...remapped];
})();

const encoder = new TextEncoder();

/** UTF-8 encodes `text` and maps each byte to its symbol (the input to BPE). */
export function toByteSymbols(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += BYTE_TO_UNICODE[byte] as string;
  return out;
}
