export * from './app';
export * from './context';
export * from './key-cipher';
export { addKeys, toPoolRecord } from './keys';
export { buildSnapshot } from './snapshot';
export { loadSettings } from './settings-store';
