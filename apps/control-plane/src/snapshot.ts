import type { ConfigSnapshot } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import { listGroupsForSnapshot } from '@keyway/db';
import { groupJson } from './group-view';
import { loadSettings } from './settings-store';

/** Builds the data plane's configuration snapshot from the database. */
export async function buildSnapshot(db: DbClient, version: number): Promise<ConfigSnapshot> {
  const [settings, groups] = await Promise.all([loadSettings(db), listGroupsForSnapshot(db)]);
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
        subGroups: g.subGroups.map((s) => ({ groupId: s.subGroupId, weight: s.weight })),
        models: j.models,
      };
    }),
    accessKeys: [],
    prices: [],
  };
}
