// Writes an import plan into the Keyway database in one transaction: all of it or nothing. Idempotent: a group
// whose name exists is skipped and the keys are merged into it, de-duplicated by Keyway's keyed hash (the unique
// index decides), proxy keys by their hash; settings are set, not added to. A dry run does the same work and
// rolls it back, so it reports exactly what a real run would do.
import type { DbClient, Prisma, Provider } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { hashAll, sealAll } from '@keyway/keypool';
import { maskSecret } from '@keyway/core';
import type { ImportedKeyRow } from './insert-keys';
import { insertImportedKeys } from './insert-keys';
import type { ImportPlan, ImportResult, PlannedGroup, PlannedProxyKey } from './plan';

/** Where and how the plan is written. */
export interface ApplyDeps {
  db: DbClient;
  provider: Provider;
  /** Keyway's key cipher: keys are sealed and hashed with it, as the admin API stores them. */
  keyCipher: KeyCipher;
}

/** Progress of a stage (`keys` while writing keys; the log stages report through `importLogs`). */
export interface ImportProgress {
  stage: 'keys' | 'logs' | 'stats';
  processed: number;
  total: number;
}

/** Options of {@link applyImportPlan}. */
export interface ApplyOptions {
  dryRun?: boolean;
  onProgress?: (p: ImportProgress) => void | Promise<void>;
}

/** The result, and what the caller needs to tell the running processes (pool reload, config announce). */
export interface ApplyOutcome {
  result: ImportResult;
  /** Keyway group id of each imported GPT-Load group (created or merged into), by GPT-Load id. */
  groupIds: Map<number, number>;
  /** Standard groups that got keys: their key pool must be reloaded. */
  keyGroups: number[];
  /** Whether anything was written (false for a dry run, or a re-run that found everything in place). */
  changed: boolean;
}

/** A typed value as a Prisma JSON column value (the generated input type has no index signature to match). */
const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;

/** Thrown inside the transaction to roll a dry run back. */
class DryRunRollback extends Error {}

/** Prisma's 5 s default would abort a 50,000-key import; a failed transaction rolls back whatever the limit. */
const TX_LIMITS = { maxWait: 30_000, timeout: 15 * 60_000 };

interface TxState {
  result: ImportResult;
  groupIds: Map<number, number>;
  keyGroups: Set<number>;
  changed: boolean;
}

function storedProxyKeys(value: unknown): PlannedProxyKey[] {
  return Array.isArray(value)
    ? (value as unknown[]).filter(
        (k): k is PlannedProxyKey =>
          typeof k === 'object' && k !== null && typeof (k as PlannedProxyKey).hash === 'string',
      )
    : [];
}

/** `existing` plus the keys of `incoming` it lacks (by hash); `added` counts those, `weak` the weak ones. */
function mergeProxyKeys(
  existing: readonly PlannedProxyKey[],
  incoming: readonly PlannedProxyKey[],
): { keys: PlannedProxyKey[]; added: number; weak: number } {
  const hashes = new Set(existing.map((k) => k.hash));
  const fresh = incoming.filter((k) => !hashes.has(k.hash) && hashes.add(k.hash));
  return { keys: [...existing, ...fresh], added: fresh.length, weak: fresh.filter((k) => k.weak).length };
}

function countProxyKeys(state: TxState, merged: { added: number; weak: number }): void {
  state.result.proxyKeys.imported += merged.added;
  state.result.proxyKeys.weak += merged.weak;
  if (merged.added > 0) state.changed = true;
}

/** Creates a planned group, or merges into the group of that name; records its Keyway id. */
async function writeGroup(
  tx: Prisma.TransactionClient,
  g: PlannedGroup,
  state: TxState,
  nextSort: () => number,
): Promise<void> {
  const existing = await tx.group.findUnique({
    where: { name: g.name },
    select: { id: true, type: true, channel: true, proxyKeys: true },
  });
  if (existing) {
    state.result.groups.skipped++;
    if (existing.type !== g.type || existing.channel !== g.channel) {
      state.result.warnings.push(
        `group '${g.name}' exists as a ${existing.channel} ${existing.type} group, not ${g.channel} ${g.type}: ` +
          'skipped, and its keys and proxy keys were not merged',
      );
      return;
    }
    state.groupIds.set(g.sourceId, existing.id);
    const merged = mergeProxyKeys(storedProxyKeys(existing.proxyKeys), g.proxyKeys);
    if (merged.added > 0)
      await tx.group.update({ where: { id: existing.id }, data: { proxyKeys: json(merged.keys) } });
    countProxyKeys(state, merged);
    return;
  }
  const members = g.subGroups.flatMap((s) => {
    const id = state.groupIds.get(s.sourceId);
    if (id === undefined)
      state.result.warnings.push(
        `group '${g.name}': sub-group #${s.sourceId} was not imported; link left out`,
      );
    return id === undefined ? [] : [{ subGroupId: id, weight: s.weight, priority: 1 }];
  });
  const row = await tx.group.create({
    data: {
      name: g.name,
      displayName: g.displayName,
      description: g.description,
      type: g.type,
      channel: g.channel,
      upstreams: json(g.upstreams),
      testModel: g.testModel,
      validationEndpoint: g.validationEndpoint,
      proxyKeys: json(g.proxyKeys),
      paramOverrides: json(g.paramOverrides),
      modelRedirects: g.modelRedirects,
      modelRedirectStrict: g.modelRedirectStrict,
      modelAliases: {},
      models: [],
      headerRules: json(g.headerRules),
      config: json(g.config),
      proxyPool: [],
      sort: nextSort(),
      subGroups: { create: members },
    },
    select: { id: true },
  });
  state.groupIds.set(g.sourceId, row.id);
  state.result.groups.created++;
  state.changed = true;
  countProxyKeys(state, mergeProxyKeys([], g.proxyKeys));
}

async function writeGlobalProxyKeys(
  tx: Prisma.TransactionClient,
  keys: readonly PlannedProxyKey[],
  state: TxState,
): Promise<void> {
  if (keys.length === 0) return;
  const row = await tx.setting.findUnique({ where: { key: 'proxyKeys' } });
  let stored: unknown = [];
  try {
    stored = row ? JSON.parse(row.value) : [];
  } catch {
    // An unreadable stored list reads as none (as the settings reader does); the import rewrites it whole.
  }
  const merged = mergeProxyKeys(storedProxyKeys(stored), keys);
  if (merged.added > 0) await upsertSetting(tx, 'proxyKeys', merged.keys);
  countProxyKeys(state, merged);
}

async function upsertSetting(tx: Prisma.TransactionClient, key: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value);
  await tx.setting.upsert({ where: { key }, create: { key, value: text }, update: { value: text } });
}

/** Seals and hashes every planned key (off the event loop when the cipher has bulk forms). */
async function sealKeys(
  deps: ApplyDeps,
  plan: ImportPlan,
): Promise<Array<Omit<ImportedKeyRow, 'groupId'> & { sourceGroupId: number }>> {
  const values = plan.keys.map((k) => k.value);
  const [sealed, hashes] = await Promise.all([
    sealAll(deps.keyCipher, values),
    hashAll(deps.keyCipher, values),
  ]);
  return plan.keys.map((k, i) => ({
    sourceGroupId: k.sourceGroupId,
    keyValue: sealed[i] as string,
    keyHash: hashes[i] as string,
    keyMasked: maskSecret(k.value),
    status: k.status,
    failureCount: k.failureCount,
    requestCount: k.requestCount,
    lastUsedAt: k.lastUsedAt,
    notes: k.notes,
  }));
}

const KEY_CHUNK = 2000;

async function writeKeys(
  tx: Prisma.TransactionClient,
  deps: ApplyDeps,
  rows: Awaited<ReturnType<typeof sealKeys>>,
  state: TxState,
  onProgress: ApplyOptions['onProgress'],
): Promise<void> {
  const target: ImportedKeyRow[] = [];
  for (const { sourceGroupId, ...r } of rows) {
    const groupId = state.groupIds.get(sourceGroupId);
    if (groupId === undefined) state.result.keys.ignored++;
    else target.push({ ...r, groupId });
  }
  await onProgress?.({ stage: 'keys', processed: 0, total: target.length });
  for (let i = 0; i < target.length; i += KEY_CHUNK) {
    const part = target.slice(i, i + KEY_CHUNK);
    const added = await insertImportedKeys(tx, deps.provider, part);
    state.result.keys.added += added;
    state.result.keys.ignored += part.length - added;
    if (added > 0) {
      state.changed = true;
      for (const r of part) state.keyGroups.add(r.groupId);
    }
    await onProgress?.({
      stage: 'keys',
      processed: Math.min(target.length, i + KEY_CHUNK),
      total: target.length,
    });
  }
}

/** Writes the plan (or, with `dryRun`, computes what writing it would do and writes nothing). */
export async function applyImportPlan(
  deps: ApplyDeps,
  plan: ImportPlan,
  options: ApplyOptions = {},
): Promise<ApplyOutcome> {
  const rows = await sealKeys(deps, plan);
  const state: TxState = {
    result: {
      groups: { created: 0, skipped: 0 },
      keys: { added: 0, ignored: plan.keysIgnored, undecryptable: plan.undecryptable },
      proxyKeys: { imported: 0, weak: 0 },
      settings: { applied: [...plan.settings.applied], ignored: [...plan.settings.ignored] },
      warnings: [...plan.warnings],
    },
    groupIds: new Map(),
    keyGroups: new Set(),
    changed: false,
  };
  try {
    await deps.db.$transaction(async (tx) => {
      const last = await tx.group.findFirst({ orderBy: { sort: 'desc' }, select: { sort: true } });
      let sort = last?.sort ?? 0;
      for (const g of plan.groups) await writeGroup(tx, g, state, () => ++sort);
      await writeKeys(tx, deps, rows, state, options.onProgress);
      await writeGlobalProxyKeys(tx, plan.globalProxyKeys, state);
      for (const [key, value] of Object.entries(plan.settings.values)) await upsertSetting(tx, key, value);
      if (options.dryRun) throw new DryRunRollback();
    }, TX_LIMITS);
  } catch (e) {
    if (!(e instanceof DryRunRollback)) throw e;
  }
  const changed = !options.dryRun && (state.changed || Object.keys(plan.settings.values).length > 0);
  return {
    result: state.result,
    groupIds: state.groupIds,
    keyGroups: options.dryRun ? [] : [...state.keyGroups],
    changed,
  };
}
