import type { DbClient } from '../client';
import type { Prisma } from '../generated/sqlite/client';

/** The sub-group links a group is read with (with each member's name), in link order. */
const withMembers = {
  subGroups: { include: { subGroup: { select: { name: true } } }, orderBy: { id: 'asc' as const } },
};

/** A group row with its sub-group links and their names, as the admin API reads it. */
export type GroupWithMembers = Prisma.GroupGetPayload<{ include: typeof withMembers }>;

/** A sub-group link of an aggregate group. */
export interface GroupMember {
  subGroupId: number;
  weight: number;
  /** The tier (1 first). */
  priority: number;
}

/** The stored columns of a new group (everything but its id, timestamps, sort and members). */
export type NewGroupRow = Omit<
  Prisma.GroupCreateInput,
  'keys' | 'subGroups' | 'parentLinks' | 'sort' | 'createdAt' | 'updatedAt'
>;

/** The columns of a group a patch changes. */
export type GroupRowPatch = Omit<
  Prisma.GroupUpdateInput,
  'keys' | 'subGroups' | 'parentLinks' | 'createdAt' | 'updatedAt'
>;

const listOrder = [{ sort: 'asc' as const }, { id: 'asc' as const }];

/** Every group with its members, in display order (sort, then id). */
export async function listGroupsWithMembers(db: DbClient): Promise<GroupWithMembers[]> {
  return db.group.findMany({ include: withMembers, orderBy: listOrder });
}

/** One group with its members, or null. */
export async function findGroupWithMembers(db: DbClient, id: number): Promise<GroupWithMembers | null> {
  return db.group.findUnique({ where: { id }, include: withMembers });
}

/** Whether a group with this id exists. */
export async function groupExists(db: DbClient, id: number): Promise<boolean> {
  return (await db.group.findUnique({ where: { id }, select: { id: true } })) !== null;
}

/** What the key list needs of a group to show its keys' pacing usage (null: no such group). */
export async function findGroupPacing(
  db: DbClient,
  id: number,
): Promise<{ channel: string; keyLimits: unknown; dailyResetTimeZone: string | null } | null> {
  return db.group.findUnique({
    where: { id },
    select: { channel: true, keyLimits: true, dailyResetTimeZone: true },
  });
}

/** Whether a group with this name exists. */
export async function groupNameTaken(db: DbClient, name: string): Promise<boolean> {
  return (await db.group.findUnique({ where: { name }, select: { id: true } })) !== null;
}

/** A group's type (`standard` / `aggregate`), or null when there is no such group. */
export async function findGroupType(db: DbClient, id: number): Promise<string | null> {
  const row = await db.group.findUnique({ where: { id }, select: { type: true } });
  return row?.type ?? null;
}

/** Id, type and channel of the groups among `ids` that exist. */
export async function findGroupKinds(
  db: DbClient,
  ids: readonly number[],
): Promise<Array<{ id: number; type: string; channel: string }>> {
  return db.group.findMany({
    where: { id: { in: [...ids] } },
    select: { id: true, type: true, channel: true },
  });
}

/** Id and type of every group. */
export async function listGroupTypes(db: DbClient): Promise<Array<{ id: number; type: string }>> {
  return db.group.findMany({ select: { id: true, type: true } });
}

/** Ids of the groups of one type. */
export async function groupIdsOfType(db: DbClient, type: 'standard' | 'aggregate'): Promise<number[]> {
  const rows = await db.group.findMany({ where: { type }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** Every group with its sub-group links, in display order: what a configuration snapshot is built from. */
export async function listGroupsForSnapshot(
  db: DbClient,
): Promise<Array<Prisma.GroupGetPayload<{ include: { subGroups: true } }>>> {
  return db.group.findMany({ include: { subGroups: true }, orderBy: listOrder });
}

/** The columns the dashboard warnings judge, of every group in display order. */
export async function listGroupsForWarnings(db: DbClient): Promise<
  Array<{
    id: number;
    name: string;
    type: string;
    proxyKeys: Prisma.JsonValue;
    upstreams: Prisma.JsonValue;
    headerRules: Prisma.JsonValue;
  }>
> {
  return db.group.findMany({
    select: { id: true, name: true, type: true, proxyKeys: true, upstreams: true, headerRules: true },
    orderBy: listOrder,
  });
}

/** Stores a new group after the others (next sort position) with its members; returns it with its members. */
export async function createGroup(
  db: DbClient,
  row: NewGroupRow,
  members: readonly GroupMember[],
): Promise<GroupWithMembers> {
  const last = await db.group.findFirst({ orderBy: { sort: 'desc' }, select: { sort: true } });
  return db.group.create({
    data: {
      ...row,
      sort: (last?.sort ?? 0) + 1,
      subGroups: {
        create: members.map((s) => ({ subGroupId: s.subGroupId, weight: s.weight, priority: s.priority })),
      },
    },
    include: withMembers,
  });
}

/** Changes a group's columns, and replaces its members when `members` is given, in one transaction. */
export async function updateGroup(
  db: DbClient,
  id: number,
  patch: GroupRowPatch,
  members: readonly GroupMember[] | undefined,
): Promise<GroupWithMembers> {
  return db.$transaction(async (tx) => {
    if (members) {
      await tx.groupSubGroup.deleteMany({ where: { groupId: id } });
      await tx.groupSubGroup.createMany({
        data: members.map((s) => ({ groupId: id, ...s })),
      });
    }
    return tx.group.update({ where: { id }, data: patch, include: withMembers });
  });
}

/** Ids of the groups among `ids` that exist. */
export async function existingGroupIds(db: DbClient, ids: readonly number[]): Promise<number[]> {
  const rows = await db.group.findMany({ where: { id: { in: [...ids] } }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** Sets the display order: `ids[0]` first. All in one transaction. */
export async function reorderGroups(db: DbClient, ids: readonly number[]): Promise<void> {
  await db.$transaction(ids.map((id, i) => db.group.update({ where: { id }, data: { sort: i + 1 } })));
}

/** How many aggregate groups have this group as a member. */
export async function countParentGroups(db: DbClient, id: number): Promise<number> {
  return db.groupSubGroup.count({ where: { subGroupId: id } });
}

/** Names of the aggregate groups that have this group as a member. */
export async function parentGroupNames(db: DbClient, id: number): Promise<string[]> {
  const rows = await db.groupSubGroup.findMany({
    where: { subGroupId: id },
    include: { group: { select: { name: true } } },
  });
  return rows.map((r) => r.group.name);
}

/** Deletes a group (its keys and member links go with it). */
export async function deleteGroup(db: DbClient, id: number): Promise<void> {
  await db.group.delete({ where: { id } });
}
