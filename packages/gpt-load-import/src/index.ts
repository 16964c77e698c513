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
