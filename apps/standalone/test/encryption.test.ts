import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskSecret } from '@keyway/core';
import { applyMigrations } from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import { freePort, startFakeUpstream, startProcess } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, mainJs, startStandalone, tempDir } from './harness';
import { keyStore, secrets } from './key-store';

const AUTH_KEY = 'enc-admin-Key-5b4a3c2d1e0f9a8b';
const ENCRYPTION_KEY = 'enc-At-rest-9f8e7d6c5b4a39281706f5e4';
const PROXY_KEY = 'enc-proxy-Key-1a2b3c4d5e6f';
const KEYS = ['sk-enc-upstream-aaaaaaaaaaaaaaaa0001', 'sk-enc-upstream-bbbbbbbbbbbbbbbb0002'];

describe('upstream keys encrypted at rest', () => {
  let fake: FakeUpstream;
  const tmp = tempDir('encryption');
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    await fake.close();
    tmp.cleanup();
  });

  it('serves with encrypted keys, keeps no plaintext key in the database, and refuses a different ENCRYPTION_KEY', async () => {
    const app = await startStandalone(tmp.dir, { AUTH_KEY, ENCRYPTION_KEY });
    const admin = adminClient(app.url, AUTH_KEY);
    const g = await admin.post('/groups', {
      name: 'enc',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
      proxyKeys: [PROXY_KEY],
    });
    expect((await admin.post(`/groups/${g.body.id as number}/keys`, { keys: KEYS })).body).toMatchObject({
      added: 2,
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${app.url}/proxy/enc/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    }
    expect(new Set(fake.keysSeen())).toEqual(new Set(KEYS));
    const search = await admin.get(`/groups/${g.body.id as number}/keys?search=${KEYS[0]}`);
    expect(search.body.total).toBe(1);
    const warnings = await admin.get('/dashboard/warnings');
    expect(JSON.stringify(warnings.body)).not.toContain('ENCRYPTION_DISABLED');
    expect(await app.proc.stop('SIGTERM')).toBe(0);

    // WAL checkpointed on close; look at every file SQLite wrote.
    const files = readdirSync(tmp.dir).filter((f) => f.startsWith('keyway.db'));
    for (const f of files) {
      const bytes = readFileSync(join(tmp.dir, f));
      for (const k of KEYS) expect(bytes.includes(Buffer.from(k)), `${k} in ${f}`).toBe(false);
    }

    const wrong = spawnSync(process.execPath, [mainJs], {
      cwd: tmp.dir,
      env: {
        ...process.env,
        AUTH_KEY,
        ENCRYPTION_KEY: 'another-Encryption-key-0f1e2d3c4b5a',
        DATA_DIR: tmp.dir,
        DATABASE_URL: `file:${join(tmp.dir, 'keyway.db')}`,
        PORT: '39999',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/ENCRYPTION_KEY/);
    expect(wrong.stderr).not.toContain('another-Encryption-key');
  });
});

/** Starts the built app on `dir` as a user would the second time, expecting it to refuse; returns stderr. */
function startRefused(
  dir: string,
  env: Record<string, string> = {},
): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [mainJs], {
    cwd: dir,
    env: {
      ...process.env,
      ENCRYPTION_KEY: undefined,
      AUTH_KEY,
      DATA_DIR: dir,
      DATABASE_URL: `file:${join(dir, 'keyway.db')}`,
      PORT: '39998',
      ...env,
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('upstream keys encrypted by default (no ENCRYPTION_KEY)', { timeout: 180_000 }, () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(() => fake.close());

  it('generates a private key file, stores only ciphertext, masks keys in the API, exports them, and reuses the file', async () => {
    const tmp = tempDir('enc-default');
    try {
      const app = await startStandalone(tmp.dir, { AUTH_KEY, ENCRYPTION_KEY: undefined });
      const file = join(tmp.dir, 'encryption-key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const key = readFileSync(file, 'utf8').trim();
      expect(app.proc.stdout).toContain(file);
      expect(app.proc.stdout + app.proc.stderr).not.toContain(key);

      const admin = adminClient(app.url, AUTH_KEY);
      const g = await admin.post('/groups', {
        name: 'encdef',
        channel: 'openai',
        upstreams: [{ url: fake.url }],
        proxyKeys: [PROXY_KEY],
      });
      const id = g.body.id as number;
      expect((await admin.post(`/groups/${id}/keys`, { keys: KEYS })).body).toMatchObject({ added: 2 });
      const listed = JSON.stringify((await admin.get(`/groups/${id}/keys`)).body);
      for (const k of KEYS) {
        expect(listed).not.toContain(k);
        expect(listed).toContain(maskSecret(k));
      }
      const exported = await fetch(`${app.url}/api/groups/${id}/keys/export`, {
        headers: { authorization: `Bearer ${AUTH_KEY}` },
      });
      expect((await exported.text()).trim().split('\n').sort()).toEqual([...KEYS].sort());
      const warnings = await admin.get('/dashboard/warnings');
      expect(JSON.stringify(warnings.body)).not.toContain('ENCRYPTION_DISABLED');
      expect(await app.proc.stop('SIGTERM')).toBe(0);

      const store = keyStore(`file:${join(tmp.dir, 'keyway.db')}`);
      const cipher = createKeyCipher(key);
      const stored = await store.withDb((db) => db.apiKey.findMany({ select: { keyValue: true } }));
      expect(stored.map((r) => r.keyValue.startsWith('kw1:'))).toEqual([true, true]);
      expect(stored.map((r) => cipher.open(r.keyValue)).sort()).toEqual([...KEYS].sort());
      const bytes = store.databaseBytes();
      for (const k of KEYS) expect(bytes.includes(k), k).toBe(false);

      const again = await startStandalone(tmp.dir, { AUTH_KEY, ENCRYPTION_KEY: undefined });
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${again.url}/proxy/encdef/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
      }
      expect(new Set(fake.keysSeen())).toEqual(new Set(KEYS));
      expect(await again.proc.stop('SIGTERM')).toBe(0);

      // Another installation's key file beside this database: refused, naming the file, never printing a key.
      const other = 'kw-enc-from-another-install-Zq8Wv3Lr6Tn1Hb4Xc7Md';
      writeFileSync(file, `${other}\n`, { mode: 0o600 });
      const refused = startRefused(tmp.dir);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/does not match the key the data was encrypted with/);
      expect(refused.stderr).toContain(file);
      for (const s of [other, key]) expect(refused.stderr).not.toContain(s);
    } finally {
      tmp.cleanup();
    }
  });

  it('finishes encrypting a plaintext database on the next start after being killed halfway', async () => {
    const tmp = tempDir('enc-kill');
    try {
      const url = `file:${join(tmp.dir, 'keyway.db')}`;
      await applyMigrations(url);
      const store = keyStore(url);
      // A database written by an earlier version without ENCRYPTION_KEY: plaintext keys, verifier "plain".
      const values = secrets(2990, 'kill');
      const seeded = await store.seed(createKeyCipher(undefined), values);

      const first = await startProcess({
        command: process.execPath,
        args: [mainJs],
        cwd: tmp.dir,
        env: {
          AUTH_KEY,
          ENCRYPTION_KEY: undefined,
          DATA_DIR: tmp.dir,
          DATABASE_URL: url,
          PORT: String(await freePort()),
        },
        readyLine: /"msg":"encrypting stored keys"/,
        timeoutMs: 60_000,
      });
      // The first batch of 1000 is committed; two are left.
      expect(await first.stop('SIGKILL')).toBeNull();
      const sealed = await store.withDb((db) =>
        db.apiKey.count({ where: { keyValue: { startsWith: 'kw1:' } } }),
      );
      expect(sealed).toBeGreaterThanOrEqual(1000);
      expect(sealed).toBeLessThan(seeded.keys.length);

      const second = await startStandalone(tmp.dir, { AUTH_KEY, ENCRYPTION_KEY: undefined });
      const done = second.proc.lines.find((l) => l.includes('"msg":"stored upstream keys encrypted"'));
      expect(JSON.parse(done ?? '{}')).toMatchObject({ converted: seeded.keys.length - sealed });
      expect(await second.proc.stop('SIGTERM')).toBe(0);

      const cipher = createKeyCipher(readFileSync(join(tmp.dir, 'encryption-key'), 'utf8').trim());
      await store.expectStoredUnder(cipher, seeded);
      await store.expectDuplicateDetected(cipher, seeded);
      const bytes = store.databaseBytes();
      for (const v of values) expect(bytes.includes(v), v).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });
});
