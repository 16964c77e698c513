import type { KeyStatus } from '@keyway/contracts';
import type { KeyCheckRow } from '@keyway/db';
import {
  invalidateCheckedKey,
  keyCheckPage,
  markKeyChecked,
  recordKeyCheckFailure,
  restoreCheckedKey,
  yieldToLoop,
} from '@keyway/db';
import type { WorkerDeps } from './deps';
import type { ValidationTarget } from './groups';
import { forEachLimit } from './limit';
import type { ValidationSettings } from './settings';
import { blamesKey, validateKey } from './validate-key';

/** Keys read per page while validating: a short query, and the page's keys are all that is held in memory. */
export const KEY_PAGE = 500;

/**
 * The keys of a group in the given states, read page by page in id order, with a turn of the event loop before
 * each page: a 100,000-key group was one query holding every row (and the loop, with SQLite) at once.
 */
export async function* keyPages(
  db: WorkerDeps['db'],
  groupId: number,
  states: ReadonlySet<KeyStatus>,
): AsyncGenerator<KeyCheckRow> {
  for (let cursor = 0; ;) {
    await yieldToLoop();
    const page = await keyCheckPage(db, groupId, states, cursor, KEY_PAGE);
    yield* page;
    if (page.length < KEY_PAGE) return;
    cursor = (page[page.length - 1] as KeyCheckRow).id;
  }
}

/** Counts of one batch of validations. */
export interface CheckTally {
  /** Keys a validation request was sent for. */
  checked: number;
  valid: number;
  /** Keys that were not active and passed: now active. */
  restored: number;
  /** Active or cooling keys that failed through their own fault: now invalid. */
  invalidated: number;
  /** Keys that did not pass (whatever the reason). */
  failed: number;
  /** Keys not checked: undecryptable, or their state changed since they were selected. */
  skipped: number;
}

/** An empty tally. */
export function emptyTally(): CheckTally {
  return { checked: 0, valid: 0, restored: 0, invalidated: 0, failed: 0, skipped: 0 };
}

/**
 * Validates `keys` of `group` with at most `keyValidationConcurrency` requests in flight and applies each
 * verdict to the database and the key pool. The pool's state is the live one (the database copy follows it in
 * batches), so a key is checked only when its live state is still in `states`.
 */
export async function checkKeys(
  deps: WorkerDeps,
  group: ValidationTarget,
  keys: Iterable<KeyCheckRow> | AsyncIterable<KeyCheckRow>,
  settings: ValidationSettings,
  states: ReadonlySet<KeyStatus>,
  onChecked?: (processed: number) => Promise<void>,
): Promise<CheckTally> {
  const tally = emptyTally();
  const now = deps.now ?? Date.now;
  const timeoutMs = settings.keyValidationTimeoutSeconds * 1000;
  let processed = 0;
  await forEachLimit(keys, settings.keyValidationConcurrency, async (key) => {
    await checkOne(key);
    processed++;
    await onChecked?.(processed);
  });
  return tally;

  async function checkOne(key: KeyCheckRow): Promise<void> {
    const live = deps.keyPool.health(group.id, key.id)?.status ?? (key.status as KeyStatus);
    if (!states.has(live)) {
      tally.skipped++;
      return;
    }
    let value: string;
    try {
      value = deps.keyCipher.open(key.keyValue);
    } catch {
      // The error text may quote the stored value; the id is enough to find the key.
      deps.logger.warn({ groupId: group.id, keyId: key.id }, 'cannot decrypt key; not validated');
      tally.skipped++;
      return;
    }
    const result = await validateKey(deps, group, value, { timeoutMs, keyId: key.id });
    tally.checked++;
    const checkedAt = new Date(now());
    if (result.valid) {
      tally.valid++;
      if (live === 'active') {
        await markKeyChecked(deps.db, key.id, checkedAt);
        return;
      }
      // Database first: it is what every process loads on start, so a restore must not live only in a pool.
      await restoreCheckedKey(deps.db, key.id, checkedAt);
      deps.keyPool.setStatus(group.id, key.id, 'active', 'validation', null);
      tally.restored++;
      return;
    }
    tally.failed++;
    if (live !== 'invalid' && blamesKey(result)) {
      await invalidateCheckedKey(deps.db, key.id, result.error, checkedAt);
      deps.keyPool.setStatus(group.id, key.id, 'invalid', 'validation', result.error);
      tally.invalidated++;
      return;
    }
    // Still invalid, or a failure that is not the key's fault (5xx, timeout, rate limit): keep the state, record why.
    await recordKeyCheckFailure(deps.db, key.id, result.error, checkedAt);
  }
}
