export * from './app';
export * from './log-sink';
export * from './runtime';
export * from './upstream-clients';
export * from './storm-guard';
export * from './upstream-health';
export { trustedProxyMatcher } from './trusted-proxies';
export * from './config-follower';
export * from './gateway-metrics';
