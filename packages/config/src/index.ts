export * from './fragments';
export * from './load-env';
export * from './otel';
export * from './primitives';
export * from './weak-secret';
