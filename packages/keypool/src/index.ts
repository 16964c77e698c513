export * from './cipher';
export * from './memory-key-pool';
export * from './port';
export * from './ring';
export * from './secrets';
