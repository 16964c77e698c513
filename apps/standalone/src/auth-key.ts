import { isWeakSecret } from '@keyway/config';
import type { DataSecretSpec, LooseModeWarning } from './data-secret';
import { dataSecretPath, generateSecretValue, readDataSecret, writeDataSecret } from './data-secret';

/** Where the admin key comes from, for the start-up message. */
export type AuthKeySource = 'env' | 'file' | 'generated';

const AUTH_KEY_FILE: DataSecretSpec = { file: 'auth-key', prefix: 'kw-admin-' };

/**
 * The admin key: AUTH_KEY when set (refused when weak), else the one kept in the data directory, else a new
 * strong one written there with mode 0600. The caller prints a generated key once, and warns about `loose`.
 */
export function resolveAuthKey(
  fromEnv: string | undefined,
  dataDir: string,
): { key: string; source: AuthKeySource; file: string; loose: LooseModeWarning | null } {
  const file = dataSecretPath(AUTH_KEY_FILE, dataDir);
  if (fromEnv) {
    const weak = isWeakSecret(fromEnv);
    if (weak?.level === 'refuse')
      throw new Error(
        `AUTH_KEY is too weak: ${weak.reason}. Use at least 16 random characters (or unset it to have one generated).`,
      );
    return { key: fromEnv, source: 'env', file, loose: null };
  }
  const kept = readDataSecret(file);
  if (kept && kept.value.length >= 16) return { key: kept.value, source: 'file', file, loose: kept.loose };
  // A damaged admin key costs nothing to replace: it only opens the admin API, and the new one is printed.
  const key = writeDataSecret(file, generateSecretValue(AUTH_KEY_FILE), { replace: true });
  return { key, source: 'generated', file, loose: null };
}
