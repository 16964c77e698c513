import type { Classification } from '@keyway/core';
import { UpstreamHealth } from './upstream-health';

// The dispatcher through an egress proxy lives in `@keyway/server`: the worker's key validation leaves through it too.
export { isProxyFailureText, PROXY_FAILED_CODE, ProxyFailedError, proxyDispatcher } from '@keyway/server';
export type { ProxyDispatcherOptions } from '@keyway/server';

/** How a proxy failure is classified: retryable on another proxy or key, and nothing to charge the key with. */
export const PROXY_FAILURE: Classification = {
  class: 'proxy',
  retryable: true,
  reason: 'egress proxy failed',
};

/**
 * Proxies that failed, skipped for a short growing interval (1 s doubling to 60 s) like upstreams; kept per process
 * and across reloads.
 */
export class ProxyHealth extends UpstreamHealth {}
