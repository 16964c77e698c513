import type { DbClient } from '../client';

// The encryption verifier is a row of the settings table under a name of its own (not a setting: the settings
// readers never see it). The name is the key pool's, passed in.

/** The stored verifier's JSON text under `key`, or null before the first start recorded one. */
export async function readVerifierRow(db: DbClient, key: string): Promise<string | null> {
  const row = await db.setting.findUnique({ where: { key } });
  return row?.value ?? null;
}

/** Records the verifier; fails (unique violation) when another process recorded one first. */
export async function insertVerifierRow(db: DbClient, key: string, value: string): Promise<void> {
  await db.setting.create({ data: { key, value } });
}
