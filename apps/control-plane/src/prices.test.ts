import type { Price } from '@keyway/contracts';
import { DEFAULT_PRICES, lookupPrice } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

async function prices(): Promise<Price[]> {
  const res = await fx.req<{ items: Price[] }>('GET', '/api/prices');
  expect(res.status, res.text).toBe(200);
  return res.json.items;
}

describe('the shipped price table', () => {
  it('prices the current models of each provider, dated snapshots included', () => {
    const table = new Map(DEFAULT_PRICES.map((p) => [p.model, p]));
    expect(new Set(DEFAULT_PRICES.map((p) => p.model)).size).toBe(DEFAULT_PRICES.length);
    for (const model of [
      'gpt-4o-2024-08-06',
      'gpt-4o-mini-2024-07-18',
      'gpt-4.1-mini',
      'o3-2025-04-16',
      'o4-mini',
      'gpt-5-nano',
      'claude-sonnet-4-5-20250929',
      'claude-opus-4-1-20250805',
      'claude-3-7-sonnet-latest',
      'claude-3-5-haiku-20241022',
      'gemini-2.5-pro',
      'gemini-2.5-flash-lite',
      'gemini-2.0-flash',
    ])
      expect(lookupPrice(table, model), model).not.toBeNull();
    // A cheaper family member is not priced as its parent.
    expect(lookupPrice(table, 'gpt-4o-mini-2024-07-18')?.model).toBe('gpt-4o-mini');
    expect(lookupPrice(table, 'o3-mini-2025-01-31')?.model).toBe('o3-mini');
    expect(lookupPrice(table, 'gemini-2.5-flash-lite-preview')?.model).toBe('gemini-2.5-flash-lite');
    for (const p of DEFAULT_PRICES) {
      expect(p.outputPerMTok, p.model).toBeGreaterThanOrEqual(p.inputPerMTok);
      if (p.cachedInputPerMTok !== null) expect(p.cachedInputPerMTok).toBeLessThan(p.inputPerMTok);
    }
  });
});

describe('/api/prices', () => {
  it('lists the defaults, and a custom entry replaces the default of its model', async () => {
    const before = await prices();
    expect(before.length).toBe(DEFAULT_PRICES.length);
    expect(before.find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      inputPerMTok: 2.5,
      outputPerMTok: 10,
      cachedInputPerMTok: 1.25,
      source: 'default',
    });
    const put = await fx.req<Price>('PUT', '/api/prices/gpt-4o', { inputPerMTok: 2, outputPerMTok: 8 });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toEqual({
      model: 'gpt-4o',
      inputPerMTok: 2,
      outputPerMTok: 8,
      cachedInputPerMTok: null,
      source: 'custom',
    });
    const after = await prices();
    expect(after.length).toBe(DEFAULT_PRICES.length);
    expect(after.find((p) => p.model === 'gpt-4o')?.source).toBe('custom');
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.prices.find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      inputPerMTok: 2,
      outputPerMTok: 8,
      cachedInputPerMTok: null,
    });
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
  });

  it('adds a model of its own, a slash in its name sent as %2F', async () => {
    const res = await fx.req<Price>('PUT', '/api/prices/acme%2Fllama-70b', {
      inputPerMTok: 0.5,
      outputPerMTok: 0.7,
      cachedInputPerMTok: 0.1,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.model).toBe('acme/llama-70b');
    expect((await prices()).find((p) => p.model === 'acme/llama-70b')?.source).toBe('custom');
  });

  it('goes back to the default on DELETE, and answers 404 when there is no custom entry', async () => {
    await fx.req('PUT', '/api/prices/gpt-4o', { inputPerMTok: 2, outputPerMTok: 8 });
    expect((await fx.req('DELETE', '/api/prices/gpt-4o')).status).toBe(204);
    expect((await prices()).find((p) => p.model === 'gpt-4o')?.source).toBe('default');
    const again = await fx.req<ErrorBody>('DELETE', '/api/prices/gpt-4o');
    expect(again.status).toBe(404);
    expect((await fx.req('DELETE', '/api/prices/no-such-model')).status).toBe(404);
    expect(await fx.db.auditLog.count({ where: { action: 'price.delete' } })).toBe(1);
  });

  it.each([
    ['a wildcard in the model', '/api/prices/gpt-*', { inputPerMTok: 1, outputPerMTok: 1 }],
    ['a CR/LF in the model', '/api/prices/gpt%0d%0aX-Injected', { inputPerMTok: 1, outputPerMTok: 1 }],
    ['a NUL in the model', '/api/prices/gpt%00', { inputPerMTok: 1, outputPerMTok: 1 }],
    [
      'a model name of 256 characters',
      `/api/prices/${'m'.repeat(256)}`,
      { inputPerMTok: 1, outputPerMTok: 1 },
    ],
    ['a negative price', '/api/prices/m', { inputPerMTok: -1, outputPerMTok: 1 }],
    ['a price given as text', '/api/prices/m', { inputPerMTok: '1', outputPerMTok: 1 }],
    ['a missing output price', '/api/prices/m', { inputPerMTok: 1 }],
    ['an unknown field', '/api/prices/m', { inputPerMTok: 1, outputPerMTok: 1, currency: 'EUR' }],
  ])('refuses %s with 400 and stores nothing', async (_what, path, body) => {
    const res = await fx.req<ErrorBody>('PUT', path, body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.modelPrice.count()).toBe(0);
  });

  it('requires the admin key', async () => {
    expect((await fx.req('GET', '/api/prices', undefined, { auth: false })).status).toBe(401);
    const put = await fx.req('PUT', '/api/prices/m', { inputPerMTok: 1, outputPerMTok: 1 }, { auth: false });
    expect(put.status).toBe(401);
  });
});
