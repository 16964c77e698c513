export {
  gptLoadFixtureScope,
  writeGptLoadFixture,
  type FixtureDialect,
  type GptLoadFixture,
  type GptLoadFixtureExpected,
  type GptLoadFixtureOptions,
} from './fixture';
export { DEFAULT_FAILOVER_STATUS_CODES, GLOBAL_PROXY_KEYS, WEAK_PROXY_KEYS } from './groups';
export { gptLoadDdl } from './ddl';
export { collectGptLoadRows } from './collect';
export { LEGACY_ENCRYPTION_KEY } from './traffic';
