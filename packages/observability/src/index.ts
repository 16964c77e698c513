export * from './logger';
export * from './metrics';
export * from './pretty';
export * from './process-metrics';
export * from './redaction';
export * from './secret-classes';
export * from './secret-registry';
export * from './tracing';
