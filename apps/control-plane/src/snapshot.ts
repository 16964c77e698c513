import type { ConfigSnapshot } from '@keyway/contracts';
import { dailyResetZone } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import { listAccessKeys, listGroupsForSnapshot } from '@keyway/db';
import { groupJson } from './group-view';
import { effectivePrices } from './prices';
import { loadSettings } from './settings-store';

/** Builds the data plane's configuration snapshot from the database. */
export async function buildSnapshot(db: DbClient, version: number): Promise<ConfigSnapshot> {
  const [settings, groups, accessKeys, prices] = await Promise.all([
    loadSettings(db),
    listGroupsForSnapshot(db),
    listAccessKeys(db),
    effectivePrices(db),
  ]);
  const { proxyKeys, ...rest } = settings;
  return {
    version,
    settings: rest,
    proxyKeyHashes: proxyKeys.map((k) => k.hash),
    groups: groups.map((g) => {
      const j = groupJson(g);
      return {
        id: g.id,
        name: g.name,
        type: g.type === 'aggregate' ? 'aggregate' : 'standard',
        channel: g.channel as ConfigSnapshot['groups'][number]['channel'],
        upstreams: j.upstreams,
        testModel: g.testModel,
        validationEndpoint: g.validationEndpoint,
        proxyKeyHashes: j.proxyKeys.map((k) => k.hash),
        paramOverrides: j.paramOverrides,
        modelRedirects: j.modelRedirects,
        modelRedirectStrict: g.modelRedirectStrict,
        headerRules: j.headerRules,
        config: j.config,
        subGroups: g.subGroups.map((s) => ({
          groupId: s.subGroupId,
          weight: s.weight,
          priority: s.priority,
        })),
        modelAliases: j.modelAliases,
        models: j.models,
        keyLimits: j.keyLimits,
        affinity: j.affinity,
        dailyResetTimeZone: dailyResetZone(g.channel, g.dailyResetTimeZone),
        proxyPool: j.proxyPool,
        translate: j.translate.from,
      };
    }),
    // Disabled and expired keys too: the gateway refuses them by name instead of as unknown keys.
    accessKeys: accessKeys.map((k) => ({
      id: k.id,
      name: k.name,
      hash: k.keyHash,
      groups: k.groups,
      models: k.models,
      limits: k.limits,
      expiresAt: k.expiresAt?.toISOString() ?? null,
      enabled: k.enabled,
    })),
    prices: prices.map(({ source: _source, ...p }) => p),
  };
}
