export * from './ops-routes';
export * from './serve';
