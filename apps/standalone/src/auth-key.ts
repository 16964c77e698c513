import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isWeakSecret } from '@keyway/config';

/** Where the admin key comes from, for the start-up message. */
export type AuthKeySource = 'env' | 'file' | 'generated';

/**
 * The admin key: AUTH_KEY when set (refused when weak), else the one kept in the data directory, else a new
 * strong one written there with mode 0600. The caller prints a generated key once.
 */
export function resolveAuthKey(
  fromEnv: string | undefined,
  dataDir: string,
): { key: string; source: AuthKeySource; file: string } {
  const file = join(dataDir, 'auth-key');
  if (fromEnv) {
    const weak = isWeakSecret(fromEnv);
    if (weak?.level === 'refuse')
      throw new Error(
        `AUTH_KEY is too weak: ${weak.reason}. Use at least 16 random characters (or unset it to have one generated).`,
      );
    return { key: fromEnv, source: 'env', file };
  }
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, source: 'file', file };
  }
  mkdirSync(dataDir, { recursive: true });
  const key = `kw-admin-${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key, source: 'generated', file };
}
