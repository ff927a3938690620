/**
 * SHA-256 in lower-case hex, with the platform's Web Crypto (Node and workerd alike): the form every
 * hash takes on the wire and in storage (a model's identity, a label set's `model_sha256`, an
 * artifact's checksum, an API key's stored hash).
 */

/** Lower-case hex of `bytes`, two digits a byte. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  return Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Lower-case hex SHA-256 of `data`; a string is hashed as its UTF-8 bytes. */
export async function sha256Hex(data: ArrayBuffer | Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}
