/**
 * Per-tenant rate limits through wrangler.toml's [[ratelimits]] bindings, emulated by miniflare:
 * one tenant held at its tier's limit while another tenant's requests still succeed; admin and
 * health routes never limited by tenant keys; tiers set through the admin API.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { retryAfterSeconds } from '../../src/worker/auth/rate-limit.ts';
import { labelSet, makeApi, type Api } from './helpers/storage-app.ts';

/** RATE_LIMIT_FREE's `simple.limit` in wrangler.toml. */
const FREE_LIMIT = 60;

interface ErrorJson {
  error: { code: string; message: string; request_id: string };
}

/** Unique per run: the limiter's counters may outlive a test file when runs follow each other within a window. */
const suffix = Math.random().toString(36).slice(2, 8);

async function labelSets(api: Api, key: string): Promise<Response> {
  return api.call('GET', '/v1/labelsets', { token: key });
}

describe('rate limits', () => {
  let log: MockInstance;
  beforeEach(() => {
    log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());

  it('a tenant on the "free" tier is refused with 429 at its limit while another tenant still succeeds; admin and health are not limited', async () => {
    const api = makeApi();
    const busy = `busy-${suffix}`;
    const calm = `calm-${suffix}`;
    const busyKey = await api.createTenant(busy);
    const calmKey = await api.createTenant(calm);
    await api.publish(busy, 'default', await labelSet(['cat', 'dog']));
    expect(await api.admin('PUT', `/v1/admin/tenants/${busy}/rate-limit`, { json: { tier: 'free' } })).toEqual({ tenant: busy, rate_limit_tier: 'free' });

    // The limiter's windows are aligned to the clock: start early in one, so that the whole test
    // (about a second) runs inside it and the count is exact.
    const left = retryAfterSeconds(Date.now());
    if (left < 15) await new Promise((r) => setTimeout(r, left * 1000 + 100));

    let ok = 0;
    let refused: Response | null = null;
    for (let i = 0; i < 2 * FREE_LIMIT && refused === null; i++) {
      const res = await labelSets(api, busyKey);
      if (res.status === 200) {
        ok++;
        await res.arrayBuffer();
      } else refused = res;
    }
    expect(refused, `no 429 after ${ok} requests`).not.toBeNull();
    expect(ok).toBe(FREE_LIMIT);
    expect(refused!.status).toBe(429);
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    const body = (await refused!.json()) as ErrorJson;
    expect(body.error).toMatchObject({ code: 'rate_limited', request_id: refused!.headers.get('x-request-id') });
    expect(body.error.message).toContain('"free"');
    expect(body.error.message).toContain(`Retry after ${retryAfter} s`);

    // The same budget covers classify; the request is refused before its body is read.
    const classify = await api.classify(busyKey);
    expect(classify.status).toBe(429);
    expect(((await classify.json()) as ErrorJson).error.code).toBe('rate_limited');

    // Another tenant (default tier) is untouched by the first one's burst.
    for (let i = 0; i < 5; i++) expect((await labelSets(api, calmKey)).status).toBe(200);

    // Admin (admin token) and health routes are not counted against or refused by tenant limits.
    expect((await api.call('GET', `/v1/admin/tenants/${busy}/labelsets`)).status).toBe(200);
    expect((await api.call('GET', '/healthz', { token: busyKey })).status).toBe(200);

    const lines = log.mock.calls.map((a) => JSON.parse(String(a[0])) as { status: number; error: string | null; tenant: string | null; rate_limit_tier: string | null });
    expect(lines.filter((l) => l.status === 429)).toEqual(expect.arrayContaining([expect.objectContaining({ error: 'rate_limited', tenant: busy, rate_limit_tier: 'free' })]));
    expect(lines.filter((l) => l.tenant === calm).every((l) => l.rate_limit_tier === 'default' && l.status === 200)).toBe(true);
  });

  it('tiers are set through the admin API: listed with the tenant, unknown tiers refused with the available ones, "default" resets', async () => {
    const api = makeApi();
    const t = `tiered-${suffix}`;
    await api.createTenant(t);
    const tierOf = async () => (await api.admin<{ tenants: { tenant: string; rate_limit_tier: string }[] }>('GET', '/v1/admin/tenants')).tenants.find((x) => x.tenant === t)!.rate_limit_tier;
    expect(await tierOf()).toBe('default');

    const bad = await api.call('PUT', `/v1/admin/tenants/${t}/rate-limit`, { json: { tier: 'platinum' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorJson).error.message).toContain('"default", "free", "pro"');
    expect((await api.call('PUT', `/v1/admin/tenants/${t}/rate-limit`, { json: { tier: 7 } })).status).toBe(400);
    expect((await api.call('PUT', '/v1/admin/tenants/nobody-here/rate-limit', { json: { tier: 'pro' } })).status).toBe(404);

    await api.admin('PUT', `/v1/admin/tenants/${t}/rate-limit`, { json: { tier: 'pro' } });
    expect(await tierOf()).toBe('pro');
    // A rotated key keeps the tenant's tier.
    const key = (await api.admin<{ key: string }>('POST', `/v1/admin/tenants/${t}/keys`)).key;
    await labelSets(api, key);
    expect(JSON.parse(String(log.mock.calls.at(-1)![0]))).toMatchObject({ tenant: t, rate_limit_tier: 'pro' });

    await api.admin('PUT', `/v1/admin/tenants/${t}/rate-limit`, { json: { tier: 'default' } });
    expect(await tierOf()).toBe('default');
    await labelSets(api, key);
    expect(JSON.parse(String(log.mock.calls.at(-1)![0]))).toMatchObject({ tenant: t, rate_limit_tier: 'default' });
  });

  it('Retry-After is the rest of the 60 s window', () => {
    expect(retryAfterSeconds(120_000)).toBe(60);
    expect(retryAfterSeconds(120_999)).toBe(60);
    expect(retryAfterSeconds(179_000)).toBe(1);
    expect(retryAfterSeconds(150_500)).toBe(30);
  });
});
