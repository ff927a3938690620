/**
 * Tenant API keys: 192 random bits from the platform CSPRNG, shown once, stored only as their
 * SHA-256. A plain (unsalted) hash is enough because the keys are random, not passwords: there is
 * nothing to guess from the hash, and an unsalted hash can be looked up directly (one KV read).
 */
const KEY_BYTES = 24;
export const API_KEY_PREFIX = 'pe_';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A new key: "pe_" + 48 hex digits. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + hex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/** Lower-case hex SHA-256 of the key's UTF-8 bytes: what the registry stores and looks up. */
export async function hashApiKey(key: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))));
}
