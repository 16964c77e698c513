// Public API of @keyway/db: provider detection, the Prisma client factory and the migration runner.
export { createPrismaClient, type DbClient, type DbConnection } from './client';
export {
  applyMigrations,
  migrationsRelativePath,
  readMigrations,
  resolveMigrationsDir,
  type ApplyMigrationsOptions,
  type ApplyMigrationsResult,
  type MigrationFile,
} from './migrate';
export { PROVIDERS, providerFromUrl, sqlitePathFromUrl, type Provider } from './provider';
// Row types and the Prisma namespace (input types, JsonValue, error classes), from the canonical SQLite client
// like DbClient. The error classes come from the runtime all three clients share, so `instanceof` works for any
// provider.
export type {
  ApiKey,
  AuditLog,
  Group,
  GroupSubGroup,
  HourlyStat,
  RequestLog,
  Setting,
  Task,
} from './generated/sqlite/client';
export { Prisma } from './generated/sqlite/client';
export { writeRequestLogs } from './repositories/request-logs';
export { writeKeyStates, type KeyStateRow } from './repositories/key-state';
export { createSqliteLogWriter, sqliteTime, type LogWriter } from './repositories/sqlite-log-writer';
export { insertKeysIgnoringDuplicates, type NewKeyRow } from './repositories/keys';
