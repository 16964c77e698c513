// Proves the committed SQLite migrations reproduce prisma/sqlite/schema.prisma exactly: apply them to a fresh
// file, then ask Prisma's schema engine for the script from that database to the schema. Empty means no drift.
// (PostgreSQL: postgresql.int.test.ts; MySQL, whose SQL is hand-written: mysql-parity.int.test.ts.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { derivedSchemaPath } from '../scripts/schema-derive.mjs';
import {
  datamodelTarget,
  diffScript,
  liveDatabaseTarget,
  withSchemaEngine,
} from '../scripts/schema-engine.mjs';
import { applyMigrations } from './migrate';

const tmp = mkdtempSync(join(tmpdir(), 'keyway-drift-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const schema = readFileSync(derivedSchemaPath('sqlite'), 'utf8');

function driftOf(file: string): Promise<string> {
  return withSchemaEngine(
    { provider: 'sqlite', adapterFactory: new PrismaBetterSqlite3({ url: file }) },
    (engine) => diffScript(engine, liveDatabaseTarget(schema), datamodelTarget(schema)),
  );
}

describe('SQLite schema drift', () => {
  it('the committed migrations produce exactly prisma/sqlite/schema.prisma', async () => {
    const file = join(tmp, 'exact.db');
    await applyMigrations(`file:${file}`);
    expect(await driftOf(file)).toBe('');
  });

  it('the check notices a missing index (so an empty diff means something)', async () => {
    const file = join(tmp, 'broken.db');
    await applyMigrations(`file:${file}`);
    const db = new Database(file);
    db.exec('DROP INDEX "api_keys_keyHash_idx"');
    db.close();
    expect(await driftOf(file)).toContain('CREATE INDEX "api_keys_keyHash_idx"');
  });
});
