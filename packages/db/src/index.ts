// Public API of @keyway/db: provider detection, the Prisma client factory, the migration runner and the
// repositories the apps share (request logs, key states, key import, settings, retention).
export { lazyRequire } from './lazy-require';
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
export { applyUsageBatch } from './repositories/usage';
export { latestKeyStates, writeKeyStates, type KeyStateRow } from './repositories/key-state';
export { sqliteTime, type LogWriter } from './repositories/sqlite-log-writer';
export {
  createSqliteLogWriter,
  createSqliteWriter,
  type SqliteWriter,
  type SqliteWriterThread,
} from './sqlite-writer';
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
  USAGE_BATCH_RETENTION_DAYS,
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
// control-plane repositories
export {
  readAllSettings,
  writeSettings,
  type StoredProxyKey,
  type StoredSettings,
} from './repositories/settings';
export {
  countParentGroups,
  createGroup,
  deleteGroup,
  existingGroupIds,
  findGroupKinds,
  findGroupType,
  findGroupWithMembers,
  findGroupPacing,
  groupExists,
  groupIdsOfType,
  groupNameTaken,
  listGroupsForSnapshot,
  listGroupsForWarnings,
  listGroupsWithMembers,
  listGroupTypes,
  parentGroupNames,
  reorderGroups,
  updateGroup,
  type GroupMember,
  type GroupRowPatch,
  type GroupWithMembers,
  type NewGroupRow,
} from './repositories/groups';
export {
  countKeys,
  countKeysStartingWith,
  deleteKeys,
  findKey,
  findKeyValue,
  keyIdsWithHashes,
  keyIdsWithStatus,
  keysAfter,
  keyStatuses,
  keyValuesAfter,
  listKeys,
  oldestAndNewestKeyValues,
  restoreKey,
  updateKey,
  type KeyEdit,
  type KeyListFilter,
} from './repositories/api-keys';
export { insertVerifierRow, readVerifierRow } from './repositories/encryption';
export { listAuditEntries, writeAuditEntry, type AuditEntryRow } from './repositories/audit';
export {
  groupLabels,
  hourlyStatTotals,
  sumHourlyStats,
  usageTotals,
  type StatGroups,
  type StatTotals,
  type UsageDimension,
  type UsageTotals,
} from './repositories/dashboard';
export {
  accessKeyHashesAmong,
  createAccessKey,
  deleteAccessKey,
  findAccessKey,
  findAccessKeyByHash,
  listAccessKeyPage,
  listAccessKeys,
  readAccessKeyUsage,
  rotateAccessKey,
  updateAccessKey,
  usageOf,
  type AccessKeyRecord,
  type AccessKeyRowPatch,
  type AccessKeyUsageRow,
  type NewAccessKeyRow,
} from './repositories/access-keys';
export { deletePrice, listPrices, upsertPrice, type PriceRow } from './repositories/prices';
export {
  countRequestLogs,
  failuresByGroupName,
  listRequestLogs,
  requestLogPageAfter,
  type ExportedLogRow,
  type LogCursor,
  type LogFilter,
} from './repositories/logs-query';
// worker repositories
export {
  countKeysInStatuses,
  invalidateCheckedKey,
  keyCheckPage,
  keyWithGroup,
  markKeyChecked,
  markKeyTested,
  recordKeyCheckFailure,
  restoreCheckedKey,
  type KeyCheckRow,
} from './repositories/key-checks';
export { groupToValidate, markGroupValidated, standardGroups } from './repositories/group-validation';
export {
  compactSqliteFile,
  replaceVerifierRow,
  rewriteKeyBatch,
  storedKeyValuePage,
  type KeyRewrite,
  type KeyRewriteBatch,
  type StoredKeyRow,
} from './repositories/key-encryption';
export {
  CopyRefusedError,
  copyDatabase,
  copyModels,
  databaseIdentity,
  describeDatabase,
  PROGRESS_TABLE,
  type CopiedTable,
  type CopyDatabaseOptions,
  type CopyModel,
  type CopySummary,
} from './copy';
export {
  alertKeyLabels,
  alertSentSince,
  countSuppressedSinceSent,
  createAlertChannel,
  deleteAlertChannel,
  findAlertChannel,
  insertAlertHistory,
  listAlertChannels,
  listAlertHistoryPage,
  updateAlertChannel,
  type AlertChannelRecord,
  type AlertChannelRowPatch,
  type AlertDedupKey,
  type AlertHistoryRecord,
  type NewAlertChannelRow,
  type NewAlertHistoryRow,
} from './repositories/alerts';
