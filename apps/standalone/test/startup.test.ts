import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mainJs, startStandalone, tempDir } from './harness';

describe('standalone start-up', () => {
  const tmp = tempDir('startup');
  afterAll(() => tmp.cleanup());

  it('stops with a message naming every bad variable', () => {
    const r = spawnSync(process.execPath, [mainJs], {
      cwd: tmp.dir,
      env: {
        ...process.env,
        PORT: 'not-a-port',
        LOG_LEVEL: 'loud',
        DATABASE_URL: `file:${join(tmp.dir, 'x.db')}`,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('LOG_LEVEL');
  });

  it('refuses a weak AUTH_KEY and says why', () => {
    const r = spawnSync(process.execPath, [mainJs], {
      cwd: tmp.dir,
      env: {
        ...process.env,
        AUTH_KEY: 'admin123',
        DATA_DIR: tmp.dir,
        DATABASE_URL: `file:${join(tmp.dir, 'x.db')}`,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/AUTH_KEY is too weak/);
    expect(r.stderr).not.toContain('admin123');
  });

  it('generates an admin key on first start, prints it once and keeps it private', async () => {
    const first = await startStandalone(tmp.dir, { AUTH_KEY: undefined });
    const file = join(tmp.dir, 'auth-key');
    const key = readFileSync(file, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.proc.stdout.split(key).length - 1).toBe(1);
    // The encryption key generated beside it is never printed: only where it is kept, to back it up.
    const encryptionKey = readFileSync(join(tmp.dir, 'encryption-key'), 'utf8').trim();
    expect(statSync(join(tmp.dir, 'encryption-key')).mode & 0o777).toBe(0o600);
    expect(first.proc.stdout + first.proc.stderr).not.toContain(encryptionKey);
    expect(first.proc.stdout).toMatch(/encryption-key.*Back this file up/);
    const ok = await fetch(`${first.url}/api/groups`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(await first.proc.stop('SIGTERM')).toBe(0);

    const second = await startStandalone(tmp.dir, { AUTH_KEY: undefined });
    expect(second.proc.stdout).not.toContain(key);
    const again = await fetch(`${second.url}/api/groups`, { headers: { authorization: `Bearer ${key}` } });
    expect(again.status).toBe(200);
    await second.proc.stop();
  }, 60_000);

  it('accepts ENCRYPTION_KEY=off as the explicit opt-out (not as a weak key) and keeps warning about it', async () => {
    const dir = join(tmp.dir, 'off');
    const app = await startStandalone(tmp.dir, {
      AUTH_KEY: 'startup-admin-Key-4f3e2d1c0b9a',
      ENCRYPTION_KEY: 'off',
      DATA_DIR: dir,
      DATABASE_URL: `file:${join(dir, 'keyway.db')}`,
    });
    expect(existsSync(join(dir, 'encryption-key'))).toBe(false);
    const res = await fetch(`${app.url}/api/dashboard/warnings`, {
      headers: { authorization: 'Bearer startup-admin-Key-4f3e2d1c0b9a' },
    });
    expect(JSON.stringify(await res.json())).toContain('ENCRYPTION_DISABLED');
    expect(await app.proc.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
