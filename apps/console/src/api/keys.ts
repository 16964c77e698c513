import { keySchema, keysAddResultSchema, pageSchema } from '@keyway/contracts';
import type { Key, KeysAddResult, KeyStatus } from '@keyway/contracts';
import { z } from 'zod';
import type { Download, Http } from './http';
import { deletedSchema, keyTestResultSchema, restoredSchema, taskRefSchema } from './schemas';
import type { KeyTestResult, TaskRef } from './schemas';

const keyPageSchema = pageSchema(keySchema);
export type KeyPage = z.infer<typeof keyPageSchema>;

/** Small imports answer with the counts, large ones (202) with a task to follow. */
const addKeysAnswerSchema = z.union([keysAddResultSchema, taskRefSchema]);
export type AddKeysAnswer = KeysAddResult | TaskRef;

export interface KeyListParams {
  status?: KeyStatus;
  search?: string;
  page: number;
  pageSize: number;
}

export type ValidateScope = 'invalid' | 'active' | 'all';

/** Keys of a group and single keys. */
export function createKeysApi(http: Http) {
  return {
    list: (groupId: number, params: KeyListParams): Promise<KeyPage> =>
      http.json('GET', `/api/groups/${groupId}/keys`, keyPageSchema, { query: { ...params } }),
    add: (groupId: number, keys: string): Promise<AddKeysAnswer> =>
      http.json('POST', `/api/groups/${groupId}/keys`, addKeysAnswerSchema, { body: { keys } }),
    removeByIds: async (groupId: number, ids: number[]): Promise<number> =>
      (await http.json('DELETE', `/api/groups/${groupId}/keys`, deletedSchema, { body: { ids } })).deleted,
    removeByStatus: async (groupId: number, status: KeyStatus): Promise<number> =>
      (await http.json('DELETE', `/api/groups/${groupId}/keys`, deletedSchema, { body: { status } })).deleted,
    restore: async (groupId: number, ids?: number[]): Promise<number> =>
      (
        await http.json('POST', `/api/groups/${groupId}/keys/restore`, restoredSchema, {
          body: ids ? { ids } : {},
        })
      ).restored,
    validate: async (groupId: number, status: ValidateScope): Promise<string> =>
      (await http.json('POST', `/api/groups/${groupId}/keys/validate`, taskRefSchema, { body: { status } }))
        .taskId,
    export: (groupId: number, status?: KeyStatus): Promise<Download> =>
      http.download(`/api/groups/${groupId}/keys/export`, { query: { status } }),
    update: (keyId: number, body: { notes?: string; status?: 'active' | 'disabled' }): Promise<Key> =>
      http.json('PATCH', `/api/keys/${keyId}`, keySchema, { body }),
    test: (keyId: number): Promise<KeyTestResult> =>
      http.json('POST', `/api/keys/${keyId}/test`, keyTestResultSchema),
  };
}
