import type { DbClient } from '../client';

/** An operator's price entry (USD per million tokens). */
export interface PriceRow {
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok: number | null;
}

const priceSelect = {
  model: true,
  inputPerMTok: true,
  outputPerMTok: true,
  cachedInputPerMTok: true,
} as const;

/** Every custom price entry, by model name. */
export async function listPrices(db: DbClient): Promise<PriceRow[]> {
  return db.modelPrice.findMany({ select: priceSelect, orderBy: { model: 'asc' } });
}

/** Creates or replaces the custom price of one model. */
export async function upsertPrice(db: DbClient, row: PriceRow): Promise<PriceRow> {
  const { model, ...prices } = row;
  return db.modelPrice.upsert({
    where: { model },
    create: row,
    update: prices,
    select: priceSelect,
  });
}

/** Deletes the custom price of one model; false when there was none. */
export async function deletePrice(db: DbClient, model: string): Promise<boolean> {
  const result = await db.modelPrice.deleteMany({ where: { model } });
  return result.count > 0;
}
