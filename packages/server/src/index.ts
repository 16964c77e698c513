export * from './ops-routes';
export * from './serve';
export * from './two-phase';
export * from './boot';
export * from './lingering-close';
export * from './trusted-proxies';
export * from './egress-connect';
export * from './head-safe';
