import { accessKeyRotateResultSchema, accessKeySchema, pageSchema } from '@keyway/contracts';
import type { AccessKey, AccessKeyCreate, AccessKeyFromProxyKey, AccessKeyPatch } from '@keyway/contracts';
import type { Http } from './http';

const accessKeyPageSchema = pageSchema(accessKeySchema);

/** `/api/access-keys`: named client keys. `key` is in full only in the create and rotate answers. */
export function createAccessKeysApi(http: Http) {
  return {
    // The API's largest page: a console lists tens of keys, not thousands.
    list: async (): Promise<AccessKey[]> =>
      (await http.json('GET', '/api/access-keys', accessKeyPageSchema, { query: { pageSize: 1000 } })).items,
    // Silent: the dialog shows validation errors on its fields.
    create: (body: AccessKeyCreate): Promise<AccessKey> =>
      http.json('POST', '/api/access-keys', accessKeySchema, { body, silent: true }),
    update: (id: number, body: AccessKeyPatch, silent = false): Promise<AccessKey> =>
      http.json('PATCH', `/api/access-keys/${id}`, accessKeySchema, { body, silent }),
    remove: (id: number): Promise<void> => http.send('DELETE', `/api/access-keys/${id}`),
    rotate: async (id: number): Promise<string> =>
      (await http.json('POST', `/api/access-keys/${id}/rotate`, accessKeyRotateResultSchema)).key,
    fromProxyKey: (body: AccessKeyFromProxyKey): Promise<AccessKey> =>
      http.json('POST', '/api/access-keys/from-proxy-key', accessKeySchema, { body, silent: true }),
  };
}
