import { z } from 'zod';
import { modelGlobSchema } from './common';

/** USD per million tokens. */
const perMTok = z.number().min(0).max(1_000_000);

/** `PUT /api/prices/{model}`. */
export const priceInputSchema = z.strictObject({
  inputPerMTok: perMTok,
  outputPerMTok: perMTok,
  cachedInputPerMTok: perMTok.nullable().optional(),
});
export type PriceInput = z.infer<typeof priceInputSchema>;

/** One entry of the price table. */
export const priceSchema = z.object({
  model: z.string(),
  inputPerMTok: z.number(),
  outputPerMTok: z.number(),
  cachedInputPerMTok: z.number().nullable(),
  source: z.enum(['default', 'custom']),
});
export type Price = z.infer<typeof priceSchema>;

/** `GET /api/prices`. */
export const priceListSchema = z.object({ items: z.array(priceSchema) });

/** A model name as a price-table key (the URL segment of `PUT /api/prices/{model}`). */
export const priceModelSchema = modelGlobSchema.refine((v) => !/[*?]/.test(v), {
  message: 'a price names one model (no wildcards)',
});

/** Tokens of one request as the provider reported them (see API.md "Access keys" → Tokens). */
export interface TokenUsage {
  /** Prompt tokens, cached (and Anthropic cache writes) included. */
  prompt: number;
  /** Of those, read from the provider's cache (billed at the cached-input price). */
  cached: number;
  /** Completion tokens, reasoning included. */
  completion: number;
}

/** The price of `model` in a table: exact name, else the longest listed name that is a prefix ending at a `-`. */
export function lookupPrice<P extends { model: string }>(
  table: ReadonlyMap<string, P>,
  model: string,
): P | null {
  const exact = table.get(model);
  if (exact) return exact;
  for (let end = model.lastIndexOf('-'); end > 0; end = model.lastIndexOf('-', end - 1)) {
    const hit = table.get(model.slice(0, end));
    if (hit) return hit;
  }
  return null;
}

/**
 * `costUsd` = (prompt − cached) × input + cached × cachedInput (input price when unset) + completion × output,
 * per million tokens.
 */
export function costUsd(
  price: { inputPerMTok: number; outputPerMTok: number; cachedInputPerMTok: number | null },
  usage: TokenUsage,
): number {
  const cachedPrice = price.cachedInputPerMTok ?? price.inputPerMTok;
  return (
    ((usage.prompt - usage.cached) * price.inputPerMTok +
      usage.cached * cachedPrice +
      usage.completion * price.outputPerMTok) /
    1_000_000
  );
}
