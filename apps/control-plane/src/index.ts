export * from './app';
export * from './context';
export * from './key-cipher';
// Moved to @keyway/db (the worker shares them); re-exported for the apps that compose the control plane.
export { addKeys, pruneAudit, pruneLogs, runRetention } from '@keyway/db';
export { toPoolRecord } from './keys';
export { buildSnapshot } from './snapshot';
export { loadSettings } from './settings-store';
export * from './encryption';
export { SYNC_IMPORT_LIMIT } from './keys';
export { mountConsole } from './console';
export { createSite, defaultConsoleDir, type SiteOptions } from './site';
export { loadPoolFromDb } from './pool-loader';
export { delegateKeyTest } from './key-test-job';
export { addImportedKeysToPool } from './import-gpt-load';
