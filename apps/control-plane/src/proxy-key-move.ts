import type { AccessKeyFromProxyKey } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import type { AccessKeyRecord, StoredProxyKey } from '@keyway/db';
import { deleteAccessKey, findGroupWithMembers, updateGroup, writeSettings } from '@keyway/db';
import type { ControlPlaneDeps } from './context';
import { loadSettings } from './settings-store';

/** Where a proxy key is stored: the global list (settings) or one group's. */
interface ProxyKeySource {
  keys: StoredProxyKey[];
  save(keys: StoredProxyKey[]): Promise<void>;
}

async function sourceOf(deps: ControlPlaneDeps, groupId: number | undefined): Promise<ProxyKeySource> {
  const { db } = deps;
  if (groupId === undefined) {
    const settings = await loadSettings(db);
    return { keys: settings.proxyKeys, save: (proxyKeys) => writeSettings(db, { proxyKeys }) };
  }
  const group = await findGroupWithMembers(db, groupId);
  if (!group) throw AppError.notFound('Group');
  const keys = Array.isArray(group.proxyKeys) ? (group.proxyKeys as unknown as StoredProxyKey[]) : [];
  return {
    keys,
    save: async (proxyKeys) => {
      await updateGroup(db, groupId, { proxyKeys: proxyKeys as unknown as object[] }, undefined);
    },
  };
}

/**
 * Moves a stored proxy key (found by its masked form) into a new access key with the same hash, so callers keep
 * their secret: `create` makes the access key, then the proxy key is removed where it was. If the removal fails
 * the new access key is deleted again, so the secret never ends up with two meanings.
 */
export async function moveProxyKey(
  deps: ControlPlaneDeps,
  input: AccessKeyFromProxyKey,
  create: (stored: StoredProxyKey) => Promise<AccessKeyRecord>,
): Promise<AccessKeyRecord> {
  const source = await sourceOf(deps, input.groupId);
  const matches = source.keys.filter((k) => k.masked === input.keyMasked);
  if (matches.length === 0) throw AppError.notFound('Proxy key');
  if (matches.length > 1)
    throw new AppError(
      'CONFLICT',
      'Several proxy keys share this masked form; give one of them a new value first',
    );
  const stored = matches[0] as StoredProxyKey;
  const row = await create(stored);
  try {
    await source.save(source.keys.filter((k) => k !== stored));
  } catch (err) {
    await deleteAccessKey(deps.db, row.id);
    throw err;
  }
  return row;
}
