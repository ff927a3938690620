/**
 * Buffers a request body under a byte limit: the declared Content-Length is checked first, and the
 * stream is counted while reading because Content-Length may be absent (chunked) or wrong.
 */

/** Buffers a body stream, failing with `tooLarge()` as soon as it passes `limit` bytes (the rest is never read). */
export async function readBodyWithLimit(body: ReadableStream<Uint8Array> | null, limit: number, tooLarge: () => Error): Promise<Uint8Array<ArrayBuffer>> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The whole body of `request`, refused before reading when Content-Length already says it is too large. */
export async function readRequestBody(request: Request, limit: number, tooLarge: () => Error): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) throw tooLarge();
  return readBodyWithLimit(request.body, limit, tooLarge);
}
