export * from './app';
export * from './log-sink';
export * from './runtime';
export * from './upstream-clients';
export * from './storm-guard';
export * from './upstream-health';
/** Re-exported for apps that compose the gateway (standalone): the one matcher lives in @keyway/server. */
export { trustedProxyMatcher } from '@keyway/server';
export * from './config-follower';
export * from './gateway-metrics';
export * from './proxy-handler';
export * from './access';
export * from './access-usage';
export * from './usage-aggregator';
