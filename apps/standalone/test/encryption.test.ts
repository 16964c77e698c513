import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, mainJs, startStandalone, tempDir } from './harness';

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
