// Attack 11: someone who gets a copy of the database (a backup, a stolen disk, a shared volume) reads every
// upstream key from it, because standalone with default settings stored them in plaintext.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';

/** Every file in the data directory except the key file itself, as bytes. */
function dataFiles(dir: string): Array<{ name: string; bytes: Buffer }> {
  return readdirSync(dir)
    .filter((name) => name !== 'encryption-key' && statSync(join(dir, name)).isFile())
    .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

describe('attack 11: upstream keys read from a copy of the database', () => {
  let fake: FakeUpstream;
  const tmp = tempDir('attack-11');
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    await fake.close();
    tmp.cleanup();
  });

  it('finds no upstream key in the database files of a default start, running or stopped', async () => {
    // Default settings: neither AUTH_KEY nor ENCRYPTION_KEY; the admin key is read from the file, as a user would.
    const app = await startStandalone(tmp.dir, { AUTH_KEY: undefined, ENCRYPTION_KEY: undefined });
    const admin = adminClient(app.url, readFileSync(join(tmp.dir, 'auth-key'), 'utf8').trim());
    const upstreamKey = `sk-attack11-${randomBytes(24).toString('base64url')}`;
    const proxyKey = `proxy-attack11-${randomBytes(16).toString('base64url')}`;
    const g = await admin.post('/groups', {
      name: 'a11',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
      proxyKeys: [proxyKey],
    });
    expect(
      (await admin.post(`/groups/${g.body.id as number}/keys`, { keys: [upstreamKey] })).body,
    ).toMatchObject({
      added: 1,
    });
    // The key is stored and used, not merely absent.
    const res = await fetch(`${app.url}/proxy/a11/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxyKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(fake.keysSeen()).toEqual([upstreamKey]);
    const warnings = await admin.get('/dashboard/warnings');
    expect(JSON.stringify(warnings.body)).not.toContain('ENCRYPTION_DISABLED');

    // A copy taken while it runs (database, WAL and shared memory as they are on disk).
    const running = dataFiles(tmp.dir);
    expect(running.map((f) => f.name)).toContain('keyway.db');
    for (const f of running) expect(f.bytes.includes(upstreamKey), f.name).toBe(false);

    expect(await app.proc.stop('SIGTERM')).toBe(0);
    for (const f of dataFiles(tmp.dir)) expect(f.bytes.includes(upstreamKey), f.name).toBe(false);
    expect(existsSync(join(tmp.dir, 'encryption-key'))).toBe(true);
  });
});
