export * from './app';
export * from './log-sink';
export * from './runtime';
export * from './upstream-clients';
