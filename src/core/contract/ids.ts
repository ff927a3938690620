/**
 * The identifiers of the HTTP API: tenant ids, label-set names and versions, model ids and
 * sha256s, API keys. The worker checks them on every request and the CLI before it sends one, so
 * each rule is written once here, with the sentence that explains it to a user.
 */
import { z } from 'zod';
import { PromptEdgeError } from '../errors.ts';
import { sha256Hex, toHex } from './sha256.ts';

/** Tenant ids: lower case, so URLs and storage keys stay unambiguous (and contain no "/" or ":"). */
export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TENANT_ID_RULE = '1-63 characters of lower-case letters, digits, "_" or "-", starting with a letter or digit';

/** Label-set names, as in the classify query (`labelset=`) and the admin URLs. */
export const LABEL_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const LABEL_SET_NAME_RULE = '1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit';

/** The label set classify uses when the request names none. */
export const DEFAULT_LABEL_SET = 'default';

/** Store-assigned label-set versions: "1", "2", ... (never reused for a name, even after a delete). */
export const LABEL_SET_VERSION = /^[1-9]\d{0,15}$/;

/** A lower-case hex sha256: a vision model's identity is the sha256 of its vision_model.onnx. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A rate-limit tier: the suffix of a RATE_LIMIT_<TIER> binding, in lower case. */
export const TIER_NAME = /^[a-z0-9][a-z0-9_]{0,31}$/;

/** A vision model's display id, e.g. "vit-b-32-int8" (reported by classify and /healthz). */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
export const MODEL_ID_RULE = '1-128 characters of letters, digits, ".", "_", "/" or "-"';

export const tenantId = z.string().regex(TENANT_ID, TENANT_ID_RULE);
export const labelSetName = z.string().regex(LABEL_SET_NAME, LABEL_SET_NAME_RULE);
export const labelSetVersion = z.string().regex(LABEL_SET_VERSION, 'a version number such as "2"');
export const sha256 = z.string().regex(SHA256_HEX, 'a lower-case hex sha256 (64 digits)');
export const modelId = z.string().regex(MODEL_ID, MODEL_ID_RULE);

/** `tenant` if it is a valid tenant id; otherwise an `invalid_argument` error that says the rule. */
export function checkTenantId(tenant: string): string {
  if (!TENANT_ID.test(tenant)) throw new PromptEdgeError('invalid_argument', `tenant id "${tenant}" is not valid: use ${TENANT_ID_RULE}.`);
  return tenant;
}

/** `name` if it is a valid label-set name; otherwise an `invalid_argument` error that says the rule. */
export function checkLabelSetName(name: string): string {
  if (!LABEL_SET_NAME.test(name)) throw new PromptEdgeError('invalid_argument', `label set name "${name}" is not valid: use ${LABEL_SET_NAME_RULE}.`);
  return name;
}

/**
 * Tenant API keys: 192 random bits from the platform CSPRNG, shown once, stored only as their
 * SHA-256. A plain (unsalted) hash is enough because the keys are random, not passwords: there is
 * nothing to guess from the hash, and an unsalted hash can be looked up directly (one KV read).
 */
const API_KEY_BYTES = 24;
export const API_KEY_PREFIX = 'pe_';

/** A new key: "pe_" + 48 hex digits. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + toHex(crypto.getRandomValues(new Uint8Array(API_KEY_BYTES)));
}

/** Lower-case hex SHA-256 of the key's UTF-8 bytes: what the registry stores and looks up. */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}
