// The group reads and writes of key validation (the worker's re-check and group validation).
import type { DbClient } from '../client';
import type { Group } from '../generated/sqlite/client';

/** Every standard group (the ones with keys of their own), in id order. */
export function standardGroups(db: DbClient): Promise<Group[]> {
  return db.group.findMany({ where: { type: 'standard' }, orderBy: { id: 'asc' } });
}

/** One group's row; null when it does not exist. */
export function groupToValidate(db: DbClient, groupId: number): Promise<Group | null> {
  return db.group.findUnique({ where: { id: groupId } });
}

/** Records when a group's keys were last re-checked (a group deleted meanwhile is no error). */
export async function markGroupValidated(db: DbClient, groupId: number, at: Date): Promise<void> {
  await db.group.updateMany({ where: { id: groupId }, data: { lastValidatedAt: at } });
}
