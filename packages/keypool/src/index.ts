export * from './cipher';
export * from './keys';
export * from './memory-key-pool';
export * from './port';
export * from './redis-key-event-feed';
export * from './redis-key-pool';
export * from './ring';
export * from './secrets';
