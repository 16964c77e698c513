import type { DbClient } from '../client';
import { Prisma } from '../generated/sqlite/client';
import type { ApiKey } from '../generated/sqlite/client';

/** Which keys of a group a list shows: by status, and by a search matching the key itself or its notes. */
export interface KeyListFilter {
  groupId: number;
  status?: string | undefined;
  /** `keyHash`: the keyed hash of the searched text (a whole key); `notes`: text the notes contain. */
  search?: { keyHash: string; notes: string } | undefined;
}

function keyListWhere(f: KeyListFilter) {
  return {
    groupId: f.groupId,
    ...(f.status ? { status: f.status } : {}),
    ...(f.search ? { OR: [{ keyHash: f.search.keyHash }, { notes: { contains: f.search.notes } }] } : {}),
  };
}

/** One page of a group's keys in id order, and how many match in all. */
export async function listKeys(
  db: DbClient,
  filter: KeyListFilter,
  page: { skip: number; take: number },
): Promise<{ rows: ApiKey[]; total: number }> {
  const where = keyListWhere(filter);
  const [rows, total] = await Promise.all([
    db.apiKey.findMany({ where, orderBy: { id: 'asc' }, skip: page.skip, take: page.take }),
    db.apiKey.count({ where }),
  ]);
  return { rows, total };
}

/**
 * Up to `take` keys of a group with an id above `afterId`, in id order (keyset paging over a whole group);
 * `statuses` keeps only keys in those states.
 */
export async function keysAfter(
  db: DbClient,
  groupId: number,
  afterId: number,
  take: number,
  statuses?: readonly string[],
): Promise<ApiKey[]> {
  return db.apiKey.findMany({
    where: { groupId, id: { gt: afterId }, ...(statuses ? { status: { in: [...statuses] } } : {}) },
    orderBy: { id: 'asc' },
    take,
  });
}

/** Like `keysAfter`, only id and stored value, and at most one status. */
export async function keyValuesAfter(
  db: DbClient,
  groupId: number,
  afterId: number,
  take: number,
  status?: string,
): Promise<Array<{ id: number; keyValue: string }>> {
  return db.apiKey.findMany({
    where: { groupId, id: { gt: afterId }, ...(status ? { status } : {}) },
    orderBy: { id: 'asc' },
    take,
    select: { id: true, keyValue: true },
  });
}

/** Ids of a group's keys in one status. */
export async function keyIdsWithStatus(db: DbClient, groupId: number, status: string): Promise<number[]> {
  const rows = await db.apiKey.findMany({ where: { groupId, status }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** Ids of a group's keys whose keyed hash is among `hashes`. */
export async function keyIdsWithHashes(
  db: DbClient,
  groupId: number,
  hashes: readonly string[],
): Promise<number[]> {
  const rows = await db.apiKey.findMany({
    where: { groupId, keyHash: { in: [...hashes] } },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

/** Id and stored status of a group's keys (those among `ids` when given). */
export async function keyStatuses(
  db: DbClient,
  groupId: number,
  ids?: readonly number[],
): Promise<Array<{ id: number; status: string }>> {
  return db.apiKey.findMany({
    where: { groupId, ...(ids ? { id: { in: [...ids] } } : {}) },
    select: { id: true, status: true },
  });
}

/** Deletes the keys among `ids` that belong to the group; returns how many. */
export async function deleteKeys(db: DbClient, groupId: number, ids: readonly number[]): Promise<number> {
  const res = await db.apiKey.deleteMany({ where: { groupId, id: { in: [...ids] } } });
  return res.count;
}

/** One key, or null. */
export async function findKey(db: DbClient, id: number): Promise<ApiKey | null> {
  return db.apiKey.findUnique({ where: { id } });
}

/** A key's group and stored (possibly sealed) value, or null. */
export async function findKeyValue(
  db: DbClient,
  id: number,
): Promise<{ id: number; groupId: number; keyValue: string } | null> {
  return db.apiKey.findUnique({ where: { id }, select: { id: true, groupId: true, keyValue: true } });
}

/** What an operator may change on a key. Setting it `active` also clears its failures and cooldowns. */
export interface KeyEdit {
  notes?: string | undefined;
  status?: 'active' | 'disabled' | undefined;
}

/** What a restored key's record is cleared to, like the pool's `setStatus(active)`. */
export const CLEAN_RECORD = { failureCount: 0, cooldownUntil: null, modelCooling: Prisma.DbNull } as const;

/** Applies an operator's edit to a key; returns the key as stored after it. */
export async function updateKey(db: DbClient, id: number, edit: KeyEdit): Promise<ApiKey> {
  return db.apiKey.update({
    where: { id },
    data: {
      ...(edit.notes === undefined ? {} : { notes: edit.notes }),
      ...(edit.status
        ? {
            status: edit.status,
            ...(edit.status === 'active' ? CLEAN_RECORD : {}),
          }
        : {}),
    },
  });
}

/** Stores a key as active again: no failures, no cooldown (for the whole key or any model). */
export async function restoreKey(db: DbClient, id: number): Promise<void> {
  await db.apiKey.update({ where: { id }, data: { status: 'active', ...CLEAN_RECORD } });
}

/** How many keys are stored, in every group. */
export async function countKeys(db: DbClient): Promise<number> {
  return db.apiKey.count();
}

/** How many stored key values start with `prefix`. */
export async function countKeysStartingWith(db: DbClient, prefix: string): Promise<number> {
  return db.apiKey.count({ where: { keyValue: { startsWith: prefix } } });
}

/** The stored values of the oldest and the newest key (by id); null where there is none. */
export async function oldestAndNewestKeyValues(db: DbClient): Promise<Array<string | null>> {
  const rows = await Promise.all(
    (['asc', 'desc'] as const).map((order) =>
      db.apiKey.findFirst({ orderBy: { id: order }, select: { keyValue: true } }),
    ),
  );
  return rows.map((r) => r?.keyValue ?? null);
}
