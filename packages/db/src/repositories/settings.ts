import type { SettingKey, Settings } from '@keyway/contracts';
import { defaultSettings, RETIRED_SETTINGS, settingDefinitions } from '@keyway/contracts';
import type { DbClient } from '../client';

/** A proxy key as stored: only its hash and a masked form for display. */
export interface StoredProxyKey {
  hash: string;
  masked: string;
  /** Why the key was judged weak when written (shown as a dashboard warning); absent for strong keys. */
  weak?: string;
}

/** Settings as stored: the proxy keys replaced by their hashes. */
export type StoredSettings = Omit<Settings, 'proxyKeys'> & { proxyKeys: StoredProxyKey[] };

/** Settings stored as their plain value (proxy keys are stored hashed). */
export type PlainSettingKey = Exclude<SettingKey, 'proxyKeys'>;

const ALL_KEYS = Object.keys(settingDefinitions) as SettingKey[];

function isStoredProxyKeys(v: unknown): v is StoredProxyKey[] {
  return (
    Array.isArray(v) &&
    v.every(
      (k: unknown) =>
        typeof k === 'object' &&
        k !== null &&
        typeof (k as StoredProxyKey).hash === 'string' &&
        typeof (k as StoredProxyKey).masked === 'string',
    )
  );
}

/** A stored value as its setting reads it; undefined when it no longer passes (then the default applies). */
function readValue(key: SettingKey, value: unknown): unknown {
  if (key === 'proxyKeys') return isStoredProxyKeys(value) ? value : undefined;
  const parsed = settingDefinitions[key].schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Reads some settings: the stored value of each over its built-in default (proxy keys in their stored form,
 * none by default). A stored value that no longer passes its schema (written by another version, edited by
 * hand) falls back to the default instead of failing. The one way settings are read from the database.
 */
export async function readSettings<K extends SettingKey>(
  db: DbClient,
  keys: readonly K[],
): Promise<Pick<StoredSettings, K>> {
  const out = {} as Record<K, unknown>;
  for (const k of keys) out[k] = k === 'proxyKeys' ? [] : defaultSettings[k];
  const rows = await db.setting.findMany({ where: { key: { in: [...keys] } } });
  for (const row of rows) {
    const key = row.key as K;
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch {
      continue;
    }
    const read = readValue(key, value);
    if (read !== undefined) out[key] = read;
  }
  return out as Pick<StoredSettings, K>;
}

/** Reads every setting (`readSettings` of all of them). */
export function readAllSettings(db: DbClient): Promise<StoredSettings> {
  return readSettings(db, ALL_KEYS);
}

/**
 * Stores settings (each value as JSON) in one transaction. Stored values of retired settings (proxyUrl) are
 * ignored when reading; a write drops them.
 */
export async function writeSettings(db: DbClient, values: Partial<StoredSettings>): Promise<void> {
  await db.$transaction([
    ...Object.entries(values).map(([key, value]) =>
      db.setting.upsert({
        where: { key },
        create: { key, value: JSON.stringify(value) },
        update: { value: JSON.stringify(value) },
      }),
    ),
    db.setting.deleteMany({ where: { key: { in: Object.keys(RETIRED_SETTINGS) } } }),
  ]);
}
