export * from './app';
export * from './context';
export * from './key-cipher';
export { addKeys, toPoolRecord } from './keys';
export { buildSnapshot } from './snapshot';
export { loadSettings } from './settings-store';
export * from './encryption';
export { runRetention, pruneLogs, pruneAudit } from './retention';
