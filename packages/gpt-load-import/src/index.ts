export * from './types';
export { readGptLoad } from './read';
export {
  parseGptLoadDsn,
  maskUrl,
  type GptLoadDsn,
  type MysqlDsn,
  type PostgresDsn,
  type SqliteDsn,
} from './dsn';
export {
  decodeStoredKey,
  decryptGptLoadValue,
  deriveGptLoadKey,
  encryptGptLoadValue,
  gptLoadKeyHash,
  looksLikeCiphertext,
} from './crypto';
export { parseGptLoadTime } from './values';
export { mapGptLoad, splitProxyKeys, planProxyKeys } from './map';
export { describePlan, type ImportPlan, type ImportResult, type PlannedGroup, type PlannedKey } from './plan';
export {
  applyImportPlan,
  type ApplyDeps,
  type ApplyOptions,
  type ApplyOutcome,
  type ImportProgress,
} from './apply';
export { importLogs, type LogImportResult } from './apply-logs';
export { importGptLoad, type ImportGptLoadOptions } from './import';
