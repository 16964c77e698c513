// The key reads and writes of validation: the worker's group validation, re-check and single-key test.
import type { KeyStatus } from '@keyway/contracts';
import type { DbClient } from '../client';
import type { Group } from '../generated/sqlite/client';
import { CLEAN_RECORD } from './api-keys';

/** A key row read for validation (the stored value, still sealed). */
export interface KeyCheckRow {
  id: number;
  keyValue: string;
  status: string;
}

/** Up to `take` keys of a group in `statuses` with ids above `afterId`, in id order. */
export function keyCheckPage(
  db: DbClient,
  groupId: number,
  statuses: Iterable<KeyStatus>,
  afterId: number,
  take: number,
): Promise<KeyCheckRow[]> {
  return db.apiKey.findMany({
    where: { groupId, status: { in: [...statuses] }, id: { gt: afterId } },
    select: { id: true, keyValue: true, status: true },
    orderBy: { id: 'asc' },
    take,
  });
}

/** How many keys of a group are in `statuses`. */
export function countKeysInStatuses(
  db: DbClient,
  groupId: number,
  statuses: Iterable<KeyStatus>,
): Promise<number> {
  return db.apiKey.count({ where: { groupId, status: { in: [...statuses] } } });
}

// The verdicts below use updateMany: a key deleted while it was being checked is no error.

/** An active key passed: only the check time changes. */
export async function markKeyChecked(db: DbClient, keyId: number, checkedAt: Date): Promise<void> {
  await db.apiKey.updateMany({ where: { id: keyId }, data: { lastCheckedAt: checkedAt } });
}

/** A key that was not active passed: active again, with a clean record. */
export async function restoreCheckedKey(db: DbClient, keyId: number, checkedAt: Date): Promise<void> {
  await db.apiKey.updateMany({
    where: { id: keyId },
    data: { status: 'active', ...CLEAN_RECORD, lastError: null, lastCheckedAt: checkedAt },
  });
}

/** A key failed through its own fault (auth, quota): invalid until a check passes. */
export async function invalidateCheckedKey(
  db: DbClient,
  keyId: number,
  error: string | null,
  checkedAt: Date,
): Promise<void> {
  await db.apiKey.updateMany({
    where: { id: keyId },
    data: { status: 'invalid', lastError: error, cooldownUntil: null, lastCheckedAt: checkedAt },
  });
}

/** A key failed but keeps its state (still invalid, or not its fault): records why and when. */
export async function recordKeyCheckFailure(
  db: DbClient,
  keyId: number,
  error: string | null,
  checkedAt: Date,
): Promise<void> {
  await db.apiKey.updateMany({ where: { id: keyId }, data: { lastError: error, lastCheckedAt: checkedAt } });
}

/** A key to test on its own, with its group; null when it does not exist. */
export function keyWithGroup(
  db: DbClient,
  keyId: number,
): Promise<{ id: number; groupId: number; keyValue: string; group: Group } | null> {
  return db.apiKey.findUnique({
    where: { id: keyId },
    select: { id: true, groupId: true, keyValue: true, group: true },
  });
}

/** Records when a single key was tested; rejects when the key was deleted meanwhile (the job then fails). */
export async function markKeyTested(db: DbClient, keyId: number, testedAt: Date): Promise<void> {
  await db.apiKey.update({ where: { id: keyId }, data: { lastCheckedAt: testedAt } });
}
