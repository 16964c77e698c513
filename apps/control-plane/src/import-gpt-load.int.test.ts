import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeGptLoadFixture, type GptLoadFixture } from '@keyway/gpt-load-import/testing';
import { createKeyCipher } from '@keyway/keypool';
import type { Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

const KEY = 'gpt-load-fixture-key-2025';
const PG_PASSWORD = 'pg-Password-never-shown-5e8a';
const cipher = createKeyCipher('Keyway-cp-import-test-Key-2b7e4d9a');

interface TaskBody {
  state: string;
  error: string | null;
  processed: number;
  total: number;
  result: {
    groups: { created: number; skipped: number };
    keys: { added: number; ignored: number; undecryptable: number };
    proxyKeys: { imported: number; weak: number };
    settings: { applied: string[]; ignored: Array<{ key: string; reason: string }> };
    warnings: string[];
  } | null;
}

let fx: Fixture;
let sqlite: GptLoadFixture;

async function upload(fields: Record<string, string>, file = sqlite.from): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), 'gpt-load.db');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fx.app.request('/api/import/gpt-load', {
    method: 'POST',
    headers: { authorization: `Bearer ${fx.authKey}` },
    body: form,
  });
}

/** Polls the task until it is no longer running; returns its status and every body read on the way. */
async function finish(res: Response): Promise<{ task: TaskBody; seen: string }> {
  expect(res.status).toBe(202);
  const { taskId } = (await res.json()) as { taskId: string };
  let seen = '';
  for (let i = 0; i < 600; i++) {
    const r = await fx.req<TaskBody>('GET', `/api/tasks/${taskId}`);
    expect(r.status).toBe(200);
    seen += r.text;
    if (r.json.state !== 'running') return { task: r.json, seen };
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error('the import task did not finish');
}

const uploadDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('keyway-upload-'));

beforeAll(async () => {
  fx = await createFixture({ keyCipher: cipher });
  sqlite = await writeGptLoadFixture({ dialect: 'sqlite', encryptionKey: KEY, legacy: true });
}, 60_000);
afterAll(async () => {
  await sqlite?.cleanup();
  await fx?.close();
});
beforeEach(async () => {
  await fx.reset();
});

describe('POST /api/import/gpt-load (SQLite upload)', () => {
  it('a dry run reports the plan and writes nothing', async () => {
    const { task } = await finish(await upload({ encryptionKey: KEY, dryRun: 'true' }));
    expect(task.state).toBe('succeeded');
    expect(task.result?.groups.created).toBe(sqlite.expected.groups.length);
    expect(task.result?.keys.added).toBeGreaterThan(0);
    expect(await fx.db.group.count()).toBe(0);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('imports, puts the keys in the pool, announces the change, deletes the upload; a re-run adds nothing', async () => {
    const before = new Set(uploadDirs());
    const { task, seen } = await finish(await upload({ encryptionKey: KEY }));
    expect(task.state, task.error ?? '').toBe('succeeded');
    const r = task.result;
    expect(r?.groups).toEqual({ created: sqlite.expected.groups.length, skipped: 0 });
    expect(r?.keys.undecryptable).toBe(1);
    expect(r?.proxyKeys.weak).toBeGreaterThan(0);
    expect(r?.warnings.join('\n')).toMatch(/security: weak proxy keys/);
    expect(fx.onConfigChanged).toHaveBeenCalled();
    const openai = await fx.db.group.findUniqueOrThrow({ where: { name: 'openai' } });
    expect(fx.keyPool.stats(openai.id).total).toBeGreaterThan(0);
    expect(uploadDirs().filter((d) => !before.has(d))).toEqual([]);
    // No secret anywhere: not the encryption key, not a proxy key, not an upstream key.
    const audit = JSON.stringify(await fx.db.auditLog.findMany());
    expect(audit).toMatch(/import\.gpt-load/);
    for (const secret of [KEY, ...sqlite.expected.globalProxyKeys]) {
      expect(seen).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
    for (const k of sqlite.expected.keys) if (k.keyValue) expect(seen).not.toContain(k.keyValue);

    const again = await finish(await upload({ encryptionKey: KEY }));
    expect(again.task.result?.groups).toEqual({ created: 0, skipped: sqlite.expected.groups.length });
    expect(again.task.result?.keys.added).toBe(0);
    expect(again.task.result?.proxyKeys.imported).toBe(0);
  });

  it('fails the task with a clear message on a wrong key and writes nothing', async () => {
    const { task } = await finish(await upload({ encryptionKey: 'wrong-key-0000' }));
    expect(task.state).toBe('failed');
    expect(task.error).toMatch(/encryption key|ENCRYPTION_KEY/i);
    expect(task.error).not.toContain('wrong-key-0000');
    expect(await fx.db.group.count()).toBe(0);
    expect(await fx.db.setting.count()).toBe(0);
  });

  it('merges keys into a group whose name exists instead of creating it', async () => {
    const created = await fx.req<{ id: number }>('POST', '/api/groups', standardGroup('openai'));
    expect(created.status).toBe(201);
    const { task } = await finish(await upload({ encryptionKey: KEY }));
    expect(task.result?.groups.skipped).toBe(1);
    const keys = await fx.db.apiKey.count({ where: { groupId: created.json.id } });
    expect(keys).toBe(sqlite.expected.keys.filter((k) => k.groupId === 1 && k.keyValue !== null).length);
    expect(await fx.db.group.count({ where: { name: 'openai' } })).toBe(1);
  });

  it('refuses a SQLite path in JSON (upload the file instead)', async () => {
    const res = await fx.req('POST', '/api/import/gpt-load', { databaseUrl: sqlite.from });
    expect(res.status).toBe(400);
  });
});

describe.each(['postgres', 'mysql'] as const)('POST /api/import/gpt-load (JSON, %s)', (dialect) => {
  let source: GptLoadFixture;
  beforeAll(async () => {
    source = await writeGptLoadFixture({ dialect, encryptionKey: KEY });
  }, 60_000);
  afterAll(async () => {
    await source?.cleanup();
  });

  it('imports from the database URL and shows neither its password nor the key', async () => {
    // PostgreSQL's test server trusts local connections, so any password gets in: it must still never show.
    const databaseUrl =
      dialect === 'postgres' ? source.from.replace('postgres@', `postgres:${PG_PASSWORD}@`) : source.from;
    const res = await fx.app.request('/api/import/gpt-load', {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.authKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ databaseUrl, encryptionKey: KEY }),
    });
    const { task, seen } = await finish(res);
    expect(task.state, task.error ?? '').toBe('succeeded');
    expect(task.result?.groups.created).toBe(source.expected.groups.length);
    const audit = JSON.stringify(await fx.db.auditLog.findMany());
    for (const secret of [KEY, PG_PASSWORD]) {
      expect(seen).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
  });
});
