/**
 * Secret comparison whose running time does not depend on where (or whether) the strings differ.
 */
const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Byte arrays of equal length compared without an early exit; different lengths are simply unequal. */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Both sides are hashed first, so the loop always runs over 32 bytes whatever the secrets' lengths,
 * and a length mismatch leaks nothing either.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  return timingSafeEqualBytes(da, db);
}
