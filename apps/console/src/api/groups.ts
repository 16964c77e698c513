import { groupSchema, groupStatsSchema, proxyHealthListSchema } from '@keyway/contracts';
import type { Group, GroupCreate, GroupPatch, GroupStats, ProxyHealthItem } from '@keyway/contracts';
import type { Http } from './http';
import { groupListSchema } from './schemas';

export type CopyKeys = 'all' | 'valid' | 'none';

/** `/api/groups`: CRUD, order, copy, stats and the health of the egress proxies. */
export function createGroupsApi(http: Http) {
  return {
    list: async (): Promise<Group[]> => (await http.json('GET', '/api/groups', groupListSchema)).items,
    get: (id: number): Promise<Group> => http.json('GET', `/api/groups/${id}`, groupSchema),
    create: (body: GroupCreate, silent = false): Promise<Group> =>
      http.json('POST', '/api/groups', groupSchema, { body, silent }),
    update: (id: number, body: GroupPatch, silent = false): Promise<Group> =>
      http.json('PATCH', `/api/groups/${id}`, groupSchema, { body, silent }),
    remove: (id: number): Promise<void> => http.send('DELETE', `/api/groups/${id}`),
    copy: (id: number, body: { name?: string; keys: CopyKeys }): Promise<Group> =>
      http.json('POST', `/api/groups/${id}/copy`, groupSchema, { body }),
    order: (ids: number[]): Promise<void> => http.send('PUT', '/api/groups/order', { body: { ids } }),
    stats: (id: number): Promise<GroupStats> => http.json('GET', `/api/groups/${id}/stats`, groupStatsSchema),
    proxies: async (id: number): Promise<ProxyHealthItem[]> =>
      (await http.json('GET', `/api/groups/${id}/proxies`, proxyHealthListSchema, { silent: true })).items,
  };
}
