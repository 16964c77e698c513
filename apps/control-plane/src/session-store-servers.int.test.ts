import { applyMigrations, createPrismaClient } from '@keyway/db';
import type { DbConnection } from '@keyway/db';
import { requireService } from '@keyway/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { dbSessionStore } from './session-store';
import { sessionStoreContract } from './session-store-contract';
import type { ServerProvider, TempDatabase } from './testing/databases';
import { SERVER_URL_ENV, SERVER_URLS, createTempDatabase } from './testing/databases';

// The database adapter on the server databases (session-store.test.ts runs it on SQLite).
for (const provider of ['postgresql', 'mysql'] as ServerProvider[]) {
  const reachable = await requireService(SERVER_URL_ENV[provider], SERVER_URLS[provider]);
  describe.skipIf(!reachable)(`SessionStore on ${provider}`, () => {
    let temp: TempDatabase;
    let conn: DbConnection;
    beforeAll(async () => {
      temp = await createTempDatabase(provider);
      await applyMigrations(temp.url);
      conn = createPrismaClient(temp.url);
    });
    afterAll(async () => {
      await conn?.close();
      await temp?.drop();
    });
    sessionStoreContract(`db (${provider})`, async () => {
      await conn.prisma.session.deleteMany();
      return dbSessionStore(conn.prisma);
    });
  });
}
