import { isWeakSecret } from '@keyway/config';
import type { Settings, SettingsPatch, ValidationIssue } from '@keyway/contracts';
import { defaultSettings, RETIRED_SETTINGS, settingDefinitions } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import { AppError, maskSecret } from '@keyway/core';
import { hashProxyKey } from '@keyway/keypool';
import { proxyKeyWarnings } from './warnings';

/** A proxy key as stored: only its hash and a masked form for display. */
export interface StoredProxyKey {
  hash: string;
  masked: string;
  /** Why the key was judged weak when written (shown as a dashboard warning); absent for strong keys. */
  weak?: string;
}

/** Settings as stored: the proxy keys replaced by their hashes. */
export type StoredSettings = Omit<Settings, 'proxyKeys'> & { proxyKeys: StoredProxyKey[] };

/** Hashes proxy keys for storage; a masked value sent back unchanged keeps the stored key it stands for. */
export function storeProxyKeys(
  input: readonly string[],
  existing: readonly StoredProxyKey[],
): StoredProxyKey[] {
  // Several stored keys can share one masked form: each occurrence of it in the input keeps one of them.
  const byMask = new Map<string, StoredProxyKey[]>();
  for (const k of existing) byMask.set(k.masked, [...(byMask.get(k.masked) ?? []), k]);
  const out = new Map<string, StoredProxyKey>();
  for (const value of input) {
    const kept = byMask.get(value)?.shift();
    const stored = kept ?? newProxyKey(value);
    out.set(stored.hash, stored);
  }
  return [...out.values()];
}

/**
 * Refuses proxy keys an attacker could guess (under 16 characters, common words, sequences — the AUTH_KEY rule)
 * with 400 VALIDATION_FAILED at `proxyKeys.N`, never quoting the key. A masked value sent back for a stored key
 * is no key at all and is not judged: it keeps the stored key, weak or not (weak stored keys show as a
 * dashboard warning instead).
 */
export function assertStrongProxyKeys(input: readonly string[], existing: readonly StoredProxyKey[]): void {
  const masks = new Map<string, number>();
  for (const k of existing) masks.set(k.masked, (masks.get(k.masked) ?? 0) + 1);
  const problems: ValidationIssue[] = [];
  for (const [i, value] of input.entries()) {
    const left = masks.get(value) ?? 0;
    if (left > 0) {
      masks.set(value, left - 1);
      continue;
    }
    const weak = isWeakSecret(value);
    if (weak?.level !== 'refuse') continue;
    // The reason may quote the common word it found; the key itself is never part of the message.
    const reason = weak.reason.replace(/\s*\(.*\)$/, '');
    problems.push({
      path: `proxyKeys.${i}`,
      message: `too weak (${reason}): a proxy key needs at least 16 random characters, not common words or sequences`,
    });
  }
  if (problems.length > 0) throw AppError.validation(problems, 'A proxy key is too weak');
}

function newProxyKey(value: string): StoredProxyKey {
  const weak = proxyKeyWarnings([value])[0]?.reason;
  return { hash: hashProxyKey(value), masked: maskSecret(value), ...(weak ? { weak } : {}) };
}

function isStoredProxyKeys(v: unknown): v is StoredProxyKey[] {
  return (
    Array.isArray(v) && v.every((k) => typeof k === 'object' && k !== null && 'hash' in k && 'masked' in k)
  );
}

/** Reads every setting: stored values over built-in defaults (an unreadable stored value falls back to the default). */
export async function loadSettings(db: DbClient): Promise<StoredSettings> {
  const rows = await db.setting.findMany();
  const out: Record<string, unknown> = { ...defaultSettings, proxyKeys: [] };
  for (const row of rows) {
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch {
      continue;
    }
    if (row.key === 'proxyKeys') {
      if (isStoredProxyKeys(value)) out.proxyKeys = value;
      continue;
    }
    const def = (
      settingDefinitions as Record<string, { schema: { safeParse(v: unknown): { success: boolean } } }>
    )[row.key];
    if (def?.schema.safeParse(value).success) out[row.key] = value;
  }
  return out as StoredSettings;
}

/** Writes a validated patch; proxy keys are hashed first. */
export async function saveSettings(
  db: DbClient,
  patch: SettingsPatch,
  current: StoredSettings,
): Promise<void> {
  const entries = Object.entries(patch).map(([key, value]) => [
    key,
    key === 'proxyKeys' ? storeProxyKeys(value as string[], current.proxyKeys) : value,
  ]);
  await db.$transaction([
    ...entries.map(([key, value]) =>
      db.setting.upsert({
        where: { key: key as string },
        create: { key: key as string, value: JSON.stringify(value) },
        update: { value: JSON.stringify(value) },
      }),
    ),
    // Stored values of retired settings (proxyUrl) are ignored when loading; the next write drops them.
    db.setting.deleteMany({ where: { key: { in: Object.keys(RETIRED_SETTINGS) } } }),
  ]);
}

/** Settings as the API shows them: proxy keys masked. */
export function publicSettings(s: StoredSettings): Settings {
  return { ...s, proxyKeys: s.proxyKeys.map((k) => k.masked) };
}
