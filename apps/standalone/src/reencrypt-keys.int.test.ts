// The re-encryption loop writes hand-built SQL (quotes and placeholders differ per database): the same conversion
// on PostgreSQL and MySQL/MariaDB as on SQLite, each on a throw-away database.
import { applyMigrations, createPrismaClient } from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import { requireService } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProvider, TempDatabase } from '@keyway/control-plane/testing/databases';
import { createTempDatabase, SERVER_URLS } from '@keyway/control-plane/testing/databases';
import { keyStore, secrets } from '../test/key-store';
import { reencryptKeys, scanKeys, writeVerifier } from './reencrypt-keys';

const plain = createKeyCipher(undefined);
const a = createKeyCipher('kw-test-encryption-key-3e5a7c9b1d2f4a6c');
const b = createKeyCipher('kw-test-encryption-key-8b6d4f2a0c1e3b5d');

const providers: ServerProvider[] = ['postgresql', 'mysql'];
const available = Object.fromEntries(
  await Promise.all(providers.map(async (p) => [p, await requireService(p, SERVER_URLS[p])] as const)),
) as Record<ServerProvider, boolean>;

for (const provider of providers) {
  describe.skipIf(!available[provider])(`re-encryption on ${provider}`, { timeout: 120_000 }, () => {
    let temp: TempDatabase;
    beforeAll(async () => {
      temp = await createTempDatabase(provider);
      await applyMigrations(temp.url);
    });
    afterAll(() => temp.drop());

    it('encrypts plain keys, then rotates them to another key, in batches, with their log hashes', async () => {
      const store = keyStore(temp.url);
      const seeded = await store.seed(plain, secrets(1190, provider), { verifier: false });
      const conn = createPrismaClient(temp.url);
      try {
        for (const [from, to] of [
          [plain, a],
          [a, b],
        ] as const) {
          expect((await scanKeys(conn.prisma, from, to)).pending).toBe(seeded.keys.length);
          const done = await reencryptKeys(conn.prisma, from, to, { provider, batchSize: 700 });
          expect(done).toMatchObject({ seen: 1200, converted: 1200, logRows: 1200 });
          await writeVerifier(conn.prisma, to);
          await store.expectStoredUnder(to, seeded);
        }
        await store.expectDuplicateDetected(b, seeded);
      } finally {
        await conn.close();
      }
    });
  });
}
