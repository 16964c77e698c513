import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import type { DbConnection } from '@keyway/db';
import { afterAll, beforeAll } from 'vitest';
import { dbSessionStore } from './session-store';
import { sessionStoreContract } from './session-store-contract';

let dir: string;
let conn: DbConnection;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyway-sessions-'));
  const url = `file:${join(dir, 'sessions.db')}`;
  await applyMigrations(url);
  conn = createPrismaClient(url);
});
afterAll(async () => {
  await conn.close();
  rmSync(dir, { recursive: true, force: true });
});

sessionStoreContract('db', async () => {
  await conn.prisma.session.deleteMany();
  return dbSessionStore(conn.prisma);
});
