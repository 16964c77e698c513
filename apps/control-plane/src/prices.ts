import type { Price } from '@keyway/contracts';
import { DEFAULT_PRICES, priceInputSchema, priceModelSchema, toValidationIssues } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import type { DbClient } from '@keyway/db';
import { deletePrice, listPrices, upsertPrice } from '@keyway/db';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseBody } from './http';

/** The effective price table: the shipped defaults, each replaced by the operator's entry of the same model. */
export async function effectivePrices(db: DbClient): Promise<Price[]> {
  const table = new Map<string, Price>();
  for (const d of DEFAULT_PRICES) table.set(d.model, { ...d, source: 'default' });
  for (const c of await listPrices(db)) table.set(c.model, { ...c, source: 'custom' });
  return [...table.values()].sort((a, b) => a.model.localeCompare(b.model));
}

/** The `{model}` path segment, percent-decoded (a `/` in a model name is sent as `%2F`). */
function modelParam(c: Context): string {
  const parsed = priceModelSchema.safeParse(c.req.param('model') ?? '');
  if (!parsed.success)
    throw AppError.validation(
      toValidationIssues(parsed.error).map((i) => ({ ...i, path: 'model' })),
      'The model name is not valid',
    );
  return parsed.data;
}

/** `GET /`, `PUT /{model}`, `DELETE /{model}`, mounted at `/api/prices` (API.md "Prices and cost"). */
export function priceRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/', async (c) => c.json({ items: await effectivePrices(c.var.deps.db) }));

  app.put('/:model', async (c) => {
    const model = modelParam(c);
    const input = await parseBody(c, priceInputSchema);
    const deps = c.var.deps;
    const row = await upsertPrice(deps.db, {
      model,
      inputPerMTok: input.inputPerMTok,
      outputPerMTok: input.outputPerMTok,
      cachedInputPerMTok: input.cachedInputPerMTok ?? null,
    });
    await c.var.audit('price.update', `price:${model}`, {
      inputPerMTok: row.inputPerMTok,
      outputPerMTok: row.outputPerMTok,
      cachedInputPerMTok: row.cachedInputPerMTok,
    });
    await deps.onConfigChanged();
    const price: Price = { ...row, source: 'custom' };
    return c.json(price);
  });

  app.delete('/:model', async (c) => {
    const model = modelParam(c);
    const deps = c.var.deps;
    if (!(await deletePrice(deps.db, model))) throw AppError.notFound('Custom price');
    await c.var.audit('price.delete', `price:${model}`);
    await deps.onConfigChanged();
    return c.body(null, 204);
  });

  return app;
}
