// Public API of @keyway/db: provider detection, the Prisma client factory, the migration runner and the
// repositories the apps share (request logs, key states, key import, settings, retention).
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
export { writeRequestLogs, type RequestLogWriteResult } from './repositories/request-logs';
export { latestKeyStates, writeKeyStates, type KeyStateRow } from './repositories/key-state';
export { sqliteTime, type LogWriter } from './repositories/sqlite-log-writer';
export { createSqliteLogWriter, createSqliteWriter, type SqliteWriter } from './sqlite-writer';
export { SLICE_MS, createPacer, mapSliced, yieldToLoop, type Pacer } from './slices';
export {
  addKeys,
  insertKeysIgnoringDuplicates,
  type AddKeysDeps,
  type AddKeysOptions,
  type AddKeysResult,
  type KeyPoolWriter,
  type NewKeyRow,
  type NewPoolKey,
  type StoredKeyId,
} from './repositories/keys';
export { readSettings, type PlainSettingKey } from './repositories/settings';
export {
  createSession,
  deleteSession,
  deleteSessionsExcept,
  findSessionByTokenHash,
  listSessions,
  purgeSessions,
  touchSession,
  type SessionRow,
} from './repositories/sessions';
export {
  PRUNE_BATCH_SIZE,
  pruneAudit,
  pruneLogs,
  runRetention,
  type PruneAuditOptions,
  type PruneLogsOptions,
  type PruneLogsResult,
  type PrunableTable,
  type RetentionOptions,
  type RetentionResult,
} from './repositories/retention';
export { createKeyStateWriter, type KeyStateWriter } from './key-state-writer';
export { createPgLogWriter, type PgLogWriter } from './pg-log-writer';
export { assertMigrated, databaseCheck, NotMigratedError } from './schema-check';
