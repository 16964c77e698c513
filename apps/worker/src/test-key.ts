import { keyWithGroup, markKeyTested } from '@keyway/db';
import { PermanentJobError } from '@keyway/queue';
import type { KeyTestJobResult } from '@keyway/queue';
import type { WorkerDeps } from './deps';
import { toValidationTarget } from './groups';
import { blamesKey, validateKey } from './validate-key';

/**
 * `key-test`: one validation request with one key, for the control plane's "test this key" (DESIGN §1: the control
 * plane never calls providers). The key is read and opened here, so only ids cross the queue. A pass restores the
 * key; a failure that is the key's own (auth, quota) blacklists it; anything else leaves it as it was.
 */
export async function testKey(
  deps: WorkerDeps,
  payload: { groupId: number; keyId: number },
): Promise<KeyTestJobResult> {
  const row = await keyWithGroup(deps.db, payload.keyId);
  if (!row || row.groupId !== payload.groupId) throw new PermanentJobError('the key no longer exists');
  const group = toValidationTarget(row.group);
  if (!group) throw new PermanentJobError('the key belongs to a group of an unknown channel');
  let value: string;
  try {
    value = deps.keyCipher.open(row.keyValue);
  } catch {
    throw new PermanentJobError('the stored key cannot be opened with this ENCRYPTION_KEY');
  }
  const r = await validateKey(deps, group, value, { keyId: row.id });
  if (r.valid) deps.keyPool.setStatus(row.groupId, row.id, 'active', 'validation');
  else if (blamesKey(r)) deps.keyPool.setStatus(row.groupId, row.id, 'invalid', 'validation', r.error);
  await markKeyTested(deps.db, row.id, new Date((deps.now ?? Date.now)()));
  return { valid: r.valid, statusCode: r.statusCode || null, durationMs: r.durationMs, error: r.error };
}
