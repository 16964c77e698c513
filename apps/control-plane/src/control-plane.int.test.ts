// The admin API's core scenarios on every database Keyway supports: the same requests and the same expectations
// on SQLite (the reference the unit tests use), PostgreSQL and MySQL/MariaDB, each on its own throw-away database.
// PostgreSQL and MySQL are skipped with a loud warning when unreachable, and fail the run when CI is set.
// Servers: TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and TEST_MYSQL_URL (default
// mysql://root@127.0.0.1:3306/test), admin connections used to create and drop `kw_test_<random>` databases.
import { randomUUID } from 'node:crypto';
import type {
  AuditPage,
  DashboardSummary,
  Group,
  Key,
  KeysAddResult,
  RequestLog,
  RequestLogRecord,
  Settings,
  Timeseries,
} from '@keyway/contracts';
import {
  auditPageSchema,
  dashboardSummarySchema,
  defaultSettings,
  timeseriesSchema,
} from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import { writeRequestLogs } from '@keyway/db';
import { requireService } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, EXPORT_PAGE_SIZE } from './log-export';
import type { ServerProvider, TempDatabase } from './testing/databases';
import { SERVER_URL_ENV, SERVER_URLS, createTempDatabase } from './testing/databases';
import type { ErrorBody, Fixture, Res } from './testing/fixture';
import { POLICY, createFixture, standardGroup } from './testing/fixture';
import { recordUsage } from './testing/hourly-stats';

type Provider = 'sqlite' | ServerProvider;

const SERVER_LABELS: Record<ServerProvider, string> = {
  postgresql: `PostgreSQL (${SERVER_URL_ENV.postgresql})`,
  mysql: `MySQL/MariaDB (${SERVER_URL_ENV.mysql})`,
};

// Checked once, before collecting: requireService warns loudly and returns false, or throws when CI is set.
const reachable: Record<Provider, boolean> = {
  sqlite: true,
  postgresql: await requireService(SERVER_LABELS.postgresql, SERVER_URLS.postgresql),
  mysql: await requireService(SERVER_LABELS.mysql, SERVER_URLS.mysql),
};

const DATABASES: Array<[Provider, string | null]> = [
  ['sqlite', null],
  ['postgresql', SERVER_URLS.postgresql],
  ['mysql', SERVER_URLS.mysql],
];

/** Text that breaks naive SQL building or a careless encoding: quotes, comments, backslashes, 4-byte UTF-8. */
const TRICKY = {
  sql: `Robert'); DROP TABLE api_keys;-- " OR 1=1 /* */`,
  backslash: String.raw`C:\keys\new \' \" \\ \n (literal backslashes)`,
  like: '100% off _all_ [a-z] ^$ .*',
  unicode: 'ключ 鍵 clé — Schlüssel 🔑🚀 ẞ ﷺ \u200b zero-width',
  placeholders: '$1 ? :name @p1 %s {{x}} ${y}',
};
const TRICKY_ALL = Object.values(TRICKY).join(' | ');

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A realistic upstream key (long enough to be masked as prefix…suffix). */
const K = (n: number): string => `sk-int-${String(n).padStart(4, '0')}-abcdefghijklmnop`;

interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** The status, with the body as the assertion message, so a 500 shows what went wrong. */
function expectStatus<T>(res: Res<T>, status: number): Res<T> {
  expect(res.status, res.text).toBe(status);
  return res;
}

/** An RFC 4180 reader (CRLF rows, `"` quoting), written independently of the exporter. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text.charAt(i + 1) === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text.charAt(i + 1) === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) throw new Error('the CSV does not end with CRLF');
  return rows;
}

for (const [provider, serverUrl] of DATABASES) {
  describe.skipIf(!reachable[provider])(`admin API on ${provider}`, () => {
    let temp: TempDatabase | null = null;
    let fx: Fixture;

    beforeAll(async () => {
      if (provider !== 'sqlite' && serverUrl !== null) temp = await createTempDatabase(provider, serverUrl);
      fx = await createFixture(temp ? { databaseUrl: temp.url } : {});
    }, 30_000);
    afterAll(async () => {
      await fx?.close();
      await temp?.drop();
    });
    beforeEach(async () => {
      await fx.reset();
    });

    // ---------------------------------------------------------------------------------------------------------
    // helpers over fx

    async function createGroup(body: Record<string, unknown>): Promise<Group> {
      return expectStatus(await fx.req<Group>('POST', '/api/groups', body), 201).json;
    }

    async function getGroup(id: number): Promise<Group> {
      return expectStatus(await fx.req<Group>('GET', `/api/groups/${id}`), 200).json;
    }

    async function addKeys(groupId: number, keys: string | string[]): Promise<KeysAddResult> {
      return expectStatus(await fx.req<KeysAddResult>('POST', `/api/groups/${groupId}/keys`, { keys }), 200)
        .json;
    }

    async function listKeys(groupId: number, query = ''): Promise<Page<Key>> {
      return expectStatus(await fx.req<Page<Key>>('GET', `/api/groups/${groupId}/keys${query}`), 200).json;
    }

    async function deleteKeys(groupId: number, body: unknown): Promise<number> {
      const res = await fx.req<{ deleted: number }>('DELETE', `/api/groups/${groupId}/keys`, body);
      return expectStatus(res, 200).json.deleted;
    }

    /** Key ids by value, read from the database (the API only shows masked values). */
    async function keyIds(groupId: number): Promise<Map<string, number>> {
      const rows = await fx.db.apiKey.findMany({ where: { groupId }, orderBy: { id: 'asc' } });
      return new Map(rows.map((r) => [fx.deps.keyCipher.open(r.keyValue), r.id]));
    }

    function idOf(ids: Map<string, number>, value: string): number {
      const id = ids.get(value);
      if (id === undefined) throw new Error(`no key ${value}`);
      return id;
    }

    // ---------------------------------------------------------------------------------------------------------

    describe('groups', () => {
      it('creates, lists, reads, patches and deletes a standard group', async () => {
        const created = await createGroup(
          standardGroup('alpha', { displayName: 'Alpha pool', description: 'primary', testModel: 'gpt-4o' }),
        );
        expect(created).toMatchObject({
          name: 'alpha',
          displayName: 'Alpha pool',
          description: 'primary',
          type: 'standard',
          channel: 'openai',
          upstreams: [{ url: 'https://api.openai.example/v1', weight: 1 }],
          subGroups: [],
          endpoint: 'http://localhost:3001/proxy/alpha',
          keyStats: { total: 0, active: 0, cooling: 0, invalid: 0, disabled: 0 },
        });
        expect(await getGroup(created.id)).toEqual(created);
        const beta = await createGroup(standardGroup('beta'));

        const list = expectStatus(await fx.req<{ items: Group[] }>('GET', '/api/groups'), 200).json;
        expect(list.items.map((g) => g.name)).toEqual(['alpha', 'beta']);
        expect(list.items[0]).toEqual(created);

        const patched = expectStatus(
          await fx.req<Group>('PATCH', `/api/groups/${created.id}`, {
            description: 'edited',
            upstreams: [
              { url: 'https://a.example/v1', weight: 3 },
              { url: 'https://b.example/v1', weight: 1 },
            ],
            modelRedirects: { 'gpt-4': 'gpt-4o' },
            config: {},
          }),
          200,
        ).json;
        expect(patched).toMatchObject({
          name: 'alpha',
          displayName: 'Alpha pool',
          description: 'edited',
          upstreams: [
            { url: 'https://a.example/v1', weight: 3 },
            { url: 'https://b.example/v1', weight: 1 },
          ],
          modelRedirects: { 'gpt-4': 'gpt-4o' },
        });
        expect(Date.parse(patched.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
        expect(await getGroup(created.id)).toEqual(patched);

        expectStatus(await fx.req('DELETE', `/api/groups/${created.id}`), 204);
        expectStatus(await fx.req<ErrorBody>('GET', `/api/groups/${created.id}`), 404);
        expectStatus(await fx.req<ErrorBody>('DELETE', `/api/groups/${created.id}`), 404);
        const after = expectStatus(await fx.req<{ items: Group[] }>('GET', '/api/groups'), 200).json;
        expect(after.items.map((g) => g.id)).toEqual([beta.id]);
        expect(fx.loggedErrors).toEqual([]);
      });

      it('answers 409 CONFLICT for a duplicate name on create and on rename, changing nothing', async () => {
        const alpha = await createGroup(standardGroup('alpha', { description: 'first' }));
        const beta = await createGroup(standardGroup('beta'));

        const dup = expectStatus(
          await fx.req<ErrorBody>('POST', '/api/groups', standardGroup('alpha', { description: 'second' })),
          409,
        );
        expect(dup.json.error.code).toBe('CONFLICT');
        const rename = expectStatus(
          await fx.req<ErrorBody>('PATCH', `/api/groups/${beta.id}`, { name: 'alpha' }),
          409,
        );
        expect(rename.json.error.code).toBe('CONFLICT');

        expect(await fx.db.group.count()).toBe(2);
        expect(await getGroup(alpha.id)).toMatchObject({ name: 'alpha', description: 'first' });
        expect(await getGroup(beta.id)).toMatchObject({ name: 'beta' });
        // A unique violation is an answer, not an internal error.
        expect(fx.loggedErrors).toEqual([]);
      });

      it('builds an aggregate over sub-groups, protects its members and deletes in order', async () => {
        const a = await createGroup(standardGroup('sub-a'));
        const b = await createGroup(standardGroup('sub-b'));
        await addKeys(a.id, [K(1), K(2)]);
        const agg = await createGroup({
          name: 'agg',
          type: 'aggregate',
          channel: 'openai',
          subGroups: [
            { groupId: a.id, weight: 2 },
            { groupId: b.id, weight: 1 },
          ],
        });
        expect(agg).toMatchObject({
          type: 'aggregate',
          upstreams: [],
          subGroups: [
            { groupId: a.id, weight: 2, priority: 1, name: 'sub-a' },
            { groupId: b.id, weight: 1, priority: 1, name: 'sub-b' },
          ],
        });
        expect(await getGroup(agg.id)).toEqual(agg);

        const inUse = expectStatus(await fx.req<ErrorBody>('DELETE', `/api/groups/${a.id}`), 409);
        expect(inUse.json.error.message).toContain('agg');
        const keysOfAggregate = expectStatus(
          await fx.req<ErrorBody>('POST', `/api/groups/${agg.id}/keys`, { keys: K(3) }),
          400,
        );
        expect(keysOfAggregate.json.error.code).toBe('VALIDATION_FAILED');

        const replaced = expectStatus(
          await fx.req<Group>('PATCH', `/api/groups/${agg.id}`, {
            subGroups: [{ groupId: b.id, weight: 5 }],
          }),
          200,
        ).json;
        expect(replaced.subGroups).toEqual([{ groupId: b.id, weight: 5, priority: 1, name: 'sub-b' }]);
        // sub-a is free now; its keys go with it (cascade), from the database and the pool.
        expectStatus(await fx.req('DELETE', `/api/groups/${a.id}`), 204);
        expect(await fx.db.apiKey.count({ where: { groupId: a.id } })).toBe(0);
        expect(fx.keyPool.stats(a.id).total).toBe(0);

        expectStatus(await fx.req<ErrorBody>('DELETE', `/api/groups/${b.id}`), 409);
        expectStatus(await fx.req('DELETE', `/api/groups/${agg.id}`), 204);
        expect(await fx.db.groupSubGroup.count()).toBe(0);
        expectStatus(await fx.req('DELETE', `/api/groups/${b.id}`), 204);
        expect(await fx.db.group.count()).toBe(0);
      });
    });

    // ---------------------------------------------------------------------------------------------------------

    describe('keys', () => {
      let gid: number;
      beforeEach(async () => {
        gid = (await createGroup(standardGroup('pool'))).id;
      });

      it('adds keys from text, de-duplicating within the text and within the group', async () => {
        expect(await addKeys(gid, `${K(1)}\n${K(2)}, ${K(3)};${K(1)}  ${K(2)}\t${K(4)}\r\n`)).toEqual({
          added: 4,
          ignored: 0,
          total: 4,
        });
        expect(await addKeys(gid, `${K(3)} ${K(4)} ${K(5)}`)).toEqual({ added: 1, ignored: 2, total: 5 });
        expect([...(await keyIds(gid)).keys()]).toEqual([K(1), K(2), K(3), K(4), K(5)]);
        expect(fx.keyPool.stats(gid)).toEqual({ total: 5, active: 5, cooling: 0, invalid: 0, disabled: 0 });

        // Another group holds its own copy of the same key.
        const other = await createGroup(standardGroup('other'));
        expect(await addKeys(other.id, [K(1)])).toEqual({ added: 1, ignored: 0, total: 1 });

        const page = await listKeys(gid);
        expect(page.items.map((k) => k.key)).toEqual([1, 2, 3, 4, 5].map((n) => maskSecret(K(n))));
        expect(JSON.stringify(page)).not.toContain(K(1));
      });

      it('keeps one row per key and group: the unique (groupId, keyHash) index', async () => {
        await addKeys(gid, [K(1)]);
        const row = await fx.db.apiKey.findFirstOrThrow({ where: { groupId: gid } });
        const copy = { keyValue: row.keyValue, keyHash: row.keyHash, keyMasked: row.keyMasked };
        await expect(fx.db.apiKey.create({ data: { groupId: gid, ...copy } })).rejects.toMatchObject({
          code: 'P2002',
        });
        const other = await createGroup(standardGroup('other'));
        await expect(fx.db.apiKey.create({ data: { groupId: other.id, ...copy } })).resolves.toMatchObject({
          groupId: other.id,
        });
      });

      it('lists keys by status, searches by full value or notes, and pages in id order', async () => {
        await addKeys(
          gid,
          [1, 2, 3, 4, 5, 6, 7].map((n) => K(n)),
        );
        const ids = await keyIds(gid);
        // Health changes reach the database on flush; a status filter flushes first.
        fx.keyPool.report(gid, idOf(ids, K(2)), { class: 'auth', reason: 'HTTP 401' }, POLICY);
        fx.keyPool.report(gid, idOf(ids, K(5)), { class: 'auth', reason: 'HTTP 401' }, POLICY);
        const invalid = await listKeys(gid, '?status=invalid');
        expect(invalid.items.map((k) => k.id)).toEqual([idOf(ids, K(2)), idOf(ids, K(5))]);
        expect(invalid.items[0]).toMatchObject({ status: 'invalid', lastError: 'HTTP 401' });
        expect((await listKeys(gid, '?status=active')).total).toBe(5);

        expectStatus(await fx.req('PATCH', `/api/keys/${idOf(ids, K(6))}`, { notes: 'billing team' }), 200);
        const byValue = await listKeys(gid, `?search=${encodeURIComponent(` ${K(3)} `)}`);
        expect(byValue.items.map((k) => k.id)).toEqual([idOf(ids, K(3))]);
        expect((await listKeys(gid, `?search=${encodeURIComponent(K(3).slice(0, -1))}`)).total).toBe(0);
        const byNotes = await listKeys(gid, '?search=billing');
        expect(byNotes.items.map((k) => [k.id, k.notes])).toEqual([[idOf(ids, K(6)), 'billing team']]);

        const pages = [1, 2, 3].map((n) => listKeys(gid, `?pageSize=3&page=${n}`));
        const [p1, p2, p3] = await Promise.all(pages);
        expect([p1?.total, p2?.total, p3?.total]).toEqual([7, 7, 7]);
        expect([p1, p2, p3].map((p) => p?.items.length)).toEqual([3, 3, 1]);
        expect([p1, p2, p3].flatMap((p) => p?.items.map((k) => k.id))).toEqual([...ids.values()]);
        expect((await listKeys(gid, '?pageSize=3&page=4')).items).toEqual([]);

        const combined = await listKeys(gid, '?status=active&pageSize=2&page=2');
        expect(combined).toMatchObject({ total: 5, page: 2, pageSize: 2 });
        expect(combined.items.map((k) => k.id)).toEqual([idOf(ids, K(4)), idOf(ids, K(6))]);
      });

      it('deletes keys by value, by id and by status, from the database and the pool', async () => {
        await addKeys(
          gid,
          [1, 2, 3, 4, 5, 6].map((n) => K(n)),
        );
        const ids = await keyIds(gid);
        expect(await deleteKeys(gid, { keys: `${K(1)}\n${K(2)} sk-not-in-this-group-000000` })).toBe(2);
        expect(await deleteKeys(gid, { ids: [idOf(ids, K(3))] })).toBe(1);
        fx.keyPool.report(gid, idOf(ids, K(4)), { class: 'auth' }, POLICY);
        expect(await deleteKeys(gid, { status: 'invalid' })).toBe(1);
        expect(await deleteKeys(gid, { status: 'invalid' })).toBe(0);

        expect([...(await keyIds(gid)).keys()]).toEqual([K(5), K(6)]);
        expect(fx.keyPool.stats(gid)).toMatchObject({ total: 2, active: 2, invalid: 0 });
        expect((await listKeys(gid)).total).toBe(2);
      });

      it('restores invalid and cooling keys to active, leaving disabled ones alone', async () => {
        await addKeys(gid, [K(1), K(2), K(3), K(4)]);
        const ids = await keyIds(gid);
        fx.keyPool.report(gid, idOf(ids, K(1)), { class: 'auth' }, POLICY);
        fx.keyPool.report(gid, idOf(ids, K(2)), { class: 'rate', retryAfterMs: 600_000 }, POLICY);
        expectStatus(await fx.req('PATCH', `/api/keys/${idOf(ids, K(3))}`, { status: 'disabled' }), 200);

        const res = expectStatus(
          await fx.req<{ restored: number }>('POST', `/api/groups/${gid}/keys/restore`, {}),
          200,
        );
        expect(res.json).toEqual({ restored: 2 });
        expect(fx.keyPool.stats(gid)).toEqual({ total: 4, active: 3, cooling: 0, invalid: 0, disabled: 1 });
        const rows = await fx.db.apiKey.findMany({ where: { groupId: gid }, orderBy: { id: 'asc' } });
        expect(rows.map((r) => [r.status, r.failureCount, r.cooldownUntil])).toEqual([
          ['active', 0, null],
          ['active', 0, null],
          ['disabled', 0, null],
          ['active', 0, null],
        ]);
        expect((await listKeys(gid, '?status=active')).total).toBe(3);
      });
    });

    // ---------------------------------------------------------------------------------------------------------

    describe('settings', () => {
      it('reads the defaults, patches settings twice and reads the stored values back', async () => {
        const fresh = expectStatus(await fx.req<{ values: Settings }>('GET', '/api/settings'), 200).json;
        expect(fresh.values).toEqual(defaultSettings);

        const proxyKey = 'kw-proxy-int-test-0123456789abcdef';
        const first = expectStatus(
          await fx.req<{ values: Settings }>('PATCH', '/api/settings', {
            appUrl: 'https://gw.example.com',
            maxRetries: 5,
            requestLogBodies: true,
            failoverStatusCodes: '429,500-599',
            proxyKeys: [proxyKey],
          }),
          200,
        ).json;
        expect(first.values).toMatchObject({
          appUrl: 'https://gw.example.com',
          maxRetries: 5,
          requestLogBodies: true,
          failoverStatusCodes: '429,500-599',
          proxyKeys: [maskSecret(proxyKey)],
        });
        // The second write of a key updates its row.
        expectStatus(await fx.req('PATCH', '/api/settings', { maxRetries: 2 }), 200);
        const read = expectStatus(await fx.req<{ values: Settings }>('GET', '/api/settings'), 200).json;
        expect(read.values).toEqual({ ...first.values, maxRetries: 2 });
        expect(await fx.db.setting.count({ where: { key: 'maxRetries' } })).toBe(1);
        expect(JSON.stringify(await fx.db.setting.findMany())).not.toContain(proxyKey);
        expect(fx.onConfigChanged).toHaveBeenCalledTimes(2);

        const g = await createGroup(standardGroup('after-settings'));
        expect(g.endpoint).toBe('https://gw.example.com/proxy/after-settings');
      });
    });

    // ---------------------------------------------------------------------------------------------------------

    describe('request logs, dashboard and export', () => {
      let alpha: Group;
      let beta: Group;
      let agg: Group;
      let keyA: number;
      let keyB: number;
      let now: number;
      let records: RequestLogRecord[];

      function rec(n: number, at: number, over: Partial<RequestLogRecord>): RequestLogRecord {
        return {
          id: randomUUID(),
          requestId: `req-int-${n}`,
          time: new Date(at).toISOString(),
          groupId: alpha.id,
          groupName: alpha.name,
          parentGroupId: null,
          parentGroupName: null,
          cachedTokens: null,
          costUsd: null,
          accessKeyId: null,
          accessKeyName: null,
          translatedFrom: null,
          keyId: keyA,
          keyMasked: maskSecret(K(1)),
          proxyKeyMasked: 'kw-pr…0001',
          model: 'gpt-4o',
          statusCode: 200,
          success: true,
          durationMs: 120.4,
          ttfbMs: 40.6,
          stream: false,
          retries: 0,
          attempts: [],
          error: null,
          clientIp: '10.0.0.1',
          requestPath: '/v1/chat/completions',
          promptTokens: 10,
          completionTokens: 20,
          requestBody: null,
          ...over,
        };
      }

      beforeEach(async () => {
        alpha = await createGroup(standardGroup('alpha'));
        beta = await createGroup(standardGroup('beta'));
        agg = await createGroup({
          name: 'agg',
          type: 'aggregate',
          channel: 'openai',
          subGroups: [{ groupId: alpha.id }],
        });
        await addKeys(alpha.id, [K(1)]);
        await addKeys(beta.id, [K(2)]);
        keyA = idOf(await keyIds(alpha.id), K(1));
        keyB = idOf(await keyIds(beta.id), K(2));
        now = Date.now();
        // Relative to the real clock, far enough from the window edges that an hour rolling over between
        // writing and reading moves no record from one window to another.
        records = [
          rec(1, now - 1 * MIN, {}),
          rec(2, now - 2 * MIN, {
            statusCode: 429,
            success: false,
            error: 'upstream rate limited',
            retries: 2,
            attempts: [
              {
                keyId: keyA,
                key: maskSecret(K(1)),
                upstreamUrl: 'https://api.openai.example/v1',
                statusCode: 429,
                class: 'rate',
                durationMs: 12,
                error: 'rate limited',
              },
            ],
          }),
          rec(3, now - 3 * MIN, {
            groupId: beta.id,
            groupName: 'beta',
            keyId: keyB,
            model: 'gpt-4o-mini',
            stream: true,
          }),
          rec(4, now - 2 * HOUR, {
            parentGroupId: agg.id,
            parentGroupName: 'agg',
            statusCode: 502,
            success: false,
            error: 'connect ECONNREFUSED',
            model: null,
            keyId: null,
            keyMasked: null,
            promptTokens: null,
            completionTokens: null,
          }),
          rec(5, now - 30 * HOUR, {}),
          rec(6, now - 60 * HOUR, {}),
        ];
        // Written out of time order on purpose: the API sorts.
        const [r1, r2, r3, r4, r5, r6] = records;
        if (!r1 || !r2 || !r3 || !r4 || !r5 || !r6) throw new Error('records missing');
        await writeRequestLogs(fx.db, [r4, r1, r6]);
        await writeRequestLogs(fx.db, [r3, r5, r2]);
        // The counters come from usage batches, not from the log rows (requestLogging may be off).
        await recordUsage(fx.db, [r4, r1, r6]);
        await recordUsage(fx.db, [r3, r5, r2]);
      });

      async function logs(query = ''): Promise<Page<RequestLog>> {
        return expectStatus(await fx.req<Page<RequestLog>>('GET', `/api/logs${query}`), 200).json;
      }
      const requestIds = (page: Page<RequestLog>): string[] => page.items.map((l) => l.requestId);

      it('lists logs newest first with every field as written', async () => {
        const page = await logs();
        expect(page).toMatchObject({ total: 6, page: 1, pageSize: 50 });
        expect(requestIds(page)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `req-int-${n}`));
        const [r1, r2] = records;
        expect(page.items[0]).toEqual({
          id: r1?.id,
          requestId: 'req-int-1',
          time: r1?.time,
          groupId: alpha.id,
          groupName: 'alpha',
          parentGroupName: null,
          keyId: keyA,
          key: maskSecret(K(1)),
          proxyKey: 'kw-pr…0001',
          model: 'gpt-4o',
          statusCode: 200,
          success: true,
          durationMs: 120,
          ttfbMs: 41,
          stream: false,
          retries: 0,
          attempts: [],
          error: null,
          clientIp: '10.0.0.1',
          promptTokens: 10,
          completionTokens: 20,
          cachedTokens: null,
          costUsd: null,
          accessKeyId: null,
          accessKeyName: null,
          translatedFrom: null,
        });
        expect(page.items[1]).toMatchObject({ time: r2?.time, attempts: r2?.attempts, retries: 2 });
        expect(page.items[2]).toMatchObject({ stream: true, success: true });
        expect(page.items[3]).toMatchObject({ model: null, keyId: null, promptTokens: null, success: false });
      });

      it.each([
        ['?result=error', [2, 4]],
        ['?result=success', [1, 3, 5, 6]],
        ['?statusCode=429', [2]],
        ['?model=gpt-4o-mini', [3]],
        ['?search=ECONNREFUSED', [4]],
        ['?search=req-int-2', [2]],
        ['?search=mini', [3]],
        ['?result=error&statusCode=502', [4]],
      ])('filters logs with %s', async (query, expected) => {
        const page = await logs(query);
        expect(requestIds(page)).toEqual(expected.map((n) => `req-int-${n}`));
        expect(page.total).toBe(expected.length);
      });

      it('filters logs by group (own or through an aggregate), key and time, and pages them', async () => {
        expect(requestIds(await logs(`?groupId=${alpha.id}`))).toEqual(
          [1, 2, 4, 5, 6].map((n) => `req-int-${n}`),
        );
        expect(requestIds(await logs(`?groupId=${agg.id}`))).toEqual(['req-int-4']);
        expect(requestIds(await logs(`?groupId=${beta.id}`))).toEqual(['req-int-3']);
        expect(requestIds(await logs(`?keyId=${keyB}`))).toEqual(['req-int-3']);
        const from = new Date(now - 150 * MIN).toISOString();
        const to = new Date(now).toISOString();
        expect(requestIds(await logs(`?from=${from}&to=${to}`))).toEqual(
          [1, 2, 3, 4].map((n) => `req-int-${n}`),
        );
        const p2 = await logs('?pageSize=2&page=2');
        expect(p2).toMatchObject({ total: 6, page: 2, pageSize: 2 });
        expect(requestIds(p2)).toEqual(['req-int-3', 'req-int-4']);
        expect((await logs('?pageSize=2&page=4')).items).toEqual([]);
      });

      it('counts successful requests per key', async () => {
        // r1, r5, r6 succeeded with key A (r2 failed; r4 had no key); r3 with key B.
        expect((await listKeys(alpha.id)).items[0]).toMatchObject({ id: keyA, requestCount: 3 });
        expect((await listKeys(beta.id)).items[0]).toMatchObject({ id: keyB, requestCount: 1 });
      });

      it('summarises the dashboard: aggregate traffic counted once, the previous window apart', async () => {
        const res = expectStatus(
          await fx.req<DashboardSummary>('GET', '/api/dashboard/summary?range=24h'),
          200,
        );
        const summary = dashboardSummarySchema.parse(res.json);
        expect(summary).toEqual({
          requests: 4,
          errors: 2,
          errorRate: 0.5,
          rpm: 0.3,
          keys: { total: 2, active: 2, cooling: 0, invalid: 0, disabled: 0 },
          tokens: { prompt: 30, completion: 60 },
          costUsd: 0,
          previous: { requests: 1, errors: 0, errorRate: 0, rpm: 0 },
        });
        const week = dashboardSummarySchema.parse(
          expectStatus(await fx.req<DashboardSummary>('GET', '/api/dashboard/summary?range=7d'), 200).json,
        );
        expect(week).toMatchObject({ requests: 6, errors: 2 });
      });

      it('buckets the time series by hour and by day, for all groups or one aggregate', async () => {
        const series = async (query: string): Promise<Timeseries> =>
          timeseriesSchema.parse(
            expectStatus(await fx.req<Timeseries>('GET', `/api/dashboard/timeseries${query}`), 200).json,
          );
        const sum = (t: Timeseries, f: 'requests' | 'errors') => t.buckets.reduce((n, b) => n + b[f], 0);

        const day = await series('?range=24h');
        expect(day.buckets).toHaveLength(24);
        expect([sum(day, 'requests'), sum(day, 'errors')]).toEqual([4, 2]);
        const hourOf = (t: number) => new Date(Math.floor(t / HOUR) * HOUR).toISOString();
        expect(day.buckets.find((b) => b.start === hourOf(now - 2 * HOUR))).toMatchObject({
          requests: 1,
          errors: 1,
        });

        const week = await series('?range=7d');
        expect(week.buckets).toHaveLength(7);
        expect(sum(week, 'requests')).toBe(6);
        expect(week.buckets.at(-1)?.start).toBe(
          new Date(Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR).toISOString(),
        );

        const viaAgg = await series(`?range=24h&groupId=${agg.id}`);
        expect([sum(viaAgg, 'requests'), sum(viaAgg, 'errors')]).toEqual([1, 1]);
      });

      it('exports the matching logs as CSV, in the list order', async () => {
        const res = await fx.req('GET', '/api/logs/export?result=error');
        expectStatus(res, 200);
        expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
        const [header, ...rows] = parseCsv(res.text);
        expect(header).toEqual([...CSV_COLUMNS]);
        const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
        expect(rows.map((r) => r[col('requestId')])).toEqual(['req-int-2', 'req-int-4']);
        expect(rows[0]?.[col('time')]).toBe(records[1]?.time);
        expect(rows[0]?.[col('error')]).toBe('upstream rate limited');
        expect(rows[1]?.[col('model')]).toBe('');
      });

      it('exports past one page of rows that share timestamps, each row exactly once', async () => {
        // Three timestamps shared by many rows: the keyset paging must break ties on id, in this database's
        // string order, across page boundaries.
        const count = 2 * EXPORT_PAGE_SIZE + 150;
        const base = now - 10 * HOUR;
        const bulk = Array.from({ length: count }, (_, i) =>
          rec(1000 + i, base - (i % 3) * 1000, { requestId: `bulk-${i}`, keyId: null }),
        );
        await writeRequestLogs(fx.db, bulk);
        const from = new Date(base - 2000).toISOString();
        const to = new Date(base).toISOString();
        const res = await fx.req('GET', `/api/logs/export?groupId=${alpha.id}&from=${from}&to=${to}`);
        expectStatus(res, 200);
        const [, ...rows] = parseCsv(res.text);
        const exported = rows.map((r) => r[CSV_COLUMNS.indexOf('requestId')]);
        expect(exported).toHaveLength(count);
        expect(new Set(exported).size).toBe(count);
        const times = rows.map((r) => Date.parse(r[0] ?? ''));
        expect(times).toEqual([...times].sort((x, y) => y - x));
      }, 30_000);
    });

    // ---------------------------------------------------------------------------------------------------------

    describe('audit', () => {
      it('records each change newest first, with its details as an object, paged', async () => {
        const g = await createGroup(standardGroup('audited'));
        await addKeys(g.id, [K(1), K(2)]);
        expectStatus(await fx.req('PATCH', '/api/settings', { maxRetries: 4 }), 200);
        await deleteKeys(g.id, { keys: K(1) });

        const res = expectStatus(await fx.req<AuditPage>('GET', '/api/audit'), 200);
        const page = auditPageSchema.parse(res.json);
        expect(page).toMatchObject({ total: 4, page: 1, pageSize: 50 });
        expect(page.items.map((e) => [e.action, e.target, e.details])).toEqual([
          ['keys.delete', `group:${g.id}`, { deleted: 1 }],
          ['settings.update', 'settings', { keys: ['maxRetries'] }],
          ['keys.add', `group:${g.id}`, { added: 2, ignored: 0 }],
          ['group.create', `group:${g.id}`, { name: 'audited' }],
        ]);
        expect(res.text).not.toContain(K(1));
        for (const e of page.items) expect(Date.parse(e.time)).toBeGreaterThan(Date.now() - 5 * MIN);

        const p2 = auditPageSchema.parse(
          expectStatus(await fx.req<AuditPage>('GET', '/api/audit?pageSize=3&page=2'), 200).json,
        );
        expect(p2).toMatchObject({ total: 4, page: 2, pageSize: 3 });
        expect(p2.items.map((e) => e.action)).toEqual(['group.create']);
      });
    });

    // ---------------------------------------------------------------------------------------------------------

    describe('unicode and SQL-looking text', () => {
      it('round-trips it unchanged in group display names and descriptions', async () => {
        const created = await createGroup(
          standardGroup('tricky', { displayName: TRICKY.unicode, description: `  ${TRICKY_ALL}\n  ` }),
        );
        expect(created.displayName).toBe(TRICKY.unicode);
        expect(created.description).toBe(`  ${TRICKY_ALL}\n  `);
        expect(await getGroup(created.id)).toEqual(created);
        const patched = expectStatus(
          await fx.req<Group>('PATCH', `/api/groups/${created.id}`, {
            displayName: TRICKY.sql,
            description: TRICKY.backslash,
          }),
          200,
        ).json;
        expect([patched.displayName, patched.description]).toEqual([TRICKY.sql, TRICKY.backslash]);
        const list = expectStatus(await fx.req<{ items: Group[] }>('GET', '/api/groups'), 200).json;
        expect(list.items[0]).toMatchObject({ displayName: TRICKY.sql, description: TRICKY.backslash });
        // Every table is still there.
        expect(await fx.db.apiKey.count()).toBe(0);
      });

      it.each([
        ['SQL', `grp'); DROP TABLE groups;--`],
        ['Cyrillic', 'ключ'],
        ['an emoji', 'pool-🔑'],
        ['upper case', 'Pool'],
      ])('refuses a group name with %s with 400, not a database error', async (_what, name) => {
        const res = expectStatus(await fx.req<ErrorBody>('POST', '/api/groups', standardGroup(name)), 400);
        expect(res.json.error.code).toBe('VALIDATION_FAILED');
        expect(await fx.db.group.count()).toBe(0);
      });

      it('round-trips it in key notes, and finds a key by such a note', async () => {
        const gid = (await createGroup(standardGroup('notes'))).id;
        const values = Object.values(TRICKY);
        await addKeys(
          gid,
          values.map((_, i) => K(i + 1)),
        );
        const ids = await keyIds(gid);
        for (const [i, note] of values.entries()) {
          const res = await fx.req<Key>('PATCH', `/api/keys/${idOf(ids, K(i + 1))}`, { notes: note });
          expect(expectStatus(res, 200).json.notes).toBe(note);
        }
        const page = await listKeys(gid);
        expect(page.items.map((k) => k.notes)).toEqual(values);
        // (Search terms without %, _ or \: Prisma's `contains` passes them to LIKE unescaped, where they are
        // wildcards or, on PostgreSQL and MySQL, the escape character.)
        for (const [i, term] of [`'); DROP TABLE`, '(literal backslashes)', '鍵 clé', '{{x}}'].entries()) {
          const hit = await listKeys(gid, `?search=${encodeURIComponent(term)}`);
          expect(
            hit.items.map((k) => k.id),
            term,
          ).toEqual([idOf(ids, K([1, 2, 4, 5][i] ?? 0))]);
        }
        expect(await fx.db.apiKey.count()).toBe(values.length);
      });

      it('round-trips it in request logs, their filters and the CSV export', async () => {
        const g = await createGroup(standardGroup('logs'));
        const record: RequestLogRecord = {
          id: randomUUID(),
          requestId: `req-${TRICKY.unicode}`,
          time: new Date(Date.now() - MIN).toISOString(),
          groupId: g.id,
          groupName: TRICKY.unicode,
          parentGroupId: null,
          parentGroupName: null,
          cachedTokens: null,
          costUsd: null,
          accessKeyId: null,
          accessKeyName: null,
          translatedFrom: null,
          keyId: null,
          keyMasked: null,
          proxyKeyMasked: null,
          model: `gpt-4o'; DROP TABLE request_logs;--`,
          statusCode: 400,
          success: false,
          durationMs: 5,
          ttfbMs: null,
          stream: false,
          retries: 0,
          attempts: [],
          error: `${TRICKY.sql} ${TRICKY.backslash} "quoted", comma ${TRICKY.unicode}`,
          clientIp: '::1',
          requestPath: '/v1/chat/completions',
          promptTokens: null,
          completionTokens: null,
          requestBody: TRICKY_ALL,
        };
        await writeRequestLogs(fx.db, [record]);

        const all = await fx.req<Page<RequestLog>>('GET', '/api/logs');
        expect(expectStatus(all, 200).json.items[0]).toMatchObject({
          requestId: record.requestId,
          groupName: record.groupName,
          model: record.model,
          error: record.error,
        });
        const byModel = await fx.req<Page<RequestLog>>(
          'GET',
          `/api/logs?model=${encodeURIComponent(record.model ?? '')}`,
        );
        expect(expectStatus(byModel, 200).json.total).toBe(1);
        const bySearch = await fx.req<Page<RequestLog>>(
          'GET',
          `/api/logs?search=${encodeURIComponent('鍵 clé')}`,
        );
        expect(expectStatus(bySearch, 200).json.total).toBe(1);
        const byRequestId = await fx.req<Page<RequestLog>>(
          'GET',
          `/api/logs?search=${encodeURIComponent(record.requestId)}`,
        );
        expect(expectStatus(byRequestId, 200).json.total).toBe(1);
        expect((await fx.db.requestLog.findFirstOrThrow()).requestBody).toBe(TRICKY_ALL);

        const csv = await fx.req('GET', '/api/logs/export');
        const [, row] = parseCsv(expectStatus(csv, 200).text);
        expect(row?.[CSV_COLUMNS.indexOf('groupName')]).toBe(record.groupName);
        expect(row?.[CSV_COLUMNS.indexOf('model')]).toBe(record.model);
        expect(row?.[CSV_COLUMNS.indexOf('error')]).toBe(record.error);
      });
    });
  });
}
