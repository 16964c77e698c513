export * from './ops-routes';
export * from './serve';
export * from './infra';
export * from './two-phase';
export * from './boot';
