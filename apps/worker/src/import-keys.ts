import type { AddKeysResult } from '@keyway/db';
import { addKeys, findGroupType } from '@keyway/db';
import { openAll } from '@keyway/keypool';
import type { JobPayload } from '@keyway/queue';
import { PermanentJobError } from '@keyway/queue';
import type { WorkerDeps } from './deps';

/**
 * Runs a `key-import` job: opens the sealed values, stores the new keys in chunks (reporting progress) and adds
 * them to the key pool, so gateways pick them at once. Keys already in the group are ignored, so a retried
 * import adds only what the interrupted run had not. A missing or aggregate group and values this process
 * cannot open fail at once: retrying would not help.
 */
export async function importKeys(
  deps: Pick<WorkerDeps, 'db' | 'dbProvider' | 'keyCipher' | 'keyPool'>,
  payload: JobPayload<'key-import'>,
  progress: (processed: number, total: number) => Promise<void> = () => Promise.resolve(),
): Promise<AddKeysResult> {
  const { groupId } = payload;
  const type = await findGroupType(deps.db, groupId);
  if (type === null) throw new PermanentJobError(`group ${groupId} not found`);
  if (type !== 'standard')
    throw new PermanentJobError(`group ${groupId} is an aggregate group: it has no keys of its own`);
  let values: string[];
  try {
    // Off this thread: opening 100,000 values is seconds of CPU (and garbage), and standalone serves requests
    // in this process.
    values = await openAll(deps.keyCipher, payload.keys);
  } catch (err) {
    // The message becomes the task's visible error: it must not carry a value, whatever the cipher put in its own.
    throw new PermanentJobError(
      'the imported keys cannot be opened: they were sealed with another ENCRYPTION_KEY or altered',
      { cause: err },
    );
  }
  await progress(0, values.length);
  // The queued values are sealed by the same cipher: stored as they are, not sealed a second time.
  return addKeys(deps, groupId, values, { onProgress: progress, sealed: payload.keys });
}
