import type {
  Channel,
  GroupConfig,
  GroupCreate,
  GroupPatch,
  SubGroupRef,
  Translate,
} from '@keyway/contracts';
import { TRANSLATABLE_FROM, groupCreateSchema, groupNameSchema, groupPatchSchema } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import {
  addKeys,
  countParentGroups,
  createGroup,
  deleteGroup,
  existingGroupIds,
  findGroupKinds,
  findGroupWithMembers,
  groupNameTaken,
  keysAfter,
  listGroupsWithMembers,
  parentGroupNames,
  reorderGroups,
  updateGroup,
} from '@keyway/db';
import type { GroupMember } from '@keyway/db';
import { Hono } from 'hono';
import { z } from 'zod';
import { assertNotAccessKeys } from './access-keys';
import type { CpEnv } from './context';
import { groupJson, toGroupView } from './group-view';
import type { GroupRow } from './group-view';
import { idParam, isUniqueViolation, parseBody } from './http';
import { assertUpstreamsAllowed, resolveProxyUrl, writePolicy } from './egress-policy';
import { assertStrongProxyKeys, storeProxyKeys } from './proxy-keys';
import { loadSettings } from './settings-store';
import { registerProxyKeys } from './secrets';

/** Group CRUD under `/api/groups`. */
export function groupRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/', async (c) => {
    const { db, keyPool } = c.var.deps;
    const [rows, settings] = await Promise.all([listGroupsWithMembers(db), loadSettings(db)]);
    return c.json({ items: rows.map((r) => toGroupView(r, settings.appUrl, keyPool.stats(r.id))) });
  });

  app.get('/:id', async (c) => {
    const row = await findGroup(c.var.deps, idParam(c, 'id', 'Group'));
    return c.json(await view(c.var.deps, row));
  });

  app.post('/', async (c) => {
    const parsed = await parseBody(c, groupCreateSchema);
    registerProxyKeys(c.var.deps, parsed.proxyKeys);
    const { db } = c.var.deps;
    const policy = writePolicy(c, await loadSettings(db));
    assertUpstreamsAllowed(parsed.upstreams, policy);
    const input = { ...parsed, ...unmaskProxies(parsed, [], undefined, policy) };
    assertStrongProxyKeys(input.proxyKeys, []);
    await assertNotAccessKeys(db, input.proxyKeys);
    await checkSubGroups(c.var.deps, input.type, input.channel, input.subGroups, null);
    const row = await createGroup(db, columns(input, []), memberLinks(input.subGroups)).catch(
      conflictOnName(input.name),
    );
    await c.var.audit('group.create', `group:${row.id}`, { name: row.name });
    await c.var.deps.onConfigChanged();
    return c.json(await view(c.var.deps, row), 201);
  });

  app.patch('/:id', async (c) => {
    const id = idParam(c, 'id', 'Group');
    const parsed = await parseBody(c, groupPatchSchema);
    registerProxyKeys(c.var.deps, parsed.proxyKeys);
    const { db } = c.var.deps;
    const current = await findGroup(c.var.deps, id);
    const policy = writePolicy(c, await loadSettings(db));
    if (parsed.upstreams) assertUpstreamsAllowed(parsed.upstreams, policy);
    const stored = groupJson(current);
    const patch = { ...parsed, ...unmaskProxies(parsed, stored.proxyPool, stored.config.proxyUrl, policy) };
    if (patch.proxyKeys) assertStrongProxyKeys(patch.proxyKeys, toGroupViewKeys(current));
    await assertNotAccessKeys(db, patch.proxyKeys);
    const type = patch.type ?? (current.type as 'standard' | 'aggregate');
    const channel = patch.channel ?? (current.channel as Channel);
    if (patch.type && patch.type !== current.type)
      throw AppError.validation([{ path: 'type', message: 'a group cannot change its type' }]);
    if (patch.channel && patch.channel !== current.channel) {
      const parents = await countParentGroups(db, id);
      if (parents > 0)
        throw new AppError('CONFLICT', 'This group belongs to an aggregate group; it cannot change channel');
    }
    // The schema checks `translate` against a channel sent beside it; otherwise the stored one decides.
    if (patch.translate || patch.channel) checkTranslate(channel, patch.translate ?? stored.translate);
    if (type === 'standard' && patch.upstreams && patch.upstreams.length === 0)
      throw AppError.validation([{ path: 'upstreams', message: 'at least one upstream is required' }]);
    if (type === 'standard' && patch.subGroups && patch.subGroups.length > 0)
      throw AppError.validation([{ path: 'subGroups', message: 'only aggregate groups have sub-groups' }]);
    if (type === 'aggregate' && patch.upstreams && patch.upstreams.length > 0)
      throw AppError.validation([{ path: 'upstreams', message: 'an aggregate group has no upstreams' }]);
    // Sub-groups must match the channel: check the new list, or the current one when only the channel changes.
    const members =
      patch.subGroups ??
      (patch.channel
        ? current.subGroups.map((s) => ({ groupId: s.subGroupId, weight: s.weight, priority: s.priority }))
        : null);
    if (members) await checkSubGroups(c.var.deps, type, channel, members, id);
    const existingKeys = toGroupViewKeys(current);
    const row = await updateGroup(
      db,
      id,
      patchColumns(patch, existingKeys),
      patch.subGroups && memberLinks(patch.subGroups),
    ).catch(conflictOnName(patch.name ?? current.name));
    await c.var.audit('group.update', `group:${id}`, {
      fields: Object.keys(patch).filter((k) => k !== 'proxyKeys'),
    });
    await c.var.deps.onConfigChanged();
    return c.json(await view(c.var.deps, row));
  });

  app.put('/order', async (c) => {
    const { ids } = await parseBody(
      c,
      z.strictObject({ ids: z.array(z.number().int().positive()).min(1).max(10_000) }),
    );
    const { db } = c.var.deps;
    if (new Set(ids).size !== ids.length)
      throw AppError.validation([{ path: 'ids', message: 'an id is listed twice' }]);
    const known = await existingGroupIds(db, ids);
    if (known.length !== ids.length)
      throw AppError.validation([{ path: 'ids', message: 'unknown group id in the list' }]);
    await reorderGroups(db, ids);
    await c.var.audit('group.reorder', 'groups', { count: ids.length });
    await c.var.deps.onConfigChanged();
    return c.body(null, 204);
  });

  app.post('/:id/copy', async (c) => {
    const id = idParam(c, 'id', 'Group');
    const input = await parseBody(
      c,
      z.strictObject({
        name: groupNameSchema.optional(),
        keys: z.enum(['all', 'valid', 'none']).default('all'),
      }),
    );
    const deps = c.var.deps;
    const source = await findGroup(deps, id);
    const name = input.name ?? (await freeCopyName(deps, source.name));
    const { id: _id, createdAt: _c, updatedAt: _u, sort: _s, subGroups, ...fields } = source;
    const row = await createGroup(
      deps.db,
      {
        ...fields,
        upstreams: fields.upstreams as object,
        proxyKeys: fields.proxyKeys as object,
        paramOverrides: fields.paramOverrides as object,
        modelRedirects: fields.modelRedirects as object,
        modelAliases: fields.modelAliases ?? {},
        headerRules: fields.headerRules as object,
        config: fields.config as object,
        models: fields.models ?? [],
        keyLimits: (fields.keyLimits ?? null) as object,
        affinity: (fields.affinity ?? null) as object,
        proxyPool: fields.proxyPool ?? [],
        translate: (fields.translate ?? null) as object,
        name,
        lastValidatedAt: null,
      },
      subGroups,
    ).catch(conflictOnName(name));
    let copied = 0;
    if (input.keys !== 'none' && source.type === 'standard') {
      if (input.keys === 'valid') {
        deps.keyPool.stats(id);
        await deps.flushKeyStates?.();
      }
      const statuses = input.keys === 'valid' ? ['active', 'cooling'] : undefined;
      for (let cursor = 0; ;) {
        const keys = await keysAfter(deps.db, id, cursor, 1000, statuses);
        if (keys.length === 0) break;
        const result = await addKeys(
          deps,
          row.id,
          keys.map((k) => deps.keyCipher.open(k.keyValue)),
        );
        copied += result.added;
        cursor = (keys[keys.length - 1] as { id: number }).id;
      }
    }
    await c.var.audit('group.copy', `group:${row.id}`, { from: source.name, name, keys: copied });
    await deps.onConfigChanged();
    return c.json(await view(deps, row), 201);
  });

  app.delete('/:id', async (c) => {
    const id = idParam(c, 'id', 'Group');
    const { db, keyPool } = c.var.deps;
    const current = await findGroup(c.var.deps, id);
    const parents = await parentGroupNames(db, id);
    if (parents.length > 0)
      throw new AppError('CONFLICT', `Group is a sub-group of: ${parents.join(', ')}; remove it there first`);
    await deleteGroup(db, id);
    await keyPool.dropGroup(id);
    await c.var.audit('group.delete', `group:${id}`, { name: current.name });
    await c.var.deps.onConfigChanged();
    return c.body(null, 204);
  });

  return app;
}

async function freeCopyName(deps: CpEnv['Variables']['deps'], base: string): Promise<string> {
  for (let i = 1; i < 1000; i++) {
    const candidate = `${base.slice(0, 90)}-copy${i === 1 ? '' : `-${i}`}`;
    if (!(await groupNameTaken(deps.db, candidate))) return candidate;
  }
  throw new AppError('CONFLICT', 'Could not find a free name for the copy; pass one');
}

async function findGroup(deps: CpEnv['Variables']['deps'], id: number): Promise<GroupRow> {
  const row = await findGroupWithMembers(deps.db, id);
  if (!row) throw AppError.notFound('Group');
  return row;
}

async function view(deps: CpEnv['Variables']['deps'], row: GroupRow) {
  const settings = await loadSettings(deps.db);
  return toGroupView(row, settings.appUrl, deps.keyPool.stats(row.id));
}

function toGroupViewKeys(row: GroupRow) {
  const v = row.proxyKeys;
  return Array.isArray(v) ? (v as Array<{ hash: string; masked: string }>) : [];
}

/** A group translates only from the dialects its channel can be translated from (`TRANSLATABLE_FROM`). */
function checkTranslate(channel: Channel, translate: Translate): void {
  const allowed = TRANSLATABLE_FROM[channel] ?? [];
  const issues = translate.from
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => !allowed.includes(d))
    .map(({ d, i }) => ({
      path: `translate.from.${i}`,
      message: allowed.length
        ? `the ${channel} channel translates only from ${allowed.join(', ')}, not ${d}`
        : `the ${channel} channel does not translate (from ${d})`,
    }));
  if (issues.length > 0) throw AppError.validation(issues);
}

/** Sub-groups must exist, be standard groups of the same channel, and not be the group itself. */
async function checkSubGroups(
  deps: CpEnv['Variables']['deps'],
  type: 'standard' | 'aggregate',
  channel: Channel,
  refs: readonly SubGroupRef[],
  selfId: number | null,
): Promise<void> {
  if (type !== 'aggregate' || refs.length === 0) return;
  const ids = refs.map((r) => r.groupId);
  if (new Set(ids).size !== ids.length)
    throw AppError.validation([{ path: 'subGroups', message: 'a sub-group is listed twice' }]);
  if (selfId !== null && ids.includes(selfId))
    throw AppError.validation([{ path: 'subGroups', message: 'a group cannot contain itself' }]);
  const rows = await findGroupKinds(deps.db, ids);
  const problems = refs.flatMap((r, i) => {
    const g = rows.find((x) => x.id === r.groupId);
    if (!g) return [{ path: `subGroups.${i}.groupId`, message: 'no such group' }];
    if (g.type !== 'standard')
      return [{ path: `subGroups.${i}.groupId`, message: 'sub-groups must be standard groups' }];
    if (g.channel !== channel)
      return [
        { path: `subGroups.${i}.groupId`, message: `sub-group channel is ${g.channel}, not ${channel}` },
      ];
    return [];
  });
  if (problems.length > 0) throw AppError.validation(problems);
}

/** Sub-group references of the API as stored member links. */
function memberLinks(refs: readonly SubGroupRef[]): GroupMember[] {
  return refs.map((s) => ({ subGroupId: s.groupId, weight: s.weight, priority: s.priority }));
}

function columns(input: GroupCreate, existing: Array<{ hash: string; masked: string }>) {
  return {
    name: input.name,
    displayName: input.displayName,
    description: input.description,
    type: input.type,
    channel: input.channel,
    upstreams: input.upstreams,
    testModel: input.testModel,
    validationEndpoint: input.validationEndpoint,
    proxyKeys: storeProxyKeys(input.proxyKeys, existing) as unknown as object[],
    paramOverrides: input.paramOverrides as object,
    modelRedirects: input.modelRedirects,
    modelRedirectStrict: input.modelRedirectStrict,
    modelAliases: input.modelAliases,
    models: input.models,
    keyLimits: input.keyLimits as object,
    affinity: input.affinity as object,
    dailyResetTimeZone: input.dailyResetTimeZone,
    proxyPool: input.proxyPool,
    translate: input.translate,
    headerRules: input.headerRules as object[],
    config: input.config as object,
  };
}

function patchColumns(p: GroupPatch, existing: Array<{ hash: string; masked: string }>) {
  return {
    ...(p.name === undefined ? {} : { name: p.name }),
    ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.channel === undefined ? {} : { channel: p.channel }),
    ...(p.upstreams === undefined ? {} : { upstreams: p.upstreams }),
    ...(p.testModel === undefined ? {} : { testModel: p.testModel }),
    ...(p.validationEndpoint === undefined ? {} : { validationEndpoint: p.validationEndpoint }),
    ...(p.proxyKeys === undefined
      ? {}
      : { proxyKeys: storeProxyKeys(p.proxyKeys, existing) as unknown as object[] }),
    ...(p.paramOverrides === undefined ? {} : { paramOverrides: p.paramOverrides as object }),
    ...(p.modelRedirects === undefined ? {} : { modelRedirects: p.modelRedirects }),
    ...(p.modelRedirectStrict === undefined ? {} : { modelRedirectStrict: p.modelRedirectStrict }),
    ...(p.modelAliases === undefined ? {} : { modelAliases: p.modelAliases }),
    ...(p.models === undefined ? {} : { models: p.models }),
    ...(p.keyLimits === undefined ? {} : { keyLimits: p.keyLimits as object }),
    ...(p.affinity === undefined ? {} : { affinity: p.affinity as object }),
    ...(p.dailyResetTimeZone === undefined ? {} : { dailyResetTimeZone: p.dailyResetTimeZone }),
    ...(p.proxyPool === undefined ? {} : { proxyPool: p.proxyPool }),
    ...(p.translate === undefined ? {} : { translate: p.translate }),
    ...(p.headerRules === undefined ? {} : { headerRules: p.headerRules as object[] }),
    ...(p.config === undefined ? {} : { config: p.config as object }),
  };
}

/**
 * The proxy pool and `config.proxyUrl` of a write with masked entries (what a GET showed, sent back) replaced by the
 * stored URLs they stand for, and every proxy host judged by the egress policy. 400 names each entry refused.
 */
function unmaskProxies(
  input: { proxyPool?: string[]; config?: GroupConfig },
  storedPool: readonly string[],
  storedUrl: string | null | undefined,
  policy: EgressPolicy,
): { proxyPool?: string[]; config?: GroupConfig } {
  const problems: Array<{ path: string; message: string }> = [];
  const stored = storedUrl ? [...storedPool, storedUrl] : storedPool;
  const resolve = (url: string, path: string): string => {
    const r = resolveProxyUrl(url, stored, policy);
    if (r.problem) problems.push({ path, message: r.problem });
    return r.url;
  };
  const out: { proxyPool?: string[]; config?: GroupConfig } = {};
  if (input.proxyPool) out.proxyPool = input.proxyPool.map((u, i) => resolve(u, `proxyPool.${i}`));
  const url = input.config?.proxyUrl;
  if (input.config && url) out.config = { ...input.config, proxyUrl: resolve(url, 'config.proxyUrl') };
  if (problems.length > 0) throw AppError.validation(problems, 'A proxy URL is not allowed');
  return out;
}

function conflictOnName(name: string) {
  return (e: unknown): never => {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', `A group named '${name}' already exists`);
    throw e;
  };
}
