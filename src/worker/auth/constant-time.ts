/**
 * Key comparison whose running time does not depend on where (or whether) the strings differ.
 * Both sides are hashed first, so the loop always runs over 32 bytes whatever the key lengths,
 * and a length mismatch leaks nothing either.
 */
const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < da.length; i++) diff |= da[i]! ^ db[i]!;
  return diff === 0;
}
