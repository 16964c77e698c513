import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness';
import { keyStore, secrets, type Seeded } from './key-store';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dbCopyJs = join(appDir, 'dist', 'db-copy.js');
const serverUrl = process.env.TEST_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

// The key standalone generated on its first start, kept in DATA_DIR/encryption-key.
const KEY = 'kw-enc-test-db-copy-3f9a1c7e5b2d4f6a8c0e';
const cipher = createKeyCipher(KEY);

/** Server-level statements (CREATE/DROP DATABASE) on the test server's admin database. */
async function admin(sql: string): Promise<void> {
  const conn = createPrismaClient(serverUrl);
  try {
    await conn.prisma.$executeRawUnsafe(sql);
  } finally {
    await conn.close();
  }
}

function urlOf(database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs the built command in the standalone's working directory, with only PATH in the environment. */
function dbCopy(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [dbCopyJs, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pnpm db:copy', { timeout: 180_000 }, () => {
  const tmp = tempDir('db-copy');
  const database = `kw_test_dbcopy_${randomBytes(4).toString('hex')}`;
  const pgUrl = urlOf(database);
  const standaloneUrl = `file:${join(tmp.dir, 'data', 'keyway.db')}`;
  let seeded: Seeded;

  beforeAll(async () => {
    // A standalone's data directory as it looks after a first start: the database and the generated key.
    mkdirSync(join(tmp.dir, 'data'), { mode: 0o700 });
    writeFileSync(join(tmp.dir, 'data', 'encryption-key'), `${KEY}\n`, { mode: 0o600 });
    await applyMigrations(standaloneUrl);
    seeded = await keyStore(standaloneUrl).seed(cipher, secrets(300, 'copy'));
    await admin(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    tmp.cleanup();
  });

  it("copies standalone's own database into PostgreSQL and says where the encryption key is, not what", async () => {
    const r = dbCopy(tmp.dir, ['--', '--to', pgUrl]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/target: applied \d+ migration\(s\)/);
    expect(r.stdout).toMatch(/^api_keys: 310 row\(s\) copied \(310 in the target, 310 in the source\)$/m);
    expect(r.stdout).toMatch(/^groups: 2 row\(s\) copied/m);
    expect(r.stdout).toMatch(/^done: \d+ row\(s\) copied; the target holds/m);
    expect(r.stdout).toContain(join(tmp.dir, 'data', 'encryption-key'));
    expect(r.stdout).toMatch(/Set ENCRYPTION_KEY in the distributed deployment/);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    // The distributed apps, given the same key, read every key back.
    await keyStore(pgUrl).expectStoredUnder(cipher, seeded);
  });

  it('finds nothing new when run again', () => {
    const r = dbCopy(tmp.dir, ['--to', pgUrl]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/nothing new to copy/);
  });

  it('copies back from PostgreSQL into a new SQLite file', async () => {
    const back = `file:${join(tmp.dir, 'back', 'keyway.db')}`;
    const r = dbCopy(tmp.dir, ['--from', pgUrl, '--to', back, '--batch-size', '100']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    await keyStore(back).expectStoredUnder(cipher, seeded);
  });

  it('after the move new keys get fresh ids in PostgreSQL, and a re-run refuses the changed target', async () => {
    // Adding a key through the control plane: duplicate detection works on the copied hashes, and the insert
    // needs the id sequence moved past the copied ids.
    await keyStore(pgUrl).expectDuplicateDetected(cipher, seeded);
    const r = dbCopy(tmp.dir, ['--to', pgUrl]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/api_keys holds 311 row\(s\) but the earlier copy recorded 310/);
  });

  it('refuses a target holding other data, and copying a database onto itself', () => {
    const other = `file:${join(tmp.dir, 'back', 'keyway.db')}`;
    const filled = dbCopy(tmp.dir, ['--from', pgUrl, '--to', standaloneUrl]);
    expect(filled.status).toBe(1);
    expect(filled.stderr).toMatch(/db:copy refused: the target database already holds data/);
    const self = dbCopy(tmp.dir, ['--from', other, '--to', other.replace('file:', 'file://')]);
    expect(self.status).toBe(1);
    expect(self.stderr).toMatch(/same database/);
  });

  it('prints usage without --to, and never echoes a password', () => {
    const r = dbCopy(tmp.dir, []);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--to is required[\s\S]*Usage: pnpm db:copy/);
    const bad = dbCopy(tmp.dir, ['--to', 'postgresql://user:s3cretPassw0rd@127.0.0.1:1/nowhere']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/db:copy failed/);
    expect(bad.stderr).not.toContain('s3cretPassw0rd');
  });
});
