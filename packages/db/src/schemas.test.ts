import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PROVIDERS,
  deriveAll,
  deriveSchema,
  derivedSchemaPath,
  migrationsDirPath,
} from '../scripts/schema-derive.mjs';

describe('derived schemas', () => {
  it.each(PROVIDERS)('prisma/%s/schema.prisma is what `run schemas` produces from the source', (provider) => {
    const committed = readFileSync(derivedSchemaPath(provider), 'utf8');
    // On failure: run `pnpm --filter @keyway/db run migration -- <name>` (or `run schemas` for non-model edits).
    expect(committed).toBe(deriveAll()[provider]);
  });

  it('applies provider markers only to their provider', () => {
    const source =
      '// doc\n\nmodel A {\n  id Int @id\n  note String @default("") // mysql: @db.VarChar(9) // sqlite: \n}\n';
    expect(deriveSchema(source, 'mysql')).toContain('  note String @default("") @db.VarChar(9)\n');
    expect(deriveSchema(source, 'postgresql')).toContain('  note String @default("")\n');
    expect(deriveSchema(source, 'postgresql')).toContain('provider = "postgresql"');
    expect(deriveSchema(source, 'postgresql')).not.toContain('// doc');
  });
});

describe('committed migrations', () => {
  const names = (provider: string) =>
    readdirSync(migrationsDirPath(provider), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();

  it('every provider has the same migrations, each with a migration.sql and a lock file', () => {
    const sqlite = names('sqlite');
    expect(sqlite.length).toBeGreaterThan(0);
    for (const provider of PROVIDERS) {
      expect(names(provider)).toEqual(sqlite);
      for (const m of sqlite)
        expect(existsSync(join(migrationsDirPath(provider), m, 'migration.sql'))).toBe(true);
      expect(readFileSync(join(migrationsDirPath(provider), 'migration_lock.toml'), 'utf8')).toContain(
        `provider = "${provider}"`,
      );
    }
  });

  it('no MySQL migration is still a placeholder', () => {
    for (const m of names('mysql')) {
      expect(readFileSync(join(migrationsDirPath('mysql'), m, 'migration.sql'), 'utf8')).not.toContain(
        'keyway:mysql-placeholder',
      );
    }
  });
});
